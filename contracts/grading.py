"""Wire formats of the grading service: the payloads its RPCs take and answer and the events it emits, as they are
today (API.md "Grades, statements, corrections"). They describe; they do not reshape: the requests' own checks (and
their error texts) stay in domain.py. Unknown fields are refused, so a test that loads an answer notices a field
added without its schema. Instants are ISO 8601 in the institution's zone; numbers are JSON numbers (4, not 4.0).
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from contracts.base import Exact, page_of

KINDS = ("current", "module1", "module2", "final")  # an assessment's kind
STATEMENT_STATES = ("open", "posted", "closed")
CORRECTION_STATES = ("pending", "executed", "rejected")



Code = fields.String
Instant = fields.DateTime  # ISO 8601 with the institution's offset


def Maybe(field: type[fields.Field]) -> fields.Field:  # noqa: N802 - a field, named as the others
    return field(allow_none=True)


# -- assessments and grades -------------------------------------------------------------------------------------


class NewAssessmentSchema(Exact):
    """create_assessment's body (domain.assessment_values checks it)."""

    group = Code(required=True)
    discipline = Code(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    title = fields.String(required=True)
    date = fields.Date(required=True)
    max = fields.Float(required=True)


class GradeEntrySchema(Exact):
    """One item of record_grades' `grades`."""

    student = Code(required=True)
    value = fields.Float(required=True)


class GradeSchema(Exact):
    student = Code(required=True)
    value = fields.Float(required=True)
    late = fields.Boolean(required=True)
    first_entry_at = Instant(required=True)
    set_at = Instant(required=True)
    set_by = Code(required=True)


class AssessmentCreatedSchema(Exact):
    """`assessment.created` (and its audit entry's `new`): the assessment without its grades."""

    id = fields.Integer(required=True)
    group = Code(required=True)
    discipline = Code(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    title = fields.String(required=True)
    date = fields.Date(required=True)
    max = fields.Float(required=True)
    created_by = Code(required=True)


class AssessmentSchema(AssessmentCreatedSchema):
    """create_assessment, get_assessment, record_grades."""

    grades = fields.List(fields.Nested(GradeSchema), required=True)


AssessmentListSchema = page_of(AssessmentSchema, "AssessmentListSchema", Exact)


class GradeChangeSchema(Exact):
    student = Code(required=True)
    old = Maybe(fields.Float)
    new = fields.Float(required=True)


class GradeRecordedSchema(Exact):
    """`grade.recorded`: the changed values of one assessment, who wrote them and by which path."""

    assessment = fields.Integer(required=True)
    group = Code(required=True)
    discipline = Code(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    date = fields.Date(required=True)
    max = fields.Float(required=True)
    changes = fields.List(fields.Nested(GradeChangeSchema), required=True)
    late = fields.List(Code(), required=True)
    actor = Code(required=True)
    role = fields.String(required=True)
    on_behalf_of = Maybe(fields.String)
    reason = Maybe(fields.String)
    approval = Maybe(fields.String)


# -- the gradebook --------------------------------------------------------------------------------------------


class AttendanceSummarySchema(Exact):
    held = fields.Integer(required=True)
    present = fields.Integer(required=True)
    absent = fields.Integer(required=True)
    excused = fields.Integer(required=True)
    made_up = fields.Integer(required=True)
    rate = fields.Float(required=True)


class ComponentSchema(Exact):
    points = fields.Float(required=True)
    max = fields.Float(required=True)
    # "from" is a Python keyword: the explanation of how the points were counted
    from_ = fields.String(required=True, data_key="from")
    source = fields.String(required=True)
    module = Maybe(fields.Integer)


class StudentGradeSchema(Exact):
    assessment = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    title = fields.String(required=True)
    date = fields.Date(required=True)
    value = Maybe(fields.Float)
    max = fields.Float(required=True)


class MakeupSchema(Exact):
    makeup = fields.Integer(required=True)
    session = fields.Integer(required=True)
    result = fields.String(required=True)
    comment = Maybe(fields.String)
    completed_at = Maybe(Instant)


class StudentResultSchema(Exact):
    student = Code(required=True)
    attendance = fields.Nested(AttendanceSummarySchema, required=True)
    components = fields.Dict(keys=fields.String(), values=fields.Nested(ComponentSchema), required=True)
    before_final = fields.Float(required=True)
    rating = fields.Float(required=True)
    letter = fields.String(required=True)
    grade5 = Maybe(fields.Integer)
    passed = fields.Boolean(required=True)
    admitted = fields.Boolean(required=True)
    admission_reasons = fields.List(fields.String(), required=True)
    grades = fields.List(fields.Nested(StudentGradeSchema), required=True)
    makeups = fields.List(fields.Nested(MakeupSchema), required=True)


class GradebookSchema(Exact):
    group = Code(required=True)
    discipline = Code(required=True)
    control = fields.String(required=True, validate=validate.OneOf(("exam", "credit")))
    rating_max = fields.Float(required=True)
    students = fields.List(fields.Nested(StudentResultSchema), required=True)


# -- statements ---------------------------------------------------------------------------------------------------


class StatementRowSchema(Exact):
    """A final statement's row has the rating's letter, 5-point grade and admission; a module statement's row
    its points out of the module's maximum."""

    student = Code(required=True)
    points = fields.Float(required=True)
    max = fields.Float()
    letter = fields.String(required=True)
    grade5 = Maybe(fields.Integer)
    admitted = fields.Boolean()
    components = fields.Dict(keys=fields.String(), values=fields.Nested(ComponentSchema), required=True)


class StatementEventSchema(Exact):
    """`statement.created`, `statement.posted`, `statement.closed`."""

    id = fields.Integer(required=True)
    group = Code(required=True)
    discipline = Code(required=True)
    kind = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATEMENT_STATES))
    covers_until = Maybe(Instant)


class StatementSchema(StatementEventSchema):
    """create_statement, post_statement, close_statement, get_statement."""

    control = fields.String(required=True)
    rows = fields.List(fields.Nested(StatementRowSchema), required=True)
    created_by = Code(required=True)
    created_at = Instant(required=True)
    posted_by = Maybe(fields.String)
    posted_at = Maybe(Instant)
    closed_by = Maybe(fields.String)
    closed_at = Maybe(Instant)


StatementListSchema = page_of(StatementSchema, "StatementListSchema", Exact)


# -- late corrections -----------------------------------------------------------------------------------------------


class TargetSchema(Exact):
    """A correction's target: a grade (`assessment`) or an attendance mark (`session`) of a student."""

    kind = fields.String(required=True, validate=validate.OneOf(("attendance", "grade")))
    student = Code(required=True)
    assessment = fields.Integer()
    session = fields.Integer()


class StepSchema(Exact):
    action = fields.String(required=True)
    role = fields.String(required=True)
    actor = Code(required=True)
    at = Instant(required=True)
    note = Maybe(fields.String)


class NextStepSchema(Exact):
    action = fields.String(required=True)
    role = fields.String(required=True)


class CorrectionSchema(Exact):
    """create_correction, correction_step, get_correction; and the payload of `correction.requested`,
    `correction.step`, `correction.rejected`."""

    id = fields.Integer(required=True)
    target = fields.Nested(TargetSchema, required=True)
    value = fields.Raw(required=True, allow_none=True)  # a grade value or an attendance code
    reason = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(CORRECTION_STATES))
    requested_by = Code(required=True)
    created_at = Instant(required=True)
    steps = fields.List(fields.Nested(StepSchema), required=True)
    next = fields.Nested(NextStepSchema, allow_none=True, required=True)
    due = Maybe(Instant)
    overdue = fields.Boolean(required=True)


