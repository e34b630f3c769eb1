"""The public event feed's contract: which internal events outside consumers see, in what shape.

Internal events (`<service>.events`, kernel/events.py) are the services' own language and change with them; the
public feed (`ejournal.public.v1`, published by kernel/feed.py) is a versioned contract for portals, dashboards and
faculty systems. Each public event type is the routing key (`attendance.marks.recorded.v1`), has a JSON Schema in
docs/events/<type>.schema.json, and is built here from exactly one internal event (type and version), so the
public message id is the internal event id and a consumer can drop a repeat.

What leaves: codes (students, teachers, groups, disciplines, sessions), mark and grade values, times. What never
leaves: names, logins, passwords, token secrets or hashes, addresses, devices, and free text a person typed about a
person (reasons, notes, documents). An internal event type that is not in `TRANSLATIONS` is not forwarded at all:
every identity event (`person.changed` carries names and logins, `token.changed` a token's hash), excuses (their
kind and document are health data), corrections, disputes and appeals (their reasons are free text).

The checker at the end validates a public event against its schema; it knows the few keywords these schemas use
and refuses a schema with any other, so a schema can never say more than is checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from kernel.events import Envelope

PUBLIC_EXCHANGE = "ejournal.public.v1"  # topic, durable; a new major version of the feed is a new exchange
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "docs" / "events"


class Untranslatable(ValueError):
    """An internal event the feed should forward but cannot (an unknown version, a payload the schema refuses):
    it is parked in the dead-letter queue, never published half-right."""


@dataclass(frozen=True)
class Translation:
    source: str  # the internal service (exchange `<source>.events`)
    type: str  # the internal event type (routing key there)
    public: str  # the public event type = routing key on PUBLIC_EXCHANGE
    build: Callable[[dict[str, Any]], dict[str, Any]]
    version: int = 1  # the internal event version this translation reads


def _session(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "session": p["session"],
        "term": p["term"],
        "discipline": p["discipline"],
        "group": p["group"],
        "subgroup": p.get("subgroup"),
        "kind": p["kind"],
        "teacher": p["teacher"],
        "starts_at": p["starts_at"],
    }


def session_scheduled(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "session": p["id"],
        "ref": p.get("ref"),
        "term": p["term"],
        "discipline": p["discipline"],
        "group": p["group"],
        "subgroup": p.get("subgroup"),
        "kind": p["kind"],
        "teacher": p["teacher"],
        "starts_at": p["starts_at"],
        "minutes": p["minutes"],
        "room": p.get("room"),
    }


def marks_recorded(p: dict[str, Any]) -> dict[str, Any]:
    # reason and approval stay inside: a late correction's reason is free text about a student
    return {
        **_session(p),
        "marks": [{"student": c["student"], "previous": c["old"], "status": c["new"]} for c in p["changes"]],
        "source": p["source"],
        "late": bool(p["late"]),
        "recorded_by": p["actor"],
        "on_behalf_of": p.get("on_behalf_of"),
    }


def topic_recorded(p: dict[str, Any]) -> dict[str, Any]:
    return {
        **_session(p),
        "planned_topic": p.get("planned_topic"),
        "topic": p.get("topic"),
        "work_kind": p.get("work_kind"),
        "recorded_by": p["actor"],
        "on_behalf_of": p.get("on_behalf_of"),
    }


def assessment_created(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "assessment": p["id"],
        "group": p["group"],
        "discipline": p["discipline"],
        "kind": p["kind"],
        "title": p.get("title"),
        "date": p["date"],
        "max": p["max"],
        "created_by": p.get("created_by"),
    }


def grades_recorded(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "assessment": p["assessment"],
        "group": p["group"],
        "discipline": p["discipline"],
        "kind": p["kind"],
        "date": p["date"],
        "max": p["max"],
        "grades": [{"student": c["student"], "previous": c["old"], "value": c["new"]} for c in p["changes"]],
        "late": bool(p["late"]),
        "recorded_by": p["actor"],
        "role": p.get("role"),
        "on_behalf_of": p.get("on_behalf_of"),
    }


def statement(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "statement": p["id"],
        "group": p["group"],
        "discipline": p["discipline"],
        "kind": p["kind"],
        "state": p["state"],
        "covers_until": p.get("covers_until"),
    }


TRANSLATIONS: tuple[Translation, ...] = (
    Translation("attendance", "session.scheduled", "attendance.session.scheduled.v1", session_scheduled),
    Translation("attendance", "marks.recorded", "attendance.marks.recorded.v1", marks_recorded),
    Translation("attendance", "topic.recorded", "attendance.topic.recorded.v1", topic_recorded),
    Translation("grading", "assessment.created", "grading.assessment.created.v1", assessment_created),
    Translation("grading", "grade.recorded", "grading.grades.recorded.v1", grades_recorded),
    Translation("grading", "statement.created", "grading.statement.created.v1", statement),
    Translation("grading", "statement.posted", "grading.statement.posted.v1", statement),
    Translation("grading", "statement.closed", "grading.statement.closed.v1", statement),
)
BY_SOURCE = {(t.source, t.type): t for t in TRANSLATIONS}
PUBLIC_TYPES = tuple(t.public for t in TRANSLATIONS)


def translate(event: Envelope) -> tuple[str, dict[str, Any]] | None:
    """(public type, public body) for an internal event, or None when the event is not public. Raises
    `Untranslatable` for a public event type whose internal version or payload it cannot turn into a valid one."""
    translation = BY_SOURCE.get((event.source, event.type))
    if translation is None:
        return None
    if event.version != translation.version:
        raise Untranslatable(
            f"{event.source} {event.type} version {event.version}: the feed reads version {translation.version}"
        )
    if not isinstance(event.payload, dict):
        raise Untranslatable(f"{event.type}: the payload is not an object")
    try:
        data = translation.build(event.payload)
    except (KeyError, TypeError, AttributeError) as missing:
        raise Untranslatable(f"{event.type}: the payload lacks {missing}") from None
    body = {
        "event_id": event.event_id,
        "type": translation.public,
        "occurred_at": event.occurred_at,
        "institution": event.institution,
        "data": data,
    }
    problems = validate(body, schema(translation.public))
    if problems:
        raise Untranslatable(f"{translation.public}: {'; '.join(problems[:5])}")
    return translation.public, body


@cache
def schema(public_type: str) -> dict[str, Any]:
    loaded = json.loads((SCHEMA_DIR / f"{public_type}.schema.json").read_text(encoding="utf-8"))
    check_schema(loaded)
    return loaded


# -- the checker ---------------------------------------------------------------------------------------------------
ANNOTATIONS = {"$schema", "$id", "title", "description", "examples", "$comment"}
KEYWORDS = ANNOTATIONS | {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "minItems",
    "format",
}
TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _date_time(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": _date_time,
    "date": _date,
    "uuid": lambda v: re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", v) is not None,
}


def check_schema(node: Any, where: str = "#") -> None:
    """Refuse a schema that uses a keyword, type or format `validate` does not check."""
    if not isinstance(node, dict):
        raise ValueError(f"{where}: a schema is an object")
    unknown = set(node) - KEYWORDS
    if unknown:
        raise ValueError(f"{where}: keywords the feed's checker does not know: {', '.join(sorted(unknown))}")
    types = node.get("type", [])
    for t in [types] if isinstance(types, str) else types:
        if t not in TYPES:
            raise ValueError(f"{where}: unknown type {t}")
    if "format" in node and node["format"] not in FORMATS:
        raise ValueError(f"{where}: unknown format {node['format']}")
    if node.get("additionalProperties") not in (None, False):
        raise ValueError(f"{where}: additionalProperties is false or absent")
    for name, sub in node.get("properties", {}).items():
        check_schema(sub, f"{where}/properties/{name}")
    if "items" in node:
        check_schema(node["items"], f"{where}/items")


def validate(value: Any, node: dict[str, Any], where: str = "$") -> list[str]:
    """The problems of `value` against `node` (JSON Schema 2020-12, the keywords of KEYWORDS); [] when valid."""
    problems: list[str] = []
    if "type" in node:
        types = [node["type"]] if isinstance(node["type"], str) else node["type"]
        if not any(TYPES[t](value) for t in types):
            return [f"{where}: expected {' or '.join(types)}, got {type(value).__name__}"]
    if "const" in node and value != node["const"]:
        problems.append(f"{where}: must be {node['const']!r}")
    if "enum" in node and value not in node["enum"]:
        problems.append(f"{where}: must be one of {node['enum']}")
    if isinstance(value, str):
        if "pattern" in node and re.search(node["pattern"], value) is None:
            problems.append(f"{where}: does not match {node['pattern']}")
        if len(value) < node.get("minLength", 0):
            problems.append(f"{where}: shorter than {node['minLength']}")
        if "format" in node and not FORMATS[node["format"]](value):
            problems.append(f"{where}: not a {node['format']}")
    if TYPES["number"](value):
        if "minimum" in node and value < node["minimum"]:
            problems.append(f"{where}: below {node['minimum']}")
        if "maximum" in node and value > node["maximum"]:
            problems.append(f"{where}: above {node['maximum']}")
    if isinstance(value, dict):
        properties = node.get("properties", {})
        problems += [f"{where}: lacks {k}" for k in node.get("required", ()) if k not in value]
        if node.get("additionalProperties") is False:
            problems += [f"{where}: {k} is not in the schema" for k in value if k not in properties]
        for k, sub in properties.items():
            if k in value:
                problems += validate(value[k], sub, f"{where}.{k}")
    if isinstance(value, list):
        if len(value) < node.get("minItems", 0):
            problems.append(f"{where}: fewer than {node['minItems']} items")
        if "items" in node:
            for i, item in enumerate(value):
                problems += validate(item, node["items"], f"{where}[{i}]")
    return problems
