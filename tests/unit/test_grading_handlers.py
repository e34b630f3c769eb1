"""Grading's use-cases against a fake unit of work (issue 16): each handler loads through `queries` (replaced here by
an in-memory store), lets the domain decide and records through the unit of work. The tests read back what was
added, emitted and audited, the errors raised, and check answers and events against grading.schemas."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from fakes import FakeUnitOfWork

from contracts import grading as schemas
from grading import domain, handlers, queries
from grading.models import Assessment, ClosedYear, Correction, Grade, MakeupResult, Session, Statement
from kernel.errors import Conflict, Forbidden, Locked, NotFound, ValidationFailed, WindowClosed
from kernel.policy import load_preset

OSHTU = load_preset("oshtu")
JAGU = load_preset("jagu")
GROUP, DISC = "G1", "HIS"


def at(day: str, clock: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00+06:00")


class Store:
    """The rows the queries would find: those given, then those the handler added to the fake tx."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.rows: list[Any] = []
        self.enrolled: list[domain.Enrolled] = []
        self.sessions: list[domain.SessionFact] = []
        self.controls: dict[str, str] = {}
        self.locks: list[tuple[str, str, str]] = []

    def add(self, *rows: Any) -> None:
        self.rows.extend(rows)

    def of(self, model: type) -> list[Any]:
        return [r for r in [*self.rows, *self.uow.tx.added] if isinstance(r, model)]

    def one(self, model: type, **key: Any) -> Any:
        return next((r for r in self.of(model) if all(getattr(r, k) == v for k, v in key.items())), None)

    def install(self, mp: pytest.MonkeyPatch) -> None:
        q = queries
        mp.setattr(q, "assessment", lambda tx, i, lock=False: self.one(Assessment, id=i))
        mp.setattr(q, "grades", lambda tx, i: sorted((g for g in self.of(Grade) if g.assessment == i),
                                                     key=lambda g: g.student))
        mp.setattr(q, "grade", lambda tx, i, s: self.one(Grade, assessment=i, student=s))
        mp.setattr(q, "assessments", lambda tx, g, d: sorted(
            (a for a in self.of(Assessment) if a.group == g and a.discipline == d), key=lambda a: (a.date, a.id)))
        mp.setattr(q, "latest_assessment", lambda tx, g, d, k: max(
            (a for a in self.of(Assessment) if (a.group, a.discipline, a.kind) == (g, d, k)),
            key=lambda a: (a.date, a.id), default=None))
        mp.setattr(q, "facts", lambda tx, g, d: [q.fact(a, [x for x in self.of(Grade) if x.assessment == a.id])
                                                 for a in q.assessments(tx, g, d)])
        mp.setattr(q, "sessions", lambda tx, g, d: list(self.sessions))
        mp.setattr(q, "session", lambda tx, i: self.one(Session, id=i))
        mp.setattr(q, "enrolments", lambda tx, g: list(self.enrolled))
        mp.setattr(q, "group_students", lambda tx, g: {e.student for e in self.enrolled})
        mp.setattr(q, "control", lambda tx, d: self.controls.get(d))
        mp.setattr(q, "makeup_results", lambda tx, g, d: sorted(
            (m for m in self.of(MakeupResult) if (m.group, m.discipline) == (g, d)), key=lambda m: m.makeup))
        mp.setattr(q, "makeup_counted", lambda tx, m: any(
            (e["entity"], e["entity_id"], e["action"]) == ("makeup_result", str(m), "counted")
            for e in self.uow.audited))
        mp.setattr(q, "statement", lambda tx, i, lock=False: self.one(Statement, id=i))
        mp.setattr(q, "posted_statements", lambda tx, g, d: [
            s for s in self.of(Statement) if (s.group, s.discipline) == (g, d) and s.state in q.POSTED])
        mp.setattr(q, "posted_statement_facts", lambda tx, g, d: [
            domain.StatementFact(s.id, s.kind, s.state) for s in q.posted_statements(tx, g, d)])
        mp.setattr(q, "lock_statement_key", lambda tx, g, d, k: self.locks.append((g, d, k)))
        mp.setattr(q, "statement_of", lambda tx, g, d, k: self.one(Statement, group=g, discipline=d, kind=k))
        mp.setattr(q, "correction", lambda tx, i, lock=False: self.one(Correction, id=i))
        mp.setattr(q, "corrections_page", lambda tx, state, by, reach, limit, cursor, view: {
            "items": [view(c) for c in self.of(Correction) if state is None or c.state == state],
            "next_cursor": None})
        mp.setattr(q, "closed_year", lambda tx, y, lock=False: self.one(ClosedYear, year=y))
        mp.setattr(q, "year_closed", lambda tx, y: self.one(ClosedYear, year=y) is not None)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(clock=at("2026-10-06", "10:00"), service="grading")


