"""Issue 7 item 3: the public event feed's contract (kernel/publicevents.py, docs/events). Every forwarded internal
event type becomes its public event, valid against its schema, with codes and no personal fields; private events
(identity's tokens and people above all) are not forwarded; what cannot be translated is refused, not half-sent."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from kernel import feed, publicevents
from kernel.events import Envelope, exchange_name
from kernel.publicevents import PUBLIC_TYPES, Untranslatable, schema, translate, validate

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "events"
# field names that would carry personal data beyond a code, or a secret
PERSONAL = {
    "full_name",
    "name",
    "login",
    "password",
    "password_hash",
    "token",
    "token_hash",
    "hint",
    "address",
    "ip",
    "device",
    "device_id",
    "user_agent",
    "email",
    "phone",
    "reason",
    "note",
    "document",
    "approval",
    "parents",
    "children",
    "birth_date",
}

SESSION = {
    "session": 41,
    "term": "2026-2027-1",
    "discipline": "PHY",
    "group": "АТ-1-25",
    "subgroup": None,
    "kind": "lecture",
    "teacher": "TA1",
    "starts_at": "2026-10-19T09:00:00+06:00",
}
# internal payloads as the services emit them (attendance/service.py, grading/service.py), personal extras included
INTERNAL = {
    ("attendance", "session.scheduled"): {
        "id": 41,
        "ref": "L3",
        **{k: v for k, v in SESSION.items() if k != "session"},
        "minutes": 80,
        "room": "2-101",
    },
    ("attendance", "marks.recorded"): {
        **SESSION,
        "changes": [
            {"student": "A3", "old": None, "new": "present"},
            {"student": "A4", "old": "present", "new": "absent"},
        ],
        "late": True,
        "first_entry_at": "2026-10-19T09:05:00+06:00",
        "source": "teacher",
        "actor": "TA1",
        "on_behalf_of": None,
        "reason": "Асанова was ill, her mother called",
        "approval": "HA1",
    },
    ("attendance", "topic.recorded"): {
        **SESSION,
        "planned_topic": "Kinematics",
        "topic": "Kinematics of a point",
        "work_kind": None,
        "actor": "TA2",
        "on_behalf_of": "TA1",
    },
    ("grading", "assessment.created"): {
        "id": 7,
        "group": "АТ-1-25",
        "discipline": "PHY",
        "kind": "module",
        "title": "Module 1",
        "date": "2026-10-20",
        "max": 30,
        "created_by": "TA1",
    },
    ("grading", "grade.recorded"): {
        "assessment": 7,
        "group": "АТ-1-25",
        "discipline": "PHY",
        "kind": "module",
        "date": "2026-10-20",
        "max": 30,
        "changes": [{"student": "A1", "old": None, "new": 25}, {"student": "A2", "old": 10, "new": 12.5}],
        "late": False,
        "actor": "TA1",
        "role": "teacher",
        "on_behalf_of": None,
        "reason": None,
        "approval": None,
    },
    **{
        ("grading", f"statement.{state}"): {
            "id": 3,
            "group": "АТ-1-25",
            "discipline": "PHY",
            "kind": "exam",
            "state": "open" if state == "created" else state,
            "covers_until": None if state == "created" else "2026-12-25T18:00:00+06:00",
        }
        for state in ("created", "posted", "closed")
    },
}


def envelope(source: str, event_type: str, payload: dict, version: int = 1) -> Envelope:
    return Envelope.from_wire(
        {
            "event_id": str(uuid.uuid4()),
            "type": event_type,
            "version": version,
            "occurred_at": "2026-10-19T09:10:00+06:00",
            "source": source,
            "payload": payload,
            "actor": "TA1",
            "institution": "oshtu",
            "request_id": "r-1",
        }
    )


def keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def test_every_translation_has_a_test_case_a_schema_file_and_a_documented_section():
    assert {(t.source, t.type) for t in publicevents.TRANSLATIONS} == set(INTERNAL)
    assert sorted(p.name for p in DOCS.glob("*.schema.json")) == sorted(f"{t}.schema.json" for t in PUBLIC_TYPES)
    readme = (DOCS / "README.md").read_text()
    for t in publicevents.TRANSLATIONS:
        assert re.fullmatch(r"[a-z]+(\.[a-z_]+)+\.v\d+", t.public), t.public
        assert f"`{t.public}`" in readme and f"`{t.type}`" in readme, t.public


@pytest.mark.parametrize("source,event_type", sorted(INTERNAL))
def test_each_event_type_maps_to_its_public_event_valid_against_its_schema(source, event_type):
    event = envelope(source, event_type, INTERNAL[(source, event_type)])
    public_type, body = translate(event)
    assert body["type"] == public_type and public_type.endswith(".v1")
    assert body["event_id"] == event.event_id, "the internal id: consumers drop repeats by it"
    assert body["occurred_at"] == event.occurred_at and body["institution"] == "oshtu"
    assert validate(body, schema(public_type)) == []
    assert not keys(body) & PERSONAL, keys(body) & PERSONAL
    assert "request_id" not in body and "actor" not in body
    json.dumps(body)  # what is published


def test_the_mapped_values_are_the_internal_ones_under_public_names():
    _, marks = translate(envelope("attendance", "marks.recorded", INTERNAL[("attendance", "marks.recorded")]))
    assert marks["data"]["marks"] == [
        {"student": "A3", "previous": None, "status": "present"},
        {"student": "A4", "previous": "present", "status": "absent"},
    ]
    assert (marks["data"]["session"], marks["data"]["recorded_by"], marks["data"]["late"]) == (41, "TA1", True)
    assert "Асанова" not in json.dumps(marks, ensure_ascii=False), "a late correction's reason stays inside"
    _, grades = translate(envelope("grading", "grade.recorded", INTERNAL[("grading", "grade.recorded")]))
    assert grades["data"]["grades"][1] == {"student": "A2", "previous": 10, "value": 12.5}
    _, scheduled = translate(envelope("attendance", "session.scheduled", INTERNAL[("attendance", "session.scheduled")]))
    assert scheduled["data"]["session"] == 41 and scheduled["data"]["room"] == "2-101"


PRIVATE = [
    (
        "identity",
        "token.changed",
        {
            "id": 1,
            "name": "AVN",
            "faculty": "FAT",
            "scopes": [],
            "hint": "ejt_ab",
            "token_hash": "9f" * 32,
            "created_by": "admin",
            "active": True,
        },
    ),
    ("identity", "person.changed", {"code": "A1", "full_name": "Асанова Айгүл", "login": "a1", "kind": "student"}),
    ("identity", "enrolment.changed", {"student": "A1", "periods": []}),
    ("identity", "order.issued", {"student": "A1", "kind": "expel"}),
    ("attendance", "excuse.filed", {"id": 1, "student": "A1", "kind": "medical", "document": "справка 12"}),
    ("attendance", "excuse.decided", {"id": 1, "student": "A1", "kind": "medical", "note": "ok"}),
    ("grading", "correction.requested", {"id": 1, "reason": "typo"}),
    ("makeup", "appeal.filed", {"id": 1, "student": "A1", "reason": "unfair"}),
    ("reports", "report.ready", {"id": 1}),
]


@pytest.mark.parametrize("source,event_type,payload", PRIVATE)
def test_private_events_are_not_forwarded_and_the_feed_queue_is_not_even_bound_to_them(source, event_type, payload):
    assert translate(envelope(source, event_type, payload)) is None
    assert (exchange_name(source), event_type) not in feed.bindings()


def test_the_feed_queue_is_bound_to_exactly_the_translated_events_and_nothing_of_identity():
    bound = feed.bindings()
    assert len(bound) == len(set(bound)) == len(publicevents.TRANSLATIONS)
    assert not [b for b in bound if b[0] == exchange_name("identity")]
    assert all("#" not in key and "*" not in key for _, key in bound), "no wildcard could let token.changed in"


def test_an_unknown_version_or_a_payload_the_schema_refuses_is_untranslatable():
    payload = INTERNAL[("attendance", "marks.recorded")]
    with pytest.raises(Untranslatable, match="version 2"):
        translate(envelope("attendance", "marks.recorded", payload, version=2))
    with pytest.raises(Untranslatable, match="lacks"):
        translate(envelope("attendance", "marks.recorded", {k: v for k, v in payload.items() if k != "group"}))
    with pytest.raises(Untranslatable, match="data.session"):
        translate(envelope("attendance", "marks.recorded", {**payload, "session": "41"}))
    with pytest.raises(Untranslatable, match="minItems|fewer than 1"):
        translate(envelope("attendance", "marks.recorded", {**payload, "changes": []}))
    with pytest.raises(Untranslatable, match="date-time"):
        translate(envelope("attendance", "marks.recorded", {**payload, "starts_at": "tomorrow"}))


def test_the_schemas_use_only_checked_keywords_close_every_object_and_name_no_personal_field():
    for public_type in PUBLIC_TYPES:
        loaded = json.loads((DOCS / f"{public_type}.schema.json").read_text())
        publicevents.check_schema(loaded)
        assert loaded["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert loaded["properties"]["type"] == {**loaded["properties"]["type"], "const": public_type}

        def walk(node, where):
            if node.get("type") == "object" or "properties" in node:
                assert node.get("additionalProperties") is False, where
                assert set(node["required"]) == set(node["properties"]), f"{where}: every field is always there"
                assert not set(node["properties"]) & PERSONAL, where
            for name, sub in node.get("properties", {}).items():
                assert sub.get("description") or name in ("data",), f"{where}.{name} is undocumented"
                walk(sub, f"{where}.{name}")
            if "items" in node:
                walk(node["items"], f"{where}[]")

        walk(loaded, public_type)


def test_the_checker_refuses_what_it_does_not_check_and_finds_what_is_wrong():
    with pytest.raises(ValueError, match="oneOf"):
        publicevents.check_schema({"oneOf": []})
    with pytest.raises(ValueError, match="format"):
        publicevents.check_schema({"type": "string", "format": "email"})
    node = {
        "type": "object",
        "additionalProperties": False,
        "required": ["a", "b"],
        "properties": {"a": {"type": "integer", "minimum": 1}, "b": {"type": ["string", "null"], "enum": ["x"]}},
    }
    assert validate({"a": 1, "b": "x"}, node) == []
    assert validate({"a": 1, "b": None}, node) == ["$.b: must be one of ['x']"]
    problems = validate({"a": True, "c": 1}, node)
    assert problems == ["$: lacks b", "$: c is not in the schema", "$.a: expected integer, got bool"]
    assert validate({"a": 0, "b": "x"}, node) == ["$.a: below 1"]


def test_the_statement_events_carry_gradings_own_states():
    from grading.domain import STATEMENT_MOVES

    consts = {
        state: schema(f"grading.statement.{state}.v1")["properties"]["data"]["properties"]["state"]["const"]
        for state in ("created", "posted", "closed")
    }
    assert consts == {
        "created": STATEMENT_MOVES["post"][0],
        "posted": STATEMENT_MOVES["post"][1],
        "closed": STATEMENT_MOVES["close"][1],
    }
