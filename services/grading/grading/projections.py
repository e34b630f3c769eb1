"""Grading's read models of other services' events (kernel.projections): enrolments and disciplines from identity,
sessions and each student's current mark from attendance (the attendance summary and rating follow them), the
completed make-ups' results from makeup. A mark keeps the time of the event that set it (`at`), so an older
`marks.recorded` delivered late changes nothing; the other tables keep the last event applied.

Counting a make-up result is also grading's own audited act: that entry is written by the entrypoint
(service.py, handlers.count_makeup_result), not here, because a rebuild replays the rows and must not repeat it.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from grading.models import Discipline, Enrolment, MakeupResult, Mark, Session
from kernel.events import Envelope
from kernel.projections import Change, Projection, Put, Remove
from kernel.projections.shared import enrolment_changes


def discipline_changes(event: Envelope) -> list[Change]:
    p = event.payload
    return [Put({"code": p["code"], "name": p.get("name") or p["code"], "control": p.get("control") or "exam",
                 "credits": p.get("credits")})]


def session_changes(key: str, event: Envelope) -> list[Change]:
    """The session's timetable fields, from `session.scheduled` (key `id`) or `marks.recorded` (key `session`)."""
    p = event.payload
    return [Put({"id": int(p[key]), "term": p.get("term"), "discipline": p["discipline"], "group": p["group"],
                 "subgroup": p.get("subgroup"), "kind": p.get("kind"),
                 "starts_at": datetime.fromisoformat(p["starts_at"])})]


def mark_changes(event: Envelope) -> list[Change]:
    """Each student's status after the event (the last change of one student wins); a removed mark goes."""
    p = event.payload
    session = int(p["session"])
    last = {c["student"]: c.get("new") for c in p.get("changes") or []}
    return [*(Put({"session": session, "student": s, "status": v}) for s, v in last.items() if v is not None),
            *(Remove({"session": session, "student": s}) for s, v in last.items() if v is None)]


def makeup_result_changes(event: Envelope) -> list[Change]:
    """A completed make-up's result, as its first event said (never changed after)."""
    p = event.payload
    return [Put({"makeup": p["id"]}, insert_only={
        "session": p["session"], "student": p["student"], "group": p["group"], "discipline": p["discipline"],
        "result": str(p["result"]), "comment": p.get("comment"),
        "completed_at": datetime.fromisoformat(p["completed_at"]) if p.get("completed_at") else None})]


PROJECTIONS = [
    Projection("grading.enrolments", Enrolment, ("student", "group", "starts"),
               {("identity", "enrolment.changed"): enrolment_changes}, ignore=("id",)),
    Projection("grading.disciplines", Discipline, ("code",), {("identity", "discipline.changed"): discipline_changes}),
    Projection("grading.sessions", Session, ("id",), {
        ("attendance", "session.scheduled"): partial(session_changes, "id"),
        ("attendance", "marks.recorded"): partial(session_changes, "session"),
    }),
    Projection("grading.marks", Mark, ("session", "student"), {("attendance", "marks.recorded"): mark_changes},
               at="at"),
    Projection("grading.makeup_results", MakeupResult, ("makeup",),
               {("makeup", "makeup.completed"): makeup_result_changes}),
]
