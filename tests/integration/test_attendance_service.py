"""The attendance service over RPC on the test stack (real PostgreSQL and RabbitMQ): its read models fed by
identity's events, the timetable import, marks, QR check-in and excuses (API.md "Attendance"; RULES.md §2, §3).
The simulation clock is left alone: check-ins pass their own time, sessions lie after the stack's today."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2
import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from support import eventually

pytestmark = pytest.mark.integration
PASSWORD = "att-password-1"
GROUP = "АТ-9-26"
TZ = ZoneInfo("Asia/Bishkek")  # the oshtu preset of the test stack


def remote(exc: RemoteError):
    from kernel.errors import from_remote

    return from_remote(exc.exc_type, exc.value)


def raises(code: str, call, *args, **kwargs):
    with pytest.raises(RemoteError) as err:
        call(*args, **kwargs)
    error = remote(err.value)
    assert error is not None and error.code == code, err.value
    return error


def stack_now() -> datetime:
    from kernel.config import settings

    cfg = settings()
    conn = psycopg2.connect(host=cfg.pg_host, port=cfg.pg_port, dbname=cfg.db_name, user=cfg.admin_role,
                            password=cfg.pg_admin_password)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT offset_seconds FROM kernel.clock WHERE id = 1")
        offset = (cur.fetchone() or [0])[0] or 0
    conn.close()
    return datetime.now(UTC) + timedelta(seconds=offset)


@pytest.fixture(scope="module")
def rpc(stack):
    with ClusterRpcProxy({"AMQP_URI": os.environ["EJOURNAL_AMQP_URI"], "serializer": "json"}, timeout=60) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def world(rpc):
    contingent = {
        "faculties": [{"code": "AT9F", "name": "Attendance faculty"}],
        "departments": [{"code": "AT9D", "faculty": "AT9F", "name": "Attendance department"}],
        "groups": [{"code": GROUP, "department": "AT9D", "course": 1, "subgroups": ["1", "2"]}],
        "students": [{"code": f"AT9S{i}", "full_name": f"Студент {i}", "group": GROUP, "subgroup": sub,
                      "login": f"at9s{i}", "password": PASSWORD}
                     for i, sub in ((1, "1"), (2, "1"), (3, "1"), (4, "2"))],
        "staff": [{"code": "AT9T1", "full_name": "Окутуучу", "login": "at9t1", "password": PASSWORD,
                   "department": "AT9D", "roles": [{"role": "teacher"}]},
                  {"code": "AT9D1", "full_name": "Дирекция", "login": "at9d1", "password": PASSWORD,
                   "roles": [{"role": "directorate", "scope": "AT9F"}]}],
    }
    rpc.identity.import_contingent(contingent, "admin")
    rpc.identity.import_load({
        "disciplines": [{"code": "AT9ALG", "name": "Алгоритмдер", "control": "exam", "credits": 5}],
        "assignments": [{"teacher": "AT9T1", "discipline": "AT9ALG", "group": GROUP, "kind": "lecture"},
                        {"teacher": "AT9T1", "discipline": "AT9ALG", "group": GROUP, "kind": "lab",
                         "subgroup": "1"}]}, "admin")
    today = stack_now().astimezone(TZ).date()

    def at(days: int, clock: str) -> datetime:
        return datetime.fromisoformat(f"{(today + timedelta(days=days)).isoformat()}T{clock}:00").replace(tzinfo=TZ)

    def row(ref: str, starts: datetime, kind: str = "lecture", subgroup: str | None = None) -> dict:
        body = {"ref": ref, "discipline": "AT9ALG", "group": GROUP, "kind": kind, "teacher": "AT9T1",
                "starts_at": starts.isoformat(), "minutes": 80, "room": "101", "note": "ignored"}
        if subgroup:
            body["subgroup"] = subgroup
        return body

    term = {"code": "AT9-TERM", "starts": (today - timedelta(days=1)).isoformat(),
            "ends": (today + timedelta(days=30)).isoformat()}
    body = {"term": term, "sessions": [row("at9:lec:1", at(1, "08:00")),
                                       row("at9:lab:1", at(1, "09:30"), "lab", "1"),
                                       row("at9:lec:2", at(2, "08:00"))]}

    def imported():  # the load reaches attendance through identity's events
        try:
            return rpc.attendance.import_timetable(body, "admin")
        except RemoteError:
            return None

    first = eventually(imported, timeout=30)
    return {"body": body, "first": first, "at": at, "ids": first["sessions"]}


def test_a_bad_timetable_row_is_named_and_nothing_is_stored(rpc, world):
    bad = {"term": world["body"]["term"],
           "sessions": [{**world["body"]["sessions"][0], "ref": "at9:new:1"},
                        {**world["body"]["sessions"][0], "ref": "at9:new:2", "kind": "practice"}]}
    error = raises("validation_error", rpc.attendance.import_timetable, bad, "admin")
    assert list(error.errors) == ["sessions[1].teacher"]
    refs = {s["ref"] for s in rpc.attendance.list_sessions(group=GROUP)["items"]}
    assert refs == {"at9:lec:1", "at9:lab:1", "at9:lec:2"}


def test_timetable_import_is_idempotent_by_ref(rpc, world):
    assert world["first"]["created"] == 3
    again = rpc.attendance.import_timetable(world["body"], "admin")
    assert again["created"] == 0 and again["unchanged"] == 3 and again["sessions"] == world["ids"]


def test_a_subgroup_sessions_roster_is_that_subgroup(rpc, world):
    lab = rpc.attendance.get_session(world["ids"]["at9:lab:1"])
    assert lab["roster"] == ["AT9S1", "AT9S2", "AT9S3"] and lab["marks"] == []
    lecture = rpc.attendance.get_session(world["ids"]["at9:lec:1"])
    assert lecture["roster"] == ["AT9S1", "AT9S2", "AT9S3", "AT9S4"]


def send_checkins(*requests: tuple[int, str, datetime, str, str], corrupt: bytes | None = None) -> list[str]:
    """Publish check-in commands as the gateway does (kernel.commands.CHECKIN); their ids."""
    import uuid

    import pika

    from contracts.attendance import CheckinRequest
    from kernel.commands import CHECKIN, COMMANDS_EXCHANGE

    conn = pika.BlockingConnection(pika.URLParameters(os.environ["EJOURNAL_AMQP_URI"]))
    ch = conn.channel()
    ch.confirm_delivery()
    ids = []
    for session, student, at, address, device in requests:
        request = CheckinRequest(uuid.uuid4().hex, session, student, at, address, device)
        ch.basic_publish(COMMANDS_EXCHANGE, CHECKIN.routing_key, json.dumps(request.to_wire()).encode(),
                         pika.BasicProperties(delivery_mode=2, message_id=request.id), mandatory=True)
        ids.append(request.id)
    if corrupt is not None:
        ch.basic_publish(COMMANDS_EXCHANGE, CHECKIN.routing_key, corrupt, pika.BasicProperties(delivery_mode=2),
                         mandatory=True)
    conn.close()
    return ids


def refusals(rpc, student: str) -> list[tuple[str, str]]:
    return [(e["entity_id"], e["new"]["code"]) for e in rpc.attendance.audit_entries(entity="checkin", student=student)
            if e["action"] == "refused"]


def test_checkin_intake_checks_roster_window_and_records_a_repeat_once(rpc, world):
    sid, lab = world["ids"]["at9:lec:1"], world["ids"]["at9:lab:1"]
    start = world["at"](1, "08:00")
    minute = timedelta(minutes=1)
    send_checkins((sid, "AT9S1", start + minute, "10.0.0.1", "phone-1"),
                  (sid, "AT9S1", start + 2 * minute, "10.0.0.1", "phone-1"),  # a repeat in the same batch
                  (sid, "AT9S3", start + 3 * minute, "10.0.0.1", "phone-1"),
                  (lab, "AT9S4", world["at"](1, "09:30"), "10.0.0.2", "phone-4"),  # subgroup 2: not on the roster
                  (sid, "AT9S2", start + 16 * minute, "10.0.0.2", "phone-2"))  # the window closed at +15 min
    send_checkins((sid, "AT9S1", start + 4 * minute, "10.0.0.9", "phone-9"))  # a repeat in a later batch
    live = eventually(lambda: (lambda r: r if r["shared_devices"] and refusals(rpc, "AT9S2") else None)(
        rpc.attendance.live_roster(sid)), timeout=20)
    assert live["shared_devices"] == [{"device": "phone-1", "students": ["AT9S1", "AT9S3"]}]
    marks = {m["student"]: m["status"] for m in rpc.attendance.get_session(sid)["marks"]}
    assert marks == {"AT9S1": "present", "AT9S3": "present"}
    assert refusals(rpc, "AT9S4") == [(f"{lab}:AT9S4", "forbidden")]
    assert refusals(rpc, "AT9S2") == [(f"{sid}:AT9S2", "window_closed")]
    assert [(r["student"], r["code"]) for r in live["refused_checkins"]] == [("AT9S2", "window_closed")]
    assert [(r["student"], r["code"]) for r in rpc.attendance.live_roster(lab)["refused_checkins"]] == [
        ("AT9S4", "forbidden")]
    trail = [e for e in rpc.attendance.audit_entries(entity="mark", student="AT9S1") if e["action"] == "checkin"]
    assert len(trail) == 1 and trail[0]["new"] == "present" and "phone-1" in trail[0]["reason"]


def test_a_message_that_is_not_a_checkin_is_parked_not_lost(rpc, world):
    from kernel.deadletters import list_dead_letters

    send_checkins(corrupt=b'{"session": "x"}')
    parked = eventually(lambda: [d for d in list_dead_letters() if d["queue"] == "attendance.checkins"], timeout=20)
    assert parked and parked[0]["error"].startswith("id:")


def test_marks_rules_and_excuse_approval(rpc, world):
    sid = world["ids"]["at9:lec:2"]
    view = rpc.attendance.record_marks(sid, [{"student": "AT9S1", "status": "absent"},
                                             {"student": "AT9S2", "status": "absent"},
                                             {"student": "AT9S3", "status": "present"}], "AT9T1")
    assert {m["student"]: m["mark"] for m in view["marks"]} == {"AT9S1": "НБ", "AT9S2": "НБ", "AT9S3": ""}
    assert view["first_entry_at"] is not None
    raises("forbidden", rpc.attendance.record_marks, sid, [{"student": "AT9S1", "status": "excused"}], "AT9T1")
    error = raises("validation_error", rpc.attendance.record_marks, sid,
                   [{"student": "AT9S1", "status": "present"}, {"student": "NOBODY", "status": "present"}], "AT9T1")
    assert list(error.errors) == ["marks[1].student"]
    day = world["at"](2, "08:00").date().isoformat()
    excuse = rpc.attendance.file_excuse({"student": "AT9S2", "from": day, "to": day, "kind": "sick",
                                         "document": "справка 1"}, "AT9S2", "student")
    assert excuse["state"] == "pending" and excuse["late_filing"] is False
    decided = rpc.attendance.decide_excuse(excuse["id"], True, "документ текшерилди", "AT9D1")
    assert decided["changes"] == [{"session": sid, "student": "AT9S2", "old": "absent", "new": "sick"}]
    raises("conflict", rpc.attendance.decide_excuse, excuse["id"], False, None, "AT9D1")
    marks = {m["student"]: (m["status"], m["source"]) for m in rpc.attendance.get_session(sid)["marks"]}
    assert marks["AT9S2"] == ("sick", "excuse") and marks["AT9S1"] == ("absent", "teacher")
    raises("forbidden", rpc.attendance.record_marks, sid, [{"student": "AT9S2", "status": "present"}], "AT9T1")
    trail = rpc.attendance.audit_entries(entity="mark", student="AT9S2")
    assert trail[-1]["approval"] == f"excuse {excuse['id']}" and trail[-1]["old"] == "absent"
    assert rpc.attendance.audit_verify()["ok"]


def test_a_students_sessions_are_those_of_their_roster(rpc, world):
    mine = rpc.attendance.list_sessions(student="AT9S4", limit=1)
    assert [s["ref"] for s in mine["items"]] == ["at9:lec:1"] and mine["next_cursor"]
    rest = rpc.attendance.list_sessions(student="AT9S4", limit=10, cursor=mine["next_cursor"])
    assert [s["ref"] for s in rest["items"]] == ["at9:lec:2"] and rest["next_cursor"] is None


def grading_event(event_type: str, payload: dict) -> None:
    """Publish an event as grading's relay would (its envelope, on its exchange)."""
    from nameko.standalone.events import event_dispatcher

    from kernel.clock import real_now
    from kernel.events import new_event

    envelope = new_event("grading", event_type, payload, real_now(), actor="AT9O1", institution="oshtu").to_wire()
    dispatch = event_dispatcher({"AMQP_URI": os.environ["EJOURNAL_AMQP_URI"], "serializer": "json"})
    dispatch("grading", event_type, envelope)
    dispatch("grading", event_type, envelope)  # a redelivery: claimed once