@pytest.fixture
def store(uow: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch) -> Store:
    s = Store(uow)
    s.enrolled = [domain.Enrolled(st, date(2026, 9, 1), None) for st in ("S1", "S2", "S3")]
    s.controls = {DISC: "exam"}
    s.install(monkeypatch)
    return s


def assessment(store: Store, id: int = 100, kind: str = "current", day: str = "2026-10-05",
               top: float = 100) -> Assessment:
    row = Assessment(id=id, group=GROUP, discipline=DISC, kind=kind, title=f"{kind} {id}",
                     date=date.fromisoformat(day), max=top, created_by="T1", created_at=at("2026-09-01"))
    store.add(row)
    return row


def grade(store: Store, a: Assessment, student: str, value: float, entered: datetime) -> Grade:
    row = Grade(assessment=a.id, student=student, value=value, late=False, first_entry_at=entered,
                set_at=entered, set_by="T1")
    store.add(row)
    return row


def statement(store: Store, kind: str = "final", state: str = "posted", id: int = 200) -> Statement:
    row = Statement(id=id, group=GROUP, discipline=DISC, kind=kind, state=state, control="exam", rows=[],
                    covers_until=at("2026-10-05"), created_by="T1", created_at=at("2026-10-05", "12:00"))
    store.add(row)
    return row


def valid(schema: type, data: Any) -> None:
    assert schema().validate(data) == {}, schema().validate(data)


def event(uow: FakeUnitOfWork, kind: str) -> dict[str, Any]:
    found = [e for e in uow.emitted if e.type == kind]
    assert len(found) == 1, uow.types()
    valid(schemas.EVENTS[kind], found[0].payload)
    return found[0].payload


# -- assessments ------------------------------------------------------------------------------------------------


def test_create_assessment_adds_the_row_emits_and_audits_it_without_grades(uow, store):
    body = {"group": " G1 ", "discipline": DISC, "kind": "module1", "title": "Module 1", "date": "2026-10-20",
            "max": 30}
    view = handlers.create_assessment(uow, OSHTU, body, "T1")
    [row] = uow.tx.added
    assert isinstance(row, Assessment) and row.group == "G1" and row.max == 30.0 and row.created_at == uow.clock
    assert view == {"id": row.id, "group": "G1", "discipline": DISC, "kind": "module1", "title": "Module 1",
                    "date": "2026-10-20", "max": 30, "created_by": "T1", "grades": []}
    valid(schemas.AssessmentSchema, view)
    assert uow.types() == ["assessment.created"]
    assert event(uow, "assessment.created") == {k: v for k, v in view.items() if k != "grades"}
    assert uow.audited == [{"entity": "assessment", "entity_id": str(row.id), "action": "created", "actor": "T1",
                            "new": uow.emitted[0].payload, "at": uow.clock}]


def test_create_assessment_checks_the_body_before_writing_anything(uow, store):
    with pytest.raises(ValidationFailed) as e:
        handlers.create_assessment(uow, OSHTU, ["not", "an", "object"], "T1")
    assert e.value.errors == {"body": ["an object"]}
    with pytest.raises(ValidationFailed, match="max"):
        handlers.create_assessment(uow, OSHTU, {"group": GROUP, "discipline": DISC, "kind": "current",
                                                "title": "t", "date": "2026-10-20", "max": 0}, "T1")
    with pytest.raises(ValidationFailed, match="date: an ISO date"):
        handlers.create_assessment(uow, OSHTU, {"group": GROUP, "discipline": DISC, "kind": "current",
                                                "title": "t", "date": "20.10.2026", "max": 10}, "T1")
    assert uow.tx.added == [] and uow.emitted == [] and uow.audited == []


