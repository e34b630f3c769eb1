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
