"""Attendance's use-cases, one function per RPC: load through `queries`, let `domain` decide, add or change rows
through `uow.tx`, record the events (`uow.emit`) and audit entries (`uow.audit`) in the same unit of work, and
answer. Nothing here commits (the entrypoint does) or imports nameko; `uow` is the worker's unit of work
(kernel.db.UnitOfWork, or tests/unit/fakes.FakeUnitOfWork in the unit tests).

The gateway has already checked who may call and the time windows; these re-check the invariants this service
owns (the classifier, who may set which status, the roster, the check-in window, an excuse decided once).
"""

from __future__ import annotations

from time import monotonic
from typing import Any

import eventlet
from sqlalchemy import insert, update

from attendance import domain, queries
from attendance.models import Excuse, Mark, Session, Term
from contracts.attendance import ExcuseSchema, MarkSchema, PlanSchema, TimetableSchema, TopicSchema
from kernel.errors import NotFound, ValidationFailed
from kernel.paging import decode_cursor, encode_cursor, page_by_id, page_size
from kernel.policy import Policy
from kernel.validation import load
from kernel.wire import as_id

UnitOfWork = Any  # kernel.db.UnitOfWork: `tx`, `now()`, `emit`, `audit`

REFERENCE_GRACE_S = 3.0  # how long a timetable naming unknown groups or load waits for identity's events
REFERENCE_POLL_S = 0.25


# -- loading one object (404 when there is none) ----------------------------------------------------------------


def load_session(uow: UnitOfWork, session_id: Any, lock: bool = False) -> Session:
    row = queries.session(uow.tx, as_id(session_id, "session"), lock)
    if row is None:
        raise NotFound(f"no session {session_id}")
    return row


def _excuse(uow: UnitOfWork, excuse_id: Any, lock: bool = False) -> Excuse:
    row = queries.excuse(uow.tx, as_id(excuse_id, "excuse"), lock)
    if row is None:
        raise NotFound(f"no excuse {excuse_id}")
    return row


def _roster(uow: UnitOfWork, pol: Policy, row: Session) -> list[str]:
    return domain.roster(queries.group_enrolments(uow.tx, row.group), row.group, row.subgroup,
                         domain.session_day(pol, row.starts_at))


def _view(uow: UnitOfWork, pol: Policy, row: Session, student: str | None = None) -> dict[str, Any]:
    roster = _roster(uow, pol, row)
    return domain.session_view(pol, row, queries.marks(uow.tx, row.id, student), roster, student)


# -- the timetable ------------------------------------------------------------------------------------------------


def import_timetable(uow: UnitOfWork, pol: Policy, body: Any, actor: str) -> dict[str, Any]:
    batch = load(TimetableSchema(), body)
    tx = uow.tx
    queries.lock_timetable(tx)
    refs = [r["ref"] for r in batch["sessions"]]
    existing = queries.stored_sessions(tx, refs)
    patience = monotonic() + REFERENCE_GRACE_S
    while True:
        try:
            plan = domain.check_timetable(batch, queries.timetable_known(tx, existing), pol)
            break
        except ValidationFailed as exc:
            if monotonic() > patience or not domain.only_references(exc.errors or {}):
                raise
            eventlet.sleep(REFERENCE_POLL_S)  # identity's events may trail a load imported a moment ago

    term = batch["term"]
    stored = queries.term(tx, term["code"])
    change = domain.term_change((stored.starts, stored.ends) if stored is not None else None, term)
    if change == "add":
        tx.add(Term(code=term["code"], starts=term["starts"], ends=term["ends"]))
    elif change == "update" and stored is not None:
        stored.starts, stored.ends = term["starts"], term["ends"]
    tx.flush()

    created: dict[str, int] = {}
    if plan.new:
        rows = tx.execute(insert(Session).returning(Session.id, Session.ref), domain.new_sessions(plan, term["code"]))
        created = {c.ref: c.id for c in rows.all()}
    if plan.changed:
        tx.execute(update(Session), domain.moved_sessions(plan))
    outcome = domain.timetable_outcome(plan, term["code"], refs, created, actor)
    for values in outcome.scheduled:
        uow.emit("session.scheduled", domain.scheduled_view(pol, values), actor=actor)
    if outcome.audit is not None:
        uow.audit(**outcome.audit)
    return outcome.result


