"""Issue 6 through the gateway with the oshtu preset and the test clock (RULES.md §4, §8; API.md "Reports and
audit"): the attendance report against the attendance service's own marks, `reports rebuild`, the filling report
(Appendix No. 1) with its QR code, the student record, the at-risk forecast and the scheduled reports.

The shared test stack has archived 2026-2027 by the time this module runs: everything here is in 2027-2028."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path

import pytest
import zxingcpp
from nameko.standalone.rpc import ClusterRpcProxy
from PIL import Image

import support
from support import ROOT, eventually, until_status

pytestmark = pytest.mark.e2e
PW = "reports-pw-1"
GROUP, OTHER = "РП-1-27", "РП-2-27"
TERM = "2027-2028-1"
KY_TITLE = "Электрондук журналдын толтурулушу жөнүндө отчет"  # the oshtu preset's labels.ui.filling_report.ky

person = partial(support.person, password=PW)

# (ref, starts_at) of the teacher's lectures: Mondays, one Wednesday left unfilled, one still to come
LECTURES = [("R-0906", "2027-09-06"), ("R-0913", "2027-09-13"), ("R-0920", "2027-09-20"), ("R-0927", "2027-09-27"),
            ("R-1004", "2027-10-04"), ("R-1011", "2027-10-11"), ("R-1013", "2027-10-13"), ("R-1018", "2027-10-18")]


def api(stack, login, method, path, **kw):
    return stack.api(method, path, stack.login(login, PW), **kw)


@pytest.fixture(scope="module")
def school(stack):
    # Events are ordered by the time they occurred: the school is loaded at the start of its own term, whatever
    # clock an earlier module left (the portal and browser tests live in 2028).
    stack.set_clock("2027-09-01T08:00:00+06:00")
    admin = stack.admin()
    r = stack.api("POST", "/api/v1/import/contingent", admin, json={
        "faculties": [{"code": "FRP", "name": "Эсеп факультети"}, {"code": "FRQ", "name": "Башка факультет"}],
        "departments": [{"code": "DRP", "faculty": "FRP", "name": "Отчеттор кафедрасы"},
                        {"code": "DRQ", "faculty": "FRQ", "name": "Башка кафедра"}],
        "groups": [{"code": GROUP, "department": "DRP", "course": 1, "subgroups": []},
                   {"code": OTHER, "department": "DRQ", "course": 1, "subgroups": []}],
        "students": [person("R1", "Айтматова Гүлнур", group=GROUP), person("R2", "Бөкөнбаев Нурлан", group=GROUP),
                     person("R3", "Үмөталиева Айсулуу", group=GROUP), person("R4", "Өскөнбаев Тилек", group=GROUP),
                     person("R5", "Жумабаев Эрлан", group=OTHER)],
        "staff": [person("TR1", "Сыдыкбекова Мээрим", department="DRP", roles=[{"role": "teacher"}]),
                  person("TR2", "Кадыров Алмаз", department="DRP", roles=[{"role": "teacher"}]),
                  person("HR1", "Осмонова Бурул", department="DRP",
                         roles=[{"role": "teacher"}, {"role": "department_head", "scope": "DRP"}]),
                  person("DR1", "Ниязов Бакыт", roles=[{"role": "directorate", "scope": "FRP"}]),
                  person("DR2", "Шаршеева Айпери", roles=[{"role": "directorate", "scope": "FRQ"}]),
                  person("OR1", "Тойчуева Назгүл", roles=[{"role": "academic_office"}]),
                  person("CR1", "Абдылдаева Жыпар", department="DRP",
                         roles=[{"role": "teacher"}, {"role": "curator", "scope": GROUP}])],
        "parents": [person("PR1", "Айтматов Болот", children=["R1"]),
                    person("PR2", "Бөкөнбаева Салима", children=["R2"])]})
    assert r.status_code == 200, r.text
    eventually(lambda: stack.api("POST", "/api/v1/auth/login", json={"login": "pr2", "password": PW}).ok)
    r = stack.api("POST", "/api/v1/import/load", admin, json={
        "disciplines": [{"code": "RPT", "name": "Статистика", "control": "exam", "credits": 4}],
        "assignments": [{"teacher": "TR1", "discipline": "RPT", "group": GROUP, "kind": "lecture"}]})
    assert r.status_code == 200, r.text
    timetable = {"term": {"code": TERM, "starts": "2027-09-01", "ends": "2027-12-31"},
                 "sessions": [{"ref": ref, "discipline": "RPT", "group": GROUP, "kind": "lecture", "teacher": "TR1",
                               "starts_at": f"{day}T09:00:00+06:00", "minutes": 80, "room": "1-101"}
                              for ref, day in LECTURES]}
    r = until_status(lambda: stack.api("POST", "/api/v1/import/timetable", admin, json=timetable), 200)
    sessions = r.json()["sessions"]
    eventually(lambda: api(stack, "tr1", "GET", f"/api/v1/sessions/{sessions['R-1018']}").ok)
    return sessions


def attendance_counts(stack, sessions) -> dict[str, int]:
    """Marks by status as the attendance service holds them, session by session."""
    counts: dict[str, int] = {}
    for sid in sessions.values():
        for m in api(stack, "or1", "GET", f"/api/v1/sessions/{sid}").json()["marks"]:
            counts[m["status"]] = counts.get(m["status"], 0) + 1
    return counts


def report_counts(stack, **filters) -> dict[str, int]:
    r = api(stack, "or1", "GET", "/api/v1/reports/attendance", params=filters)
    assert r.status_code == 200, r.text
    return {k: n for k, n in r.json()["totals"]["marks"].items() if n}


def settled(stack, sessions) -> dict[str, int]:
    """Wait until the reports' read models have every mark the attendance service has (events are async)."""
    want = attendance_counts(stack, sessions)
    eventually(lambda: report_counts(stack, group=GROUP) == want, timeout=30)
    return want


