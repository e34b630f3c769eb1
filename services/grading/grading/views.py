"""Grading's rows as its RPCs answer them and its events carry them (API.md "Grades, statements, corrections"):
instants in the institution's zone, numbers as JSON shows them (4, not 4.0)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from grading import domain
from grading.models import Assessment, ClosedYear, Correction, Grade, MakeupResult, Statement
from kernel.policy import Policy
from kernel.wire import iso


def assessment(pol: Policy, row: Assessment, grades: Iterable[Grade]) -> dict[str, Any]:
    return {"id": row.id, "group": row.group, "discipline": row.discipline, "kind": row.kind,
            "title": row.title, "date": row.date.isoformat(), "max": domain.number(row.max),
            "created_by": row.created_by,
            "grades": [{"student": g.student, "value": domain.number(g.value), "late": bool(g.late),
                        "first_entry_at": iso(pol, g.first_entry_at), "set_at": iso(pol, g.set_at),
                        "set_by": g.set_by} for g in grades]}


def without_grades(view: dict[str, Any]) -> dict[str, Any]:
    """An assessment as `assessment.created` carries it and its audit entry records it."""
    return {k: v for k, v in view.items() if k != "grades"}


def makeups(pol: Policy, rows: Iterable[MakeupResult]) -> dict[str, list[dict[str, Any]]]:
    """Each student's counted make-ups, in make-up order."""
    made_up: dict[str, list[dict[str, Any]]] = {}
    for m in rows:
        made_up.setdefault(m.student, []).append({"makeup": m.makeup, "session": m.session, "result": m.result,
                                                   "comment": m.comment, "completed_at": iso(pol, m.completed_at)})
    return made_up


def statement(pol: Policy, st: Statement) -> dict[str, Any]:
    return {"id": st.id, "group": st.group, "discipline": st.discipline, "kind": st.kind, "state": st.state,
            "control": st.control, "rows": st.rows, "covers_until": iso(pol, st.covers_until),
            "created_by": st.created_by, "created_at": iso(pol, st.created_at),
            "posted_by": st.posted_by, "posted_at": iso(pol, st.posted_at),
            "closed_by": st.closed_by, "closed_at": iso(pol, st.closed_at)}


def statement_event(pol: Policy, st: Statement) -> dict[str, Any]:
    """The payload of `statement.created` / `.posted` / `.closed`."""
    return {"id": st.id, "group": st.group, "discipline": st.discipline, "kind": st.kind, "state": st.state,
            "covers_until": iso(pol, st.covers_until)}


def correction(pol: Policy, row: Correction, now: datetime) -> dict[str, Any]:
    steps = domain.steps_from_wire(row.steps)
    upcoming = domain.next_step(pol, steps)
    due = domain.execution_due(pol, steps)
    return {"id": row.id, "target": row.target, "value": row.value, "reason": row.reason,
            "state": row.state, "requested_by": row.requested_by, "created_at": iso(pol, row.created_at),
            "steps": [{"action": s.action, "role": s.role, "actor": s.actor, "at": iso(pol, s.at),
                       "note": s.note} for s in steps],
            "next": {"action": upcoming[0], "role": upcoming[1]} if upcoming else None,
            "due": iso(pol, due), "overdue": domain.overdue(pol, steps, now)}


def year_closed_event(pol: Policy, row: ClosedYear, starts: date, ends: date) -> dict[str, Any]:
    """The payload of `year.closed` (and its audit entry)."""
    return {"year": row.year, "starts": starts.isoformat(), "ends": ends.isoformat(), "actor": row.closed_by,
            "closed_at": iso(pol, row.closed_at)}


def closed_year(pol: Policy, row: ClosedYear, starts: date, ends: date) -> dict[str, Any]:
    return {"year": row.year, "starts": starts.isoformat(), "ends": ends.isoformat(), "closed": True,
            "closed_by": row.closed_by, "closed_at": iso(pol, row.closed_at)}
