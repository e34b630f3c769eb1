"""The read models of reports, applied from other services' events (never their tables, ARCHITECTURE.md),
declared for kernel.projections (PROJECTIONS, at the end): the `@handles` entrypoints of service.py apply them, and
so do the rebuilds (reports/rebuild.py, `python -m kernel.projections rebuild reports`).

Org units, people, disciplines and statements are rows the kit writes, newest by the event's time (a person by its
revision). Sessions with their marks, tallies and rollups, grades with their assessments, and a student's cases
write themselves (`Direct`, in the consumer's unit of work: `uow.tx`, the SQLAlchemy Session): a counter moves with
the row it counts, a case merges field by field. Every one keeps the newest value by the event's time, so the
tables come out the same in any order of events (domain.py: `newer`, `merge_*`); what each event sets is decided
in domain.py, here it is written.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert

from kernel.events import Envelope
from kernel.projections import Change, Direct, Projection, Put
from reports import domain
from reports.models import (
    Assessment,
    Case,
    Discipline,
    Grade,
    Mark,
    MarkedRollup,
    OrgUnit,
    Person,
    Session,
    Statement,
    Tally,
    TallyRollup,
)

UnitOfWork = Any  # kernel.db.UnitOfWork: `tx`, the Session of the consumer's transaction


def occurred(event: Envelope) -> datetime:
    at = domain.instant(event.occurred_at)
    assert at is not None
    return at


# -- identity ------------------------------------------------------------------------------------------------


def org_changes(event: Envelope) -> list[Change]:
    return [Put(domain.org_values(event.payload, occurred(event)))]


def person_changes(event: Envelope) -> list[Change]:
    return [Put(domain.person_values(event.payload))]


def discipline_changes(event: Envelope) -> list[Change]:
    return [Put(domain.discipline_values(event.payload, occurred(event)))]


# -- attendance ----------------------------------------------------------------------------------------------


def upsert_session(uow: UnitOfWork, p: dict[str, Any], session_id: Any, at: datetime) -> None:
    """The session's timetable fields, newest by the event's time. The row is locked either way, so two
    events of one session apply one after the other; when a newer event moves the session to another group,
    discipline or teacher, its counts move with it in the rollups."""
    sid = int(session_id)
    values = domain.session_values(p, at)
    tx = uow.tx
    if tx.execute(insert(Session).values(id=sid, **values).on_conflict_do_nothing(index_elements=["id"])
                  .returning(Session.id)).first() is not None:
        return  # new: no marks to move yet
    old = tx.execute(select(Session.group, Session.discipline, Session.teacher, Session.scheduled_at,
                            Session.marked).where(Session.id == sid).with_for_update()).one()
    if not domain.newer(old.scheduled_at, at):
        return  # an older state arriving late changes nothing
    tx.execute(update(Session).where(Session.id == sid).values(**values))
    before, after = (old.group, old.discipline, old.teacher), domain.session_row(p)
    if before != after:
        counts = dict(tx.execute(select(Tally.status, Tally.n).where(Tally.session == sid, Tally.n != 0))
                      .tuples().all())
        roll(uow, *domain.moved_session(before, after, counts, bool(old.marked)))


def roll(uow: UnitOfWork, marks: dict[domain.Row, dict[str, int]], sessions: dict[domain.Row, int]) -> None:
    """Move the rollups of report rows (group, discipline, teacher) by the given marks per status and marked
    sessions, in the transaction that moved `tally` and `session.marked` (rows in key order, domain.rollup_rows)."""
    counted, held = domain.rollup_rows(marks, sessions)
    if counted:  # executemany: each statement is compiled once per process, whatever the number of rows
        stmt = insert(TallyRollup)
        uow.tx.execute(stmt.on_conflict_do_update(
            index_elements=["group", "discipline", "teacher", "status"],
            set_={"n": TallyRollup.n + stmt.excluded.n}), counted)
    if held:
        stmt = insert(MarkedRollup)
        uow.tx.execute(stmt.on_conflict_do_update(
            index_elements=["group", "discipline", "teacher"],
            set_={"sessions": MarkedRollup.sessions + stmt.excluded.sessions}), held)


def session_scheduled(uow: UnitOfWork, event: Envelope) -> None:
    upsert_session(uow, event.payload, event.payload["id"], occurred(event))


def marks_recorded(uow: UnitOfWork, event: Envelope) -> None:
    """Marks, the per-session tally and the report's rollups move together; a mark set by a newer event is not
    overwritten by an older one. The session's first entry and its lateness are kept as attendance flagged
    them."""
    p = event.payload
    sid = int(p["session"])
    at = occurred(event)
    upsert_session(uow, p, sid, at)
    tx = uow.tx
    row = tx.execute(select(Session.first_entry_at, Session.late, Session.group, Session.discipline,
                            Session.teacher, Session.marked).where(Session.id == sid)).one()
    stored_entry = domain.Entry(row.first_entry_at, row.late)
    entry = domain.merge_entry(stored_entry, domain.instant(p.get("first_entry_at")), p.get("late"))
    if entry != stored_entry:
        tx.execute(update(Session).where(Session.id == sid).values(first_entry_at=entry.first_entry_at,
                                                                   late=entry.late))
    latest = domain.marks_latest(p)
    if not latest:
        return
    stored = {m.student: m for m in tx.scalars(select(Mark).where(Mark.session == sid,
                                                                  Mark.student.in_(list(latest))))}
    change = domain.merge_marks({k: domain.StoredMark(m.status, m.at) for k, m in stored.items()}, latest, at,
                                bool(row.marked))
    for student, status in change.new.items():
        tx.add(Mark(session=sid, student=student, status=status, at=at))
    for student, status in change.touched.items():
        mark = stored[student]
        if mark.status != status:
            mark.status = status
        mark.at = at
    tx.flush()
    tally = change.tally(sid)
    if tally:
        stmt = insert(Tally)
        tx.execute(stmt.on_conflict_do_update(index_elements=["session", "status"],
                                              set_={"n": Tally.n + stmt.excluded.n}), tally)
    if change.first:
        tx.execute(update(Session).where(Session.id == sid).values(marked=True))
    key = (row.group, row.discipline, row.teacher)
    roll(uow, {key: change.counts()}, {key: 1} if change.first else {})


def topic_recorded(uow: UnitOfWork, event: Envelope) -> None:
    """The planned topic (calendar-thematic plan) and the topic and kind of work recorded, newest wins."""
    p = event.payload
    sid = int(p["session"])
    at = occurred(event)
    upsert_session(uow, p, sid, at)
    uow.tx.execute(update(Session).where(Session.id == sid, or_(Session.topic_at.is_(None), Session.topic_at <= at))
                   .values(planned_topic=p.get("planned_topic"), topic=p.get("topic"),
                           work_kind=p.get("work_kind"), topic_at=at))


def case(kind: str, state: str | None, uow: UnitOfWork, event: Envelope) -> None:
    """A student's excuse, make-up, dispute or appeal: the payload merged into what is stored (newer wins);
    `state` when the event sets it (completed, decided)."""
    p = event.payload
    at = occurred(event)
    tx = uow.tx
    data, versions = domain.merge_case(None, None, domain.case_values(p, state), at)
    inserted = tx.execute(insert(Case).values(kind=kind, id=int(p["id"]), student=p["student"],
                                              state=data.get("state"), data=data, versions=versions, at=at)
                          .on_conflict_do_nothing().returning(Case.id)).first()
    if inserted is not None:
        return
    row = tx.execute(select(Case).where(Case.kind == kind, Case.id == int(p["id"])).with_for_update()).scalar_one()
    row.data, row.versions = domain.merge_case(row.data, row.versions, data, at)
    row.state, row.at = row.data.get("state"), max(row.at, at)


# -- grading -------------------------------------------------------------------------------------------------


def statement_changes(event: Envelope) -> list[Change]:
    """statement.created, .posted, .closed: the statement's state, newest by the event's time."""
    return [Put(domain.statement_values(event.payload, occurred(event)))]


def upsert_assessment(uow: UnitOfWork, p: dict[str, Any], assessment_id: Any, full: bool) -> None:
    """An assessment's fields (they do not change once created); the upsert locks its row, so the grade
    events of one assessment apply one after the other. Title and author come only with `assessment.created`."""
    values = domain.assessment_values(p, assessment_id, full)
    stmt = insert(Assessment).values(**values)
    uow.tx.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={
        k: stmt.excluded[k] for k in values if k != "id"}))


def assessment_created(uow: UnitOfWork, event: Envelope) -> None:
    upsert_assessment(uow, event.payload, event.payload["id"], full=True)


def grade_recorded(uow: UnitOfWork, event: Envelope) -> None:
    """Grades as entered, corrected through the chain (role `correction`) or changed by an appeal decision
    (role `commission`): the newest value by the event's time, the first entry's lateness kept."""
    p = event.payload
    aid = int(p["assessment"])
    at = occurred(event)
    upsert_assessment(uow, p, aid, full=False)
    changes = domain.grade_changes(p)
    if not changes:
        return
    late = set(p.get("late") or [])
    tx = uow.tx
    stored = {g.student: g for g in tx.scalars(select(Grade).where(Grade.assessment == aid,
                                                                   Grade.student.in_(list(changes))))}
    for student, value in changes.items():
        row = stored.get(student)
        after = domain.merge_grade(domain.grade_state(row), value, student in late, at, p.get("role"),
                                   p.get("reason"), p.get("approval"))
        if row is None:
            tx.add(Grade(assessment=aid, student=student, **asdict(after)))
        else:
            for k, v in asdict(after).items():
                setattr(row, k, v)


# -- the projections -----------------------------------------------------------------------------------------


def cases(kind: str, *types: str, source: str = "makeup", final: dict[str, str] | None = None) -> dict[Any, Direct]:
    """The events of one kind of case; `final` names those that set its state (completed, decided)."""
    return {(source, t): Direct(partial(case, kind, (final or {}).get(t))) for t in types}


PROJECTIONS = [
    Projection("reports.org_units", OrgUnit, ("code",), {("identity", "org.changed"): org_changes}, at="at"),
    Projection("reports.people", Person, ("code",), {("identity", "person.changed"): person_changes},
               order_by=("revision",)),
    Projection("reports.disciplines", Discipline, ("code",),
               {("identity", "discipline.changed"): discipline_changes}, at="at"),
    Projection("reports.sessions", Session, ("id",), {
        ("attendance", "session.scheduled"): Direct(session_scheduled),
        ("attendance", "marks.recorded"): Direct(marks_recorded),
        ("attendance", "topic.recorded"): Direct(topic_recorded),
    }, tables=(Session, Mark, Tally, TallyRollup, MarkedRollup)),
    Projection("reports.statements", Statement, ("id",), {
        ("grading", t): statement_changes for t in ("statement.created", "statement.posted", "statement.closed")},
        at="at"),
    Projection("reports.grades", Assessment, ("id",), {
        ("grading", "assessment.created"): Direct(assessment_created),
        ("grading", "grade.recorded"): Direct(grade_recorded),
    }, tables=(Assessment, Grade)),
    Projection("reports.cases", Case, ("kind", "id"), {
        **cases("excuse", "excuse.filed", "excuse.decided", source="attendance"),
        **cases("makeup", "makeup.requested", "makeup.assigned", "makeup.extension_step", "makeup.extended",
                "makeup.completed", final={"makeup.completed": "completed"}),
        **cases("dispute", "dispute.opened", "dispute.resolved", "dispute.escalated"),
        **cases("appeal", "appeal.filed", "appeal.decided", "appeal.closed",
                final={"appeal.decided": "decided", "appeal.closed": "decided"}),
    }),
]
