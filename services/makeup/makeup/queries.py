"""The makeup service's reads: functions of `tx` (the unit of work's SQLAlchemy Session) that load rows or build
the lists' selects. No decisions here: what the rows mean is domain.py's."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

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


def by_id(tx: Session, model: Any, row_id: int, lock: bool = False) -> Any:
    """One owned row (make-up, dispute, commission, appeal) by id, locked for the change when asked; None if none."""
    q = select(model).where(model.id == row_id)
    if lock:
        q = q.with_for_update()
    return tx.scalars(q).first()


# -- make-ups --------------------------------------------------------------------------------------------------------


def makeup_of_absence(tx: Session, session: int, student: str, lock: bool = False) -> Makeup | None:
    q = select(Makeup).where(Makeup.session == session, Makeup.student == student)
    if lock:
        q = q.with_for_update()
    return tx.scalars(q).first()


def session_info(tx: Session, session: int) -> SessionInfo | None:
    return tx.get(SessionInfo, session)


def mark(tx: Session, session: int, student: str) -> Mark | None:
    return tx.get(Mark, (session, student))


def makeups(tx: Session, *, now: datetime, state: str | None, group: str | None, discipline: str | None,
            student: str | None, teacher: str | None, groups: list[str] | None, open_only: bool,
            after: int | None) -> Iterable[Makeup]:
    """The make-ups in id order after `after`, filtered; `state` as shown (expired: not completed, deadline
    passed; requested and assigned: not expired); `open_only`: not completed."""
    q = select(Makeup).order_by(Makeup.id)
    for column, value in ((Makeup.group, group), (Makeup.discipline, discipline), (Makeup.student, student),
                          (Makeup.teacher, teacher)):
        if value is not None:
            q = q.where(column == value)
    if groups is not None:
        q = q.where(Makeup.group.in_(list(groups)))
    if state == "completed":
        q = q.where(Makeup.state == "completed")
    elif state == "expired":
        q = q.where(Makeup.state != "completed", Makeup.deadline < now)
    elif state is not None:
        q = q.where(Makeup.state == state, or_(Makeup.deadline.is_(None), Makeup.deadline >= now))
    if open_only:
        q = q.where(Makeup.state != "completed")
    if after is not None:
        q = q.where(Makeup.id > after)
    return tx.scalars(q)


def register_marks(tx: Session, group: str, discipline: str) -> dict[tuple[int, str], str]:
    """The current status of every mark of the group in the discipline (removed marks left out)."""
    rows = tx.scalars(select(Mark).where(Mark.group == group, Mark.discipline == discipline,
                                         Mark.status.is_not(None)))
    return {(m.session, m.student): m.status for m in rows if m.status is not None}


def register_makeups(tx: Session, group: str, discipline: str) -> dict[tuple[int, str], Makeup]:
    return {(m.session, m.student): m for m in tx.scalars(
        select(Makeup).where(Makeup.group == group, Makeup.discipline == discipline))}


def sessions(tx: Session, ids: set[int]) -> dict[int, SessionInfo]:
    if not ids:
        return {}
    return {r.id: r for r in tx.scalars(select(SessionInfo).where(SessionInfo.id.in_(ids)))}


# -- disputes --------------------------------------------------------------------------------------------------------


def open_dispute(tx: Session, assessment: int, student: str) -> Dispute | None:
    return tx.scalars(select(Dispute).where(Dispute.assessment == assessment, Dispute.student == student,
                                            Dispute.state == "open")).first()


def grade_publication(tx: Session, assessment: int, student: str) -> datetime | None:
    pub = tx.get(GradePub, (assessment, student))
    return pub.published_at if pub is not None else None


def assessment_info(tx: Session, assessment: int) -> AssessmentInfo | None:
    return tx.get(AssessmentInfo, assessment)


def last_dispute_answer(tx: Session, assessment: int, student: str) -> datetime | None:
    """When the student's latest answered (no longer open) dispute of the assessment was last changed."""
    return tx.scalars(select(Dispute.updated_at).where(
        Dispute.assessment == assessment, Dispute.student == student, Dispute.state != "open")
        .order_by(Dispute.updated_at.desc())).first()


def disputes(state: str | None, student: str | None, assessment: int | None, group: str | None,
             discipline: str | None) -> Select[Any]:
    q = select(Dispute)
    for column, value in ((Dispute.state, state), (Dispute.student, student), (Dispute.group, group),
                          (Dispute.discipline, discipline)):
        if value is not None:
            q = q.where(column == value)
    if assessment is not None:
        q = q.where(Dispute.assessment == assessment)
    return q


# -- commissions and appeals -----------------------------------------------------------------------------------------


def commissions() -> Select[Any]:
    return select(Commission)


def commissions_of(tx: Session, member: str, newest_first: bool = False) -> list[Commission]:
    """The commissions `member` sits on, in id order (or newest first)."""
    order = Commission.id.desc() if newest_first else Commission.id
    return list(tx.scalars(select(Commission).where(Commission.members.contains([member])).order_by(order)))


def statement_info(tx: Session, statement: int) -> StatementInfo | None:
    return tx.get(StatementInfo, statement)


def filed_appeal(tx: Session, student: str, statement: int | None, assessment: int | None) -> Appeal | None:
    """The student's appeal awaiting a decision against the same statement or assessment."""
    return tx.scalars(select(Appeal).where(
        Appeal.student == student, Appeal.state == "filed",
        Appeal.statement.is_(None) if statement is None else Appeal.statement == statement,
        Appeal.assessment.is_(None) if assessment is None else Appeal.assessment == assessment)).first()


def appeals(state: str | None, student: str | None, commissions: list[int] | None) -> Select[Any]:
    """Appeals, filtered; `commissions`: those awaiting a decision and those these commissions decided."""
    q = select(Appeal)
    if state is not None:
        q = q.where(Appeal.state == state)
    if student is not None:
        q = q.where(Appeal.student == student)
    if commissions is not None:
        q = q.where(or_(Appeal.state == "filed", Appeal.commission.in_(commissions)))
    return q
