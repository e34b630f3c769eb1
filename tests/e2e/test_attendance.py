"""Issue 3, tried as a new user would, with the oshtu preset and the test clock (RULES.md §3, §5; API.md)."""

from __future__ import annotations

from functools import partial

import pytest

import support
from support import eventually, until_status

pytestmark = pytest.mark.e2e
PW = "attendance-pw-1"
GROUP, OTHER = "АТ-1-25", "АТ-2-25"


person = partial(support.person, password=PW)


@pytest.fixture(scope="module")
def journal(stack):
    admin = stack.admin()
    contingent = {
        "faculties": [{"code": "FAT", "name": "Автотранспорт факультети"}],
        "departments": [{"code": "DAT", "faculty": "FAT", "name": "Автомобилдер кафедрасы"}],
        "groups": [{"code": GROUP, "department": "DAT", "course": 1, "subgroups": ["1", "2"]},
                   {"code": OTHER, "department": "DAT", "course": 2, "subgroups": []}],
        "students": [person("A1", "Асанова Айгүл", group=GROUP, subgroup="1"),
                     person("A2", "Бакиев Нурбек", group=GROUP, subgroup="1"),
                     person("A3", "Өмүров Таалай", group=GROUP, subgroup="2"),
                     person("A4", "Үсөнова Жамиля", group=GROUP, subgroup="2"),
                     person("B1", "Жээнбеков Арстан", group=OTHER)],
        "staff": [person("TA1", "Мамытов Бакыт", department="DAT", roles=[{"role": "teacher"}]),
                  person("TA2", "Сыдыкова Гүлзат", department="DAT", roles=[{"role": "teacher"}]),
                  person("TA3", "Токтосунов Эрмек", department="DAT", roles=[{"role": "teacher"}]),
                  person("HA1", "Абдыраева Динара", department="DAT",
                         roles=[{"role": "teacher"}, {"role": "department_head", "scope": "DAT"}]),
                  person("DA1", "Касымов Улан", roles=[{"role": "directorate", "scope": "FAT"}])],
    }
    r = stack.api("POST", "/api/v1/import/contingent", admin, json=contingent)
    assert r.status_code == 200, r.text
    load = {"disciplines": [{"code": "PHY", "name": "Физика", "control": "exam", "credits": 4}],
            "assignments": [{"teacher": "TA1", "discipline": "PHY", "group": GROUP, "kind": "lecture"},
                            {"teacher": "TA2", "discipline": "PHY", "group": OTHER, "kind": "lecture"}]}
    eventually(lambda: stack.api("POST", "/api/v1/auth/login", json={"login": "da1", "password": PW}).ok)
    r = stack.api("POST", "/api/v1/import/load", admin, json=load)
    assert r.status_code == 200, r.text

    def lecture(ref, day, teacher="TA1", group=GROUP):
        return {"ref": ref, "discipline": "PHY", "group": group, "kind": "lecture", "teacher": teacher,
                "starts_at": f"2026-10-{day}T09:00:00+06:00", "minutes": 80, "room": "2-101"}

    timetable = {"term": {"code": "2026-2027-1", "starts": "2026-09-01", "ends": "2026-12-31"},
                 "sessions": [lecture("L1", "05"), lecture("L2", "12"), lecture("L3", "19"),
                              lecture("M1", "05", "TA2", OTHER)]}
    r = stack.api("POST", "/api/v1/import/timetable", admin, json=timetable)
    assert r.status_code == 200, r.text
    ids = r.json()["sessions"]
    again = stack.api("POST", "/api/v1/import/timetable", admin, json=timetable)
    assert again.json()["sessions"] == ids and again.json()["created"] == 0, "importing twice changes nothing"
    ta1 = stack.login("ta1", PW)
    eventually(lambda: stack.api("GET", f"/api/v1/sessions/{ids['L3']}", ta1).status_code == 200)
    return ids



def marks(stack, login, session, *pairs):
    return stack.api("PUT", f"/api/v1/sessions/{session}/attendance", stack.login(login, PW),
                     json={"marks": [{"student": s, "status": st} for s, st in pairs]})


