"""Changes more than one service's read models make of identity's events (each service applies them to its own
table: none reads another's)."""

from __future__ import annotations

from typing import Any

from kernel.events import Envelope
from kernel.projections.kit import Change, Put, Remove, Replace
from kernel.roster import enrolment_periods

ASSIGNMENT_KEY = ("teacher", "discipline", "group", "kind", "subgroup")


def enrolment_changes(event: Envelope) -> list[Change]:
    """`enrolment.changed` carries the student's whole enrolment history: replace it."""
    student = event.payload["student"]
    return [Replace({"student": student}, [
        {"student": student, "group": p.group, "subgroup": p.subgroup, "starts": p.starts, "ends": p.ends}
        for p in enrolment_periods(event.payload.get("periods") or [])])]


def assignment_changes(event: Envelope) -> list[Change]:
    """`assignment.changed`: a teaching-load row added (active) or withdrawn."""
    key: dict[str, Any] = {k: event.payload.get(k) for k in ASSIGNMENT_KEY}
    return [Put(key) if event.payload.get("active", True) else Remove(key)]
