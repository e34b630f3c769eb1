"""Wire formats of the gateway's own routes (auth, self, clock)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


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


class ClockSchema(Body):
    now = fields.AwareDateTime(required=True)


class ClockAnswerSchema(Schema):
    now = fields.String()
    simulation = fields.Boolean()


class AuditVerifySchema(Schema):
    ok = fields.Boolean()
    entries = fields.Integer()
    first_bad = fields.String(allow_none=True)
    services = fields.Dict()


class ReadySchema(Schema):
    ready = fields.Boolean()
    checks = fields.Dict()


class PolicySchema(Schema):
    name = fields.String()
    version = fields.Integer()


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


class SessionMarkSchema(Schema):
    student = fields.String()
    status = fields.String()
    mark = fields.String()
    source = fields.String()
    set_at = fields.String(allow_none=True)


class SessionSchema(Schema):
    id = fields.Integer()
    ref = fields.String()
    term = fields.String()
    discipline = fields.String()
    group = fields.String()
    subgroup = fields.String(allow_none=True)
    kind = fields.String()
    teacher = fields.String()
    starts_at = fields.String()
    minutes = fields.Integer()
    room = fields.String(allow_none=True)
    planned_topic = fields.String(allow_none=True)
    topic = fields.String(allow_none=True)
    work_kind = fields.String(allow_none=True)
    late = fields.Boolean()
    marks = fields.List(fields.Nested(SessionMarkSchema))
    roster = fields.List(fields.String())


class SessionListSchema(Schema):
    items = fields.List(fields.Nested(SessionSchema))
    next_cursor = fields.String(allow_none=True)


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
