"""Make-up's use-cases against a fake unit of work (issue 16): each handler loads through `queries` (replaced here by
an in-memory store), lets the domain decide and records through the unit of work. The tests read back the rows
added, the events emitted (checked against makeup.schemas), the audit entries and the errors raised."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fakes import FakeUnitOfWork

from contracts import makeup as schemas
from kernel.errors import Conflict, DeadlinePassed, Forbidden, NotFound, ValidationFailed
from kernel.policy import load_preset
from makeup import handlers, queries, service
from makeup.models import (
    Appeal,
    AssessmentInfo,
    Commission,
    Dispute,
    GradePub,
    Makeup,
    Mark,
    SessionInfo,
    StatementInfo,
)

OSHTU = load_preset("oshtu")
JAGU = load_preset("jagu")


def at(day: str, clock: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00+06:00")


ABSENCE = at("2026-10-01")  # a Thursday lecture missed: the make-up deadline is the end of 2026-10-15 at oshtu


class Store:
    """The rows the queries would find: those given, then those the handler added to the fake tx."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.rows: list[Any] = []

    def add(self, *rows: Any) -> None:
        self.rows.extend(rows)

    def of(self, model: type) -> list[Any]:
        return [r for r in [*self.rows, *self.uow.tx.added] if isinstance(r, model)]

    def one(self, model: type, **key: Any) -> Any:
        return next((r for r in self.of(model) if all(getattr(r, k) == v for k, v in key.items())), None)

    def install(self, mp: pytest.MonkeyPatch) -> None:
        q = queries
        mp.setattr(q, "by_id", lambda tx, model, i, lock=False: self.one(model, id=i))
        mp.setattr(q, "makeup_of_absence", lambda tx, s, st, lock=False: self.one(Makeup, session=s, student=st))
        mp.setattr(q, "session_info", lambda tx, s: self.one(SessionInfo, id=s))
        mp.setattr(q, "mark", lambda tx, s, st: self.one(Mark, session=s, student=st))
        mp.setattr(q, "makeups", lambda tx, **f: sorted(
            (m for m in self.of(Makeup) if f["open_only"] is False or m.state != "completed"), key=lambda m: m.id))
        mp.setattr(q, "register_marks", lambda tx, g, d: {
            (m.session, m.student): m.status for m in self.of(Mark) if (m.group, m.discipline) == (g, d)})
        mp.setattr(q, "register_makeups", lambda tx, g, d: {
            (m.session, m.student): m for m in self.of(Makeup) if (m.group, m.discipline) == (g, d)})
        mp.setattr(q, "sessions", lambda tx, ids: {r.id: r for r in self.of(SessionInfo) if r.id in ids})
        mp.setattr(q, "open_dispute", lambda tx, a, s: self.one(Dispute, assessment=a, student=s, state="open"))
        mp.setattr(q, "grade_publication", lambda tx, a, s: getattr(
            self.one(GradePub, assessment=a, student=s), "published_at", None))
        mp.setattr(q, "assessment_info", lambda tx, a: self.one(AssessmentInfo, id=a))
        mp.setattr(q, "last_dispute_answer", lambda tx, a, s: max(
            (d.updated_at for d in self.of(Dispute) if (d.assessment, d.student) == (a, s) and d.state != "open"),
            default=None))
        mp.setattr(q, "commissions_of", lambda tx, member, newest_first=False: sorted(
            (c for c in self.of(Commission) if member in c.members), key=lambda c: c.id, reverse=newest_first))
        mp.setattr(q, "statement_info", lambda tx, s: self.one(StatementInfo, id=s))
        mp.setattr(q, "filed_appeal", lambda tx, st, s, a: self.one(
            Appeal, student=st, statement=s, assessment=a, state="filed"))


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(clock=at("2026-10-05"), service="makeup")


@pytest.fixture
def store(uow: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch) -> Store:
    s = Store(uow)
    s.install(monkeypatch)
    s.add(SessionInfo(id=7, term="2026F", discipline="HIS", group="G1", subgroup=None, kind="lecture",
                      teacher="T01", starts_at=ABSENCE),
          Mark(session=7, student="S1", group="G1", discipline="HIS", status="absent", at=ABSENCE),
          Mark(session=7, student="S2", group="G1", discipline="HIS", status="present", at=ABSENCE))
    return s