def test_an_executed_correction_sets_the_mark_once_with_its_approval_003_4_4_2(rpc, world):
    sid = world["ids"]["at9:lec:2"]
    rpc.attendance.record_marks(sid, [{"student": "AT9S4", "status": "absent"}], "AT9T1")
    grading_event("correction.executed", {"id": 1, "target": {"kind": "grade", "assessment": 1, "student": "AT9S4"},
                                          "value": 5, "actor": "AT9O1", "approval": "correction 1", "reason": "x"})
    grading_event("correction.executed", {"id": 2, "target": {"kind": "attendance", "session": sid,
                                                              "student": "AT9S4"},
                                          "value": "present", "actor": "AT9O1", "approval": "correction 2",
                                          "reason": "the paper list shows the student"})

    def corrected():
        marks = {m["student"]: (m["status"], m["source"]) for m in rpc.attendance.get_session(sid)["marks"]}
        return marks.get("AT9S4") == ("present", "correction")

    eventually(corrected, timeout=20)
    trail = [e for e in rpc.attendance.audit_entries(entity="mark", student="AT9S4") if e["approval"]]
    assert [(e["action"], e["old"], e["new"], e["approval"], e["actor"]) for e in trail] == [
        ("corrected", "absent", "present", "correction 2", "AT9O1")]
    assert rpc.attendance.audit_verify()["ok"]


