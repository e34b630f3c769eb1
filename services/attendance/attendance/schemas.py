"""Wire formats of the attendance service (API.md "Attendance", "Loading the year"). Unknown fields are
ignored, never written; which status or excuse kind is valid is the preset's business (domain.py)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

CODE = validate.Length(min=1, max=64)
SESSION_KINDS = ("lecture", "practice", "lab", "srs")
MAX_SESSIONS = 20_000  # a term of a large faculty; more in one request is a mistake


class Strict(Schema):
    class Meta:
        unknown = EXCLUDE


class TermSchema(Strict):
    code = fields.String(required=True, validate=CODE)
    starts = fields.Date(required=True)
    ends = fields.Date(required=True)


class TimetableSessionSchema(Strict):
    ref = fields.String(required=True, validate=validate.Length(min=1, max=200))
    discipline = fields.String(required=True, validate=CODE)
    group = fields.String(required=True, validate=CODE)
    subgroup = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 16))
    kind = fields.String(required=True, validate=validate.OneOf(SESSION_KINDS))
    teacher = fields.String(required=True, validate=CODE)
    starts_at = fields.AwareDateTime(required=True)
    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(1, 600))
    room = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class TimetableSchema(Strict):
    term = fields.Nested(TermSchema, required=True)
    sessions = fields.List(fields.Nested(TimetableSessionSchema), required=True,
                           validate=validate.Length(max=MAX_SESSIONS))


class MarkSchema(Strict):
    student = fields.String(required=True, validate=CODE)
    status = fields.String(required=True, validate=validate.Length(1, 32))


class TopicSchema(Strict):
    topic = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    work_kind = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class PlanSchema(Strict):
    planned_topic = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ExcuseSchema(Strict):
    student = fields.String(required=True, validate=CODE)
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)
    kind = fields.String(required=True, validate=validate.Length(1, 32))
    document = fields.String(required=True, validate=validate.Length(1, 500))
