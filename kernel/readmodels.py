"""What grading's and makeup's read models still write by hand, until they declare them for kernel.projections
(which the other services' read models use): a service passes its own table and the event's payload or rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from kernel.roster import enrolment_periods


def upsert_newest(session: Session, model: Any, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """Insert the rows, or update the stored ones whose `at` (the occurred_at of the event that set them) is not
    newer than the row's: events arrive at least once and, after a restart, not always in order, so an older event
    delivered late changes nothing. One statement, run executemany, whatever the number of rows."""
    if not rows:
        return
    stmt = insert(model)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[getattr(model, k) for k in keys],
        set_={c: getattr(stmt.excluded, c) for c in rows[0] if c not in keys},
        where=or_(model.at.is_(None), model.at <= stmt.excluded.at)), rows)


def replace_enrolment(session: Session, model: Any, payload: dict[str, Any]) -> None:
    """`enrolment.changed` carries the student's whole enrolment history: replace it."""
    student = payload["student"]
    session.execute(delete(model).where(model.student == student))
    for period in enrolment_periods(payload.get("periods") or []):
        session.add(model(student=student, group=period.group, subgroup=period.subgroup, starts=period.starts,
                          ends=period.ends))