def mark(stack, sid, *pairs, login="tr1"):
    return api(stack, login, "PUT", f"/api/v1/sessions/{sid}/attendance",
               json={"marks": [{"student": s, "status": st} for s, st in pairs]})


def rebuild() -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "deploy" / "ctl"), "reports-rebuild"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def activity(stack, school):
    """A term's journal: plans, marks on time and late, topics, grades, an approved sick note."""
    s = school
    for ref, _ in LECTURES[:6]:
        assert api(stack, "tr1", "PUT", f"/api/v1/sessions/{s[ref]}/plan",
                   json={"planned_topic": f"Тема {ref}"}).status_code == 200
    everyone_but_r1 = [("R1", "absent"), ("R2", "present"), ("R3", "present"), ("R4", "present")]
    for ref, day in LECTURES[:4]:
        stack.set_clock(f"{day}T10:00:00+06:00")
        assert until_status(lambda ref=ref: mark(stack, s[ref], *everyone_but_r1), 200)
        topic = "Башка тема" if ref == "R-0927" else f"Тема {ref}"  # one recorded off the plan
        assert api(stack, "tr1", "PUT", f"/api/v1/sessions/{s[ref]}/topic",
                   json={"topic": topic, "work_kind": "лекция"}).status_code == 200
        if ref == "R-0920":
            a = api(stack, "tr1", "POST", "/api/v1/assessments", json={
                "group": GROUP, "discipline": "RPT", "kind": "current", "title": "Өз алдынча иш 1",
                "date": day, "max": 10})
            assert a.status_code == 201, a.text
            r = api(stack, "tr1", "PUT", f"/api/v1/assessments/{a.json()['id']}/grades", json={"grades": [
                {"student": "R1", "value": 2}, {"student": "R2", "value": 9}, {"student": "R3", "value": 8},
                {"student": "R4", "value": 10}]})
            assert r.status_code == 200, r.text
    settled(stack, s)  # the September reports are generated as the clock enters October: let them see it all
    stack.set_clock("2027-10-06T12:00:00+06:00")  # two days late for 10-04: inside the 3-day self-correction
    assert mark(stack, s["R-1004"], ("R1", "absent"), ("R2", "absent"), ("R3", "present"),
                ("R4", "present")).status_code == 200
    m1 = api(stack, "tr1", "POST", "/api/v1/assessments", json={
        "group": GROUP, "discipline": "RPT", "kind": "module1", "title": "Модуль 1", "date": "2027-10-04",
        "max": 30})
    assert m1.status_code == 201, m1.text
    assert api(stack, "tr1", "PUT", f"/api/v1/assessments/{m1.json()['id']}/grades", json={"grades": [
        {"student": "R1", "value": 5}, {"student": "R2", "value": 28}, {"student": "R3", "value": 25},
        {"student": "R4", "value": 27}]}).status_code == 200
    excuse = api(stack, "r2", "POST", "/api/v1/excuses", json={
        "student": "R2", "from": "2027-10-04", "to": "2027-10-04", "kind": "sick", "document": "справка №77"})
    assert excuse.status_code == 201, excuse.text
    r = api(stack, "dr1", "POST", f"/api/v1/excuses/{excuse.json()['id']}/decision",
            json={"approve": True, "note": "текшерилди"})
    assert r.status_code == 200, r.text
    stack.set_clock("2027-10-11T10:00:00+06:00")
    assert mark(stack, s["R-1011"], *everyone_but_r1).status_code == 200
    stack.set_clock("2027-10-16T12:00:00+06:00")  # 10-13 was never filled; 10-18 is still to come
    return {"sessions": s, "excuse": excuse.json()["id"], "counts": settled(stack, s)}


