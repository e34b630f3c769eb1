"""Issue 7 item 3 on the running stack: an outside consumer binds its queue to the public exchange, teachers write
marks in bulk and students check in by QR code through the API, and every internal `marks.recorded` event of those
sessions arrives on the public feed exactly once, under its own id, valid against its schema, with codes and no
personal fields; identity's token events never arrive at all."""

from __future__ import annotations

import json
import os
from collections import Counter
from functools import partial

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

import support
from kernel import feed
from kernel.events import exchange_name
from kernel.publicevents import PUBLIC_EXCHANGE, PUBLIC_TYPES, schema, validate
from support import Tap, eventually

pytestmark = pytest.mark.e2e
PW = "feed-pw-1"
GROUP = "ФД-1-25"
STUDENTS = ("FS1", "FS2", "FS3", "FS4", "FS5", "FS6")
NAMES = {
    "FS1": "Абдыкадырова Нургүл",
    "FS2": "Бейшеналиев Эрлан",
    "FS3": "Жумабекова Айпери",
    "FS4": "Касымалиев Тилек",
    "FS5": "Өскөнбаева Мээрим",
    "FS6": "Үсөнов Бекжан",
    "TF1": "Асылбеков Руслан",
    "TF2": "Иманалиева Жыпар",
}
PERSONAL = {
    "full_name",
    "name",
    "login",
    "password",
    "token",
    "token_hash",
    "hint",
    "address",
    "ip",
    "device",
    "user_agent",
    "email",
    "phone",
    "reason",
    "note",
    "document",
}
person = partial(support.person, password=PW)


@pytest.fixture(scope="module")
def taps(stack):
    public = Tap(PUBLIC_EXCHANGE, ("#",))  # an outside consumer: everything the feed publishes
    internal = Tap(exchange_name("attendance"), ("marks.recorded",))  # the witness: what the feed should forward
    yield public, internal
    public.close()
    internal.close()


@pytest.fixture(scope="module")
def journal(stack, taps):
    admin = stack.admin()
    contingent = {
        "faculties": [{"code": "FFD", "name": "Фид факультети"}],
        "departments": [{"code": "DFD", "faculty": "FFD", "name": "Фид кафедрасы"}],
        "groups": [{"code": GROUP, "department": "DFD", "course": 1, "subgroups": []}],
        "students": [person(code, NAMES[code], group=GROUP) for code in STUDENTS],
        "staff": [person(code, NAMES[code], department="DFD", roles=[{"role": "teacher"}]) for code in ("TF1", "TF2")],
    }
    r = stack.api("POST", "/api/v1/import/contingent", admin, json=contingent)
    assert r.status_code == 200, r.text
    load = {
        "disciplines": [{"code": "FEEDCHEM", "name": "Химия", "control": "exam", "credits": 3}],
        "assignments": [
            {"teacher": "TF1", "discipline": "FEEDCHEM", "group": GROUP, "kind": "lecture"},
            {"teacher": "TF2", "discipline": "FEEDCHEM", "group": GROUP, "kind": "practice"},
        ],
    }
    eventually(lambda: stack.api("POST", "/api/v1/auth/login", json={"login": "tf1", "password": PW}).ok)
    r = stack.api("POST", "/api/v1/import/load", admin, json=load)
    assert r.status_code == 200, r.text

    def row(ref, day, kind="lecture", teacher="TF1", hour="13"):
        return {
            "ref": ref,
            "discipline": "FEEDCHEM",
            "group": GROUP,
            "kind": kind,
            "teacher": teacher,
            "starts_at": f"2026-10-{day}T{hour}:00:00+06:00",
            "minutes": 80,
            "room": "9-901",
        }

    timetable = {
        "term": {"code": "2026-2027-1", "starts": "2026-09-01", "ends": "2026-12-31"},
        "sessions": [row("FD1", "06"), row("FD2", "06", "practice", "TF2", "15"), row("FD3", "13"), row("FD4", "20")],
    }
    r = stack.api("POST", "/api/v1/import/timetable", admin, json=timetable)
    assert r.status_code == 200, r.text
    ids = r.json()["sessions"]
    tf1 = stack.login("tf1", PW)
    eventually(lambda: stack.api("GET", f"/api/v1/sessions/{ids['FD4']}", tf1).status_code == 200)
    return ids