def test_an_archived_year_refuses_marks_topics_and_checkins_rules_9(rpc, world):
    sid = world["ids"]["at9:lec:1"]
    day = world["at"](1, "08:00").date()
    grading_event("year.closed", {"year": "1999-2000", "starts": day.isoformat(), "ends": day.isoformat(),
                                  "actor": "AT9O1"})
    try:
        eventually(lambda: remote_code(rpc.attendance.set_topic, sid, "Тема", None, "AT9T1") == "locked",
                   timeout=20)
        raises("locked", rpc.attendance.record_marks, sid, [{"student": "AT9S2", "status": "absent"}], "AT9T1")
        send_checkins((sid, "AT9S2", world["at"](1, "08:01"), "10.0.0.2", "phone-2"))
        eventually(lambda: (f"{sid}:AT9S2", "locked") in refusals(rpc, "AT9S2"), timeout=20)
        view = rpc.attendance.record_marks(sid, [{"student": "AT9S2", "status": "absent"}], "AT9C1", "commission")
        assert {m["student"]: m["status"] for m in view["marks"]}.get("AT9S2") == "absent"
    finally:
        # The event was published by hand, not by grading, so no replay knows it: every read model that took it
        # (attendance's and the gateway's) gives the made-up year back, or a later rebuild --compare finds it.
        admin_sql("DELETE FROM attendance.closed_year WHERE year = '1999-2000'")
        eventually(lambda: admin_sql("DELETE FROM gateway.closed_year WHERE year = '1999-2000'") == 1, timeout=20)


def remote_code(call, *args):
    try:
        call(*args)
    except RemoteError as exc:
        error = remote(exc)
        return error.code if error is not None else None
    return None


def admin_sql(statement: str) -> int:
    from kernel.config import settings

    cfg = settings()
    conn = psycopg2.connect(host=cfg.pg_host, port=cfg.pg_port, dbname=cfg.db_name, user=cfg.admin_role,
                            password=cfg.pg_admin_password)
    with conn, conn.cursor() as cur:
        cur.execute(statement)
        count = cur.rowcount
    conn.close()
    return count
