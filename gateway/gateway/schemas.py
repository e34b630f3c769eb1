"""Wire formats of the gateway's own routes (auth, self, clock)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from contracts import attendance, grading, makeup


class Body(Schema):
    class Meta:
        unknown = EXCLUDE


class LoginSchema(Body):
    login = fields.String(required=True, validate=validate.Length(1, 128))
    password = fields.String(required=True, validate=validate.Length(1, 200), load_only=True)


class RefreshSchema(Body):
    refresh_token = fields.String(required=True, validate=validate.Length(1, 200))


class TokenPairSchema(Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class PasswordSchema(Body):
    old_password = fields.String(required=True, validate=validate.Length(1, 200))
    new_password = fields.String(required=True, validate=validate.Length(8, 200))


class RoleScopeSchema(Schema):
    role = fields.String()
    scope = fields.String(allow_none=True)


class MeSchema(Schema):
    login = fields.String()
    code = fields.String()
    full_name = fields.String()
    roles = fields.List(fields.Nested(RoleScopeSchema))
    institution = fields.String()
    group = fields.String(allow_none=True)
    children = fields.List(fields.String())
    scopes = fields.List(fields.String(), metadata={"description": "an integration token's grants only"})


class ClockSchema(Body):
    now = fields.AwareDateTime(required=True)


class ClockAnswerSchema(Schema):
    now = fields.String()
    simulation = fields.Boolean()


class AuditVerifySchema(Schema):
    ok = fields.Boolean()
    entries = fields.Integer()
    first_bad = fields.Integer(allow_none=True, metadata={"description": "the first entry whose link fails"})
    first_bad_service = fields.String(allow_none=True, metadata={"description": "whose audit log holds it"})
    services = fields.Dict()


class ReadySchema(Schema):
    ready = fields.Boolean()
    checks = fields.Dict()
    missing = fields.List(fields.String())


class PolicySchema(Schema):
    """The preset as data (kernel/presets/<name>.yaml after validation): every section below."""

    name = fields.String()
    version = fields.Integer()
    country = fields.String()
    timezone = fields.String()
    languages = fields.List(fields.String())
    working_week = fields.List(fields.Integer())
    calendar = fields.Dict()
    labels = fields.Dict()
    attendance = fields.Dict()
    grading = fields.Dict()
    windows = fields.Dict()
    corrections = fields.Dict()
    statements = fields.Dict()
    makeup = fields.Dict()
    reports = fields.Dict()
    retention = fields.Dict()
    checkin = fields.Dict()
    at_risk = fields.Dict()
    substitutes = fields.Dict()


class MarkSchema(Body):
    student = fields.String(required=True, validate=validate.Length(1, 64))
    status = fields.String(required=True, validate=validate.Length(1, 32))


class MarksSchema(Body):
    marks = fields.List(fields.Nested(MarkSchema), required=True, validate=validate.Length(min=1, max=500))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class TopicSchema(Body):
    topic = fields.String(required=True, validate=validate.Length(1, 500))
    work_kind = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class PlanSchema(Body):
    planned_topic = fields.String(required=True, validate=validate.Length(1, 500))


class CheckinCodeSchema(Schema):
    token = fields.String()
    expires_at = fields.String()
    url = fields.String()


class CheckinSchema(Body):
    token = fields.String(required=True, validate=validate.Length(1, 500))
    device = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class CheckinAnswerSchema(Schema):
    session = fields.Integer()
    student = fields.String()
    status = fields.String()
    already = fields.Boolean()


class ExcuseSchema(Body):
    student = fields.String(required=True, validate=validate.Length(1, 64))
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("excused", "sick")))
    document = fields.String(required=True, validate=validate.Length(1, 300))


class DecisionSchema(Body):
    approve = fields.Boolean(required=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class SessionSchema(attendance.SessionViewSchema):
    """A session as the journal shows it: attendance's view, with the write window for its own teacher."""

    window = fields.String(metadata={"description": "the session's own teacher only: on_time|late|closed|locked|"
                                                    "not_started, what a journal write would meet now"})


class AssessmentSchema(Body):
    group = fields.String(required=True, validate=validate.Length(1, 64))
    discipline = fields.String(required=True, validate=validate.Length(1, 64))
    kind = fields.String(required=True, validate=validate.OneOf(("current", "module1", "module2", "final")))
    title = fields.String(required=True, validate=validate.Length(1, 300))
    date = fields.Date(required=True)
    max = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))


class GradeSchema(Body):
    student = fields.String(required=True, validate=validate.Length(1, 64))
    value = fields.Raw(required=True)


class GradesSchema(Body):
    grades = fields.List(fields.Nested(GradeSchema), required=True, validate=validate.Length(min=1, max=500))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class StatementRequestSchema(Body):
    group = fields.String(required=True, validate=validate.Length(1, 64))
    discipline = fields.String(required=True, validate=validate.Length(1, 64))
    kind = fields.String(required=True, validate=validate.OneOf(("module1", "module2", "final")))