# -- the attendance report against the attendance service, and `reports rebuild` ---------------------------


def test_attendance_report_totals_equal_the_attendance_services_marks_status_by_status(stack, activity):
    counts = activity["counts"]
    assert counts == {"absent": 6, "present": 17, "sick": 1}  # R1 absent six times; R2's 10-04 turned sick
    assert report_counts(stack, group=GROUP) == counts
    assert report_counts(stack, faculty="FRP") == counts
    assert report_counts(stack, teacher="TR1", **{"from": "2027-10-01", "to": "2027-10-31"}) == \
        {"absent": 2, "present": 5, "sick": 1}


def test_rebuild_replays_every_services_events_to_the_same_numbers(stack, activity):
    before = {path: api(stack, "or1", "GET", path).json() for path in (
        "/api/v1/reports/attendance", f"/api/v1/reports/at-risk?group={GROUP}",
        f"/api/v1/reports/filling?teacher=TR1&term={TERM}", "/api/v1/students/R1/record",
        "/api/v1/students/R2/record")}
    out = rebuild()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "reports rebuilt" in out.stdout and "attendance:" in out.stdout and "identity:" in out.stdout
    for path, answer in before.items():
        after = api(stack, "or1", "GET", path).json()
        for a in (answer, after):
            a.pop("generated_at", None)
        assert after == answer, path
    again = rebuild()  # idempotent: once more, the same again
    assert again.returncode == 0, again.stdout + again.stderr
    assert report_counts(stack, group=GROUP) == activity["counts"]


