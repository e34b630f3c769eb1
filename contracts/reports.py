"""Wire formats of the reports service: the answers of its RPCs and the one event it emits (`report.ready`), as
the entrypoints give them today (API.md "Reports and audit"). They describe; they do not reshape: the requests'
own checks (and their error texts) stay in domain.py. Unknown fields are refused, so a test that loads an answer
notices a field added without its schema. A report's rows carry the preset's statuses as keys (`marks`), so those
are dicts of whole numbers, not fixed fields."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields

from contracts.base import Exact, page_of

Code = fields.String


def Name() -> fields.Field:  # noqa: N802 - a field, named as the others
    return fields.String(allow_none=True)


def Share() -> fields.Field:  # noqa: N802 - 0..1, None when nothing is known
    return fields.Float(allow_none=True)


def Counts() -> fields.Field:  # noqa: N802 - marks by status
    return fields.Dict(keys=fields.String(), values=fields.Integer())


class DocumentSchema(Exact):
    """A rendered file (csv, xlsx, pdf): render.document."""

    media_type = fields.String(required=True)
    filename = fields.String(required=True)
    content_b64 = fields.String(required=True)


# -- the attendance report -----------------------------------------------------------------------------------


class FiltersSchema(Exact):
    faculty = Code(allow_none=True)
    group = Code(allow_none=True)
    discipline = Code(allow_none=True)
    teacher = Code(allow_none=True)
    date_from = fields.String(allow_none=True)
    date_to = fields.String(allow_none=True)


class AttendanceRowSchema(Exact):
    group = Code()
    discipline = Code()
    teacher = Code()
    discipline_name = Name()
    teacher_name = Name()
    sessions = fields.Integer(required=True)
    marks = Counts()
    total = fields.Integer(required=True)
    attendance_rate = Share()
    excused_share = Share()
    made_up_share = Share()


class AttendanceReportSchema(Exact):
    filters = fields.Nested(FiltersSchema, required=True)
    rows = fields.List(fields.Nested(AttendanceRowSchema), required=True)
    totals = fields.Nested(AttendanceRowSchema, required=True)


# -- the journal-filling report and the teacher's journal ------------------------------------------------------


class PeriodSpanSchema(Exact):
    from_ = fields.String(allow_none=True, data_key="from")
    to = fields.String(allow_none=True)


FILLING_COUNTS = ("scheduled", "held", "on_time", "late", "missing", "pending", "topics_planned", "topics_recorded",
                  "topics_as_planned", "topics_missing", "grades_entered", "grades_on_time", "grades_late")


FillingCountsSchema = Exact.from_dict({k: fields.Integer(required=True) for k in FILLING_COUNTS},
                                       name="FillingCountsSchema")
FillingRowSchema = Exact.from_dict({"group": Code(required=True), "discipline": Code(required=True),
                                     "discipline_name": fields.String(allow_none=True),
                                     **{k: fields.Integer(required=True) for k in FILLING_COUNTS}},
                                    name="FillingRowSchema")


class FillingReportSchema(Exact):
    teacher = Code(required=True)
    teacher_name = Name()
    department = Code(allow_none=True)
    term = Code(allow_none=True)
    period = fields.Nested(PeriodSpanSchema, required=True)
    generated_at = fields.String(required=True)
    rows = fields.List(fields.Nested(FillingRowSchema), required=True)
    totals = fields.Nested(FillingCountsSchema, required=True)
    journal_url = fields.String(allow_none=True)  # filling_report only, not in a scheduled report's teachers


class JournalSessionSchema(Exact):
    id = fields.Integer(required=True)
    starts_at = fields.String(allow_none=True)
    group = Code()
    subgroup = fields.String(allow_none=True)
    discipline = Code()
    discipline_name = Name()
    kind = fields.String(allow_none=True)
    planned_topic = fields.String(allow_none=True)
    topic = fields.String(allow_none=True)
    work_kind = fields.String(allow_none=True)
    first_entry_at = fields.String(allow_none=True)
    entry = fields.String(allow_none=True)  # on_time | late | missing | pending; None: still to come
    marks = Counts()


class JournalAssessmentSchema(Exact):
    id = fields.Integer(required=True)
    group = Code()
    discipline = Code()
    kind = fields.String()
    title = fields.String(allow_none=True)
    date = fields.String()
    max = fields.Float()
    grades = fields.Integer()
    late = fields.Integer()


class TeacherJournalSchema(Exact):
    teacher = Code(required=True)
    teacher_name = Name()
    term = Code(required=True)
    sessions = fields.List(fields.Nested(JournalSessionSchema), required=True)
    assessments = fields.List(fields.Nested(JournalAssessmentSchema), required=True)
    filling = fields.Nested(FillingCountsSchema, required=True)


# -- the at-risk forecast and the student record ---------------------------------------------------------------


class ReasonSchema(Schema):
    """A reason for being at risk: its kind, the figures of its kind (rate, threshold, ...), the words."""

    class Meta:
        unknown = INCLUDE  # the figures differ by kind (domain.risk_reasons)

    kind = fields.String(required=True)
    text = fields.String(required=True)
    texts = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    discipline = Code()
    discipline_name = Name()


class PersonRefSchema(Exact):
    code = Code(required=True)
    full_name = fields.String(required=True)


class AtRiskItemSchema(Exact):
    student = Code(required=True)
    full_name = Name()
    group = Code(allow_none=True)
    parents = fields.List(fields.Nested(PersonRefSchema), required=True)
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)


class ThresholdsSchema(Exact):
    attendance_percent = fields.Float(required=True)
    rating_points = fields.Float(required=True)
    min_sessions = fields.Integer(required=True)


class AtRiskSchema(Exact):
    # the RPC's filters; a stored contact list has none
    filters = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    thresholds = fields.Nested(ThresholdsSchema, required=True)
    generated_at = fields.String(required=True)
    items = fields.List(fields.Nested(AtRiskItemSchema), required=True)


class RecordSessionSchema(Exact):
    session = fields.Integer(required=True)
    starts_at = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    teacher = Code()
    teacher_name = Name()
    status = fields.String(required=True)
    mark = fields.String(required=True)
    label = fields.String(required=True)


class RecordAttendanceSchema(Exact):
    marks = Counts()
    percent = fields.Float(allow_none=True)
    sessions = fields.List(fields.Nested(RecordSessionSchema), required=True)


class RecordGradeSchema(Exact):
    assessment = fields.Integer(required=True)
    kind = fields.String()
    title = fields.String(allow_none=True)
    date = fields.String()
    max = fields.Float()
    value = fields.Float()
    late = fields.Boolean()
    corrected = fields.Boolean()
    role = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    approval = fields.String(allow_none=True)


class ForecastSchema(Exact):
    earned = fields.Float(required=True)
    observed = fields.Float(required=True)
    projected = fields.Float(allow_none=True)  # None until a graded component has data
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)


class RecordDisciplineSchema(Exact):
    group = Code()
    discipline = Code()
    discipline_name = Name()
    attendance = fields.Nested(RecordAttendanceSchema, required=True)
    grades = fields.List(fields.Nested(RecordGradeSchema), required=True)
    forecast = fields.Nested(ForecastSchema, allow_none=True)


class RecordStudentSchema(Exact):
    code = Code(required=True)
    full_name = fields.String(required=True)
    group = Code(allow_none=True)
    faculty = Code(allow_none=True)


def Case() -> fields.Field:  # noqa: N802 - the case's fields as its service's events carry them, with id and state
    return fields.Dict(keys=fields.String())


class StudentRecordSchema(Exact):
    student = fields.Nested(RecordStudentSchema, required=True)
    disciplines = fields.List(fields.Nested(RecordDisciplineSchema), required=True)
    excuses = fields.List(Case(), required=True)
    makeups = fields.List(Case(), required=True)
    disputes = fields.List(Case(), required=True)
    appeals = fields.List(Case(), required=True)
    at_risk = fields.Boolean(required=True)


# -- scheduled reports ---------------------------------------------------------------------------------------


class ScheduledSchema(Exact):
    """A stored scheduled report as list_scheduled lists it; also the payload of the `report.ready` event."""

    id = fields.Integer(required=True)
    report = fields.String(required=True)
    cadence = fields.String(required=True)
    period = fields.String(required=True)
    from_ = fields.String(required=True, data_key="from")
    to = fields.String(required=True)
    scope_kind = fields.String(required=True)
    scope = Code(required=True)
    generated_at = fields.String(required=True)


ReportReadySchema = ScheduledSchema  # the event `report.ready` (reports -> subscribers), version 1


ScheduledListSchema = page_of(ScheduledSchema, "ScheduledListSchema", Exact)


class ScheduledReportSchema(ScheduledSchema):
    """get_scheduled as json: the listing and the stored body (the report as its RPC answered it then)."""

    body = fields.Dict(keys=fields.String(), required=True)