def test_create_assessment_in_an_archived_year_is_locked_rules_9(uow, store):
    store.add(ClosedYear(year="2026-2027", closed_by="AO", closed_at=at("2027-09-01")))
    with pytest.raises(Locked, match="2026-2027 is archived"):
        handlers.create_assessment(uow, OSHTU, {"group": GROUP, "discipline": DISC, "kind": "current",
                                                "title": "t", "date": "2026-10-20", "max": 10}, "T1")
    assert uow.tx.added == [] and uow.emitted == []


def test_get_assessment_of_an_unknown_or_malformed_id_is_not_found(uow, store):
    with pytest.raises(NotFound, match="no assessment 7"):
        handlers.get_assessment(uow, OSHTU, 7)
    with pytest.raises(NotFound):
        handlers.get_assessment(uow, OSHTU, "x")


# -- grades -------------------------------------------------------------------------------------------------------


def test_record_grades_emits_the_changes_and_audits_each_grade(uow, store):
    a = assessment(store, top=10)
    grade(store, a, "S2", 5, at("2026-10-05", "12:00"))
    view = handlers.record_grades(uow, OSHTU, a.id, [{"student": "S1", "value": 8}, {"student": "S2", "value": 7},
                                                     {"student": "S3", "value": 9}], "T1")
    payload = event(uow, "grade.recorded")
    assert payload == {"assessment": 100, "group": GROUP, "discipline": DISC, "kind": "current",
                       "date": "2026-10-05", "max": 10,
                       "changes": [{"student": "S1", "old": None, "new": 8}, {"student": "S2", "old": 5, "new": 7},
                                   {"student": "S3", "old": None, "new": 9}],
                       "late": [], "actor": "T1", "role": "teacher", "on_behalf_of": None, "reason": None,
                       "approval": None}
    assert [(x["entity_id"], x["old"], x["new"]) for x in uow.audited] == [("100:S1", None, 8), ("100:S2", 5, 7),
                                                                           ("100:S3", None, 9)]
    assert {g["student"]: g["value"] for g in view["grades"]} == {"S1": 8, "S2": 7, "S3": 9}
    valid(schemas.AssessmentSchema, view)


def test_writing_the_same_value_again_records_nothing(uow, store):
    a = assessment(store, top=10)
    grade(store, a, "S1", 8, at("2026-10-05", "12:00"))
    handlers.record_grades(uow, OSHTU, a.id, [{"student": "S1", "value": 8.0}], "T1")
    assert uow.emitted == [] and uow.audited == [] and uow.tx.added == []


def test_a_grade_first_entered_past_the_5_day_window_is_flagged_late_003_4_3_1(uow, store):
    a = assessment(store, day="2026-09-28", top=10)
    handlers.record_grades(uow, OSHTU, a.id, [{"student": "S1", "value": 6}], "T1")
    assert event(uow, "grade.recorded")["late"] == ["S1"]
    [row] = uow.tx.added
    assert row.late is True and row.first_entry_at == uow.clock


def test_a_batch_with_one_bad_row_writes_nothing_rules_4(uow, store):
    a = assessment(store, top=10)
    with pytest.raises(ValidationFailed) as e:
        handlers.record_grades(uow, OSHTU, a.id, [{"student": "S1", "value": 8}, {"student": "X9", "value": 11}],
                               "T1")
    assert "X9 is not on the group's roster" in str(e.value)
    with pytest.raises(ValidationFailed, match="a list of"):
        handlers.record_grades(uow, OSHTU, a.id, {"student": "S1"}, "T1")
    assert uow.tx.added == [] and uow.emitted == [] and uow.audited == []