def list_sessions(uow: UnitOfWork, pol: Policy, group: str | None = None, discipline: str | None = None,
                  teacher: str | None = None, date_from: str | None = None, date_to: str | None = None,
                  limit: int = 100, cursor: str | None = None, student: str | None = None) -> dict[str, Any]:
    size = page_size(limit)
    starts_from = domain.bound(pol, date_from, "from", end=False)[0] if date_from else None
    starts_to = domain.bound(pol, date_to, "to", end=True) if date_to else None
    periods = None
    if student is not None:
        periods = queries.student_periods(uow.tx, student)
        if not periods:
            return {"items": [], "next_cursor": None}
    after = domain.session_cursor(decode_cursor(cursor, 2)) if cursor else None
    rows = queries.sessions_page(uow.tx, pol.timezone, size, group=group, discipline=discipline, teacher=teacher,
                                 starts_from=starts_from, starts_to=starts_to, periods=periods, after=after)
    more = len(rows) > size
    rows = rows[:size]
    return {"items": [domain.session_summary(pol, r) for r in rows],
            "next_cursor": encode_cursor(*domain.session_cursor_key(rows[-1])) if more else None}


def get_session(uow: UnitOfWork, pol: Policy, session_id: Any, student: str | None = None) -> dict[str, Any]:
    return _view(uow, pol, load_session(uow, session_id), student)


def set_plan(uow: UnitOfWork, pol: Policy, session_id: Any, planned_topic: str | None,
             actor: str) -> dict[str, Any]:
    values = load(PlanSchema(), {"planned_topic": planned_topic})
    return _write_topic(uow, pol, session_id, values, actor, None, "plan")


def set_topic(uow: UnitOfWork, pol: Policy, session_id: Any, topic: str | None, work_kind: str | None, actor: str,
              on_behalf_of: str | None = None) -> dict[str, Any]:
    values = load(TopicSchema(), {"topic": topic, "work_kind": work_kind})
    return _write_topic(uow, pol, session_id, values, actor, on_behalf_of, "topic")


def _write_topic(uow: UnitOfWork, pol: Policy, session_id: Any, values: dict[str, Any], actor: str,
                 on_behalf_of: str | None, action: str) -> dict[str, Any]:
    row = load_session(uow, session_id, lock=True)
    domain.check_year(queries.closed_years(uow.tx), domain.session_day(pol, row.starts_at))
    old = {k: getattr(row, k) for k in values}
    if old != values:
        for k, v in values.items():
            setattr(row, k, v)
        uow.tx.flush()
        uow.emit("topic.recorded", domain.topic_event(pol, row, actor, on_behalf_of), actor=actor)
        uow.audit(**domain.topic_audit(row.id, action, actor, on_behalf_of, old, values))
    return _view(uow, pol, row)


# -- marks --------------------------------------------------------------------------------------------------------


def record_marks(uow: UnitOfWork, pol: Policy, session_id: Any, marks: Any, actor: str, role: str = "teacher",
                 on_behalf_of: str | None = None, reason: str | None = None) -> dict[str, Any]:
    domain.check_marks_body(marks)
    wanted = load(MarkSchema(many=True), marks, "marks")
    row = load_session(uow, session_id, lock=True)  # one writer per session: check-ins wait (FOR KEY SHARE)
    write_marks(uow, pol, row, wanted, actor=actor, role=role, on_behalf_of=on_behalf_of, reason=reason)
    return _view(uow, pol, row)


def write_marks(uow: UnitOfWork, pol: Policy, row: Session, wanted: list[dict[str, Any]], *, actor: str, role: str,
                on_behalf_of: str | None, reason: str | None, approval: str | None = None) -> None:
    """The one audited path every mark a person sets takes (a teacher, a substitute, a make-up, an executed
    correction); `row` is locked by the caller, who commits."""
    tx = uow.tx
    domain.check_year(queries.closed_years(tx), domain.session_day(pol, row.starts_at), role=role)
    stored = {m.student: m for m in queries.marks(tx, row.id)}
    current = {k: domain.Mark(m.status, m.source, m.first_entry_at) for k, m in stored.items()}
    now = uow.now()
    changes = domain.decide_marks(pol, role, wanted, _roster(uow, pol, row), current, now)
    first = domain.is_first_entry(row.first_entry_at, wanted, role)
    if first:
        row.first_entry_at = now
        row.late = domain.entry_late(pol, row.starts_at, now)
    if changes:
        row.last_entry_at = now
    for w in domain.mark_writes(pol, role, changes, current, now):
        mark = stored.get(w.student)
        if mark is None:
            tx.add(Mark(session=row.id, student=w.student, status=w.status, source=w.source, set_by=actor,
                        set_at=now, first_entry_at=w.entered))
        else:
            if not w.keeps_entry:
                mark.first_entry_at = w.entered
            mark.status, mark.source, mark.set_by, mark.set_at = w.status, w.source, actor, now
    tx.flush()
    if changes or first:
        uow.emit("marks.recorded", domain.marks_event(
            pol, row, changes, actor=actor, on_behalf_of=on_behalf_of, source=domain.batch_source(pol, role, changes),
            reason=reason, approval=approval), actor=actor)
    for entry in domain.mark_audits(row.id, changes, action=domain.mark_action(role), actor=actor,
                                    on_behalf_of=on_behalf_of, reason=reason, approval=approval):
        uow.audit(**entry)


