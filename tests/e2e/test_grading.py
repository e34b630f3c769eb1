"""Issue 4 through the gateway with the oshtu preset: grades on the scale, statements that lock the journal,
the late-correction chain, the year archive. (The jagu hand calculation and the kostanay scale are unit tests:
this stack runs one preset.)"""

from __future__ import annotations

from datetime import datetime
from functools import partial

import pytest

import support
from support import eventually, until_status

pytestmark = pytest.mark.e2e
PW = "grading-pw-1"
GROUP = "МТ-1-25"


person = partial(support.person, password=PW)


@pytest.fixture(scope="module")
def course(stack):
    admin = stack.admin()
    r = stack.api("POST", "/api/v1/import/contingent", admin, json={
        "faculties": [{"code": "FMT", "name": "Математика факультети"}],
        "departments": [{"code": "DMT", "faculty": "FMT", "name": "Жогорку математика"}],
        "groups": [{"code": GROUP, "department": "DMT", "course": 1, "subgroups": []}],
        "students": [person("G1", "Айдарова Нуриза", group=GROUP), person("G2", "Бекмуратов Эмир", group=GROUP)],
        "staff": [person("TG1", "Осмонов Канат", department="DMT", roles=[{"role": "teacher"}]),
                  person("HG1", "Рахманова Айпери", department="DMT",
                         roles=[{"role": "teacher"}, {"role": "department_head", "scope": "DMT"}]),
                  person("OG1", "Турдубаева Мээрим", roles=[{"role": "academic_office"}])]})
    assert r.status_code == 200, r.text
    eventually(lambda: stack.api("POST", "/api/v1/auth/login", json={"login": "og1", "password": PW}).ok)
    r = stack.api("POST", "/api/v1/import/load", admin, json={
        "disciplines": [{"code": "MAT", "name": "Математикалык анализ", "control": "exam", "credits": 5}],
        "assignments": [{"teacher": "TG1", "discipline": "MAT", "group": GROUP, "kind": "lecture"}]})
    assert r.status_code == 200, r.text
    timetable = {"term": {"code": "2026-2027-1", "starts": "2026-09-01", "ends": "2026-12-31"},
                 "sessions": [{"ref": f"MT-{d}", "discipline": "MAT", "group": GROUP, "kind": "lecture",
                               "teacher": "TG1", "starts_at": f"2026-10-{d}T09:00:00+06:00", "minutes": 80}
                              for d in ("05", "12")]}
    r = until_status(lambda: stack.api("POST", "/api/v1/import/timetable", admin, json=timetable), 200)
    sessions = r.json()["sessions"]
    eventually(lambda: stack.api("GET", f"/api/v1/sessions/{sessions['MT-12']}", stack.login("tg1", PW)).ok)
    return sessions



def api(stack, login, method, path, **kw):
    return stack.api(method, path, stack.login(login, PW), **kw)


