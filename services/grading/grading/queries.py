"""Grading's reads: each function takes `tx` (the unit of work's SQLAlchemy Session) and loads rows or the
domain's facts from them. No decisions here: what a row means is `domain`'s, what is answered is `views`'."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import and_, or_, select, text, true
from sqlalchemy.orm import Session as Tx

from grading import domain
from grading.models import (
    Assessment,
    ClosedYear,
    Correction,
    Discipline,
    Enrolment,
    Grade,
    MakeupResult,
    Mark,
    Session,
    Statement,
)
from kernel.paging import page_by_id

POSTED = ("posted", "closed")  # the states a statement locks or follows the data in


# -- assessments and grades -------------------------------------------------------------------------------------


def assessment(tx: Tx, assessment_id: int, lock: bool = False) -> Assessment | None:
    return tx.get(Assessment, assessment_id, with_for_update=lock or None)


def grades(tx: Tx, assessment_id: int) -> list[Grade]:
    return list(tx.scalars(select(Grade).where(Grade.assessment == assessment_id).order_by(Grade.student)))


def grade(tx: Tx, assessment_id: int, student: str) -> Grade | None:
    return tx.get(Grade, (assessment_id, student))


def assessments(tx: Tx, group: str, discipline: str) -> list[Assessment]:
    return list(tx.scalars(select(Assessment).where(Assessment.group == group, Assessment.discipline == discipline)
                           .order_by(Assessment.date, Assessment.id)))


def latest_assessment(tx: Tx, group: str, discipline: str, kind: str) -> Assessment | None:
    return tx.scalars(select(Assessment).where(
        Assessment.group == group, Assessment.discipline == discipline, Assessment.kind == kind)
        .order_by(Assessment.date.desc(), Assessment.id.desc())).first()


def fact(a: Assessment, graded: Iterable[Grade]) -> domain.AssessmentFact:
    return domain.AssessmentFact(a.id, a.kind, a.title, a.date, a.max, {g.student: g.value for g in graded})


def facts(tx: Tx, group: str, discipline: str) -> list[domain.AssessmentFact]:
    rows = assessments(tx, group, discipline)
    by_assessment: dict[int, list[Grade]] = {}
    if rows:
        for g in tx.scalars(select(Grade).where(Grade.assessment.in_([a.id for a in rows]))):
            by_assessment.setdefault(g.assessment, []).append(g)
    return [fact(a, by_assessment.get(a.id, [])) for a in rows]


# -- the read models: sessions and marks, rosters, disciplines --------------------------------------------------


def sessions(tx: Tx, group: str, discipline: str) -> list[domain.SessionFact]:
    rows = list(tx.scalars(select(Session).where(Session.group == group, Session.discipline == discipline)
                           .order_by(Session.starts_at, Session.id)))
    marks: dict[int, dict[str, str]] = {}
    if rows:
        for m in tx.scalars(select(Mark).where(Mark.session.in_([r.id for r in rows]))):
            marks.setdefault(m.session, {})[m.student] = m.status
    return [domain.SessionFact(r.id, r.starts_at, marks.get(r.id, {})) for r in rows]


def session(tx: Tx, session_id: int) -> Session | None:
    return tx.get(Session, session_id)


def enrolments(tx: Tx, group: str) -> list[domain.Enrolled]:
    return [domain.Enrolled(e.student, e.starts, e.ends)
            for e in tx.scalars(select(Enrolment).where(Enrolment.group == group))]


def group_students(tx: Tx, group: str) -> set[str]:
    return set(tx.scalars(select(Enrolment.student).where(Enrolment.group == group)))


def control(tx: Tx, discipline: str) -> str | None:
    """The discipline's control as identity sent it (None: not heard of)."""
    row = tx.get(Discipline, discipline)
    return row.control if row is not None else None


def makeup_results(tx: Tx, group: str, discipline: str) -> list[MakeupResult]:
    return list(tx.scalars(select(MakeupResult).where(
        MakeupResult.group == group, MakeupResult.discipline == discipline).order_by(MakeupResult.makeup)))


COUNTED_SQL = text("SELECT 1 FROM grading.audit_log WHERE entity = 'makeup_result' AND entity_id = :makeup"
                   " AND action = 'counted' LIMIT 1")


def makeup_counted(tx: Tx, makeup: int) -> bool:
    """Whether grading's audit log already says it counted the make-up's result (entries are never removed)."""
    return tx.execute(COUNTED_SQL, {"makeup": str(makeup)}).first() is not None


# -- statements ---------------------------------------------------------------------------------------------------


def statement(tx: Tx, statement_id: int, lock: bool = False) -> Statement | None:
    return tx.get(Statement, statement_id, with_for_update=lock or None)


def posted_statements(tx: Tx, group: str, discipline: str) -> list[Statement]:
    return list(tx.scalars(select(Statement).where(
        Statement.group == group, Statement.discipline == discipline, Statement.state.in_(POSTED))))


def posted_statement_facts(tx: Tx, group: str, discipline: str) -> list[domain.StatementFact]:
    return [domain.StatementFact(st.id, st.kind, st.state) for st in posted_statements(tx, group, discipline)]


def lock_statement_key(tx: Tx, group: str, discipline: str, kind: str) -> None:
    """One writer per (group, discipline, kind) until commit: two teachers creating the same statement at once."""
    tx.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"statement:{group}:{discipline}:{kind}"})


def statement_of(tx: Tx, group: str, discipline: str, kind: str) -> Statement | None:
    return tx.scalars(select(Statement).where(Statement.group == group, Statement.discipline == discipline,
                                              Statement.kind == kind)).first()


def statements(tx: Tx, group: str | None, discipline: str | None, state: str | None) -> list[Statement]:
    q = select(Statement).order_by(Statement.id)
    if group is not None:
        q = q.where(Statement.group == group)
    if discipline is not None:
        q = q.where(Statement.discipline == discipline)
    if state is not None:
        q = q.where(Statement.state == state)
    return list(tx.scalars(q))


# -- late corrections -----------------------------------------------------------------------------------------------


def correction(tx: Tx, correction_id: int, lock: bool = False) -> Correction | None:
    return tx.get(Correction, correction_id, with_for_update=lock or None)


def corrections_page(tx: Tx, state: str | None, requested_by: str | None, reach: Sequence[Any],
                     limit: Any, cursor: Any, view: Callable[[Correction], dict[str, Any]]) -> dict[str, Any]:
    """A page in id order: `state` if given, and any of: requested by `requested_by`; for each `[role, groups]`
    of `reach`, awaiting that role (while pending) in those groups (None: every group). Neither: every one."""
    q = select(Correction)
    if state is not None:
        q = q.where(Correction.state == state)
    mine = []
    if requested_by is not None:
        mine.append(Correction.requested_by == requested_by)
    for role, groups in reach:
        waiting = [] if state not in (None, "pending") else [Correction.state == "pending",
                                                               Correction.next_role == role]
        clauses = [*waiting, *([] if groups is None else [Correction.group.in_(list(groups))])]
        mine.append(and_(*clauses) if clauses else true())
    if mine:
        q = q.where(or_(*mine))
    return page_by_id(tx, q, Correction.id, limit, cursor, view)


# -- the year archive -------------------------------------------------------------------------------------------------


def closed_year(tx: Tx, year: str, lock: bool = False) -> ClosedYear | None:
    return tx.get(ClosedYear, year, with_for_update=lock or None)


def year_closed(tx: Tx, year: str) -> bool:
    return closed_year(tx, year) is not None