# QR check-ins arrive through the command queue and are recorded in batches: attendance.checkins


def live_roster(uow: UnitOfWork, pol: Policy, session_id: Any) -> dict[str, Any]:
    row = load_session(uow, session_id)
    marks = {m.student: m for m in queries.marks(uow.tx, row.id)}
    checkins = {c.student: c for c in queries.checkins(uow.tx, row.id)}
    return domain.live_roster(pol, row, _roster(uow, pol, row), marks, checkins,
                              queries.refused_checkins(uow.tx, row.id))


# -- excuses (003 §4.2.3-4.2.4) -------------------------------------------------------------------------------------


def file_excuse(uow: UnitOfWork, pol: Policy, body: Any, actor: str, role: str) -> dict[str, Any]:
    values = load(ExcuseSchema(), body)
    tx = uow.tx
    domain.check_excuse(pol, values, student_known=queries.student_known(tx, values["student"]), actor=actor,
                        role=role)
    domain.check_year(queries.closed_years(tx), values["from_"], values["to"], role=role)
    now = uow.now()
    row = Excuse(student=values["student"], from_=values["from_"], to=values["to"], kind=values["kind"],
                 document=values["document"], filed_by=actor, filed_at=now,
                 late_filing=domain.late_filing(pol, values["to"], now), state="pending")
    tx.add(row)
    tx.flush()
    view = domain.excuse_view(pol, row)
    uow.emit("excuse.filed", view, actor=actor)
    uow.audit(**domain.excuse_audit(row.id, row.student, "filed", actor, new=view))
    return view


def decide_excuse(uow: UnitOfWork, pol: Policy, excuse_id: Any, approve: bool, note: str | None,
                  actor: str) -> dict[str, Any]:
    tx = uow.tx
    row = _excuse(uow, excuse_id, lock=True)
    domain.check_decision(row.state)
    domain.check_year(queries.closed_years(tx), row.from_, row.to)
    now = uow.now()
    approval = domain.excuse_approval(row.id)
    changes: list[tuple[int, domain.Change]] = []
    changed: list[dict[str, Any]] = []
    if approve:
        found = queries.excuse_marks(tx, row.student, *domain.excuse_range(pol, row.from_, row.to))
        sessions = {sess.id: sess for _, sess in found}
        marks = {m.session: m for m, _ in found}
        changes = domain.excused_changes(
            row.kind, row.from_, row.to,
            ((m.session, domain.session_day(pol, sess.starts_at), m.student, domain.Mark(m.status, m.source))
             for m, sess in found))
        by_session, changed = domain.excused_by_session(changes)
        for sid, c in changes:
            mark = marks[sid]
            mark.status, mark.source, mark.set_by, mark.set_at = c.new, "excuse", actor, now
        tx.flush()
        for sid, cs in sorted(by_session.items()):
            uow.emit("marks.recorded", domain.marks_event(pol, sessions[sid], cs, actor=actor, on_behalf_of=None,
                                                          source="excuse", reason=note, approval=approval),
                     actor=actor)
    row.state = domain.decided_state(approve)
    row.decided_by, row.decided_at, row.note = actor, now, note
    tx.flush()
    view = domain.excuse_view(pol, row)
    uow.emit("excuse.decided", {**view, "changes": changed}, actor=actor)
    for sid, c in changes:
        for entry in domain.mark_audits(sid, [c], action="excused", actor=actor, reason=note, approval=approval):
            uow.audit(**entry)
    uow.audit(**domain.excuse_audit(row.id, row.student, row.state, actor, old="pending", new=row.state,
                                    reason=note))
    return {**view, "changes": changed}


def get_excuse(uow: UnitOfWork, pol: Policy, excuse_id: Any) -> dict[str, Any]:
    return domain.excuse_view(pol, _excuse(uow, excuse_id))


def list_excuses(uow: UnitOfWork, pol: Policy, state: str | None = None, students: list[str] | None = None,
                 limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
    if students is not None and not students:
        return {"items": [], "next_cursor": None}
    return page_by_id(uow.tx, queries.excuses(state, students), Excuse.id, limit, cursor,
                      lambda r: domain.excuse_view(pol, r))


def student_faculty_group(uow: UnitOfWork, pol: Policy, student: str) -> dict[str, Any]:
    """The student's enrolment today (local date), with the group's department."""
    current = domain.enrolled_on(queries.student_periods(uow.tx, student), pol.local(uow.now()).date())
    unit = queries.group_unit(uow.tx, current.group) if current is not None else None
    return domain.faculty_group(current, unit.department if unit else None)
