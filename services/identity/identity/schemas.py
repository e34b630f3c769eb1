"""Wire formats of the identity imports (API.md "Loading the year"). Unknown fields are ignored,
never written; the gateway validates with these same schemas and publishes them in OpenAPI."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

CODE = validate.Length(min=1, max=64)
NAME = validate.Length(min=1, max=300)
ROLES = ("it_admin", "academic_office", "directorate", "department_head", "teacher", "curator", "commission",
         "student", "parent", "integration")
SESSION_KINDS = ("lecture", "practice", "lab", "srs")


class Strict(Schema):
    class Meta:
        unknown = EXCLUDE


class FacultySchema(Strict):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=NAME)


class DepartmentSchema(Strict):
    code = fields.String(required=True, validate=CODE)
    faculty = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=NAME)


class GroupSchema(Strict):
    code = fields.String(required=True, validate=CODE)
    department = fields.String(required=True, validate=CODE)
    course = fields.Integer(required=True, validate=validate.Range(1, 7))
    subgroups = fields.List(fields.String(validate=validate.Length(1, 16)), load_default=list)


class RoleSchema(Strict):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    scope = fields.String(load_default=None, allow_none=True, validate=CODE)


class AccountFields(Strict):
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


class ContingentSchema(Strict):
    faculties = fields.List(fields.Nested(FacultySchema), load_default=list)
    departments = fields.List(fields.Nested(DepartmentSchema), load_default=list)
    groups = fields.List(fields.Nested(GroupSchema), load_default=list)
    students = fields.List(fields.Nested(StudentSchema), load_default=list)
    staff = fields.List(fields.Nested(StaffSchema), load_default=list)
    parents = fields.List(fields.Nested(ParentSchema), load_default=list)


class DisciplineSchema(Strict):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=NAME)
    control = fields.String(required=True, validate=validate.OneOf(("exam", "credit")))
    credits = fields.Integer(required=True, validate=validate.Range(0, 60))


class AssignmentSchema(Strict):
    teacher = fields.String(required=True, validate=CODE)
    discipline = fields.String(required=True, validate=CODE)
    group = fields.String(required=True, validate=CODE)
    kind = fields.String(required=True, validate=validate.OneOf(SESSION_KINDS))
    subgroup = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 16))


class LoadSchema(Strict):
    disciplines = fields.List(fields.Nested(DisciplineSchema), load_default=list)
    assignments = fields.List(fields.Nested(AssignmentSchema), load_default=list)


class OrderSchema(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(("admit", "transfer", "expel")))
    student = fields.String(required=True, validate=CODE)
    group = fields.String(load_default=None, allow_none=True, validate=CODE)
    subgroup = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 16))
    date = fields.Date(required=True)
    number = fields.String(required=True, validate=validate.Length(1, 64))


class SubstitutionSchema(Strict):
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


class TokenRequestSchema(Strict):
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


class TokenListSchema(Schema):
    items = fields.List(fields.Nested(TokenSchema))
    next_cursor = fields.String(allow_none=True)
