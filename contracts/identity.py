"""Wire formats of identity. First the requests (API.md "Loading the year", "Integration tokens"): unknown fields
are ignored, never written; the gateway validates with these same schemas and publishes them in OpenAPI. Then the
RPC answers and the events identity emits, exactly as they are sent."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from contracts.base import CODE, NAME, SESSION_KINDS, Exact, Lenient, page_of

ROLES = ("it_admin", "academic_office", "directorate", "department_head", "teacher", "curator", "commission",
         "student", "parent", "integration")



class FacultySchema(Lenient):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=NAME)


class DepartmentSchema(Lenient):
    code = fields.String(required=True, validate=CODE)
    faculty = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=NAME)


class GroupSchema(Lenient):
    code = fields.String(required=True, validate=CODE)
    department = fields.String(required=True, validate=CODE)
    course = fields.Integer(required=True, validate=validate.Range(1, 7))
    subgroups = fields.List(fields.String(validate=validate.Length(1, 16)), load_default=list)


class RoleSchema(Lenient):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    scope = fields.String(load_default=None, allow_none=True, validate=CODE)


class AccountFields(Lenient):
    code = fields.String(required=True, validate=CODE)
    full_name = fields.String(required=True, validate=NAME)
    login = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._@-]{2,128}$"))
    password = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=8, max=200),
                             load_only=True)


class StudentSchema(AccountFields):
    group = fields.String(required=True, validate=CODE)
    subgroup = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 16))


class StaffSchema(AccountFields):
    department = fields.String(load_default=None, allow_none=True, validate=CODE)
    roles = fields.List(fields.Nested(RoleSchema), required=True, validate=validate.Length(min=1))


class ParentSchema(AccountFields):
    children = fields.List(fields.String(validate=CODE), required=True, validate=validate.Length(min=1))


class ContingentSchema(Lenient):
    faculties = fields.List(fields.Nested(FacultySchema), load_default=list)
    departments = fields.List(fields.Nested(DepartmentSchema), load_default=list)
    groups = fields.List(fields.Nested(GroupSchema), load_default=list)
    students = fields.List(fields.Nested(StudentSchema), load_default=list)
    staff = fields.List(fields.Nested(StaffSchema), load_default=list)
    parents = fields.List(fields.Nested(ParentSchema), load_default=list)


class DisciplineSchema(Lenient):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=NAME)
    control = fields.String(required=True, validate=validate.OneOf(("exam", "credit")))
    credits = fields.Integer(required=True, validate=validate.Range(0, 60))


class AssignmentSchema(Lenient):
    teacher = fields.String(required=True, validate=CODE)
    discipline = fields.String(required=True, validate=CODE)
    group = fields.String(required=True, validate=CODE)
    kind = fields.String(required=True, validate=validate.OneOf(SESSION_KINDS))
    subgroup = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 16))


class LoadSchema(Lenient):
    disciplines = fields.List(fields.Nested(DisciplineSchema), load_default=list)
    assignments = fields.List(fields.Nested(AssignmentSchema), load_default=list)


class OrderSchema(Lenient):
    kind = fields.String(required=True, validate=validate.OneOf(("admit", "transfer", "expel")))
    student = fields.String(required=True, validate=CODE)
    group = fields.String(load_default=None, allow_none=True, validate=CODE)
    subgroup = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 16))
    date = fields.Date(required=True)
    number = fields.String(required=True, validate=validate.Length(1, 64))


class SubstitutionSchema(Lenient):
    teacher = fields.String(required=True, validate=CODE)
    substitute = fields.String(required=True, validate=CODE)
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)
    discipline = fields.String(load_default=None, allow_none=True, validate=CODE)
    group = fields.String(load_default=None, allow_none=True, validate=CODE)


class ImportResultSchema(Schema):
    created = fields.Dict(keys=fields.String(), values=fields.Integer())
    updated = fields.Dict(keys=fields.String(), values=fields.Integer())
    unchanged = fields.Integer()
    initial_passwords = fields.List(fields.Dict())


# -- integration tokens (API.md "Integration tokens") --------------------------------------------------------
# `read` is what every token may do; each write scope opens the writes of one area (gateway/gateway/auth.py).
TOKEN_SCOPES = ("read", "write:attendance", "write:grades", "write:makeup", "write:orders")


class TokenRequestSchema(Lenient):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    faculty = fields.String(required=True, validate=CODE)
    scopes = fields.List(fields.String(validate=validate.OneOf(TOKEN_SCOPES)), load_default=lambda: ["read"],
                         validate=validate.Length(min=1, max=len(TOKEN_SCOPES)))
    expires = fields.AwareDateTime(load_default=None, allow_none=True)


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    faculty = fields.String()
    scopes = fields.List(fields.String())
    hint = fields.String()
    created_at = fields.DateTime()
    created_by = fields.String()
    expires = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    active = fields.Boolean()
    use_count = fields.Integer()
    last_used_at = fields.DateTime(allow_none=True)


class TokenCreatedSchema(TokenSchema):
    token = fields.String()


TokenListSchema = page_of(TokenSchema, "TokenListSchema", Schema)


# -- the answers of identity's RPCs and the events it emits, as they are on the wire ---------------------------------
# They describe, they do not reshape (domain.py builds the payloads). Unknown fields are refused, so a test that
# validates a payload notices a field added without its schema. Dates are ISO 8601; instants carry the
# institution's offset.



class LoginAnswerSchema(Exact):
    """authenticate's answer."""

    code = fields.String(required=True)
    must_change_password = fields.Boolean(required=True)