def valid(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload loads through its event's schema (unknown fields refused): the wire format is as described."""
    return schemas.EVENTS[event_type]().load(payload)


def requested(uow: FakeUnitOfWork, store: Store) -> Makeup:
    view, refusal = handlers.request_makeup(uow, OSHTU, 7, "S1", "S1")
    assert refusal is None
    row = store.one(Makeup, id=view["id"])
    uow.emitted.clear()
    uow.audited.clear()
    return row


# -- make-up: request (003 §5.2, §5.3) ------------------------------------------------------------------------------


def test_request_in_time_stores_the_makeup_emits_requested_and_audits_003_5_3_1(uow, store):
    view, refusal = handlers.request_makeup(uow, OSHTU, "7", "S1", "S1")
    assert refusal is None
    [row] = uow.tx.added
    assert isinstance(row, Makeup) and row.id == 1 and row.state == "requested" and row.absence_status == "absent"
    assert row.deadline == row.base_deadline == OSHTU.end_of_day(date(2026, 10, 15))
    assert view["state"] == "requested" and view["task_kinds"] == ["summary_oral", "test", "essay"]
    assert uow.types() == ["makeup.requested"]
    assert valid("makeup.requested", uow.emitted[0].payload)["id"] == 1
    assert uow.emitted[0].actor == "S1"
    [entry] = uow.audited
    assert (entry["entity"], entry["entity_id"], entry["action"], entry["chain"]) == (
        "makeup", "1", "requested", "makeup:1")
    assert entry["new"]["deadline"] == "2026-10-15T23:59:59.999999+06:00"
    assert entry["reason"] == "role student"


def test_a_late_request_is_stored_then_refused_deadline_passed_003_5_3_2(uow, store, monkeypatch):
    uow.clock = ABSENCE + timedelta(days=15)
    monkeypatch.setattr(service, "policy", lambda: OSHTU)
    svc = service.MakeupService.__new__(service.MakeupService)
    svc.db = uow  # the worker's unit of work
    with pytest.raises(DeadlinePassed) as exc:
        svc.request_makeup(7, "S1", "S1")
    assert uow.commits == 1  # kept, so the approvers can extend it
    assert uow.types() == ["makeup.requested"]
    assert exc.value.extra["makeup"] == 1 and exc.value.extra["awaiting"] == "department_head"
    assert "department_head, directorate" in exc.value.detail
    # asking again answers with the same refusal and stores nothing more
    with pytest.raises(DeadlinePassed):
        handlers.request_makeup(uow, OSHTU, 7, "S1", "S1")
    assert len(uow.tx.added) == 1 and uow.types() == ["makeup.requested"]


def test_a_repeated_request_answers_the_existing_makeup_003_5(uow, store):
    row = requested(uow, store)
    view, refusal = handlers.request_makeup(uow, OSHTU, 7, "S1", "S1")
    assert refusal is None and view["id"] == row.id
    assert uow.emitted == [] and uow.audited == [] and len(uow.tx.added) == 1


def test_only_an_absence_can_be_made_up_and_only_where_the_preset_has_it_003_5_2(uow, store):
    with pytest.raises(Conflict):
        handlers.request_makeup(uow, OSHTU, 7, "S2", "S2")  # present
    with pytest.raises(Conflict):
        handlers.request_makeup(uow, OSHTU, 7, "S3", "S3")  # no mark
    with pytest.raises(NotFound):
        handlers.request_makeup(uow, OSHTU, 8, "S1", "S1")
    with pytest.raises(NotFound):
        handlers.request_makeup(uow, OSHTU, "x", "S1", "S1")
    with pytest.raises(ValidationFailed) as exc:
        handlers.request_makeup(uow, OSHTU, 7, "", "S1")
    assert "student" in exc.value.errors
    with pytest.raises(Conflict):
        handlers.request_makeup(uow, JAGU, 7, "S1", "S1")
    assert uow.tx.added == [] and uow.emitted == [] and uow.audited == []


# -- make-up: assign, complete (003 §5.1, §5.4, §5.5; RULES.md §6) --------------------------------------------------


def test_assign_a_task_that_suits_the_session_kind_rules_6(uow, store):
    row = requested(uow, store)
    with pytest.raises(ValidationFailed) as exc:
        handlers.assign_makeup(uow, OSHTU, row.id, "redo_lab", "Ch. 3", "2026-10-12", "T01")
    assert "task_kind" in exc.value.errors and uow.emitted == []
    view = handlers.assign_makeup(uow, OSHTU, row.id, "essay", " Ch. 3 ", "2026-10-12", "T01")
    assert (row.state, row.task_kind, row.topic, row.assigned_by) == ("assigned", "essay", "Ch. 3", "T01")
    assert view["due"] == "2026-10-12T23:59:59.999999+06:00"
    assert uow.types() == ["makeup.assigned"]
    valid("makeup.assigned", uow.emitted[0].payload)
    [entry] = uow.audited
    assert entry["action"] == "assigned"
    assert entry["old"] == {"state": "requested", "task_kind": None, "topic": None, "due": None}
    assert entry["new"] == {"state": "assigned", "task_kind": "essay", "topic": "Ch. 3",
                            "due": "2026-10-12T23:59:59.999999+06:00"}
    assert row.steps[-1]["action"] == "assigned" and row.steps[-1]["due"] == view["due"]


def test_a_due_date_past_the_deadline_is_refused_003_5_3(uow, store):
    row = requested(uow, store)
    with pytest.raises(DeadlinePassed):
        handlers.assign_makeup(uow, OSHTU, row.id, "test", "Ch. 3", "2026-10-16", "T01")
    assert row.state == "requested" and uow.emitted == []


def test_complete_an_assigned_makeup_emits_completed_for_attendance_and_grading_003_5_4(uow, store):
    row = requested(uow, store)
    with pytest.raises(Conflict):
        handlers.complete_makeup(uow, OSHTU, row.id, 8, None, "T01")  # not assigned yet
    handlers.assign_makeup(uow, OSHTU, row.id, "test", "Ch. 3", "2026-10-12", "T01")
    uow.emitted.clear()
    uow.audited.clear()
    with pytest.raises(ValidationFailed):  # a result off the scale
        handlers.complete_makeup(uow, OSHTU, row.id, 101, None, "T01")
    assert row.state == "assigned" and uow.emitted == []
    view = handlers.complete_makeup(uow, OSHTU, row.id, 8.0, "well done", "T01")
    assert view["state"] == "completed" and view["result"] == 8
    [event] = uow.emitted
    assert event.type == "makeup.completed"
    payload = valid("makeup.completed", event.payload)
    assert (payload["session"], payload["student"], payload["result"], payload["task_kind"], payload["actor"]) == (
        7, "S1", 8, "test", "T01")
    assert event.payload["completed_at"] == "2026-10-05T09:00:00+06:00"
    [entry] = uow.audited
    assert entry["old"] == {"state": "assigned"}
    assert entry["new"] == {"state": "completed", "result": 8, "comment": "well done",
                            "completed_at": "2026-10-05T09:00:00+06:00"}
    with pytest.raises(Conflict):  # completed once
        handlers.complete_makeup(uow, OSHTU, row.id, 9, None, "T01")


# -- make-up: extension (003 §5.3.2) ---------------------------------------------------------------------------------


def test_extension_by_department_head_then_directorate_moves_the_deadline_003_5_3_2(uow, store):
    row = requested(uow, store)
    uow.clock = at("2026-10-16")
    with pytest.raises(Conflict):  # out of turn
        handlers.extend_makeup(uow, OSHTU, row.id, "2026-10-30", "illness", "DIR", "directorate")
    with pytest.raises(Forbidden):
        handlers.extend_makeup(uow, OSHTU, row.id, "2026-10-30", "illness", "T01", "teacher")
    with pytest.raises(ValidationFailed) as exc:
        handlers.extend_makeup(uow, OSHTU, row.id, "2026-10-10", "illness", "DH", "department_head")
    assert "until" in exc.value.errors
    assert uow.emitted == []
    view = handlers.extend_makeup(uow, OSHTU, row.id, "2026-10-30", "illness", "DH", "department_head")
    assert view["state"] == "expired" and view["extension"]["awaiting"] == "directorate"
    assert row.deadline == OSHTU.end_of_day(date(2026, 10, 15))  # one step is not enough
    assert uow.types() == ["makeup.extension_step"]
    view = handlers.extend_makeup(uow, OSHTU, row.id, "2026-10-30", "illness", "DIR", "directorate")
    assert row.deadline == OSHTU.end_of_day(date(2026, 10, 30)) and view["state"] == "requested"
    assert view["extension"]["complete"] is True and view["extension"]["awaiting"] is None
    assert uow.types() == ["makeup.extension_step", "makeup.extended"]
    for event in uow.emitted:
        valid(event.type, event.payload)
    first, second = uow.audited
    assert first["action"] == "extension_department_head" and first["old"]["steps"] == 0
    assert second["action"] == "extension_directorate" and second["approval"] == "department_head DH; directorate DIR"
    assert second["new"] == {"deadline": "2026-10-30T23:59:59.999999+06:00",
                             "until": "2026-10-30T23:59:59.999999+06:00", "complete": True}
    with pytest.raises(Conflict):  # decided
        handlers.extend_makeup(uow, OSHTU, row.id, "2026-11-05", "again", "DH", "department_head")


def test_an_approvers_queue_holds_what_waits_for_them_003_5_3_2(uow, store):
    row = requested(uow, store)
    uow.clock = at("2026-10-10")
    assert handlers.list_makeups(uow, OSHTU, awaiting_extension_role="department_head")["items"] == []  # in time
    uow.clock = at("2026-10-16")
    page = handlers.list_makeups(uow, OSHTU, awaiting_extension_role="department_head")
    assert [m["id"] for m in page["items"]] == [row.id] and page["next_cursor"] is None
    assert handlers.list_makeups(uow, OSHTU, awaiting_extension_role="directorate")["items"] == []
    handlers.extend_makeup(uow, OSHTU, row.id, "2026-10-30", "illness", "DH", "department_head")
    assert [m["id"] for m in handlers.list_makeups(uow, OSHTU, awaiting_extension_role="directorate")["items"]] == [
        row.id]
    schemas.MakeupPageSchema().load(handlers.list_makeups(uow, OSHTU))
    with pytest.raises(ValidationFailed):
        handlers.list_makeups(uow, OSHTU, state="lost")


# -- the register (003 §5.6) -----------------------------------------------------------------------------------------


def test_register_shows_absences_with_their_makeups_and_flags_a_mismatch_003_5_6(uow, store):
    row = requested(uow, store)
    store.add(Mark(session=7, student="S4", group="G1", discipline="HIS", status="made_up", at=ABSENCE))
    answer = handlers.register(uow, OSHTU, "G1", "HIS")
    schemas.RegisterSchema().load(answer)
    assert [(i["student"], i["makeup"]["id"] if i["makeup"] else None) for i in answer["items"]] == [
        ("S1", row.id), ("S4", None)]
    assert answer["items"][0]["starts_at"] == "2026-10-01T09:00:00+06:00"
    assert answer["consistent"] is False
    assert [(m["kind"], m["student"]) for m in answer["mismatches"]] == [("made_up_without_completed_makeup", "S4")]


# -- disputes (003 §6.2) ---------------------------------------------------------------------------------------------


def test_open_a_dispute_inside_3_working_days_of_the_grade_003_6_2(uow, store):
    store.add(GradePub(assessment=3, student="S1", value=4, published_at=at("2026-10-08", "15:00")),
              AssessmentInfo(id=3, group="G1", discipline="HIS", kind="midterm", title="M1"))
    uow.clock = at("2026-10-14")
    with pytest.raises(DeadlinePassed):
        handlers.open_dispute(uow, OSHTU, 3, "S1", "my answer was right", "S1")
    uow.clock = at("2026-10-13", "18:00")
    with pytest.raises(Conflict):  # no published grade of S2
        handlers.open_dispute(uow, OSHTU, 3, "S2", "why", "S2")
    view = handlers.open_dispute(uow, OSHTU, 3, "S1", "my answer was right", "S1")
    assert (view["state"], view["group"], view["deadline"]) == ("open", "G1", "2026-10-13T23:59:59.999999+06:00")
    assert uow.types() == ["dispute.opened"]
    valid("dispute.opened", uow.emitted[0].payload)
    [entry] = uow.audited
    assert (entry["entity"], entry["action"], entry["chain"], entry["reason"]) == (
        "dispute", "opened", "dispute:1", "my answer was right")
    again = handlers.open_dispute(uow, OSHTU, 3, "S1", "again", "S1")  # the open one answers
    assert again["id"] == view["id"] and len(uow.emitted) == 1


def test_a_dispute_is_resolved_or_escalated_003_6_2(uow, store):
    store.add(GradePub(assessment=3, student="S1", value=4, published_at=at("2026-10-02")))
    dispute = handlers.open_dispute(uow, OSHTU, 3, "S1", "recount", "S1")
    with pytest.raises(ValidationFailed):
        handlers.resolve_dispute(uow, OSHTU, dispute["id"], 5, "", "T01")  # the note is required
    view = handlers.resolve_dispute(uow, OSHTU, dispute["id"], 5, "recounted", "T01")
    assert (view["state"], view["value"], view["note"]) == ("resolved", 5, "recounted")
    view = handlers.escalate_dispute(uow, OSHTU, dispute["id"], "S1")
    assert view["state"] == "escalated" and view["note"] is None
    with pytest.raises(Conflict):
        handlers.escalate_dispute(uow, OSHTU, dispute["id"], "S1")
    assert uow.types() == ["dispute.opened", "dispute.resolved", "dispute.escalated"]
    for event in uow.emitted:
        valid(event.type, event.payload)
    assert [(e["action"], e["old"], e["new"]) for e in uow.audited[1:]] == [
        ("resolved", {"state": "open"}, {"state": "resolved", "value": 5, "note": "recounted"}),
        ("escalated", {"state": "resolved"}, {"state": "escalated", "note": None})]
    with pytest.raises(NotFound):
        handlers.get_dispute(uow, OSHTU, 99)


# -- commissions and appeals (003 §6.3) ------------------------------------------------------------------------------


def commission(uow: FakeUnitOfWork, members: list[str] | None = None) -> dict[str, Any]:
    view = handlers.create_commission(uow, OSHTU, "Order 12", members or ["T01", "T02"], "2026-10-01", "2026-10-31",
                                      "DEAN")
    return view


def test_a_commission_is_appointed_by_order_for_a_period_003_6_3(uow, store):
    with pytest.raises(ValidationFailed) as exc:
        handlers.create_commission(uow, OSHTU, "Order 12", ["T01"], "soon", "2026-10-31", "DEAN")
    assert "from" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        handlers.create_commission(uow, OSHTU, "Order 12", ["T01", "T01"], "2026-10-01", "2026-10-31", "DEAN")
    assert "members" in exc.value.errors
    view = commission(uow)
    assert view["from"] == "2026-10-01" and view["active"] is True
    assert uow.types() == ["commission.created"]
    valid("commission.created", uow.emitted[0].payload)
    [entry] = uow.audited
    assert (entry["entity"], entry["action"], entry["reason"], entry["new"]) == (
        "commission", "created", "order Order 12", view)
    assert handlers.commission_of(uow, OSHTU, "T02") == [view["id"]]
    uow.clock = at("2026-11-02")
    assert handlers.commission_of(uow, OSHTU, "T02") == []
    assert handlers.commission_of(uow, OSHTU, "T02", active_only=False) == [view["id"]]


def test_an_appeal_against_a_statement_runs_from_its_posting_003_6_3(uow, store):
    store.add(StatementInfo(id=5, group="G1", discipline="HIS", kind="exam", state="open"))
    uow.clock = at("2026-10-12", "17:00")  # Monday
    with pytest.raises(Conflict):
        handlers.file_appeal(uow, OSHTU, "S1", "unfair", "S1", statement=5)
    store.one(StatementInfo, id=5).state = "posted"
    with pytest.raises(Conflict):  # posted, but the posting's time has not arrived
        handlers.file_appeal(uow, OSHTU, "S1", "unfair", "S1", statement=5)
    store.one(StatementInfo, id=5).posted_at = at("2026-10-09", "16:00")  # Friday
    with pytest.raises(ValidationFailed):
        handlers.file_appeal(uow, OSHTU, "S1", "unfair", "S1")
    view = handlers.file_appeal(uow, OSHTU, "S1", "unfair", "S1", statement=5)
    assert (view["state"], view["group"], view["deadline"]) == ("filed", "G1", "2026-10-12T23:59:59.999999+06:00")
    assert uow.types() == ["appeal.filed"]
    valid("appeal.filed", uow.emitted[0].payload)
    assert uow.audited[0]["chain"] == "appeal:1" and uow.audited[0]["new"]["statement"] == 5
    assert handlers.file_appeal(uow, OSHTU, "S1", "again", "S1", statement=5)["id"] == view["id"]
    assert len(uow.emitted) == 1
    uow.clock = at("2026-10-13", "09:00")
    with pytest.raises(DeadlinePassed):
        handlers.file_appeal(uow, OSHTU, "S2", "unfair", "S2", statement=5)


def test_an_appeal_after_a_dispute_runs_from_the_disputes_answer_003_6_2_6_3(uow, store):
    store.add(GradePub(assessment=3, student="S1", value=4, published_at=at("2026-10-02")),
              Dispute(id=40, assessment=3, student="S1", reason="r", state="resolved", published_at=at("2026-10-02"),
                      opened_at=at("2026-10-05"), opened_by="S1", updated_at=at("2026-10-09", "16:00"), steps=[]))
    uow.clock = at("2026-10-12", "12:00")  # a working day after the dispute's answer, not after the grade
    view = handlers.file_appeal(uow, OSHTU, "S1", "still unfair", "S1", assessment=3)
    assert view["published_at"] == "2026-10-09T16:00:00+06:00" and view["group"] is None


def test_only_a_member_of_an_active_commission_decides_with_a_protocol_003_6_3(uow, store):
    cid = commission(uow)["id"]
    store.add(StatementInfo(id=5, group="G1", discipline="HIS", kind="exam", state="posted",
                            posted_at=at("2026-10-02", "10:00")))
    appeal = handlers.file_appeal(uow, OSHTU, "S1", "unfair", "S1", statement=5)
    uow.emitted.clear()
    uow.audited.clear()
    with pytest.raises(Forbidden):
        handlers.decide_appeal(uow, OSHTU, appeal["id"], True, "P-7", 80, "T09")
    with pytest.raises(ValidationFailed):
        handlers.decide_appeal(uow, OSHTU, appeal["id"], True, "", 80, "T01")
    with pytest.raises(ValidationFailed):
        handlers.decide_appeal(uow, OSHTU, appeal["id"], True, "P-7", "A", "T01")  # a number
    assert uow.emitted == []
    view = handlers.decide_appeal(uow, OSHTU, appeal["id"], True, " P-7 ", 80.0, "T02")
    assert (view["state"], view["commission"], view["protocol"], view["value"]) == ("decided", cid, "P-7", 80)
    [event] = uow.emitted
    assert event.type == "appeal.decided"  # grading applies the value with role commission
    payload = valid("appeal.decided", event.payload)
    assert payload["members"] == ["T01", "T02"] and payload["value"] == 80
    approval = f"appeal commission {cid} (order Order 12; members T01, T02), protocol P-7, decided by T02"
    assert event.payload["approval"] == approval
    [entry] = uow.audited
    assert (entry["action"], entry["approval"], entry["reason"], entry["old"]) == (
        "decided", approval, "unfair", {"state": "filed"})
    assert entry["new"] == {"state": "decided", "upheld": True, "value": 80, "commission": cid, "protocol": "P-7",
                            "members": ["T01", "T02"]}
    with pytest.raises(Conflict):
        handlers.decide_appeal(uow, OSHTU, appeal["id"], False, "P-8", None, "T01")


def test_an_appeal_not_upheld_closes_without_a_grade_003_6_3(uow, store):
    commission(uow, ["T01"])
    store.add(GradePub(assessment=3, student="S1", value=4, published_at=at("2026-10-02")))
    appeal = handlers.file_appeal(uow, OSHTU, "S1", "unfair", "S1", assessment=3, published_at="2026-10-02")
    view = handlers.decide_appeal(uow, OSHTU, appeal["id"], False, "P-9", 80, "T01")
    assert view["upheld"] is False and view["value"] is None
    assert uow.types()[-1] == "appeal.closed"
    assert valid("appeal.closed", uow.emitted[-1].payload)["value"] is None
    with pytest.raises(ValidationFailed):
        handlers.list_appeals(uow, OSHTU, state="lost")
