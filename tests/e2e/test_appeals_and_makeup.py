"""Issue 5 through the gateway with the oshtu preset and the test clock: make-up deadlines and extensions
(003 §5.3), the make-up register, appeals within one working day decided by a commission (003 §6.3)."""

from __future__ import annotations

from functools import partial

import pytest

import support
from support import eventually, until_status

pytestmark = pytest.mark.e2e
PW = "makeup-pw-1"
GROUP = "АП-1-25"


person = partial(support.person, password=PW)


@pytest.fixture(scope="module")
def course(stack):
    admin = stack.admin()
    r = stack.api("POST", "/api/v1/import/contingent", admin, json={
        "faculties": [{"code": "FAP", "name": "Тарых факультети"}],
        "departments": [{"code": "DAP", "faculty": "FAP", "name": "Кыргыз тарыхы"},
                        {"code": "DAX", "faculty": "FAP", "name": "Дүйнөлүк тарых"}],
        "groups": [{"code": GROUP, "department": "DAP", "course": 1, "subgroups": []}],
        "students": [person("P1", "Абдыкадырова Элиза", group=GROUP), person("P2", "Байзаков Нурсултан", group=GROUP),
                     person("P3", "Сатыбалдиева Айжан", group=GROUP)],
        "staff": [person("TP1", "Эсенгулов Мирлан", department="DAP", roles=[{"role": "teacher"}]),
                  person("TP2", "Жумабаева Самара", department="DAP", roles=[{"role": "teacher"}]),
                  person("TP3", "Курманов Азамат", department="DAP", roles=[{"role": "teacher"}]),
                  person("HP1", "Токтогулов Бакыт", department="DAP",
                         roles=[{"role": "teacher"}, {"role": "department_head", "scope": "DAP"}]),
                  person("DP1", "Ниязова Гүлмира", roles=[{"role": "directorate", "scope": "FAP"}]),
                  person("HX2", "Сариева Динара", roles=[{"role": "department_head", "scope": "DAX"}]),
                  person("OP1", "Мамбетова Айнура", roles=[{"role": "academic_office"}])]})
    assert r.status_code == 200, r.text
    eventually(lambda: stack.api("POST", "/api/v1/auth/login", json={"login": "op1", "password": PW}).ok)
    assert stack.api("POST", "/api/v1/import/load", admin, json={
        "disciplines": [{"code": "HIS", "name": "Кыргызстандын тарыхы", "control": "exam", "credits": 3}],
        "assignments": [{"teacher": "TP1", "discipline": "HIS", "group": GROUP, "kind": "lecture"}]}).status_code == 200
    timetable = {"term": {"code": "2026-2027-1", "starts": "2026-09-01", "ends": "2026-12-31"},
                 "sessions": [{"ref": f"AP-{d}", "discipline": "HIS", "group": GROUP, "kind": "lecture",
                               "teacher": "TP1", "starts_at": f"2026-10-{d}T09:00:00+06:00", "minutes": 80}
                              for d in ("05", "06")]}
    sessions = until_status(lambda: stack.api("POST", "/api/v1/import/timetable", admin, json=timetable),
                            200).json()["sessions"]
    eventually(lambda: stack.api("GET", f"/api/v1/sessions/{sessions['AP-06']}", stack.login("tp1", PW)).ok)
    return sessions



def api(stack, login, method, path, **kw):
    return stack.api(method, path, stack.login(login, PW), **kw)