def test_a_teacher_past_the_self_correction_window_is_refused_003_4_4_1(uow, store):
    a = assessment(store, top=10)
    grade(store, a, "S1", 5, at("2026-10-02"))  # 4 days before the unit's clock
    with pytest.raises(WindowClosed) as e:
        handlers.record_grades(uow, OSHTU, a.id, [{"student": "S1", "value": 6}], "T1")
    assert e.value.errors == {"grades": ["S1: past the self-correction window"]}
    assert uow.emitted == []


def test_a_posted_final_statement_locks_the_teacher_out_002_4_3(uow, store):
    a = assessment(store, top=10)
    statement(store, "final", "posted")
    with pytest.raises(Locked, match="statement 200 \\(final\\) is posted"):
        handlers.record_grades(uow, OSHTU, a.id, [{"student": "S1", "value": 6}], "T1")
    assert uow.emitted == [] and uow.tx.added == []


def test_an_appeal_decision_changes_a_grade_under_a_closed_statement_and_recomputes_it_003_7_6(uow, store):
    final = assessment(store, id=101, kind="final", day="2026-12-20", top=40)
    grade(store, final, "S1", 20, at("2026-12-20"))
    st = statement(store, "final", "closed")
    handlers.decide_appeal(uow, OSHTU, {"id": 7, "statement": st.id, "student": "S1", "value": 30,
                                        "protocol": "P-3", "actor": "C1"})
    payload = event(uow, "grade.recorded")
    assert payload["role"] == "commission" and payload["reason"] == "appeal 7"
    assert payload["approval"] == "appeal 7, protocol P-3"
    assert payload["changes"] == [{"student": "S1", "old": 20, "new": 30}]
    recomputed = [x for x in uow.audited if x["entity"] == "statement"]
    assert [(x["entity_id"], x["action"], x["approval"]) for x in recomputed] == [
        ("200", "recomputed", "appeal 7, protocol P-3")]
    assert st.rows == recomputed[0]["new"] and {r["student"] for r in st.rows} == {"S1", "S2", "S3"}


def test_an_appeal_on_a_statement_without_its_assessment_is_not_found(uow, store):
    statement(store, "module1", "closed")
    with pytest.raises(NotFound, match="rests on no module1 assessment"):
        handlers.decide_appeal(uow, OSHTU, {"id": 8, "statement": 200, "student": "S1", "value": 3})


# -- statements -----------------------------------------------------------------------------------------------------


def test_create_statement_computes_rows_under_a_lock_and_emits_statement_created(uow, store):
    a = assessment(store, id=101, kind="final", day="2026-10-05", top=40)
    grade(store, a, "S1", 30, at("2026-10-05"))
    view = handlers.create_statement(uow, OSHTU, GROUP, DISC, "final", "T1")
    assert store.locks == [(GROUP, DISC, "final")]
    [row] = uow.tx.added
    assert row.state == "open" and row.control == "exam" and [r["student"] for r in row.rows] == ["S1", "S2", "S3"]
    valid(schemas.StatementSchema, view)
    assert view["covers_until"] == "2026-10-05T00:00:00+06:00"  # the graded final's day
    assert event(uow, "statement.created") == {"id": row.id, "group": GROUP, "discipline": DISC, "kind": "final",
                                               "state": "open", "covers_until": view["covers_until"]}
    assert [(x["action"], x["new"]) for x in uow.audited] == [("created", view)]


def test_create_statement_refuses_a_posted_one_and_a_kind_off_the_preset(uow, store):
    statement(store, "final", "posted")
    with pytest.raises(Conflict, match="statement 200 for G1 HIS final is already posted"):
        handlers.create_statement(uow, OSHTU, GROUP, DISC, "final", "T1")
    with pytest.raises(ValidationFailed, match="kind"):
        handlers.create_statement(uow, OSHTU, GROUP, DISC, "semester", "T1")
    with pytest.raises(ValidationFailed, match="discipline: a code"):
        handlers.create_statement(uow, OSHTU, GROUP, "", "final", "T1")
    assert uow.emitted == [] and uow.audited == []