def bulk(stack, login, session, pairs):
    r = stack.api(
        "PUT",
        f"/api/v1/sessions/{session}/attendance",
        stack.login(login, PW),
        json={"marks": [{"student": s, "status": st} for s, st in pairs]},
    )
    assert r.status_code == 200, r.text


def check_in(stack, session, students):
    code = stack.api("POST", f"/api/v1/sessions/{session}/checkin-codes", stack.login("tf1", PW))
    assert code.status_code == 200, code.text
    for student in students:
        r = stack.api("POST", "/api/v1/checkin", stack.login(student.lower(), PW), json={"token": code.json()["token"]})
        assert r.status_code == 200 and r.json()["status"] == "present", r.text


def metrics_of_the_feed() -> dict[str, list]:
    port = int(os.environ["EJOURNAL_PORT"]) + feed.METRICS_PORT_OFFSET
    r = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert r.status_code == 200
    return {f.name: f.samples for f in text_string_to_metric_families(r.text)}


def test_every_mark_event_reaches_the_public_feed_once_by_message_id_with_codes_only(stack, journal, taps):
    public, internal = taps
    fd1, fd2, fd3, fd4 = (journal[k] for k in ("FD1", "FD2", "FD3", "FD4"))
    # teachers' bulk writes, a correction, two teachers on one day
    stack.set_clock("2026-10-06T14:00:00+06:00")
    bulk(stack, "tf1", fd1, [(s, "present") for s in STUDENTS[:4]] + [(s, "absent") for s in STUDENTS[4:]])
    bulk(stack, "tf1", fd1, [("FS5", "present")])
    stack.set_clock("2026-10-06T16:00:00+06:00")
    bulk(stack, "tf2", fd2, [(s, "absent" if s == "FS1" else "present") for s in STUDENTS])
    # QR check-ins, then the teacher marks the rest
    stack.set_clock("2026-10-13T12:56:00+06:00")
    check_in(stack, fd3, STUDENTS[:4])
    tf1 = stack.login("tf1", PW)
    eventually(lambda: len(stack.api("GET", f"/api/v1/sessions/{fd3}", tf1).json()["marks"]) == 4)
    stack.set_clock("2026-10-13T14:00:00+06:00")
    bulk(stack, "tf1", fd3, [("FS5", "absent"), ("FS6", "absent")])
    # an integration token is made meanwhile: identity's token.changed must not reach the feed
    token = stack.api("POST", "/api/v1/tokens", stack.admin(), json={"name": "Фид", "faculty": "FFD"})
    assert token.status_code == 201, token.text
    # the last write: once its event is on the feed, every earlier one is too (one relay, one bridge, in order)
    stack.set_clock("2026-10-20T12:56:00+06:00")
    check_in(stack, fd4, ["FS6"])

    def witnessed():
        seen = internal.drain()
        if not any(body["payload"]["session"] == fd4 for _, _, body in seen):
            return None
        return {props.message_id for _, props, body in seen if body["payload"]["session"] in {fd1, fd2, fd3, fd4}}

    expected = eventually(witnessed, timeout=30)
    assert len(expected) >= 5, "a bulk write, a correction, a second teacher, check-ins, a bulk write, a check-in"

    def arrived():
        marks = [m for m in public.drain() if m[0] == "attendance.marks.recorded.v1"]
        ids = {p.message_id for _, p, _ in marks}
        return marks if expected <= ids else None

    marks = eventually(arrived, timeout=30)
    mine = [(key, props, body) for key, props, body in marks if props.message_id in expected]
    counts = Counter(props.message_id for _, props, _ in mine)
    assert set(counts) == expected and set(counts.values()) == {1}, "each mark event exactly once by message_id"

    final: dict[tuple[int, str], str] = {}
    for key, props, body in mine:
        assert props.message_id == body["event_id"] and props.type == key == body["type"]
        assert props.delivery_mode == 2 and props.content_type == "application/json"
        assert validate(body, schema(key)) == [], validate(body, schema(key))
        for mark in body["data"]["marks"]:
            final[(body["data"]["session"], mark["student"])] = mark["status"]
    sources = {body["data"]["source"] for _, _, body in mine}
    assert {"checkin"} <= sources and len(sources) >= 2, sources
    assert final == {
        **{(fd1, s): "present" for s in STUDENTS[:5]},
        (fd1, "FS6"): "absent",
        **{(fd2, s): "absent" if s == "FS1" else "present" for s in STUDENTS},
        **{(fd3, s): "present" for s in STUDENTS[:4]},
        (fd3, "FS5"): "absent",
        (fd3, "FS6"): "absent",
        (fd4, "FS6"): "present",
    }

    everything = public.drain()
    assert {key for key, _, _ in everything} <= set(PUBLIC_TYPES)
    assert "attendance.session.scheduled.v1" in {key for key, _, _ in everything}
    text = json.dumps([body for _, _, body in everything], ensure_ascii=False)
    for name in NAMES.values():
        assert name not in text
    assert PW not in text and token.json()["token"] not in text

    def keys(value):
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        return {k for v in value for k in keys(v)} if isinstance(value, list) else set()

    assert not keys([body for _, _, body in everything]) & PERSONAL

    families = metrics_of_the_feed()
    forwarded = {s.labels["type"]: s.value for s in families["ejournal_feed_forwarded"] if s.name.endswith("_total")}
    assert forwarded["attendance.marks.recorded.v1"] >= len(expected)
    parked = [s.value for s in families["ejournal_feed_failed"] if s.labels.get("reason") == "parked"]
    assert sum(parked) == 0, "no event of the stack was refused by its schema"