def test_makeup_deadline_extension_and_completion_003_5_3(stack, course):
    s1 = course["AP-05"]
    stack.set_clock("2026-10-05T10:00:00+06:00")
    assert api(stack, "tp1", "PUT", f"/api/v1/sessions/{s1}/attendance", json={"marks": [
        {"student": "P1", "status": "absent"}, {"student": "P2", "status": "absent"},
        {"student": "P3", "status": "present"}]}).status_code == 200

    stack.set_clock("2026-10-18T12:00:00+06:00")  # day 13 of 14
    r = until_status(lambda: api(stack, "p1", "POST", "/api/v1/makeups", json={"session": s1, "student": "P1"}), 201)
    assert r.json()["state"] == "requested"
    assert api(stack, "p1", "POST", "/api/v1/makeups", json={"session": s1, "student": "P3"}).status_code == 404

    stack.set_clock("2026-10-20T12:00:00+06:00")  # day 15
    late = api(stack, "p2", "POST", "/api/v1/makeups", json={"session": s1, "student": "P2"})
    assert late.status_code == 409 and late.json()["code"] == "deadline_passed"
    mid = late.json()["makeup"]
    extension = {"until": "2026-10-30", "reason": "оорулуу болгон, справка бар"}
    def queue(login, query=""):
        r = api(stack, login, "GET", f"/api/v1/makeups{query}")
        assert r.status_code == 200, r.text
        return [m["id"] for m in r.json()["items"]]

    assert mid in queue("hp1") and queue("hx2") == [], "a head's queue holds its own department's make-ups only"
    everything = queue("op1", "?limit=500")
    seen, cursor = [], None
    while True:  # API.md: limit and cursor; the next page follows the last one, never repeats it
        page = api(stack, "op1", "GET", "/api/v1/makeups?limit=1" + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(everything) >= 2 and seen == everything
    wrong_order = api(stack, "dp1", "POST", f"/api/v1/makeups/{mid}/extend", json=extension)
    assert wrong_order.status_code == 409, "the directorate extends after the department head"
    assert api(stack, "hp1", "POST", f"/api/v1/makeups/{mid}/extend", json=extension).status_code == 200
    assert api(stack, "dp1", "POST", f"/api/v1/makeups/{mid}/extend", json=extension).status_code == 200
    again = api(stack, "p2", "POST", "/api/v1/makeups", json={"session": s1, "student": "P2"})
    assert again.status_code in (200, 201) and again.json()["id"] == mid, again.text

    assert api(stack, "tp1", "POST", f"/api/v1/makeups/{mid}/assign",
               json={"task_kind": "lab_redo", "topic": "x", "due": "2026-10-28"}).status_code == 422
    r = api(stack, "tp1", "POST", f"/api/v1/makeups/{mid}/assign",
            json={"task_kind": "summary_oral", "topic": "Манас эпосу", "due": "2026-10-28"})
    assert r.status_code == 200, r.text
    r = api(stack, "tp1", "POST", f"/api/v1/makeups/{mid}/complete", json={"result": 8, "comment": "жакшы"})
    assert r.status_code == 200 and r.json()["state"] == "completed", r.text

    def status():
        view = api(stack, "tp1", "GET", f"/api/v1/sessions/{s1}").json()
        return {m["student"]: m["status"] for m in view["marks"]}.get("P2")

    eventually(lambda: status() == "made_up")
    book = api(stack, "tp1", "GET", f"/api/v1/gradebook?group={GROUP}&discipline=HIS").json()
    eventually(lambda: [m["result"] for s in api(stack, "tp1", "GET",
                                                 f"/api/v1/gradebook?group={GROUP}&discipline=HIS").json()["students"]
                        if s["student"] == "P2" for m in s["makeups"]] == ["8"])
    assert book["group"] == GROUP
    register = api(stack, "tp1", "GET", f"/api/v1/makeups/register?group={GROUP}&discipline=HIS")
    assert register.status_code == 200 and register.json()["consistent"] is True, register.text
    mine = api(stack, "p2", "GET", "/api/v1/makeups").json()["items"]
    assert [m["id"] for m in mine] == [mid]


def test_an_appeal_within_one_working_day_is_decided_by_the_commission_003_6_3(stack, course):
    stack.set_clock("2026-10-06T10:00:00+06:00")
    module = api(stack, "tp1", "POST", "/api/v1/assessments", json={
        "group": GROUP, "discipline": "HIS", "kind": "module1", "title": "Модуль 1", "date": "2026-10-06",
        "max": 30})
    assert module.status_code == 201, module.text
    mid = module.json()["id"]
    assert api(stack, "tp1", "PUT", f"/api/v1/assessments/{mid}/grades", json={"grades": [
        {"student": "P1", "value": 20}, {"student": "P2", "value": 18}, {"student": "P3", "value": 21}]}).ok
    stack.set_clock("2026-10-07T10:00:00+06:00")  # Wednesday
    sid = api(stack, "tp1", "POST", "/api/v1/statements",
              json={"group": GROUP, "discipline": "HIS", "kind": "module1"}).json()["id"]
    assert api(stack, "tp1", "POST", f"/api/v1/statements/{sid}/post").status_code == 200

    stack.set_clock("2026-10-08T16:00:00+06:00")  # inside one working day of the posting
    appeal = until_status(lambda: api(stack, "p3", "POST", "/api/v1/appeals",
                                      json={"statement": sid, "reason": "Жоопторум толук эсептелген жок"}), 201)
    stack.set_clock("2026-10-12T10:00:00+06:00")  # Monday: the window has closed
    late = api(stack, "p1", "POST", "/api/v1/appeals", json={"statement": sid, "reason": "кечиккен арыз"})
    assert late.status_code == 409 and late.json()["code"] == "deadline_passed"

    r = api(stack, "op1", "POST", "/api/v1/commissions",
            json={"order": "№45-к", "members": ["TP2", "TP3"], "from": "2026-10-01", "to": "2026-12-31"})
    assert r.status_code == 201, r.text
    eventually(lambda: any(x["role"] == "commission" for x in api(stack, "tp2", "GET", "/api/v1/me").json()["roles"]))
    assert api(stack, "op1", "POST", f"/api/v1/statements/{sid}/close").status_code == 200
    queue = api(stack, "tp2", "GET", "/api/v1/appeals").json()["items"]
    assert appeal.json()["id"] in [a["id"] for a in queue]
    assert api(stack, "tp1", "POST", f"/api/v1/appeals/{appeal.json()['id']}/decision",
               json={"upheld": True, "protocol": "№3", "value": 28}).status_code == 403
    r = api(stack, "tp2", "POST", f"/api/v1/appeals/{appeal.json()['id']}/decision",
            json={"upheld": True, "protocol": "№3", "value": 28})
    assert r.status_code == 200, r.text

    def grade():
        a = api(stack, "tp1", "GET", f"/api/v1/assessments/{mid}").json()
        return {g["student"]: g["value"] for g in a["grades"]}.get("P3")

    eventually(lambda: grade() == 28)
    mine = api(stack, "p3", "GET", "/api/v1/appeals").json()["items"]
    assert mine and mine[0]["state"] == "decided", "the student sees every step"
    statement = api(stack, "tp1", "GET", f"/api/v1/statements/{sid}").json()
    assert statement["state"] == "closed"
    row = next(r for r in statement["rows"] if r["student"] == "P3")
    assert row["points"] > 21 * 0 and "28" in str(row), "the closed statement's row follows the commission's value"
    audit = stack.api("GET", "/api/v1/audit?student=P3", stack.admin()).json()["items"]
    decided = [e for e in audit if e["entity"] == "appeal" and e["action"] == "decided"]
    assert decided and all(word in str(decided[0]) for word in ("№3", "№45-к", "TP2", "TP3"))
    changed = [e for e in audit if e["entity"] == "grade" and e["actor"] == "TP2"]
    assert changed and "№3" in str(changed[-1]["approval"])


def test_a_redelivered_completion_leaves_one_result_and_one_audit_entry(stack, course):
    import json

    import pika
    from sqlalchemy import create_engine, text

    from kernel.config import settings

    engine = create_engine(settings().admin_url())
    with engine.connect() as c:
        envelope = c.execute(text("SELECT envelope FROM makeup.outbox WHERE type = 'makeup.completed' "
                                  "ORDER BY id DESC LIMIT 1")).scalar()
    assert envelope is not None

    def counts():
        audit = stack.api("GET", f"/api/v1/audit?student={envelope['payload']['student']}",
                          stack.admin()).json()["items"]
        book = api(stack, "tp1", "GET", f"/api/v1/gradebook?group={GROUP}&discipline=HIS").json()["students"]
        results = [m for s in book for m in s["makeups"] if m["makeup"] == envelope["payload"]["id"]]
        return (len([e for e in audit if e.get("approval") == f"make-up {envelope['payload']['id']}"]), len(results))

    before = counts()
    assert before == (2, 1), "one mark change in attendance, one counted result in grading"
    connection = pika.BlockingConnection(pika.URLParameters(settings().amqp_uri))
    channel = connection.channel()
    for _ in range(2):  # the same event twice, as a broker redelivers it
        channel.basic_publish("makeup.events", "makeup.completed", json.dumps(envelope).encode(),
                              pika.BasicProperties(content_type="application/json", delivery_mode=2))
    connection.close()
    import time

    time.sleep(3)
    assert counts() == before