def test_post_then_close_a_statement_and_nothing_else_003_7_6(uow, store):
    st = statement(store, "final", "open")
    view = handlers.post_statement(uow, OSHTU, st.id, "T1")
    assert view["state"] == "posted" and st.posted_by == "T1" and st.posted_at == uow.clock
    assert event(uow, "statement.posted")["state"] == "posted"
    assert uow.audited[-1]["old"] == {"state": "open"} and uow.audited[-1]["new"]["state"] == "posted"
    with pytest.raises(Conflict, match="posted only when open"):
        handlers.post_statement(uow, OSHTU, st.id, "T1")
    handlers.close_statement(uow, OSHTU, st.id, "AO")
    assert st.state == "closed" and st.closed_by == "AO" and uow.types() == ["statement.posted", "statement.closed"]


def test_a_statement_of_an_archived_year_does_not_move_rules_9(uow, store):
    st = statement(store, "final", "open")
    store.add(ClosedYear(year="2026-2027", closed_by="AO", closed_at=at("2027-09-01")))
    with pytest.raises(Locked, match="2026-2027 is archived"):
        handlers.post_statement(uow, OSHTU, st.id, "T1")
    assert st.state == "open" and uow.emitted == []


# -- late corrections -----------------------------------------------------------------------------------------------


def test_create_correction_of_an_attendance_mark_takes_the_sessions_group_003_4_4_2(uow, store):
    store.add(Session(id=5, discipline=DISC, group="G7", starts_at=at("2026-09-20")))
    view = handlers.create_correction(uow, OSHTU, {"kind": "attendance", "session": "5", "student": "S1"},
                                      "present", "  was there  ", "T1", group="G0")
    [row] = uow.tx.added
    assert row.group == "G7" and row.reason == "was there" and row.state == "pending"
    assert (row.next_action, row.next_role) == ("visa", "department_head")
    assert view["target"] == {"kind": "attendance", "session": 5, "student": "S1"}
    assert view["next"] == {"action": "visa", "role": "department_head"}
    assert event(uow, "correction.requested") == view
    assert uow.audited == [{"entity": "correction", "entity_id": str(row.id), "action": "request", "actor": "T1",
                            "student": "S1", "new": {"target": view["target"], "value": "present"},
                            "reason": "was there", "at": uow.clock}]


def test_create_correction_checks_reason_target_and_value(uow, store):
    with pytest.raises(ValidationFailed, match="reason"):
        handlers.create_correction(uow, OSHTU, {"kind": "attendance", "session": 5, "student": "S1"}, "present",
                                   " ", "T1")
    with pytest.raises(ValidationFailed, match="target.kind"):
        handlers.create_correction(uow, OSHTU, {"kind": "mark"}, "present", "why", "T1")
    with pytest.raises(ValidationFailed, match="attendance codes"):
        handlers.create_correction(uow, OSHTU, {"kind": "attendance", "session": 5, "student": "S1"}, "late",
                                   "why", "T1")
    a = assessment(store, top=10)
    with pytest.raises(ValidationFailed) as e:
        handlers.create_correction(uow, OSHTU, {"kind": "grade", "assessment": a.id, "student": "S1"}, 11, "why",
                                   "T1")
    assert "above the assessment's maximum" in str(e.value)
    assert uow.tx.added == [] and uow.emitted == []


def test_a_module_grade_already_entered_changes_only_by_appeal_003_4_4_3(uow, store):
    a = assessment(store, kind="module1", top=30)
    target = {"kind": "grade", "assessment": a.id, "student": "S1"}
    view = handlers.create_correction(uow, OSHTU, target, 20, "missed entry", "T1")  # not entered yet: technical
    assert view["target"] == {"kind": "grade", "assessment": 100, "student": "S1"}
    assert uow.tx.added[0].group == GROUP
    grade(store, a, "S1", 15, at("2026-10-05"))
    with pytest.raises(Forbidden, match="module1 grade changes only by an appeal"):
        handlers.create_correction(uow, OSHTU, target, 20, "wrong sum", "T1")