class CorrectionTargetSchema(Body):
    kind = fields.String(required=True, validate=validate.OneOf(("attendance", "grade")))
    session = fields.Integer(load_default=None, allow_none=True)
    assessment = fields.Integer(load_default=None, allow_none=True)
    student = fields.String(required=True, validate=validate.Length(1, 64))


class CorrectionSchema(Body):
    target = fields.Nested(CorrectionTargetSchema, required=True)
    value = fields.Raw(required=True)
    reason = fields.String(required=True, validate=validate.Length(3, 2000))


class StepSchema(Body):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class MakeupRequestSchema(Body):
    session = fields.Integer(required=True)
    student = fields.String(required=True, validate=validate.Length(1, 64))


class MakeupAssignSchema(Body):
    task_kind = fields.String(required=True, validate=validate.Length(1, 64))
    topic = fields.String(required=True, validate=validate.Length(1, 500))
    due = fields.Date(required=True)


class MakeupCompleteSchema(Body):
    result = fields.Raw(required=True)
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class ExtensionSchema(Body):
    until = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.Length(3, 2000))


class DisputeSchema(Body):
    assessment = fields.Integer(required=True)
    reason = fields.String(required=True, validate=validate.Length(3, 2000))


class ResolveSchema(Body):
    value = fields.Raw(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class CommissionSchema(Body):
    order = fields.String(required=True, validate=validate.Length(1, 64))
    members = fields.List(fields.String(validate=validate.Length(1, 64)), required=True,
                          validate=validate.Length(min=1, max=15))
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)


class AppealSchema(Body):
    statement = fields.Integer(load_default=None, allow_none=True)
    assessment = fields.Integer(load_default=None, allow_none=True)
    reason = fields.String(required=True, validate=validate.Length(3, 2000))


class AppealDecisionSchema(Body):
    upheld = fields.Boolean(required=True)
    protocol = fields.String(required=True, validate=validate.Length(1, 64))
    value = fields.Raw(load_default=None, allow_none=True)


class TimetableResultSchema(Schema):
    term = fields.String()
    sessions = fields.Dict(keys=fields.String(), values=fields.Integer(),
                           metadata={"description": "the id of each imported session by its ref"})
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


# -- answers of the routes (what OpenAPI documents and tests/contract holds the running code to) ---------------
# Nested rows whose shape belongs to a service's domain (a gradebook row, a statement row, an audit entry's old and
# new values) are documented as objects; their keys are the service's.
def nullable_string() -> fields.String:
    return fields.String(allow_none=True)


class ItemsSchema(Schema):
    next_cursor = nullable_string()


class AttendanceReportSchema(Schema):
    filters = fields.Dict()
    totals = fields.Dict()
    rows = fields.List(fields.Dict(), metadata={"description": "per group x discipline x teacher: marks per status, "
                                                               "attendance rate, excused and made-up shares"})


class PasswordChangedSchema(Schema):
    changed = fields.Boolean()


class OrderViewSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    student = fields.String()
    group = nullable_string()
    subgroup = nullable_string()
    date = fields.String()
    number = fields.String()


class SubstitutionViewSchema(Schema):
    id = fields.Integer()
    teacher = fields.String()
    substitute = fields.String()
    from_ = fields.String(data_key="from")
    to = fields.String()
    discipline = nullable_string()
    group = nullable_string()


class AuditEntrySchema(Schema):
    id = fields.Integer()
    service = fields.String()
    at = fields.String()
    entity = fields.String()
    entity_id = nullable_string()
    action = fields.String()
    actor = nullable_string()
    on_behalf_of = nullable_string()
    student = nullable_string()
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True)
    reason = nullable_string()
    approval = nullable_string()


class AuditListSchema(ItemsSchema):
    items = fields.List(fields.Nested(AuditEntrySchema))


# -- answers the services give and the gateway passes on: their contracts -------------------------------------
LiveRosterSchema = attendance.LiveRosterSchema
SessionListSchema = attendance.SessionListSchema
ExcuseViewSchema = attendance.ExcuseViewSchema
ExcuseListSchema = attendance.ExcuseListSchema
AssessmentViewSchema = grading.AssessmentSchema
AssessmentListSchema = grading.AssessmentListSchema
GradebookSchema = grading.GradebookSchema
StatementViewSchema = grading.StatementSchema
StatementListSchema = grading.StatementListSchema
CorrectionViewSchema = grading.CorrectionSchema
CorrectionListSchema = grading.CorrectionPageSchema
ClosedYearSchema = grading.ClosedYearSchema
MakeupViewSchema = makeup.MakeupSchema
MakeupListSchema = makeup.MakeupPageSchema
MakeupRegisterSchema = makeup.RegisterSchema
DisputeViewSchema = makeup.DisputeSchema
CommissionViewSchema = makeup.CommissionSchema
AppealViewSchema = makeup.AppealSchema
AppealListSchema = makeup.AppealPageSchema
