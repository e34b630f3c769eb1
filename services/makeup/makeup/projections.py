"""Makeup's read models of other services' events (kernel.projections): sessions and each student's current mark
from attendance (what a make-up is asked for), posted and closed statements, assessments and when each grade
became visible from grading (the dispute and appeal windows run from it). A mark and a grade keep the time of the
event that set them (`at`, `published_at`), so an older event delivered late changes nothing; the other tables
keep the last event applied."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from kernel.events import Envelope
from kernel.projections import Change, Projection, Put, occurred
from makeup.models import AssessmentInfo, GradePub, Mark, SessionInfo, StatementInfo


def session_changes(key: str, event: Envelope) -> list[Change]:
    """The session's timetable fields, from `session.scheduled` (key `id`) or `marks.recorded` (key `session`);
    an event without them changes nothing."""
    p = event.payload
    if not p.get("discipline") or not p.get("group") or not p.get("starts_at"):
        return []
    return [Put({"id": int(p[key]), "term": p.get("term"), "discipline": p["discipline"], "group": p["group"],
                 "subgroup": p.get("subgroup"), "kind": p.get("kind") or "lecture", "teacher": p.get("teacher"),
                 "starts_at": datetime.fromisoformat(p["starts_at"])})]


def mark_changes(event: Envelope) -> list[Change]:
    """Each student's status after the event (the last change of one student wins); a removed mark stays as a row
    without a status, so an older event delivered late cannot bring it back."""
    p = event.payload
    last = {c["student"]: c.get("new") for c in p.get("changes") or []}
    return [Put({"session": int(p["session"]), "student": student, "group": p["group"], "discipline": p["discipline"],
                 "status": status}) for student, status in last.items()]


def statement_changes(event: Envelope) -> list[Change]:
    """A posted or closed statement, created by whichever event comes first. The state is written with a new row
    only, except by `statement.closed`: a late posted event never reopens a closed statement."""
    p = event.payload
    row: dict[str, Any] = {"id": int(p["id"])}
    if p["state"] == "posted":
        row["posted_at"] = occurred(event)
    elif p["state"] == "closed":
        row.update(state="closed", closed_at=occurred(event))
    return [Put(row, insert_only={"group": p["group"], "discipline": p["discipline"], "kind": p["kind"],
                                  "state": p["state"]})]


def assessment_changes(key: str, event: Envelope) -> list[Change]:
    """An assessment's fields, from `assessment.created` (key `id`) or `grade.recorded` (key `assessment`); the
    title comes only with the first."""
    p = event.payload
    row = {"id": int(p[key]), "group": p["group"], "discipline": p["discipline"], "kind": p.get("kind")}
    return [Put({**row, "title": p["title"]} if p.get("title") is not None else row)]


def grade_changes(event: Envelope) -> list[Change]:
    """Each changed grade's value; the kit stamps `published_at` with the event's time."""
    p = event.payload
    last = {c["student"]: c.get("new") for c in p.get("changes") or []}
    return [Put({"assessment": int(p["assessment"]), "student": student, "value": value})
            for student, value in last.items()]


PROJECTIONS = [
    Projection("makeup.sessions", SessionInfo, ("id",), {
        ("attendance", "session.scheduled"): partial(session_changes, "id"),
        ("attendance", "marks.recorded"): partial(session_changes, "session"),
    }),
    Projection("makeup.marks", Mark, ("session", "student"), {("attendance", "marks.recorded"): mark_changes},
               at="at"),
    Projection("makeup.statements", StatementInfo, ("id",),
               {("grading", t): statement_changes for t in ("statement.posted", "statement.closed")}),
    Projection("makeup.assessments", AssessmentInfo, ("id",), {
        ("grading", "assessment.created"): partial(assessment_changes, "id"),
        ("grading", "grade.recorded"): partial(assessment_changes, "assessment"),
    }),
    Projection("makeup.grades", GradePub, ("assessment", "student"), {("grading", "grade.recorded"): grade_changes},
               at="published_at"),
]