CorrectionPageSchema = page_of(CorrectionSchema, "CorrectionPageSchema", Exact)


class CorrectionExecutedSchema(Exact):
    """`correction.executed`: an attendance mark to write (attendance applies it)."""

    id = fields.Integer(required=True)
    target = fields.Nested(TargetSchema, required=True)
    value = fields.Raw(required=True)
    actor = Code(required=True)
    approval = fields.String(required=True)
    reason = fields.String(required=True)


# -- the year archive -------------------------------------------------------------------------------------------------


class YearClosedSchema(Exact):
    """`year.closed` (and its audit entry's `new`)."""

    year = fields.String(required=True)
    starts = fields.Date(required=True)
    ends = fields.Date(required=True)
    actor = Code(required=True)
    closed_at = Instant(required=True)


class ClosedYearSchema(Exact):
    """close_year's answer."""

    year = fields.String(required=True)
    starts = fields.Date(required=True)
    ends = fields.Date(required=True)
    closed = fields.Boolean(required=True)
    closed_by = Code(required=True)
    closed_at = Instant(required=True)


EVENTS: dict[str, type[Schema]] = {
    "assessment.created": AssessmentCreatedSchema,
    "grade.recorded": GradeRecordedSchema,
    "statement.created": StatementEventSchema,
    "statement.posted": StatementEventSchema,
    "statement.closed": StatementEventSchema,
    "correction.requested": CorrectionSchema,
    "correction.step": CorrectionSchema,
    "correction.rejected": CorrectionSchema,
    "correction.executed": CorrectionExecutedSchema,
    "year.closed": YearClosedSchema,
}