def test_rebuild_is_safe_while_live_events_keep_arriving(stack, activity):
    s = activity["sessions"]
    proc = subprocess.Popen([str(ROOT / "deploy" / "ctl"), "reports-rebuild"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    try:
        # 10-13 filled late while the rebuild runs (3 days after the session: the last day it may be)
        for pairs in ([("R1", "absent"), ("R2", "present")], [("R3", "present"), ("R4", "absent")],
                      [("R4", "present")]):
            assert mark(stack, s["R-1013"], *pairs).status_code == 200
            time.sleep(0.3)
    finally:
        output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    want = attendance_counts(stack, s)
    assert want == {"absent": 7, "present": 20, "sick": 1}
    eventually(lambda: report_counts(stack, group=GROUP) == want, timeout=30)


def test_every_service_pages_its_event_log_in_order_for_a_rebuild(stack, activity):
    with ClusterRpcProxy({"AMQP_URI": os.environ["EJOURNAL_AMQP_URI"], "serializer": "json"}, timeout=30) as rpc:
        first = rpc.attendance.events(after_id=0, limit=5)
        ids = [i["id"] for i in first["items"]]
        assert ids == sorted(ids) and len(ids) == 5 and first["next_after"] == ids[-1] <= first["last_id"]
        following = rpc.attendance.events(after_id=first["next_after"], limit=5)
        assert following["items"][0]["id"] > ids[-1]
        marks = rpc.attendance.events(after_id=0, limit=1000, types=["marks.recorded"])["items"]
        assert marks and {i["event"]["type"] for i in marks} == {"marks.recorded"}
        assert all({"event_id", "occurred_at", "payload", "source"} <= set(i["event"]) for i in marks)
        end = rpc.identity.events(after_id=rpc.identity.events(limit=1)["last_id"])
        assert end["items"] == [] and end["next_after"] == end["last_id"]
        for bad in ({"after_id": -1}, {"limit": 0}, {"limit": 5000}, {"types": "marks.recorded"}):
            with pytest.raises(Exception, match="ValidationFailed"):
                rpc.grading.events(**bad)


def test_openapi_describes_the_report_routes(stack):
    paths = stack.api("GET", "/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/reports/filling", "/api/v1/reports/at-risk", "/api/v1/students/{code}/record",
                 "/api/v1/journal/{teacher}/{term}", "/api/v1/reports/scheduled",
                 "/api/v1/reports/scheduled/{report_id}"):
        assert "get" in paths[path], path


# -- the journal-filling report (Appendix No. 1) -------------------------------------------------------------


def test_filling_report_counts_entries_topics_and_grades(stack, activity):
    r = api(stack, "hr1", "GET", "/api/v1/reports/filling", params={"teacher": "TR1", "term": TERM})
    assert r.status_code == 200, r.text
    t = r.json()["totals"]
    # held: 7 (10-18 is to come); on time 5; 10-04 late; 10-13 late too once filled during the rebuild test
    assert (t["scheduled"], t["held"], t["on_time"], t["late"], t["missing"]) == (8, 7, 5, 2, 0)
    assert (t["topics_planned"], t["topics_recorded"], t["topics_as_planned"], t["topics_missing"]) == (6, 4, 3, 3)
    assert (t["grades_entered"], t["grades_on_time"], t["grades_late"]) == (8, 8, 0)
    assert r.json()["journal_url"].endswith(f"/api/v1/journal/TR1/{TERM}")


def pdf_text(content: bytes) -> str:
    return subprocess.run([shutil.which("pdftotext") or "pdftotext", "-", "-"], input=content, capture_output=True,
                          check=True).stdout.decode()


def qr_codes(content: bytes) -> list[str]:
    """The QR codes of the PDF's first page as printed: rasterised by poppler, decoded by zxing-cpp."""
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "doc.pdf"
        pdf.write_bytes(content)
        subprocess.run(["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(Path(tmp) / "page")], check=True, capture_output=True)
        image = Image.open(Path(tmp) / "page.png")
        image.load()
    return [code.text for code in zxingcpp.read_barcodes(image)]


def test_filling_pdf_shows_the_kyrgyz_title_and_its_qr_code_opens_the_journal_for_an_inspector(stack, activity):
    r = api(stack, "tr1", "GET", "/api/v1/reports/filling", params={"term": TERM, "format": "pdf", "lang": "ky"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf", r.text
    text = " ".join(pdf_text(r.content).split())
    assert KY_TITLE in text and "Тиркеме №1" in text and "Сыдыкбекова Мээрим" in text and "Колу" in text
    (url,) = qr_codes(r.content)
    assert url == f"{stack.url}/api/v1/journal/TR1/{TERM}"
    path = url.removeprefix(stack.url)
    journal = api(stack, "hr1", "GET", path)  # the head of the teacher's department inspects it (001 §5.6)
    assert journal.status_code == 200, journal.text
    assert len(journal.json()["sessions"]) == len(LECTURES) and journal.json()["filling"]["held"] == 7
    assert api(stack, "dr1", "GET", path).status_code == 200 and api(stack, "or1", "GET", path).status_code == 200
    for login in ("tr2", "tr1", "r1", "pr1", "dr2", "cr1"):  # not an inspector of TR1's journal: as if none
        assert api(stack, login, "GET", path).status_code == 404, login


def test_filling_report_is_a_teachers_own_or_an_inspectors(stack, activity):
    assert api(stack, "tr2", "GET", "/api/v1/reports/filling",
               params={"teacher": "TR1", "term": TERM}).status_code == 404
    assert api(stack, "dr2", "GET", "/api/v1/reports/filling",
               params={"teacher": "TR1", "term": TERM}).status_code == 404
    assert api(stack, "r1", "GET", "/api/v1/reports/filling", params={"term": TERM}).status_code == 403
    assert api(stack, "tr2", "GET", "/api/v1/reports/filling", params={"term": TERM}).json()["rows"] == []


def test_bad_report_requests_are_422_and_name_the_parameter(stack, activity):
    for path, params, field in (("/api/v1/reports/filling", {"teacher": "TR1"}, "term"),
                                ("/api/v1/reports/filling", {"term": TERM, "format": "docx"}, "format"),
                                ("/api/v1/reports/at-risk", {"grup": GROUP}, "grup"),
                                ("/api/v1/reports/scheduled", {"limit": "0"}, "limit")):
        r = api(stack, "or1", "GET", path, params=params)
        assert r.status_code == 422 and r.headers["Content-Type"] == "application/problem+json", r.text
        assert r.json()["code"] == "validation_error" and field in r.json()["errors"], r.text


# -- the student record --------------------------------------------------------------------------------------


def test_student_record_holds_attendance_grades_and_the_excuse(stack, activity):
    r = api(stack, "r2", "GET", "/api/v1/students/R2/record")
    assert r.status_code == 200, r.text
    record = r.json()
    (rpt,) = [d for d in record["disciplines"] if d["discipline"] == "RPT"]
    assert rpt["attendance"]["marks"] == {"present": 6, "sick": 1}
    assert [g["value"] for g in rpt["grades"]] == [9, 28]
    (excuse,) = record["excuses"]
    assert excuse["id"] == activity["excuse"] and excuse["state"] == "approved" and excuse["kind"] == "sick"
    assert record["at_risk"] is False


def test_a_student_asking_for_a_classmates_record_gets_404(stack, activity):
    assert api(stack, "r2", "GET", "/api/v1/students/R1/record").status_code == 404
    assert api(stack, "r2", "GET", "/api/v1/students/NOBODY/record").status_code == 404


def test_a_parent_sees_their_childs_record_and_nobody_elses(stack, activity):
    r = api(stack, "pr1", "GET", "/api/v1/students/R1/record")
    assert r.status_code == 200 and r.json()["student"]["code"] == "R1"
    for other in ("R2", "R5"):
        assert api(stack, "pr1", "GET", f"/api/v1/students/{other}/record").status_code == 404


def test_office_roles_of_the_students_unit_read_the_record_and_nobody_else(stack, activity):
    for login in ("cr1", "dr1", "hr1", "or1"):
        assert api(stack, login, "GET", "/api/v1/students/R1/record").status_code == 200, login
    for login in ("tr1", "tr2", "dr2"):
        assert api(stack, login, "GET", "/api/v1/students/R1/record").status_code == 404, login


# -- the at-risk forecast ------------------------------------------------------------------------------------


def test_at_risk_names_the_student_whose_attendance_was_made_low_with_the_reason(stack, activity):
    r = api(stack, "cr1", "GET", "/api/v1/reports/at-risk", params={"lang": "ru"})  # the curator's own group
    assert r.status_code == 200, r.text
    items = {i["student"]: i for i in r.json()["items"]}
    assert set(items) == {"R1"}
    kinds = {x["kind"]: x for x in items["R1"]["reasons"]}
    assert kinds["attendance"]["rate"] == 0 and kinds["attendance"]["threshold"] == 80
    assert kinds["attendance"]["text"] == "Посещаемость 0% ниже порога 80% (посещено 0 из 7 занятий)"
    assert kinds["attendance"]["texts"]["ky"].startswith("Катышуу 0%")
    assert kinds["projection"]["projected"] < 61 and "ниже 61" in kinds["projection"]["text"]
    assert items["R1"]["parents"] == [{"code": "PR1", "full_name": "Айтматов Болот"}]
    faculty = api(stack, "dr1", "GET", "/api/v1/reports/at-risk")  # per faculty for the directorate
    assert [i["student"] for i in faculty.json()["items"]] == ["R1"]
    assert api(stack, "dr2", "GET", "/api/v1/reports/at-risk", params={"faculty": "FRP"}).status_code == 404
    assert api(stack, "r1", "GET", "/api/v1/reports/at-risk").status_code == 403
    pdf = api(stack, "cr1", "GET", "/api/v1/reports/at-risk", params={"format": "pdf", "lang": "ky"})
    assert pdf.status_code == 200 and "Айтматова Гүлнур" in pdf_text(pdf.content)


# -- scheduled reports ---------------------------------------------------------------------------------------


def test_scheduled_reports_are_generated_unattended_once_per_period_and_listed(stack, activity):
    def september():
        items = api(stack, "dr1", "GET", "/api/v1/reports/scheduled", params={"report": "attendance"}).json()["items"]
        return [i for i in items if i["scope"] == "FRP" and i["period"] == "2027-09" and i["cadence"] == "monthly"]

    (row,) = eventually(september, timeout=60)  # oshtu: monthly (003 §8.2), by the reports service's timer
    one = api(stack, "dr1", "GET", f"/api/v1/reports/scheduled/{row['id']}")
    assert one.status_code == 200, one.text
    body = one.json()["body"]
    assert (body["period"]["from"], body["period"]["to"]) == ("2027-09-01", "2027-09-30")
    assert {k: n for k, n in body["totals"]["marks"].items() if n} == {"absent": 4, "present": 12}
    pdf = api(stack, "dr1", "GET", f"/api/v1/reports/scheduled/{row['id']}", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    weekly = eventually(lambda: [i for i in api(stack, "cr1", "GET", "/api/v1/reports/scheduled",
                                                params={"report": "contact_list"}).json()["items"]
                                 if i["scope"] == GROUP and i["period"] == "2027-W40"], timeout=60)
    contacts = api(stack, "cr1", "GET", f"/api/v1/reports/scheduled/{weekly[0]['id']}").json()["body"]
    assert [i["student"] for i in contacts["items"]] == ["R1"]  # the curator's weekly list of parents to call
    time.sleep(12)  # another tick of the timer: still one per period and scope
    assert len(september()) == 1
    # other units' reports are not the curator's, nor the other faculty's directorate's
    assert api(stack, "cr1", "GET", f"/api/v1/reports/scheduled/{row['id']}").status_code == 404
    assert api(stack, "dr2", "GET", f"/api/v1/reports/scheduled/{row['id']}").status_code == 404
    assert api(stack, "r1", "GET", "/api/v1/reports/scheduled").status_code == 403
    assert api(stack, "or1", "GET", "/api/v1/reports/scheduled/999999999").status_code == 404


def test_a_marked_session_handed_to_another_teacher_takes_its_marks_along_in_the_report(stack, activity):
    """The report reads a rollup by group × discipline × teacher: a timetable re-import that gives a marked session
    to another teacher moves its marks and the session to that teacher's row (and back), the undated report
    equals the one dated over the whole term (the per-session tally), and a rebuild gives the same."""
    admin = stack.admin()
    term = {"from": "2027-09-01", "to": "2027-12-31"}

    def rows(**filters):
        r = api(stack, "or1", "GET", "/api/v1/reports/attendance", params=filters)
        assert r.status_code == 200, r.text
        return r.json()["rows"], r.json()["totals"]

    def timetable(substitute):
        return {"term": {"code": TERM, "starts": "2027-09-01", "ends": "2027-12-31"},
                "sessions": [{"ref": ref, "discipline": "RPT", "group": GROUP, "kind": "lecture",
                              "teacher": substitute if ref == "R-0906" else "TR1",
                              "starts_at": f"{day}T09:00:00+06:00", "minutes": 80, "room": "1-101"}
                             for ref, day in LECTURES]}

    before = rows(group=GROUP)
    assert rows(group=GROUP, **term) == before
    r = stack.api("POST", "/api/v1/import/load", admin, json={
        "disciplines": [{"code": "RPT", "name": "Статистика", "control": "exam", "credits": 4}],
        "assignments": [{"teacher": t, "discipline": "RPT", "group": GROUP, "kind": "lecture"}
                        for t in ("TR1", "TR2")]})
    assert r.status_code == 200, r.text
    r = until_status(lambda: stack.api("POST", "/api/v1/import/timetable", admin, json=timetable("TR2")), 200)
    assert r.json()["updated"] == 1, r.text
    moved = eventually(lambda: (found := rows(group=GROUP))[0] != before[0] and found, timeout=30)
    by_teacher = {row["teacher"]: row for row in moved[0]}
    assert (by_teacher["TR2"]["sessions"], {k: n for k, n in by_teacher["TR2"]["marks"].items() if n}) == \
        (1, {"absent": 1, "present": 3})  # R-0906: R1 absent, the others present
    assert by_teacher["TR1"]["sessions"] == before[0][0]["sessions"] - 1
    assert moved[1] == before[1]  # the group's totals did not move
    assert rows(group=GROUP, **term) == moved
    out = rebuild()
    assert out.returncode == 0, out.stdout + out.stderr
    assert rows(group=GROUP) == moved
    r = until_status(lambda: stack.api("POST", "/api/v1/import/timetable", admin, json=timetable("TR1")), 200)
    assert r.json()["updated"] == 1, r.text
    eventually(lambda: rows(group=GROUP) == before, timeout=30)