def walk(uow: FakeUnitOfWork, row: Correction) -> None:
    handlers.correction_step(uow, OSHTU, row.id, "visa", "H1", [["department_head", "DAP"]])
    handlers.correction_step(uow, OSHTU, row.id, "approve", "AO", [{"role": "academic_office"}])
    handlers.correction_step(uow, OSHTU, row.id, "execute", "IT", ["it_admin"])


def correction(store: Store, target: dict[str, Any], value: Any) -> Correction:
    row = Correction(id=300, target=target, value=value, reason="why", state="pending", group=GROUP,
                     next_action="visa", next_role="department_head",
                     steps=[domain.step_wire(domain.Step("request", "teacher", "T1", at("2026-10-05"), None))],
                     requested_by="T1", created_at=at("2026-10-05"))
    store.add(row)
    return row


def test_an_attendance_correction_walks_the_chain_and_its_execution_is_emitted_003_4_4_2(uow, store):
    row = correction(store, {"kind": "attendance", "session": 5, "student": "S1"}, "present")
    walk(uow, row)
    assert uow.types() == ["correction.step", "correction.step", "correction.executed", "correction.step"]
    assert event(uow, "correction.executed") == {"id": 300, "target": row.target, "value": "present",
                                                 "actor": "IT", "approval": "correction 300", "reason": "why"}
    assert row.state == "executed" and row.next_action is None and row.next_role is None
    assert [s["action"] for s in row.steps] == ["request", "visa", "approve", "execute"]
    assert [(x["action"], x["approval"]) for x in uow.audited] == [
        ("visa", None), ("approve", "correction 300"), ("execute", "correction 300")]
    for e in uow.emitted:
        valid(schemas.EVENTS[e.type], e.payload)


def test_an_executed_grade_correction_writes_through_the_audited_path_and_passes_a_posted_statement(uow, store):
    a = assessment(store, top=10)
    grade(store, a, "S1", 4, at("2026-10-01"))
    st = statement(store, "final", "posted")
    row = correction(store, {"kind": "grade", "assessment": a.id, "student": "S1"}, 9)
    walk(uow, row)
    payload = event(uow, "grade.recorded")
    assert (payload["role"], payload["approval"], payload["reason"]) == ("correction", "correction 300", "why")
    assert payload["changes"] == [{"student": "S1", "old": 4, "new": 9}]
    assert any(x["entity"] == "statement" and x["entity_id"] == str(st.id) for x in uow.audited)
    assert "correction.executed" not in uow.types()


def test_a_step_out_of_turn_or_by_the_wrong_role_is_refused_and_reject_ends_it(uow, store):
    row = correction(store, {"kind": "attendance", "session": 5, "student": "S1"}, "present")
    with pytest.raises(Conflict, match="next step is visa"):
        handlers.correction_step(uow, OSHTU, row.id, "approve", "AO", ["academic_office"])
    with pytest.raises(Forbidden):
        handlers.correction_step(uow, OSHTU, row.id, "visa", "T2", ["teacher"])
    view = handlers.correction_step(uow, OSHTU, row.id, "reject", "AO", ["academic_office"], "no basis")
    assert view["state"] == "rejected" and view["next"] is None
    assert event(uow, "correction.rejected") == view
    assert uow.audited[-1]["reason"] == "no basis" and uow.audited[-1]["approval"] is None


def test_executing_an_attendance_correction_of_an_archived_year_is_locked_rules_9(uow, store):
    store.add(Session(id=5, discipline=DISC, group=GROUP, starts_at=at("2026-09-20")),
              ClosedYear(year="2026-2027", closed_by="AO", closed_at=at("2027-09-01")))
    row = correction(store, {"kind": "attendance", "session": 5, "student": "S1"}, "present")
    handlers.correction_step(uow, OSHTU, row.id, "visa", "H1", ["department_head"])
    handlers.correction_step(uow, OSHTU, row.id, "approve", "AO", ["academic_office"])
    with pytest.raises(Locked, match="2026-2027 is archived"):
        handlers.correction_step(uow, OSHTU, row.id, "execute", "IT", ["it_admin"])
    assert "correction.executed" not in uow.types()