def test_grades_statement_lock_and_close(stack, course):
    stack.set_clock("2026-10-05T10:00:00+06:00")
    r = api(stack, "tg1", "PUT", f"/api/v1/sessions/{course['MT-05']}/attendance",
            json={"marks": [{"student": "G1", "status": "present"}, {"student": "G2", "status": "absent"}]})
    assert r.status_code == 200, r.text
    current = api(stack, "tg1", "POST", "/api/v1/assessments", json={
        "group": GROUP, "discipline": "MAT", "kind": "current", "title": "Өз алдынча иш 1", "date": "2026-10-05",
        "max": 10})
    assert current.status_code == 201, current.text
    aid = current.json()["id"]
    r = api(stack, "tg1", "PUT", f"/api/v1/assessments/{aid}/grades",
            json={"grades": [{"student": "G1", "value": 8}, {"student": "G2", "value": 101}]})
    assert r.status_code == 422 and "grades[1].value" in r.json()["errors"] and "G2" in r.json()["detail"]
    r = api(stack, "tg1", "PUT", f"/api/v1/assessments/{aid}/grades",
            json={"grades": [{"student": "G1", "value": 8}, {"student": "G2", "value": 5}]})
    assert r.status_code == 200, r.text
    module = api(stack, "tg1", "POST", "/api/v1/assessments", json={
        "group": GROUP, "discipline": "MAT", "kind": "module1", "title": "Модуль 1", "date": "2026-10-05",
        "max": 30}).json()
    assert api(stack, "tg1", "PUT", f"/api/v1/assessments/{module['id']}/grades",
               json={"grades": [{"student": "G1", "value": 27}, {"student": "G2", "value": 15}]}).status_code == 200

    academic = api(stack, "tg1", "POST", "/api/v1/corrections", json={
        "target": {"kind": "grade", "assessment": module["id"], "student": "G2"}, "value": 16,
        "reason": "арифметикалык ката"})
    assert academic.status_code == 403, "module grades change only by the commission (003 §4.4.3)"
    book = api(stack, "tg1", "GET", f"/api/v1/gradebook?group={GROUP}&discipline=MAT")
    assert book.status_code == 200, book.text
    rows = {s["student"]: s for s in book.json()["students"]}
    assert rows["G1"]["attendance"]["present"] == 1 and rows["G2"]["attendance"]["absent"] == 1
    assert rows["G1"]["rating"] > rows["G2"]["rating"] and rows["G1"]["components"]
    own = api(stack, "g2", "GET", f"/api/v1/gradebook?group={GROUP}&discipline=MAT").json()
    assert [s["student"] for s in own["students"]] == ["G2"], "a student sees only their own row"

    statement = api(stack, "tg1", "POST", "/api/v1/statements", json={"group": GROUP, "discipline": "MAT",
                                                                      "kind": "module1"})
    assert statement.status_code == 201, statement.text
    sid = statement.json()["id"]
    assert {r["student"] for r in statement.json()["rows"]} == {"G1", "G2"}
    assert api(stack, "tg1", "POST", f"/api/v1/statements/{sid}/post").status_code == 200

    stack.set_clock("2026-10-06T10:00:00+06:00")  # still inside the self-correction window
    # the lock reaches the gateway with grading's event; until then a write passes, so it rewrites the same mark
    r = until_status(lambda: api(stack, "tg1", "PUT", f"/api/v1/sessions/{course['MT-05']}/attendance",
                                 json={"marks": [{"student": "G2", "status": "absent"}]}), 409)
    assert r.json()["code"] == "locked", "a posted statement locks the teacher out of the marks it rests on"
    r = api(stack, "tg1", "PUT", f"/api/v1/assessments/{module['id']}/grades",
            json={"grades": [{"student": "G2", "value": 20}]})
    assert r.status_code == 409 and r.json()["code"] == "locked"
    assert api(stack, "tg1", "POST", f"/api/v1/statements/{sid}/close").status_code == 403
    closed = api(stack, "og1", "POST", f"/api/v1/statements/{sid}/close")
    assert closed.status_code == 200 and closed.json()["state"] == "closed"


def test_the_statement_document_and_the_attendance_report(stack, course, tmp_path):
    import io
    import shutil
    import subprocess

    import openpyxl

    sid = api(stack, "og1", "GET", f"/api/v1/statements?group={GROUP}&discipline=MAT").json()["items"][0]["id"]
    pdf = api(stack, "og1", "GET", f"/api/v1/statements/{sid}?format=pdf&lang=ky")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf", pdf.text[:300]
    assert pdf.content.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        (tmp_path / "s.pdf").write_bytes(pdf.content)
        text = subprocess.run(["pdftotext", str(tmp_path / "s.pdf"), "-"], capture_output=True, text=True).stdout
        assert GROUP in text and "Ош технологиялык университети" in text
        eventually(lambda: "Айдарова Нуриза" in subprocess.run(
            ["pdftotext", "-", "-"], input=api(stack, "og1", "GET", f"/api/v1/statements/{sid}?format=pdf").content,
            capture_output=True).stdout.decode())
    xlsx = api(stack, "og1", "GET", f"/api/v1/statements/{sid}?format=xlsx&lang=ru")
    assert xlsx.status_code == 200
    cells = [c for row in openpyxl.load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True)
             for c in row if c is not None]
    assert "G1" in cells and "G2" in cells

    report = api(stack, "og1", "GET", f"/api/v1/reports/attendance?group={GROUP}")
    assert report.status_code == 200, report.text
    rows = eventually(lambda: [r for r in api(stack, "og1", "GET", f"/api/v1/reports/attendance?group={GROUP}")
                               .json()["rows"] if r["discipline"] == "MAT" and r["total"] >= 2])
    assert rows[0]["marks"]["present"] >= 1 and rows[0]["marks"]["absent"] >= 1
    csv = api(stack, "og1", "GET", f"/api/v1/reports/attendance?group={GROUP}&format=csv&lang=ky")
    assert csv.status_code == 200 and GROUP in csv.content.decode("utf-8-sig")
    assert api(stack, "g1", "GET", "/api/v1/reports/attendance").status_code == 403


