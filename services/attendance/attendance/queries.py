"""Attendance's reads: each function takes `tx` (the unit of work's SQLAlchemy Session) and loads rows or builds
a select; what to do with them is `domain`'s business (handlers.py puts the two together)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Date, Select, and_, cast, func, or_, select, text, tuple_
from sqlalchemy.orm import Session as Tx

from attendance import domain
from attendance.models import (
    Assignment,
    Checkin,
    ClosedYear,
    Enrolment,
    Excuse,
    GroupUnit,
    Mark,
    Session,
    Term,
)

REFUSED_CHECKINS_SQL = text(
    "SELECT student, at, new->>'code' AS code, reason FROM attendance.audit_log"
    " WHERE chain = :chain AND entity = 'checkin' AND action = 'refused' ORDER BY id")


# -- sessions and their rosters ---------------------------------------------------------------------------------


def session(tx: Tx, session_id: int, lock: bool = False) -> Session | None:
    return tx.get(Session, session_id, with_for_update=lock or None)


def group_enrolments(tx: Tx, group: str) -> list[tuple[str, domain.Period]]:
    """(student, period) of every enrolment in `group`."""
    rows = tx.execute(select(Enrolment.student, Enrolment.group, Enrolment.subgroup, Enrolment.starts,
                             Enrolment.ends).where(Enrolment.group == group)).all()
    return [(e.student, domain.period_of(e)) for e in rows]


def student_periods(tx: Tx, student: str) -> list[domain.Period]:
    return [domain.period_of(e) for e in tx.scalars(select(Enrolment).where(Enrolment.student == student))]


def student_known(tx: Tx, student: str) -> bool:
    return tx.scalar(select(Enrolment.id).where(Enrolment.student == student).limit(1)) is not None


def group_unit(tx: Tx, code: str) -> GroupUnit | None:
    return tx.get(GroupUnit, code)


def marks(tx: Tx, session_id: int, student: str | None = None) -> list[Mark]:
    """A session's marks, by student (one student's when given)."""
    q = select(Mark).where(Mark.session == session_id).order_by(Mark.student)
    if student is not None:
        q = q.where(Mark.student == student)
    return list(tx.scalars(q))


def checkins(tx: Tx, session_id: int) -> list[Checkin]:
    return list(tx.scalars(select(Checkin).where(Checkin.session == session_id)))


def refused_checkins(tx: Tx, session_id: int) -> list[Any]:
    """The scans refused by the intake's re-check, from the session's audit chain."""
    return list(tx.execute(REFUSED_CHECKINS_SQL, {"chain": domain.session_chain(session_id)}))


def closed_years(tx: Tx) -> list[domain.ClosedYear]:
    return [domain.ClosedYear(y.year, y.starts, y.ends) for y in tx.scalars(select(ClosedYear))]


def sessions_page(tx: Tx, tz: str, size: int, *, group: str | None, discipline: str | None, teacher: str | None,
                  starts_from: datetime | None, starts_to: tuple[datetime, bool] | None,
                  periods: list[domain.Period] | None, after: tuple[datetime, int] | None) -> list[Session]:
    """Up to `size + 1` sessions in (starts_at, id) order after `after`; `starts_to` is (instant, inclusive);
    `periods` (a student's enrolments) keeps the sessions whose roster includes the student: one condition per
    period (domain.on_roster), on the session's local date in `tz`."""
    q: Select[Any] = select(Session)
    for column, value in ((Session.group, group), (Session.discipline, discipline), (Session.teacher, teacher)):
        if value is not None:
            q = q.where(column == value)
    if starts_from is not None:
        q = q.where(Session.starts_at >= starts_from)
    if starts_to is not None:
        instant, inclusive = starts_to
        q = q.where(Session.starts_at <= instant if inclusive else Session.starts_at < instant)
    if periods is not None:
        day = cast(func.timezone(tz, Session.starts_at), Date)
        q = q.where(or_(*[and_(Session.group == p.group,
                                or_(Session.subgroup.is_(None), Session.subgroup == p.subgroup),
                                day >= p.starts, *([day < p.ends] if p.ends else []))
                          for p in periods]))
    if after is not None:
        q = q.where(tuple_(Session.starts_at, Session.id) > tuple_(*after))
    return list(tx.scalars(q.order_by(Session.starts_at, Session.id).limit(size + 1)))


# -- the timetable ----------------------------------------------------------------------------------------------


def lock_timetable(tx: Tx) -> None:
    """One timetable import at a time (held to the end of the transaction)."""
    tx.execute(text("SELECT pg_advisory_xact_lock(hashtext('attendance.timetable'))"))


def stored_sessions(tx: Tx, refs: list[str]) -> dict[str, domain.StoredSession]:
    """The stored sessions of these refs, with whether each has marks."""
    if not refs:
        return {}
    stored = tx.execute(select(Session.id, Session.ref, Session.term, Session.discipline, Session.group,
                               Session.subgroup, Session.kind, Session.teacher, Session.starts_at,
                               Session.minutes, Session.room).where(Session.ref.in_(refs))).all()
    marked = set(tx.scalars(select(Mark.session).where(Mark.session.in_([r.id for r in stored])).distinct())
                 ) if stored else set()
    return {r.ref: domain.StoredSession(**r._mapping, has_marks=r.id in marked) for r in stored}


def timetable_known(tx: Tx, existing: dict[str, domain.StoredSession]) -> domain.TimetableKnown:
    """The groups and the load this service has heard of from identity, beside the stored sessions."""
    return domain.TimetableKnown(
        groups=dict(tx.execute(select(GroupUnit.code, GroupUnit.subgroups)).tuples().all()),
        assignments=set(tx.execute(select(Assignment.teacher, Assignment.discipline, Assignment.group,
                                          Assignment.kind, Assignment.subgroup)).tuples()),
        existing=existing)


def term(tx: Tx, code: str) -> Term | None:
    return tx.get(Term, code)


# -- excuses ------------------------------------------------------------------------------------------------------


def excuse(tx: Tx, excuse_id: int, lock: bool = False) -> Excuse | None:
    return tx.get(Excuse, excuse_id, with_for_update=lock or None)


def excuse_marks(tx: Tx, student: str, lo: datetime, hi: datetime) -> list[tuple[Mark, Session]]:
    """A student's marks on sessions starting in [lo, hi), with their sessions; the sessions are locked first,
    as record_marks locks them, so a teacher's write cannot interleave."""
    in_range = and_(Mark.student == student, Session.starts_at >= lo, Session.starts_at < hi)
    tx.execute(select(Session.id).join(Mark, Mark.session == Session.id).where(in_range)
               .order_by(Session.id).with_for_update(of=Session)).all()
    return [(m, s) for m, s in tx.execute(select(Mark, Session).join(Session, Mark.session == Session.id)
                                          .where(in_range)).all()]


def excuses(state: str | None, students: list[str] | None) -> Select[Any]:
    """The select of excuses in `state`, of `students` (paged by kernel.paging.page_by_id)."""
    q: Select[Any] = select(Excuse)
    if state is not None:
        q = q.where(Excuse.state == state)
    if students is not None:
        q = q.where(Excuse.student.in_(list(students)))
    return q