def test_grades_and_a_statement_reach_the_feed_as_their_public_events(stack, journal, taps):
    public, _ = taps
    stack.set_clock("2026-10-20T15:00:00+06:00")
    tf1 = stack.login("tf1", PW)
    module = stack.api(
        "POST",
        "/api/v1/assessments",
        tf1,
        json={
            "group": GROUP,
            "discipline": "FEEDCHEM",
            "kind": "module1",
            "title": "Модуль 1",
            "date": "2026-10-20",
            "max": 30,
        },
    )
    assert module.status_code == 201, module.text
    aid = module.json()["id"]
    for grades in ([{"student": s, "value": 20} for s in STUDENTS], [{"student": "FS2", "value": 27.5}]):
        r = stack.api("PUT", f"/api/v1/assessments/{aid}/grades", tf1, json={"grades": grades})
        assert r.status_code == 200, r.text
    statement = stack.api(
        "POST", "/api/v1/statements", tf1, json={"group": GROUP, "discipline": "FEEDCHEM", "kind": "module1"}
    )
    assert statement.status_code == 201, statement.text
    sid = statement.json()["id"]
    assert stack.api("POST", f"/api/v1/statements/{sid}/post", tf1).status_code == 200

    def mine():
        found = [
            (key, body)
            for key, _, body in public.drain()
            if key.startswith("grading.")
            and body["data"].get("assessment", body["data"].get("statement")) in (aid, sid)
            and body["data"]["group"] == GROUP
        ]
        return found if any(key == "grading.statement.posted.v1" for key, _ in found) else None

    found = eventually(mine, timeout=30)
    assert [key for key, _ in found] == [
        "grading.assessment.created.v1",
        "grading.grades.recorded.v1",
        "grading.grades.recorded.v1",
        "grading.statement.created.v1",
        "grading.statement.posted.v1",
    ]
    for key, body in found:
        assert validate(body, schema(key)) == []
    grades = [body["data"]["grades"] for key, body in found if key == "grading.grades.recorded.v1"]
    assert grades[1] == [{"student": "FS2", "previous": 20, "value": 27.5}]
    posted = found[-1][1]["data"]
    assert posted["statement"] == sid and posted["state"] == "posted" and posted["covers_until"]
    parked = [s.value for s in metrics_of_the_feed()["ejournal_feed_failed"] if s.labels.get("reason") == "parked"]
    assert sum(parked) == 0
