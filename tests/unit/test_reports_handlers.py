"""Reports' service layer without a database (issue 16): what the projections decide an event does to the read
models (domain), the RPC use-cases (handlers.py) and the scheduled reports (jobs.py) against a fake unit of work
with the queries replaced: the answers, the errors, the `report.ready` events and their payloads."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from fakes import FakeUnitOfWork

from contracts import reports as schemas
from kernel.errors import NotFound, ValidationFailed
from kernel.policy import load_preset
from reports import domain, handlers, jobs, queries

OSHTU = load_preset("oshtu")
TZ = OSHTU.tz
NOW = datetime(2027, 10, 6, 12, tzinfo=TZ)  # a Wednesday


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2027, 9, day, hour, tzinfo=TZ)


class UnitOfWork(FakeUnitOfWork):
    """FakeUnitOfWork that keeps what each commit made durable: the scheduler commits report by report and rolls
    back between them, and the fake's rollback forgets every event, committed or not."""

    def __init__(self, clock: datetime = NOW) -> None:
        super().__init__(clock=clock, service="reports")
        self.committed: list[Any] = []

    def commit(self) -> None:
        super().commit()
        self.committed += self.emitted
        self.emitted = []


def no_query(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("this query should not run")


# -- projections: what marks.recorded does to the stored marks (RULES.md §8 tallies; any order of events) --------


def apply(stored: dict[str, domain.StoredMark], tally: dict[str, int], marked: bool,
          latest: dict[str, str], when: datetime) -> bool:
    """The effect the projection writes, on plain dicts: marks set, the tally moved."""
    change = domain.merge_marks(stored, latest, when, marked)
    for student, status in {**change.new, **change.touched}.items():
        stored[student] = domain.StoredMark(status, when)
    for status, n in change.delta.items():
        tally[status] = tally.get(status, 0) + n
    return marked or change.first


def test_a_first_mark_makes_the_session_marked_and_counts_once():
    change = domain.merge_marks({}, {"s1": "present", "s2": "absent"}, at(6), marked=False)
    assert change.new == {"s1": "present", "s2": "absent"} and change.touched == {}
    assert change.first
    assert change.tally(7) == [{"session": 7, "status": "absent", "n": 1}, {"session": 7, "status": "present", "n": 1}]
    again = domain.merge_marks({}, {"s3": "present"}, at(6), marked=True)
    assert not again.first  # the session was marked already: it joins the marked sessions once


def test_an_older_mark_event_changes_neither_the_mark_nor_the_tally():
    stored = {"s1": domain.StoredMark("present", at(8))}
    change = domain.merge_marks(stored, {"s1": "absent"}, at(7), marked=True)
    assert change.new == {} and change.touched == {} and change.delta == {} and not change.first


def test_a_newer_mark_moves_the_tally_from_the_old_status_to_the_new():
    stored = {"s1": domain.StoredMark("absent", at(7)), "s2": domain.StoredMark("present", at(7))}
    change = domain.merge_marks(stored, {"s1": "excused", "s2": "present"}, at(8), marked=True)
    assert change.touched == {"s1": "excused", "s2": "present"}  # s2's mark gets the newer time only
    assert change.counts() == {"absent": -1, "excused": 1}
    assert change.tally(3) == [{"session": 3, "status": "absent", "n": -1}, {"session": 3, "status": "excused", "n": 1}]


def test_marks_and_tally_come_out_the_same_in_any_order_of_events():
    events = [({"s1": "absent", "s2": "present"}, at(6, 10)), ({"s1": "excused"}, at(7)),
              ({"s2": "absent", "s3": "present"}, at(8)), ({"s1": "present"}, at(6, 9))]
    outcomes = set()
    for order in itertools.permutations(events):
        stored: dict[str, domain.StoredMark] = {}
        tally: dict[str, int] = {}
        marked = False
        for latest, when in order:
            marked = apply(stored, tally, marked, latest, when)
        assert marked
        outcomes.add((tuple(sorted((k, v.status) for k, v in stored.items())),
                      tuple(sorted((k, n) for k, n in tally.items() if n))))
    assert outcomes == {((("s1", "excused"), ("s2", "absent"), ("s3", "present")),
                         (("absent", 1), ("excused", 1), ("present", 1)))}


def test_a_moved_session_takes_its_counts_and_its_marked_place_to_the_new_report_row():
    before, after = ("G1", "D1", "t1"), ("G1", "D1", "t2")
    marks, sessions = domain.moved_session(before, after, {"present": 3, "absent": 1}, marked=True)
    counted, held = domain.rollup_rows(marks, sessions)
    assert counted == [
        {"group": "G1", "discipline": "D1", "teacher": "t1", "status": "absent", "n": -1},
        {"group": "G1", "discipline": "D1", "teacher": "t1", "status": "present", "n": -3},
        {"group": "G1", "discipline": "D1", "teacher": "t2", "status": "absent", "n": 1},
        {"group": "G1", "discipline": "D1", "teacher": "t2", "status": "present", "n": 3},
    ]
    assert held == [{"group": "G1", "discipline": "D1", "teacher": "t1", "sessions": -1},
                    {"group": "G1", "discipline": "D1", "teacher": "t2", "sessions": 1}]
    assert domain.moved_session(before, after, {"present": 2}, marked=False)[1] == {}  # no marked place to move
    assert domain.moved_session(before, before, {"present": 2}, marked=True) == ({}, {})
    assert domain.rollup_rows({before: {"present": 0}}, {before: 0}) == ([], [])  # zeros are not written


def test_what_the_other_events_set():
    timetable = {"group": "G", "discipline": "D", "teacher": "t", "starts_at": "2027-09-06T09:00:00+06:00"}
    assert domain.session_values(timetable, at(1)) == {"term": None, "group": "G", "subgroup": None, "discipline": "D",
                                            "teacher": "t", "kind": None, "starts_at": at(6), "scheduled_at": at(1)}
    assert domain.person_values({"code": "p", "kind": "parent", "full_name": "P", "children": ("s1",)}) == {
        "code": "p", "kind": "parent", "full_name": "P", "department": None, "group": None, "revision": 0,
        "children": ["s1"]}
    assert domain.org_values({"code": "G1", "kind": "group"}, at(1))["name"] == "G1"  # unnamed: its code
    # an excuse's changed marks arrive as marks.recorded; the event type names the state when the payload does not
    assert domain.case_values({"id": 1, "student": "s1", "changes": [{"x": 1}]}, "completed") == {
        "id": 1, "student": "s1", "state": "completed"}
    assert domain.grade_changes({"changes": [{"student": "s1", "new": "7"}, {"student": "s2", "new": None}]}) == {
        "s1": 7.0}
    assert domain.assessment_values({"group": "G", "discipline": "D", "kind": "current", "date": "2027-09-06",
                                     "max": "10", "title": "T"}, "5", full=False) == {
        "id": 5, "group": "G", "discipline": "D", "kind": "current", "day": date(2027, 9, 6), "max": 10.0}
    assert domain.statement_values({"id": "3", "group": "G", "discipline": "D", "kind": "exam", "state": "posted"},
                                   at(2))["covers_until"] is None
    assert domain.grade_state(None) is None


# -- the RPC use-cases ---------------------------------------------------------------------------------------


def people(monkeypatch: pytest.MonkeyPatch, **who: Any) -> None:
    monkeypatch.setattr(queries, "person", lambda tx, code: who.get(code))


def test_attendance_report_shapes_rows_and_totals_from_the_counts(monkeypatch):
    seen = {}

    def counts(tx, pol, filters, now):
        seen["filters"], seen["now"] = filters, now
        return ({("G1", "D1", "t1"): {"present": 3, "absent": 1}}, {("G1", "D1", "t1"): 4, ("G2", "D1", "t1"): 1})

    monkeypatch.setattr(queries, "attendance_counts", counts)
    monkeypatch.setattr(queries, "names", lambda tx, p, d=(): {"t1": "Teacher One", "discipline:D1": "Algebra"})
    report = handlers.attendance_report(UnitOfWork(), OSHTU, faculty="F1", date_from="2027-09-01")
    assert seen == {"filters": domain.Filters(faculty="F1", date_from=date(2027, 9, 1)), "now": NOW}
    assert [(r["group"], r["sessions"], r["total"], r["attendance_rate"]) for r in report["rows"]] == [
        ("G1", 4, 4, 0.75), ("G2", 1, 0, None)]
    assert report["rows"][0]["teacher_name"] == "Teacher One" and report["rows"][0]["discipline_name"] == "Algebra"
    assert (report["totals"]["sessions"], report["totals"]["total"]) == (5, 4)
    assert schemas.AttendanceReportSchema().validate(report) == {}


def test_attendance_report_refuses_bad_filters_before_reading(monkeypatch):
    monkeypatch.setattr(queries, "attendance_counts", no_query)
    with pytest.raises(ValidationFailed) as err:
        handlers.attendance_report(UnitOfWork(), OSHTU, date_from="2027-09-10", date_to="2027-09-01", fmt="doc",
                                   lang="xx")
    assert err.value.detail == "invalid report filters"
    assert set(err.value.errors or {}) == {"to", "fmt", "lang"}


def fact_marks(student: str, absent: int) -> dict[tuple[str, str, str], dict[int, dict[str, int]]]:
    return {(student, "G1", "D1"): {1: {"absent": absent, "present": 1}}}


def test_at_risk_names_the_student_the_reason_and_the_parents(monkeypatch):
    monkeypatch.setattr(queries, "units", lambda tx, kind, faculty=None: ["G1"] if kind == "group" else [])
    members = {("s1", "G1"), ("s2", "G1")}
    monkeypatch.setattr(queries, "forecast_facts",
                        lambda tx, pol, groups=(), student=None: ({}, fact_marks("s1", 5), members))
    monkeypatch.setattr(queries, "controls", lambda tx, disciplines: {d: "exam" for d in disciplines})
    monkeypatch.setattr(queries, "names", lambda tx, p, d=(): {"s1": "Student One", "discipline:D1": "Algebra"})
    parent = {"code": "p1", "full_name": "Parent"}
    monkeypatch.setattr(queries, "parents_of", lambda tx, students: {"s1": [parent]} if students == ["s1"] else {})
    body = handlers.at_risk(UnitOfWork(), OSHTU, faculty="F1", lang="en")
    assert body["filters"] == {"faculty": "F1", "group": None}
    assert body["thresholds"] == {"attendance_percent": 80, "rating_points": 61, "min_sessions": 4}
    (item,) = body["items"]  # s2 has no marks and no assessments: nothing to forecast
    assert (item["student"], item["full_name"], item["parents"]) == ("s1", "Student One",
                                                                      [{"code": "p1", "full_name": "Parent"}])
    (reason,) = item["reasons"]
    assert (reason["kind"], reason["discipline_name"], reason["rate"], reason["held"], reason["earned"]) == (
        "attendance", "Algebra", 16.7, 6, 1)
    assert reason["text"] == reason["texts"]["en"] and "16.7%" in reason["text"]
    assert body["generated_at"] == NOW.isoformat()
    assert schemas.AtRiskSchema().validate(body) == {}


def test_at_risk_refuses_bad_codes_and_formats():
    with pytest.raises(ValidationFailed) as err:
        handlers.at_risk(UnitOfWork(), OSHTU, faculty=7, group="x" * 65, fmt="doc")
    assert set(err.value.errors or {}) == {"faculty", "group", "fmt"}


def journal_session(id_: int, starts: datetime, first: datetime | None = None, late: bool | None = None,
                    topic: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(id=id_, starts_at=starts, first_entry_at=first, late=late, planned_topic="Plan",
                           topic=topic, group="G1", discipline="D1", subgroup=None, kind="lecture", work_kind=None)


def teacher_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = [journal_session(1, at(6), at(6, 10), False, "Plan"), journal_session(2, at(13), at(15), True),
                journal_session(3, at(20)), journal_session(4, datetime(2027, 10, 6, 11, tzinfo=TZ)),
                journal_session(5, datetime(2027, 10, 20, 9, tzinfo=TZ))]
    assessment = SimpleNamespace(id=9, group="G1", discipline="D1", kind="current", title="Quiz", day=date(2027, 9, 8),
                                 max=10.0)
    people(monkeypatch, t1=SimpleNamespace(code="t1", kind="staff", department="DEP"),
           s1=SimpleNamespace(code="s1", kind="student", group="G1"))
    monkeypatch.setattr(queries, "teacher_sessions", lambda tx, teacher, term=None, start=None, end=None: sessions)
    monkeypatch.setattr(queries, "term_span", lambda tx, term: (at(6), datetime(2027, 10, 20, 9, tzinfo=TZ)))
    monkeypatch.setattr(queries, "teacher_grades", lambda tx, teacher, pairs, first, last: [
        (assessment, [SimpleNamespace(late=False), SimpleNamespace(late=True)])])
    monkeypatch.setattr(queries, "tallies", lambda tx, ids: {1: {"present": 2}})
    monkeypatch.setattr(queries, "names", lambda tx, p, d=(): {"t1": "Teacher One", "discipline:D1": "Algebra"})


def test_the_filling_report_counts_entries_topics_and_grades(monkeypatch):
    teacher_reads(monkeypatch)
    report = handlers.filling_report(UnitOfWork(), OSHTU, "t1", "2027-1", journal_url="https://j/t1")
    assert (report["teacher_name"], report["department"], report["journal_url"]) == ("Teacher One", "DEP",
                                                                                     "https://j/t1")
    assert report["period"] == {"from": "2027-09-06", "to": "2027-10-20"}
    totals = report["totals"]
    assert (totals["scheduled"], totals["held"]) == (5, 4)
    assert (totals["on_time"], totals["late"], totals["missing"], totals["pending"]) == (1, 1, 1, 1)
    assert (totals["topics_as_planned"], totals["grades_entered"], totals["grades_late"]) == (1, 2, 1)
    assert schemas.FillingReportSchema().validate(report) == {}


def test_the_teacher_journal_shows_each_entry_state(monkeypatch):
    teacher_reads(monkeypatch)
    journal = handlers.teacher_journal(UnitOfWork(), OSHTU, "t1", "2027-1")
    assert [s["entry"] for s in journal["sessions"]] == ["on_time", "late", "missing", "pending", None]
    assert journal["sessions"][0]["marks"] == {"present": 2} and journal["sessions"][1]["marks"] == {}
    assert journal["assessments"] == [{"id": 9, "group": "G1", "discipline": "D1", "kind": "current",
                                       "title": "Quiz", "date": "2027-09-08", "max": 10.0, "grades": 2, "late": 1}]
    assert journal["filling"]["held"] == 4
    assert schemas.TeacherJournalSchema().validate(journal) == {}


def test_a_teacher_report_needs_a_teacher(monkeypatch):
    teacher_reads(monkeypatch)
    with pytest.raises(NotFound, match="no teacher s1"):
        handlers.teacher_journal(UnitOfWork(), OSHTU, "s1", "2027-1")  # a student is no teacher
    with pytest.raises(NotFound, match="no teacher nobody"):
        handlers.filling_report(UnitOfWork(), OSHTU, "nobody", "2027-1")
    with pytest.raises(ValidationFailed) as err:
        handlers.filling_report(UnitOfWork(), OSHTU, "", None, fmt="xlsx", journal_url="")
    assert err.value.detail == "invalid report request"
    assert set(err.value.errors or {}) == {"fmt", "journal_url", "teacher", "term"}


def test_the_student_record_gathers_marks_grades_forecast_and_cases(monkeypatch):
    people(monkeypatch, s1=SimpleNamespace(code="s1", kind="student", full_name="Student One", group="G1"),
           t1=SimpleNamespace(code="t1", kind="staff"))
    session = SimpleNamespace(id=1, starts_at=at(6), kind="lecture", teacher="t1", group="G1", discipline="D1")
    monkeypatch.setattr(queries, "student_marks", lambda tx, code: [(session, SimpleNamespace(status="absent"))])
    assessment = SimpleNamespace(id=9, kind="current", title="Quiz", day=date(2027, 9, 8), max=10.0, group="G1",
                                 discipline="D2")
    grade = SimpleNamespace(value=7.0, late=False, changes=2, role="correction", reason="typo", approval="c-1")
    monkeypatch.setattr(queries, "student_grades", lambda tx, code: [(assessment, grade)])
    monkeypatch.setattr(queries, "forecast_facts", lambda tx, pol, groups=(), student=None: (
        {}, fact_marks("s1", 4), {("s1", "G1")}))
    monkeypatch.setattr(queries, "controls", lambda tx, disciplines: {})
    monkeypatch.setattr(queries, "names", lambda tx, p, d=(): {"t1": "Teacher One"})
    monkeypatch.setattr(queries, "faculty_of_group", lambda tx, group: "F1")
    monkeypatch.setattr(queries, "student_cases", lambda tx, code: [
        SimpleNamespace(kind="excuse", id=4, state="approved", data={"kind": "sick", "state": "filed"})])
    record = handlers.student_record(UnitOfWork(), OSHTU, "s1", lang="ru")
    assert record["student"] == {"code": "s1", "full_name": "Student One", "group": "G1", "faculty": "F1"}
    d1, d2 = record["disciplines"]
    assert (d1["discipline"], d1["attendance"]["marks"], d1["attendance"]["percent"]) == ("D1", {"absent": 1}, 20.0)
    assert d1["attendance"]["sessions"][0]["label"] == domain.status_label(OSHTU, "absent", "ru")
    assert [r["kind"] for r in d1["forecast"]["reasons"]] == ["attendance"]
    assert (d2["discipline"], d2["forecast"], d2["grades"][0]["corrected"]) == ("D2", None, True)
    assert record["excuses"] == [{"kind": "sick", "state": "approved", "id": 4}]  # the stored state wins
    assert record["makeups"] == record["disputes"] == record["appeals"] == []
    assert record["at_risk"] is True
    assert schemas.StudentRecordSchema().validate(record) == {}
    with pytest.raises(NotFound, match="no student t1"):
        handlers.student_record(UnitOfWork(), OSHTU, "t1")
    with pytest.raises(ValidationFailed) as err:
        handlers.student_record(UnitOfWork(), OSHTU, None, lang="de")
    assert set(err.value.errors or {}) == {"student", "lang"}


def test_render_statement_refuses_what_it_cannot_render(monkeypatch):
    monkeypatch.setattr(queries, "names", no_query)
    with pytest.raises(ValidationFailed) as err:
        handlers.render_statement(UnitOfWork(), OSHTU, {"rows": [1]}, fmt="csv", lang="xx", verify_url="")
    assert err.value.detail == "cannot render this statement"
    assert set(err.value.errors or {}) == {"statement", "fmt", "lang", "verify_url"}
    assert domain.statement_people({"rows": [{"student": "s1"}], "posted_by": "t1", "discipline": "D1"}) == (
        ["s1", "t1"], "D1")


def stored(id_: int, scope_kind: str = "group", scope: str = "G1", report: str = "contact_list") -> SimpleNamespace:
    return SimpleNamespace(id=id_, report=report, cadence="weekly", period="2027-W39", period_start=date(2027, 9, 27),
                           period_end=date(2027, 10, 3), scope_kind=scope_kind, scope=scope,
                           generated_at=datetime(2027, 10, 4, 0, 0, 5, tzinfo=TZ), body={"items": []})


def test_list_scheduled_pages_within_the_callers_units(monkeypatch):
    monkeypatch.setattr(queries, "units", lambda tx, kind, faculty=None: ["DEP1"] if (kind, faculty) == (
        "department", "F1") else [])
    monkeypatch.setattr(queries, "groups_of_department", lambda tx, d: {"DEP1": ["G1", "G2"], "DEP2": ["G3"]}[d])
    asked = {}

    def rows(tx, limit, report=None, cursor=None, scopes=None):
        asked.update(limit=limit, report=report, cursor=cursor, scopes=scopes)
        return [stored(9), stored(8), stored(7)]

    monkeypatch.setattr(queries, "scheduled_rows", rows)
    page = handlers.list_scheduled(UnitOfWork(), OSHTU, within={"faculties": ["F1"], "departments": ["DEP2"]},
                                   report="contact_list", limit=2, cursor="10")
    assert asked == {"limit": 3, "report": "contact_list", "cursor": "10", "scopes": {
        ("faculty", "F1"), ("department", "DEP1"), ("department", "DEP2"), ("group", "G1"), ("group", "G2"),
        ("group", "G3")}}
    assert [i["id"] for i in page["items"]] == [9, 8] and page["next_cursor"] == "8"
    assert page["items"][0] == {"id": 9, "report": "contact_list", "cadence": "weekly", "period": "2027-W39",
                                "from": "2027-09-27", "to": "2027-10-03", "scope_kind": "group", "scope": "G1",
                                "generated_at": "2027-10-04T00:00:05+06:00"}
    assert schemas.ScheduledListSchema().validate(page) == {}
    monkeypatch.setattr(queries, "scheduled_rows", lambda tx, limit, *a: [stored(1)])
    assert handlers.list_scheduled(UnitOfWork(), OSHTU)["next_cursor"] is None  # the last page


def test_list_scheduled_refuses_bad_limits_cursors_and_scopes(monkeypatch):
    monkeypatch.setattr(queries, "scheduled_rows", no_query)
    with pytest.raises(ValidationFailed) as err:
        handlers.list_scheduled(UnitOfWork(), OSHTU, within={"groups": "G1"}, limit=True, cursor="abc")
    assert err.value.detail == "invalid list request"
    assert set(err.value.errors or {}) == {"within", "limit", "cursor"}
    with pytest.raises(ValidationFailed) as err:
        handlers.list_scheduled(UnitOfWork(), OSHTU, limit=501)
    assert err.value.errors == {"limit": "a whole number from 1 to 500"}


def test_get_scheduled_is_not_found_outside_the_callers_units(monkeypatch):
    monkeypatch.setattr(queries, "scheduled", lambda tx, report_id: stored(report_id, "group", "G9"))
    monkeypatch.setattr(queries, "groups_of_department", lambda tx, d: [])
    with pytest.raises(NotFound, match="no scheduled report 5"):
        handlers.get_scheduled(UnitOfWork(), OSHTU, 5, within={"groups": ["G1"]})
    with pytest.raises(NotFound, match="no scheduled report 5"):
        handlers.get_scheduled(UnitOfWork(), OSHTU, "5")  # an id is a whole number
    answer = handlers.get_scheduled(UnitOfWork(), OSHTU, 5, within={"groups": ["G9"]})
    assert answer["body"] == {"items": []} and answer["id"] == 5
    assert schemas.ScheduledReportSchema().validate(answer) == {}
    with pytest.raises(ValidationFailed) as err:
        handlers.get_scheduled(UnitOfWork(), OSHTU, 5, fmt="html")
    assert set(err.value.errors or {}) == {"fmt"}


def test_a_stored_report_renders_as_its_kind_of_document():
    assert [domain.document_kind(r) for r in ("attendance", "filling_check", "filling_report", "contact_list",
                                              "quality")] == ["attendance", "filling", "filling", "contact_list",
                                                              "quality"]


# -- the scheduled reports (jobs.py) ----------------------------------------------------------------------------


def scheduler(monkeypatch: pytest.MonkeyPatch, done: set[tuple[str, str, str]] = frozenset(),
              locked: bool = True) -> list[tuple[str, Any]]:
    """Units F1 / DEP1 / G1, reports stored already in `done` (report, cadence, scope); the bodies recorded."""
    units = {"faculty": ["F1"], "department": ["DEP1"], "group": ["G1"]}
    monkeypatch.setattr(queries, "units", lambda tx, kind, faculty=None: units[kind])
    monkeypatch.setattr(queries, "lock_schedule", lambda tx: locked)
    monkeypatch.setattr(queries, "scheduled_done", lambda tx, report, cadence, start, kind, scope: (
        report, cadence, scope) in done)
    bodies: list[tuple[str, Any]] = []

    def body(uow, pol, report, period, scope_kind, scope):
        bodies.append((report, period))
        return {"report": report, "scope": scope}

    monkeypatch.setattr(jobs, "scheduled_body", body)
    return bodies


def test_the_scheduler_stores_each_due_report_once_and_announces_it(monkeypatch):
    bodies = scheduler(monkeypatch, done={("attendance", "monthly", "F1")})
    uow = UnitOfWork()
    made = jobs.generate_due(uow, OSHTU)
    due = [(r, c, k) for r, c, k in domain.schedule(OSHTU) if (r, c) != ("attendance", "monthly")]
    assert len(made) == len(due) == len(uow.tx.added) == uow.commits
    assert made == [row.id for row in uow.tx.added] == list(range(1, len(due) + 1))
    rows = {(row.report, row.cadence): row for row in uow.tx.added}
    contact = rows[("contact_list", "weekly")]
    assert (contact.scope_kind, contact.scope, contact.period) == ("group", "G1", "2027-W39")
    assert (contact.period_start, contact.period_end) == (date(2027, 9, 27), date(2027, 10, 3))
    assert contact.body == {"report": "contact_list", "scope": "G1"} and contact.generated_at == NOW
    assert rows[("attendance", "semester")].period == "2026-2027-2"  # the last finished semester
    assert [e.type for e in uow.committed] == ["report.ready"] * len(due)
    ready = next(e for e in uow.committed if e.payload["id"] == contact.id)
    assert ready.actor == "system"
    assert ready.payload == {"id": contact.id, "report": "contact_list", "cadence": "weekly", "period": "2027-W39",
                             "from": "2027-09-27", "to": "2027-10-03", "scope_kind": "group", "scope": "G1",
                             "generated_at": NOW.isoformat()}
    assert schemas.ReportReadySchema().validate(ready.payload) == {}
    assert ("attendance", domain.last_finished("monthly", NOW.date())) not in bodies
    assert uow.emitted == []  # nothing left uncommitted


def test_the_scheduler_leaves_the_work_to_whoever_holds_the_lock(monkeypatch):
    bodies = scheduler(monkeypatch, locked=False)  # another replica, or reports.rebuild refilling the read models
    uow = UnitOfWork()
    assert jobs.generate_due(uow, OSHTU) == []
    assert (uow.tx.added, uow.committed, uow.commits, bodies) == ([], [], 0, [])
    assert uow.rollbacks == 1


def test_a_scheduled_body_is_the_report_for_its_period_and_scope(monkeypatch):
    period = domain.last_finished("weekly", NOW.date())
    monkeypatch.setattr(handlers, "at_risk_body", lambda uow, pol, groups, lang: {"groups": groups, "lang": lang})
    body = jobs.scheduled_body(UnitOfWork(), OSHTU, "contact_list", period, "group", "G1")
    assert body == {"report": "contact_list", "cadence": "weekly", "scope": {"kind": "group", "code": "G1"},
                    "period": {"label": "2027-W39", "from": "2027-09-27", "to": "2027-10-03"},
                    "generated_at": NOW.isoformat(), "groups": ["G1"], "lang": "ru"}
    asked = []
    monkeypatch.setattr(queries, "teachers_with_sessions", lambda tx, dep, start, end: asked.append(
        (dep, start, end)) or ["t1"])
    monkeypatch.setattr(handlers, "filling", lambda uow, pol, t, start=None, end=None: {"teacher": t})
    body = jobs.scheduled_body(UnitOfWork(), OSHTU, "filling_check", period, "department", "DEP1")
    assert body["teachers"] == [{"teacher": "t1"}]
    assert asked == [("DEP1", datetime(2027, 9, 27, tzinfo=TZ), datetime(2027, 10, 4, tzinfo=TZ))]
    with pytest.raises(ValueError, match="no scheduled report 'nope'"):
        jobs.scheduled_body(UnitOfWork(), OSHTU, "nope", period, "group", "G1")