class PasswordChangedSchema(Exact):
    changed = fields.Boolean(required=True)


class InstitutionSchema(Exact):
    code = fields.String(required=True)
    name = fields.String(required=True)
    preset = fields.String(required=True)


class GrantSchema(Exact):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    scope = fields.String(required=True, allow_none=True)


class PersonStateSchema(Exact):
    """`person.changed` and the `person` RPC's answer: the person's whole state (newer revisions win)."""

    code = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("student", "staff", "parent")))
    full_name = fields.String(required=True)
    department = fields.String(required=True, allow_none=True)
    login = fields.String(required=True, allow_none=True)
    active = fields.Boolean(required=True)
    roles = fields.List(fields.Nested(GrantSchema), required=True)
    revision = fields.Integer(required=True)
    children = fields.List(fields.String(), required=True)
    group = fields.String(required=True, allow_none=True)
    subgroup = fields.String(required=True, allow_none=True)


class PeriodSchema(Exact):
    group = fields.String(required=True)
    subgroup = fields.String(required=True, allow_none=True)
    starts = fields.Date(required=True)
    ends = fields.Date(required=True, allow_none=True)  # exclusive
    basis = fields.String(required=True, allow_none=True)  # the order's number, or "import"


class EnrolmentChangedSchema(Exact):
    """`enrolment.changed`: all of a student's periods, by start."""

    student = fields.String(required=True)
    periods = fields.List(fields.Nested(PeriodSchema), required=True)


class OrgChangedSchema(Exact):
    """`org.changed`: a faculty, department (parent: its faculty) or group (parent: its department, with course and
    subgroups)."""

    kind = fields.String(required=True, validate=validate.OneOf(("faculty", "department", "group")))
    code = fields.String(required=True)
    name = fields.String(required=True)
    parent = fields.String(required=True, allow_none=True)
    course = fields.Integer()
    subgroups = fields.List(fields.String())


class DisciplineChangedSchema(Exact):
    """`discipline.changed`: the discipline row as imported."""

    code = fields.String(required=True)
    name = fields.String(required=True)
    control = fields.String(required=True, validate=validate.OneOf(("exam", "credit")))
    credits = fields.Integer(required=True)


class AssignmentChangedSchema(Exact):
    """`assignment.changed`: one row of the teaching load."""

    teacher = fields.String(required=True)
    discipline = fields.String(required=True)
    group = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(SESSION_KINDS))
    subgroup = fields.String(required=True, allow_none=True)
    active = fields.Boolean(required=True)


class OrderIssuedSchema(Exact):
    """`order.issued` and issue_order's answer."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("admit", "transfer", "expel")))
    student = fields.String(required=True)
    group = fields.String(required=True, allow_none=True)
    subgroup = fields.String(required=True, allow_none=True)
    date = fields.Date(required=True)
    number = fields.String(required=True)


class SubstitutionCreatedSchema(Exact):
    """`substitution.created` and create_substitution's answer (`to` inclusive)."""

    id = fields.Integer(required=True)
    teacher = fields.String(required=True)
    substitute = fields.String(required=True)
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)
    discipline = fields.String(required=True, allow_none=True)
    group = fields.String(required=True, allow_none=True)


class TokenViewSchema(Exact):
    """get_token's and list_tokens' items, and the tokens' audit entries: a token without its hash."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    faculty = fields.String(required=True)
    scopes = fields.List(fields.String(validate=validate.OneOf(TOKEN_SCOPES)), required=True)
    hint = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)
    created_by = fields.String(required=True)
    expires = fields.AwareDateTime(required=True, allow_none=True)
    revoked_at = fields.AwareDateTime(required=True, allow_none=True)
    active = fields.Boolean(required=True)
    revision = fields.Integer(required=True)


class TokenChangedSchema(TokenViewSchema):
    """`token.changed` and create_token's and revoke_token's answers: with the hash the gateway authenticates by."""

    token_hash = fields.String(required=True, validate=validate.Length(equal=64))


TokenPageSchema = page_of(TokenViewSchema, "TokenPageSchema", Exact)


# The events identity emits, by type.
EVENTS: dict[str, type[Schema]] = {
    "org.changed": OrgChangedSchema,
    "person.changed": PersonStateSchema,
    "enrolment.changed": EnrolmentChangedSchema,
    "discipline.changed": DisciplineChangedSchema,
    "assignment.changed": AssignmentChangedSchema,
    "order.issued": OrderIssuedSchema,
    "substitution.created": SubstitutionCreatedSchema,
    "token.changed": TokenChangedSchema,
}
