"""What every contract module builds its messages from: the two strictness levels, the nullable field, the page
of a list and the vocabularies several services' messages share."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

CODE = validate.Length(min=1, max=64)  # a code of a person, a group, a discipline, a term
NAME = validate.Length(min=1, max=300)
SESSION_KINDS = ("lecture", "practice", "lab", "srs")


class Lenient(Schema):
    """An RPC body as it is loaded: unknown fields are ignored, never written."""

    class Meta:
        unknown = EXCLUDE


class Exact(Schema):
    """An answer or an event as it is on the wire: an unknown field is refused, so a test that loads one notices a
    field added without its schema."""

    class Meta:
        unknown = RAISE


def nullable(field: type[fields.Field], **kwargs: Any) -> fields.Field:
    """Always present, may be null."""
    return field(required=True, allow_none=True, **kwargs)


def page_of(item: type[Schema], name: str, base: type[Schema] = Exact) -> type[Schema]:
    """A page of a list: its items and the cursor of the next page (null on the last), kernel.paging's shape."""
    return base.from_dict({"items": fields.List(fields.Nested(item), required=True),
                           "next_cursor": nullable(fields.String)}, name=name)
