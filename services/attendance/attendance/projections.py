"""Attendance's read models of other services' events (kernel.projections): groups, enrolments, disciplines and
teaching load from identity, the archived years from grading. These tables keep no event time, so each keeps the
last event applied, as identity publishes them in order."""

from __future__ import annotations

from datetime import date, datetime

from attendance.models import Assignment, ClosedYear, Discipline, Enrolment, GroupUnit
from kernel.events import Envelope
from kernel.projections import Change, Projection, Put
from kernel.projections.shared import ASSIGNMENT_KEY, assignment_changes, enrolment_changes


def group_changes(event: Envelope) -> list[Change]:
    p = event.payload
    if p.get("kind") != "group":
        return []
    return [Put({"code": p["code"], "department": p.get("parent"), "subgroups": list(p.get("subgroups") or [])})]


def discipline_changes(event: Envelope) -> list[Change]:
    p = event.payload
    row = {"code": p["code"], "name": p.get("name") or p["code"]}
    return [Put({**row, "control": p["control"]} if p.get("control") else row, insert_only={"control": "exam"})]


def closed_year_changes(event: Envelope) -> list[Change]:
    """An archived year, as the first event of it said (never changed after)."""
    p = event.payload
    closed_at = p.get("closed_at") or event.occurred_at
    return [Put({"year": p["year"]}, insert_only={
        "starts": date.fromisoformat(p["starts"]), "ends": date.fromisoformat(p["ends"]),
        "closed_by": p.get("actor") or event.actor,
        "closed_at": datetime.fromisoformat(closed_at) if closed_at else None})]


PROJECTIONS = [
    Projection("attendance.groups", GroupUnit, ("code",), {("identity", "org.changed"): group_changes}),
    Projection("attendance.enrolments", Enrolment, ("student", "group", "starts"),
               {("identity", "enrolment.changed"): enrolment_changes}, ignore=("id",)),
    Projection("attendance.disciplines", Discipline, ("code",),
               {("identity", "discipline.changed"): discipline_changes}),
    Projection("attendance.assignments", Assignment, ASSIGNMENT_KEY,
               {("identity", "assignment.changed"): assignment_changes}, ignore=("id",)),
    Projection("attendance.closed_years", ClosedYear, ("year",), {("grading", "year.closed"): closed_year_changes}),
]