def status_of(stack, session, student, login="ta1"):
    view = stack.api("GET", f"/api/v1/sessions/{session}", stack.login(login, PW)).json()
    return {m["student"]: m["status"] for m in view["marks"]}.get(student)


def test_a_timetable_row_that_matches_no_load_is_refused(stack, journal):
    bad = {"term": {"code": "2026-2027-1", "starts": "2026-09-01", "ends": "2026-12-31"},
           "sessions": [{"ref": "X1", "discipline": "PHY", "group": GROUP, "kind": "lecture", "teacher": "TA2",
                         "starts_at": "2026-10-06T09:00:00+06:00", "minutes": 80}]}
    r = stack.api("POST", "/api/v1/import/timetable", stack.admin(), json=bad)
    assert r.status_code == 422 and any(k.startswith("sessions[0]") for k in r.json()["errors"])


def test_marks_correction_next_day_and_window_closed_on_day_four_003_4_4_1(stack, journal):
    l1 = journal["L1"]
    stack.set_clock("2026-10-05T10:00:00+06:00")
    r = marks(stack, "ta1", l1, ("A1", "present"), ("A2", "absent"))
    assert r.status_code == 200, r.text
    assert {m["student"]: m["mark"] for m in r.json()["marks"]}["A2"] == "НБ"
    stack.set_clock("2026-10-06T12:00:00+06:00")
    assert marks(stack, "ta1", l1, ("A2", "present")).status_code == 200
    stack.set_clock("2026-10-09T10:00:00+06:00")
    r = marks(stack, "ta1", l1, ("A2", "absent"))
    assert r.status_code == 409 and r.json()["code"] == "window_closed"
    assert status_of(stack, l1, "A2") == "present", "a refused write changes nothing"


def test_a_teacher_of_another_group_gets_404(stack, journal):
    assert stack.api("GET", f"/api/v1/sessions/{journal['L1']}", stack.login("ta2", PW)).status_code == 404
    assert marks(stack, "ta2", journal["L1"], ("A1", "absent")).status_code == 404


def test_a_student_off_the_roster_is_422_and_nothing_is_stored(stack, journal):
    stack.set_clock("2026-10-12T10:00:00+06:00")
    r = marks(stack, "ta1", journal["L2"], ("A1", "present"), ("B1", "present"))
    assert r.status_code == 422 and "marks[1].student" in r.json()["errors"]
    assert status_of(stack, journal["L2"], "A1") is None


