"""Wire formats of the report routes (API.md "Reports and audit"): the query parameters each route accepts
(unknown ones are refused, so a misspelt filter is a 422 rather than a silently wider report) and the answers,
for the OpenAPI document."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

CODE = validate.Length(1, 64)
LANGS = ("ky", "ru", "kk", "en")


class Query(Schema):
    class Meta:
        unknown = RAISE

    lang = fields.String(validate=validate.OneOf(LANGS))


class FillingQuerySchema(Query):
    teacher = fields.String(validate=CODE)
    term = fields.String(required=True, validate=CODE)
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "pdf")))


class AtRiskQuerySchema(Query):
    faculty = fields.String(validate=CODE)
    group = fields.String(validate=CODE)
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx", "pdf")))


class RecordQuerySchema(Query):
    pass


class ScheduledListQuerySchema(Query):
    report = fields.String(validate=validate.OneOf(("attendance", "quality", "filling_check", "filling_report",
                                                    "contact_list")))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))
    cursor = fields.String(validate=validate.Regexp(r"^[0-9]{1,18}$"))


class ScheduledQuerySchema(Query):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx", "pdf")))


# -- answers -------------------------------------------------------------------------------------------------


class FillingCountsSchema(Schema):
    scheduled = fields.Integer()
    held = fields.Integer()
    on_time = fields.Integer()
    late = fields.Integer()
    missing = fields.Integer()
    pending = fields.Integer()
    topics_planned = fields.Integer()
    topics_recorded = fields.Integer()
    topics_as_planned = fields.Integer()
    topics_missing = fields.Integer()
    grades_entered = fields.Integer()
    grades_on_time = fields.Integer()
    grades_late = fields.Integer()


class FillingRowSchema(FillingCountsSchema):
    group = fields.String()
    discipline = fields.String()
    discipline_name = fields.String(allow_none=True)


class PeriodSchema(Schema):
    from_ = fields.String(data_key="from", allow_none=True)
    to = fields.String(allow_none=True)


class FillingReportSchema(Schema):
    teacher = fields.String()
    teacher_name = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    term = fields.String()
    period = fields.Nested(PeriodSchema)
    generated_at = fields.String()
    rows = fields.List(fields.Nested(FillingRowSchema))
    totals = fields.Nested(FillingCountsSchema)
    journal_url = fields.String(allow_none=True)


class JournalSessionSchema(Schema):
    id = fields.Integer()
    starts_at = fields.String()
    group = fields.String()
    subgroup = fields.String(allow_none=True)
    discipline = fields.String()
    discipline_name = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    planned_topic = fields.String(allow_none=True)
    topic = fields.String(allow_none=True)
    work_kind = fields.String(allow_none=True)
    first_entry_at = fields.String(allow_none=True)
    entry = fields.String(allow_none=True, metadata={"description": "on_time, late, missing, pending or null"})
    marks = fields.Dict(keys=fields.String(), values=fields.Integer())


class JournalAssessmentSchema(Schema):
    id = fields.Integer()
    group = fields.String()
    discipline = fields.String()
    kind = fields.String()
    title = fields.String(allow_none=True)
    date = fields.String()
    max = fields.Float()
    grades = fields.Integer()
    late = fields.Integer()


class TeacherJournalSchema(Schema):
    teacher = fields.String()
    teacher_name = fields.String(allow_none=True)
    term = fields.String()
    sessions = fields.List(fields.Nested(JournalSessionSchema))
    assessments = fields.List(fields.Nested(JournalAssessmentSchema))
    filling = fields.Nested(FillingCountsSchema)


class ReasonSchema(Schema):
    discipline = fields.String()
    discipline_name = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "attendance or projection"})
    text = fields.String()
    texts = fields.Dict(keys=fields.String(), values=fields.String())


class ParentSchema(Schema):
    code = fields.String()
    full_name = fields.String()


class AtRiskItemSchema(Schema):
    student = fields.String()
    full_name = fields.String(allow_none=True)
    group = fields.String(allow_none=True)
    parents = fields.List(fields.Nested(ParentSchema))
    reasons = fields.List(fields.Nested(ReasonSchema))


class AtRiskReportSchema(Schema):
    filters = fields.Dict()
    thresholds = fields.Dict()
    generated_at = fields.String()
    items = fields.List(fields.Nested(AtRiskItemSchema))


class RecordStudentSchema(Schema):
    code = fields.String()
    full_name = fields.String()
    group = fields.String(allow_none=True)
    faculty = fields.String(allow_none=True)


class RecordDisciplineSchema(Schema):
    group = fields.String()
    discipline = fields.String()
    discipline_name = fields.String(allow_none=True)
    attendance = fields.Dict(metadata={"description": "marks by status, percent, sessions"})
    grades = fields.List(fields.Dict())
    forecast = fields.Dict(allow_none=True)


class StudentRecordSchema(Schema):
    student = fields.Nested(RecordStudentSchema)
    disciplines = fields.List(fields.Nested(RecordDisciplineSchema))
    excuses = fields.List(fields.Dict())
    makeups = fields.List(fields.Dict())
    disputes = fields.List(fields.Dict())
    appeals = fields.List(fields.Dict())
    at_risk = fields.Boolean()


class ScheduledReportSchema(Schema):
    id = fields.Integer()
    report = fields.String()
    cadence = fields.String()
    period = fields.String()
    from_ = fields.String(data_key="from")
    to = fields.String()
    scope_kind = fields.String()
    scope = fields.String()
    generated_at = fields.String()
    body = fields.Dict(metadata={"description": "only when one report is asked for, as json"})


class ScheduledListSchema(Schema):
    items = fields.List(fields.Nested(ScheduledReportSchema))
    next_cursor = fields.String(allow_none=True)