def test_an_attendance_correction_walks_the_whole_chain_003_4_4_2(stack, course):
    session = course["MT-12"]
    stack.set_clock("2026-10-12T10:00:00+06:00")
    assert api(stack, "tg1", "PUT", f"/api/v1/sessions/{session}/attendance",
               json={"marks": [{"student": "G2", "status": "absent"}]}).status_code == 200
    stack.set_clock("2026-10-20T10:00:00+06:00")
    r = api(stack, "tg1", "PUT", f"/api/v1/sessions/{session}/attendance",
            json={"marks": [{"student": "G2", "status": "present"}]})
    assert r.status_code == 409 and r.json()["code"] == "window_closed"
    r = api(stack, "tg1", "POST", "/api/v1/corrections", json={
        "target": {"kind": "attendance", "session": session, "student": "G2"}, "value": "present",
        "reason": "Студент катышкан, тизме кагаз журналда туура"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert api(stack, "tg1", "POST", f"/api/v1/corrections/{cid}/visa", json={}).status_code == 403
    skipped = api(stack, "og1", "POST", f"/api/v1/corrections/{cid}/approve", json={})
    assert skipped.status_code == 409, "skipping the department head's visa is refused"
    assert api(stack, "hg1", "POST", f"/api/v1/corrections/{cid}/visa", json={"note": "макул"}).status_code == 200
    queue = api(stack, "og1", "GET", "/api/v1/corrections?state=pending").json()["items"]
    assert cid in [c["id"] for c in queue]
    assert api(stack, "og1", "POST", f"/api/v1/corrections/{cid}/approve", json={}).status_code == 200
    done = stack.api("POST", f"/api/v1/corrections/{cid}/execute", stack.admin(), json={})
    assert done.status_code == 200 and done.json()["state"] == "executed", done.text
    assert [s["action"] for s in done.json()["steps"]][-3:] == ["visa", "approve", "execute"]

    def mark():
        view = api(stack, "tg1", "GET", f"/api/v1/sessions/{session}").json()
        return {m["student"]: m["status"] for m in view["marks"]}.get("G2")

    eventually(lambda: mark() == "present")
    audit = stack.api("GET", "/api/v1/audit?student=G2&entity=mark", stack.admin()).json()["items"]
    assert any(e.get("approval") == f"correction {cid}" for e in audit)


def test_a_teacher_changes_an_entered_grade_only_inside_3_days_of_its_entry_003_4_4_1(stack, course):
    """003 §4.3.1: 5 calendar days to enter a current grade; §4.4.1: 3 calendar days to change an entered one.
    The change on day 4 is refused although the entry window is still open; a first grade on day 4 is on time."""
    r = stack.api("POST", "/api/v1/import/load", stack.admin(), json={
        "disciplines": [{"code": "MAT2", "name": "Сызыктуу алгебра", "control": "credit", "credits": 3}],
        "assignments": [{"teacher": "TG1", "discipline": "MAT2", "group": GROUP, "kind": "practice"}]})
    assert r.status_code == 200, r.text
    stack.set_clock("2026-10-13T12:00:00+06:00")
    work = until_status(lambda: api(stack, "tg1", "POST", "/api/v1/assessments", json={
        "group": GROUP, "discipline": "MAT2", "kind": "current", "title": "Практика 1", "date": "2026-10-13",
        "max": 10}), 201).json()
    grades = f"/api/v1/assessments/{work['id']}/grades"
    entered = api(stack, "tg1", "PUT", grades, json={"grades": [{"student": "G1", "value": 6}]})
    assert entered.status_code == 200 and entered.json()["grades"][0]["first_entry_at"], entered.text
    stack.set_clock("2026-10-15T12:00:00+06:00")
    assert api(stack, "tg1", "PUT", grades, json={"grades": [{"student": "G1", "value": 7}]}).status_code == 200
    stack.set_clock("2026-10-17T12:00:00+06:00")  # day 4: inside the 5-day entry window, past 3 days of the entry
    late_change = api(stack, "tg1", "PUT", grades, json={"grades": [{"student": "G1", "value": 9}]})
    assert late_change.status_code == 409 and late_change.json()["code"] == "window_closed", late_change.text
    same_again = api(stack, "tg1", "PUT", grades, json={"grades": [{"student": "G1", "value": 7},
                                                                   {"student": "G2", "value": 5}]})
    assert same_again.status_code == 200, "the same value again and a first entry are no corrections"
    assert {g["student"]: g["value"] for g in same_again.json()["grades"]} == {"G1": 7, "G2": 5}
    r = api(stack, "tg1", "POST", "/api/v1/corrections", json={
        "target": {"kind": "grade", "assessment": work["id"], "student": "G1"}, "value": 9,
        "reason": "Жумуш кайра текшерилди: упай туура эмес кошулган"})
    assert r.status_code == 201 and r.json()["state"] == "pending", r.text


def test_each_approver_sees_the_queue_of_its_own_department_a_page_at_a_time(stack, course):
    """API.md: an object the caller may not see answers 404; lists take `limit` and `cursor`. A second department
    imported as API.md shapes a staff row (no `department`): its head is found by the head role's scope, its
    teacher by the groups it teaches."""
    admin = stack.admin()
    r = stack.api("POST", "/api/v1/import/contingent", admin, json={
        "departments": [{"code": "DMX", "faculty": "FMT", "name": "Колдонмо математика"}],
        "groups": [{"code": "МХ-1-25", "department": "DMX", "course": 1, "subgroups": []}],
        "staff": [person("HX1", "Жумабаева Асель", roles=[{"role": "department_head", "scope": "DMX"}]),
                  person("TX1", "Мамытов Нурлан", roles=[{"role": "teacher"}])]})
    assert r.status_code == 200, r.text
    r = until_status(lambda: stack.api("POST", "/api/v1/import/load", admin, json={
        "disciplines": [], "assignments": [{"teacher": "TX1", "discipline": "MAT", "group": "МХ-1-25",
                                            "kind": "lecture"}]}), 200)
    eventually(lambda: stack.api("POST", "/api/v1/auth/login", json={"login": "hx1", "password": PW}).ok)

    def queue(login, query=""):
        r = api(stack, login, "GET", f"/api/v1/corrections{query}")
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    pending = eventually(lambda: queue("hg1"))
    assert pending and queue("hx1") == [], "another department's head sees none of DMT's corrections"
    visa = api(stack, "hx1", "POST", f"/api/v1/corrections/{pending[0]}/visa", json={})
    assert visa.status_code == 404, visa.text

    mine = queue("tg1", "?limit=500")
    assert len(mine) >= 2, "the teacher's own requests: the attendance and the grade corrections"
    seen, cursor = [], None
    while True:
        page = api(stack, "tg1", "GET", "/api/v1/corrections?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status_code == 200 and len(page.json()["items"]) <= 1, page.text
        seen += [c["id"] for c in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert seen == mine, "following next_cursor walks every item once, in order"
    for query in ("?cursor=not-a-cursor", "?limit=0", "?limit=501"):
        bad = api(stack, "tg1", "GET", f"/api/v1/corrections{query}")
        assert bad.status_code == 422 and bad.json()["code"] == "validation_error", (query, bad.text)

    body = {"from": "2026-10-19", "to": "2026-10-23"}
    r = eventually(lambda: (lambda r: r if r.status_code == 201 else None)(api(
        stack, "hx1", "POST", "/api/v1/substitutions", json={**body, "teacher": "TX1", "substitute": "TG1"})))
    assert r.json()["teacher"] == "TX1"
    assert api(stack, "hx1", "POST", "/api/v1/substitutions",
               json={**body, "teacher": "TG1", "substitute": "TX1"}).status_code == 404
    assert api(stack, "hg1", "POST", "/api/v1/substitutions",
               json={**body, "teacher": "TX1", "substitute": "TG1"}).status_code == 404


def test_the_audit_list_pages_in_time_order_across_services(stack, course):
    whole = stack.api("GET", "/api/v1/audit?student=G1&limit=500", stack.admin()).json()
    assert whole["items"] and whole["next_cursor"] is None
    assert {e["service"] for e in whole["items"]} >= {"attendance", "grading"}
    times = [datetime.fromisoformat(e["at"]) for e in whole["items"]]
    assert times == sorted(times)
    seen, cursor = [], None
    while True:
        r = stack.api("GET", "/api/v1/audit?student=G1&limit=3" + (f"&cursor={cursor}" if cursor else ""),
                      stack.admin())
        assert r.status_code == 200, r.text
        seen += [(e["service"], e["id"]) for e in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == [(e["service"], e["id"]) for e in whole["items"]]
    bad = stack.api("GET", "/api/v1/audit?cursor=eyJ4IjogMX0=", stack.admin())
    assert bad.status_code == 422 and "cursor" in bad.json()["errors"]


def test_an_archived_year_answers_locked_and_the_audit_chain_still_verifies(stack, course):
    assert api(stack, "tg1", "POST", "/api/v1/years/2026-2027/close").status_code == 403
    r = api(stack, "og1", "POST", "/api/v1/years/2026-2027/close")
    assert r.status_code == 200, r.text
    stack.set_clock("2026-10-12T11:00:00+06:00")
    r = until_status(lambda: api(stack, "tg1", "PUT", f"/api/v1/sessions/{course['MT-12']}/attendance",
                                 json={"marks": [{"student": "G1", "status": "absent"}]}), 409)
    assert r.json()["code"] == "locked"
    r = api(stack, "tg1", "POST", "/api/v1/assessments", json={
        "group": GROUP, "discipline": "MAT", "kind": "current", "title": "x", "date": "2026-10-12", "max": 10})
    assert r.status_code == 409 and r.json()["code"] == "locked"
    assert stack.api("GET", "/api/v1/audit/verify", stack.admin()).json()["ok"] is True