def test_a_teacher_cannot_set_excused_003_4_2_4(stack, journal):
    stack.set_clock("2026-10-12T10:00:00+06:00")
    r = marks(stack, "ta1", journal["L2"], ("A1", "excused"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_a_substitute_in_range_writes_and_out_of_range_gets_404_000_2_002_3_5(stack, journal):
    r = stack.api("POST", "/api/v1/substitutions", stack.login("ha1", PW),
                  json={"teacher": "TA1", "substitute": "TA3", "from": "2026-10-12", "to": "2026-10-13"})
    assert r.status_code == 201, r.text
    stack.set_clock("2026-10-12T10:00:00+06:00")
    r = until_status(lambda: marks(stack, "ta3", journal["L2"], ("A1", "absent"), ("A2", "present")), 200)
    assert r.json()["teacher"] == "TA1"
    stack.set_clock("2026-10-19T10:00:00+06:00")
    assert marks(stack, "ta3", journal["L3"], ("A1", "present")).status_code == 404


def test_the_directorate_approves_an_excuse_and_the_absence_becomes_sick(stack, journal):
    stack.set_clock("2026-10-13T09:00:00+06:00")
    r = stack.api("POST", "/api/v1/excuses", stack.login("a1", PW),
                  json={"student": "A1", "from": "2026-10-12", "to": "2026-10-12", "kind": "sick",
                        "document": "справка №154"})
    assert r.status_code == 201, r.text
    excuse = r.json()
    assert stack.api("POST", "/api/v1/excuses", stack.login("a1", PW),
                     json={**{"student": "A2", "from": "2026-10-12", "to": "2026-10-12", "kind": "sick",
                              "document": "x"}}).status_code == 404, "a student files only for self"
    assert stack.api("POST", f"/api/v1/excuses/{excuse['id']}/decision", stack.login("ta1", PW),
                     json={"approve": True}).status_code == 403
    r = stack.api("POST", f"/api/v1/excuses/{excuse['id']}/decision", stack.login("da1", PW),
                  json={"approve": True, "note": "документ текшерилди"})
    assert r.status_code == 200, r.text
    assert status_of(stack, journal["L2"], "A1") == "sick"


def test_qr_check_in_001_4_2_002_4_2(stack, journal):
    l3 = journal["L3"]
    stack.set_clock("2026-10-19T08:55:00+06:00")
    code = stack.api("POST", f"/api/v1/sessions/{l3}/checkin-codes", stack.login("ta1", PW))
    assert code.status_code == 200, code.text
    token = code.json()["token"]
    assert code.json()["url"].endswith(f"/checkin?t={token}")
    first = stack.api("POST", "/api/v1/checkin", stack.login("a3", PW), json={"token": token})
    assert first.status_code == 200 and first.json()["status"] == "present", first.text
    second = stack.api("POST", "/api/v1/checkin", stack.login("a3", PW), json={"token": token})
    assert second.status_code == 200 and second.json()["already"] is True
    # recorded by the attendance service's intake a moment after the answer, once
    view = eventually(lambda: (lambda v: v if any(m["student"] == "A3" for m in v["marks"]) else None)(
        stack.api("GET", f"/api/v1/sessions/{l3}", stack.login("ta1", PW)).json()))
    assert [m["student"] for m in view["marks"]].count("A3") == 1
    assert stack.api("POST", "/api/v1/checkin", stack.login("b1", PW), json={"token": token}).status_code == 403
    svg = stack.api("GET", f"/api/v1/sessions/{l3}/checkin-codes/qr.svg", stack.login("ta1", PW))
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml") and b"<svg" in svg.content
    assert stack.api("GET", "/checkin").status_code == 200

    stack.set_clock("2026-10-19T08:57:21+06:00")  # older than the 20 s TTL plus the 120 s grace
    r = stack.api("POST", "/api/v1/checkin", stack.login("a2", PW), json={"token": token})
    assert r.status_code == 410 and r.json()["code"] == "token_expired"

    stack.set_clock("2026-10-19T10:00:00+06:00")  # an hour after the start
    late = stack.api("POST", f"/api/v1/sessions/{l3}/checkin-codes", stack.login("ta1", PW)).json()["token"]
    r = stack.api("POST", "/api/v1/checkin", stack.login("a2", PW), json={"token": late})
    assert r.status_code == 409 and r.json()["code"] == "window_closed"
    roster = stack.api("GET", f"/api/v1/sessions/{l3}/roster", stack.login("ta1", PW))
    assert roster.status_code == 200 and any(s["student"] == "A3" for s in roster.json()["students"])


def test_an_expelled_student_leaves_rosters_after_the_orders_date_not_before(stack, journal):
    r = stack.api("POST", "/api/v1/orders", stack.login("da1", PW),
                  json={"kind": "expel", "student": "A4", "date": "2026-10-15", "number": "77-к"})
    assert r.status_code == 201, r.text

    def roster(session):
        return stack.api("GET", f"/api/v1/sessions/{session}", stack.login("ta1", PW)).json()["roster"]

    eventually(lambda: "A4" not in roster(journal["L3"]))
    assert "A4" in roster(journal["L2"])


def test_every_mark_change_is_audited_with_both_teachers_named(stack, journal):
    r = stack.api("GET", "/api/v1/audit?student=A1&entity=mark", stack.admin())
    assert r.status_code == 200, r.text
    entries = [e for e in r.json()["items"] if e["entity_id"] == f"{journal['L2']}:A1"]
    assert [(e["old"], e["new"]) for e in entries][-1][1] in ({"status": "sick"}, "sick")
    substitute = [e for e in entries if e["actor"] == "TA3"]
    assert substitute and substitute[0]["on_behalf_of"] == "TA1", "the audit names the substitute and the teacher"
    assert stack.api("GET", "/api/v1/audit/verify", stack.admin()).json()["ok"] is True
    assert stack.api("GET", "/api/v1/audit?student=A1", stack.login("ta1", PW)).status_code == 403