def test_list_corrections_refuses_an_unknown_state(uow, store):
    with pytest.raises(ValidationFailed, match="pending, executed or rejected"):
        handlers.list_corrections(uow, OSHTU, state="open")
    correction(store, {"kind": "attendance", "session": 5, "student": "S1"}, "present")
    page = handlers.list_corrections(uow, OSHTU, state="pending")
    valid(schemas.CorrectionPageSchema, page)
    assert [c["id"] for c in page["items"]] == [300]


# -- the gradebook and the year archive ---------------------------------------------------------------------------


def test_gradebook_lists_the_roster_and_anyone_graded_with_their_make_ups(uow, store):
    a = assessment(store, top=10)
    grade(store, a, "S9", 7, at("2026-10-05"))  # moved out since, keeps the result
    store.sessions = [domain.SessionFact(5, at("2026-10-05"), {"S1": "present", "S2": "absent"})]
    store.add(MakeupResult(makeup=1, session=5, student="S2", group=GROUP, discipline=DISC, result="passed",
                           comment=None, completed_at=at("2026-10-06")))
    book = handlers.gradebook(uow, OSHTU, GROUP, DISC)
    valid(schemas.GradebookSchema, book)
    assert [s["student"] for s in book["students"]] == ["S1", "S2", "S3", "S9"]
    by = {s["student"]: s for s in book["students"]}
    assert by["S2"]["makeups"] == [{"makeup": 1, "session": 5, "result": "passed", "comment": None,
                                    "completed_at": "2026-10-06T09:00:00+06:00"}]
    assert by["S9"]["grades"][0]["value"] == 7 and by["S1"]["attendance"]["present"] == 1
    assert book["control"] == "exam" and book["rating_max"] == 100
    assert [s["student"] for s in handlers.gradebook(uow, OSHTU, GROUP, DISC, "S3")["students"]] == ["S3"]


def test_a_make_up_result_is_counted_with_one_audit_entry_whatever_its_events(uow, store):
    result = {"id": 7, "session": 5, "student": "S2", "group": GROUP, "discipline": DISC, "result": "passed",
              "actor": "T1"}
    handlers.count_makeup_result(uow, result)
    handlers.count_makeup_result(uow, {**result, "result": "failed"})  # a second event of the same make-up
    assert uow.audited == [{"entity": "makeup_result", "entity_id": "7", "action": "counted", "actor": "T1",
                            "student": "S2", "new": {"session": 5, "result": "passed"}, "approval": "make-up 7",
                            "at": at("2026-10-06", "10:00")}]


def test_close_year_once_emits_and_audits_then_answers_the_same(uow, store):
    first = handlers.close_year(uow, OSHTU, "2026-2027", "AO")
    valid(schemas.ClosedYearSchema, first)
    assert event(uow, "year.closed") == {"year": "2026-2027", "starts": "2026-09-01", "ends": "2027-08-31",
                                         "actor": "AO", "closed_at": "2026-10-06T10:00:00+06:00"}
    assert [(x["entity"], x["entity_id"], x["action"]) for x in uow.audited] == [("year", "2026-2027", "closed")]
    again = handlers.close_year(uow, OSHTU, "2026-2027", "AO2")
    assert again == first and len(uow.emitted) == 1 and len(uow.audited) == 1
    assert handlers.is_year_closed(uow, "2026-2027") and not handlers.is_year_closed(uow, "2027-2028")
    with pytest.raises(ValidationFailed, match="year"):
        handlers.close_year(uow, OSHTU, "2026-2028", "AO")


def test_jagu_marks_scale_is_checked_by_the_handler_too_002_3_5(uow, store):
    a = assessment(store, top=5)
    with pytest.raises(ValidationFailed, match="jagu scale"):
        handlers.record_grades(uow, JAGU, a.id, [{"student": "S1", "value": 4.5}], "T1")
    assert uow.emitted == []
