"""Make-up, dispute and appeal rules as plain Python (RULES.md §5-§7; API.md "Make-up and appeals").

- Make-up (отработка, 003 §5): any absence the preset lists in `makeup.applies_to` (excused or not, 003 §5.2.2-
  5.2.3) may be made up, once per (session, student). The task suits the session kind (003 §5.1, RULES.md §6).
  Deadline: the preset's `makeup_deadline` window from the absence (14 calendar days at oshtu, 003 §5.3.1); later
  only on the decision of `makeup.extension_by`, in that order (department head, then directorate, 003 §5.3.2).
  States requested -> assigned -> completed; a make-up not completed by its deadline shows as expired.
- The make-up register ("НБ make-up journal") always agrees with the journal marks (003 §5.6): a `made_up` mark
  without a completed make-up, or a completed make-up whose mark is not `made_up`, is a mismatch.
- Disputes (003 §6.2): to the teacher inside the preset's `dispute` window from the grade's publication; open ->
  resolved or escalated (to the department head / directorate).
- Appeals (003 §6.3): against a posted or closed statement (or a grade) inside the `appeal` window from its
  publication (1 working day at oshtu, national holidays respected); decided by a member of a commission appointed
  by order and active that day, with a protocol number.

No nameko, no SQLAlchemy, no clock: callers pass `now`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from kernel.errors import Conflict, DeadlinePassed, Forbidden, ValidationFailed
from kernel.policy import Policy

# RULES.md §6 (003 §5.1): the form of the make-up depends on the session kind.
TASK_KINDS: Mapping[str, tuple[str, ...]] = {
    "lecture": ("summary_oral", "test", "essay"),
    "practice": ("practical_task", "test"),
    "lab": ("redo_lab", "project"),
    "srs": ("essay", "project"),
}
MAKEUP_STATES = ("requested", "assigned", "completed", "expired")
STORED_MAKEUP_STATES = ("requested", "assigned", "completed")  # expired is derived from the deadline
DISPUTE_STATES = ("open", "resolved", "escalated")
APPEAL_STATES = ("filed", "decided")
MADE_UP = "made_up"
# How long a completed make-up may wait for attendance's marks event before the register calls it a mismatch.
REGISTER_GRACE = timedelta(minutes=2)


def invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", {field: [message]})


# -- make-up: eligibility, task, deadline (003 §5) -------------------------------------------------------------


def check_enabled(policy: Policy) -> None:
    if not policy.makeup.enabled:
        raise Conflict(f"{policy.name} has no make-up procedure")


def check_absence(policy: Policy, status: str | None) -> None:
    """Only an absence the preset lists may be made up (003 §5.2.2-5.2.3: excused and unexcused alike)."""
    if status is None:
        raise Conflict("no attendance mark for this student in this session")
    if status == MADE_UP:
        raise Conflict("this absence is already made up")
    if status not in policy.makeup.applies_to:
        raise Conflict(f"status {status!r} is not an absence that can be made up")


def task_kinds(session_kind: str) -> tuple[str, ...]:
    return TASK_KINDS.get(session_kind, ())


def check_task_kind(session_kind: str, task_kind: Any) -> None:
    """RULES.md §6: lecture -> summary + oral questions, test or essay; practice -> practical task or test;
    lab -> redo the lab or a project; independent work (srs) -> essay or project."""
    allowed = task_kinds(session_kind)
    if task_kind not in allowed:
        raise invalid("task_kind", f"for a {session_kind} session one of {', '.join(allowed) or '(none)'}")


def base_deadline(policy: Policy, absence_at: datetime) -> datetime | None:
    """003 §5.3.1: the last instant to make up an absence (14 calendar days at oshtu, to 24:00 of the last day)."""
    return policy.deadline("makeup_deadline", absence_at)


@dataclass(frozen=True)
class ExtensionStep:
    role: str
    actor: str
    at: datetime
    until: datetime
    reason: str


def next_extension_role(policy: Policy, steps: Sequence[ExtensionStep]) -> str | None:
    """The role whose decision the extension waits for; None when every step is done (003 §5.3.2)."""
    chain = policy.makeup.extension_by
    return chain[len(steps)] if len(steps) < len(chain) else None


def extension_complete(policy: Policy, steps: Sequence[ExtensionStep]) -> bool:
    return bool(policy.makeup.extension_by) and len(steps) >= len(policy.makeup.extension_by)


def add_extension_step(policy: Policy, steps: Sequence[ExtensionStep], step: ExtensionStep,
                       base: datetime | None) -> list[ExtensionStep]:
    """003 §5.3.2: later acceptance needs the department head's and then the directorate's decision, in that
    order. A role outside the chain is forbidden; a role out of turn (or a step twice) is a conflict."""
    chain = policy.makeup.extension_by
    if step.role not in chain:
        raise Forbidden(f"a make-up extension is decided by {', '.join(chain) or 'nobody'} at {policy.name}")
    expected = next_extension_role(policy, steps)
    if expected is None:
        raise Conflict("the extension is already decided")
    if step.role != expected:
        raise Conflict(f"the extension waits for the {expected} first", expected=expected)
    if base is not None and step.until <= base:
        raise invalid("until", "must be after the make-up deadline")
    if not step.reason or not step.reason.strip():
        raise invalid("reason", "required")
    return [*steps, step]


def effective_deadline(policy: Policy, base: datetime | None, steps: Sequence[ExtensionStep]) -> datetime | None:
    """The deadline in force: an extension counts only once every step is done; the last step's date wins."""
    if base is None or not extension_complete(policy, steps):
        return base
    return max(base, steps[-1].until)


def is_past(deadline: datetime | None, now: datetime) -> bool:
    return deadline is not None and now > deadline


def check_deadline(deadline: datetime | None, now: datetime, what: str = "the make-up deadline passed") -> None:
    if is_past(deadline, now):
        assert deadline is not None
        raise DeadlinePassed(f"{what} at {deadline.isoformat()}", deadline=deadline.isoformat())


def shown_state(stored: str, deadline: datetime | None, now: datetime) -> str:
    """A make-up not completed by the deadline in force is expired (an extension brings it back)."""
    if stored != "completed" and is_past(deadline, now):
        return "expired"
    return stored


def check_move(stored: str, action: str) -> str:
    """requested -> assigned (a teacher may re-assign before completion) -> completed."""
    moves = {"assign": (("requested", "assigned"), "assigned"), "complete": (("assigned",), "completed")}
    sources, target = moves[action]
    if stored not in sources:
        raise Conflict(f"a {stored} make-up cannot be {target}", state=stored)
    return target


def parse_instant(policy: Policy, value: Any, field: str, end_of_day: bool = True) -> datetime:
    """An ISO date (the whole local day: its end, or its start) or an ISO date-time (local time when naive)."""
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, date):
        return policy.end_of_day(value) if end_of_day else datetime.combine(value, datetime.min.time(), policy.tz)
    elif isinstance(value, str) and value:
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                return policy.end_of_day(day) if end_of_day else datetime.combine(day, datetime.min.time(),
                                                                                  policy.tz)
            instant = datetime.fromisoformat(value)
        except ValueError:
            raise invalid(field, "an ISO date or date-time") from None
    else:
        raise invalid(field, "an ISO date or date-time")
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=policy.tz)


def check_due(due: datetime, deadline: datetime | None, now: datetime) -> None:
    """The due date lies inside the deadline in force (003 §5.3); a make-up past it cannot be assigned."""
    check_deadline(deadline, now)
    if deadline is not None and due > deadline:
        raise DeadlinePassed(f"due {due.isoformat()} is after the make-up deadline {deadline.isoformat()}",
                             deadline=deadline.isoformat())
    if due < now - timedelta(days=1):
        raise invalid("due", "must not be in the past")


def check_result(policy: Policy, result: Any) -> float | int | str:
    """003 §5.5: the result in points (on the preset's scale) or a grade word."""
    if isinstance(result, bool) or result is None:
        raise invalid("result", "a number on the scale or a grade")
    if isinstance(result, int | float):
        if not math.isfinite(result) or not policy.grading.scale.accepts(result):
            raise invalid("result", "outside the preset's scale")
        return int(result) if float(result).is_integer() else result
    if isinstance(result, str) and result.strip() and len(result) <= 32:
        return result.strip()
    raise invalid("result", "a number on the scale or a grade of 1..32 characters")


# -- the make-up register (003 §5.6) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterMakeup:
    id: int
    session: int
    student: str
    state: str  # stored state
    completed_at: datetime | None


def register_mismatches(marks: Mapping[tuple[int, str], str], makeups: Iterable[RegisterMakeup], now: datetime,
                        grace: timedelta = REGISTER_GRACE) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(mismatches, pending). A `made_up` mark without a completed make-up is a mismatch at once; a completed
    make-up whose mark is not (yet) `made_up` is pending for `grace` after completion (attendance's event is on its
    way), then a mismatch."""
    completed = {(m.session, m.student): m for m in makeups if m.state == "completed"}
    mismatches: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for (session, student), status in sorted(marks.items()):
        if status == MADE_UP and (session, student) not in completed:
            mismatches.append({"kind": "made_up_without_completed_makeup", "session": session, "student": student,
                               "status": status, "makeup": None})
    for key, m in sorted(completed.items()):
        current = marks.get(key)
        if current == MADE_UP:
            continue
        item: dict[str, Any] = {"kind": "completed_makeup_mark_not_made_up", "session": m.session, "student": m.student,
                "status": current, "makeup": m.id}
        if m.completed_at is not None and now - m.completed_at < grace:
            pending.append(item)
        else:
            mismatches.append(item)
    return mismatches, pending


# -- disputes (003 §6.2) -----------------------------------------------------------------------------------------


def dispute_deadline(policy: Policy, published_at: datetime) -> datetime | None:
    """003 §6.2: the student goes to the teacher within 3 working days of the grade's publication."""
    return policy.deadline("dispute", published_at)


def check_dispute_window(policy: Policy, published_at: datetime, now: datetime) -> datetime | None:
    if not policy.window("dispute").allowed:
        raise Conflict(f"{policy.name} has no grade disputes")
    deadline = dispute_deadline(policy, published_at)
    check_deadline(deadline, now, "the dispute window closed")
    return deadline


def dispute_move(state: str, action: str) -> str:
    """open -> resolved (the teacher) | escalated (the student, to the department head / directorate);
    a resolution the student does not accept escalates too; an escalated dispute is resolved above."""
    moves = {"resolve": (("open", "escalated"), "resolved"), "escalate": (("open", "resolved"), "escalated")}
    sources, target = moves[action]
    if state not in sources:
        raise Conflict(f"a {state} dispute cannot be {target}", state=state)
    return target


# -- appeals and commissions (003 §6.3) ---------------------------------------------------------------------------


def appeal_deadline(policy: Policy, published_at: datetime) -> datetime | None:
    """003 §6.3: within 1 working day of the publication (weekends and national holidays not counted)."""
    return policy.deadline("appeal", published_at)


def check_appeal_window(policy: Policy, published_at: datetime, now: datetime) -> datetime | None:
    if not policy.window("appeal").allowed:
        raise Conflict(f"{policy.name} has no appeals")
    deadline = appeal_deadline(policy, published_at)
    check_deadline(deadline, now, "the appeal window closed")
    return deadline


def check_statement_appealable(state: str | None) -> None:
    if state not in ("posted", "closed"):
        raise Conflict("an appeal is against a posted or closed statement")


def check_commission(members: Any, date_from: date, date_to: date) -> list[str]:
    if not isinstance(members, list) or not members or not all(isinstance(m, str) and m for m in members):
        raise invalid("members", "a non-empty list of staff codes")
    if len(set(members)) != len(members):
        raise invalid("members", "each member once")
    if date_to < date_from:
        raise invalid("to", "must not be before from")
    return list(members)


def commission_active(date_from: date, date_to: date, day: date) -> bool:
    return date_from <= day <= date_to


def check_decider(actor: str, commissions: Iterable[tuple[int, Sequence[str], date, date]], day: date) -> int:
    """003 §6.3: the decision is the commission's; the actor must sit on a commission active that day.
    Returns that commission's id."""
    for commission_id, members, date_from, date_to in commissions:
        if actor in members and commission_active(date_from, date_to, day):
            return commission_id
    raise Forbidden("only a member of an active appeal commission decides an appeal")


def check_decision(state: str, upheld: Any, protocol: Any) -> None:
    if state != "filed":
        raise Conflict(f"the appeal is already {state}", state=state)
    if not isinstance(upheld, bool):
        raise invalid("upheld", "true or false")
    if not isinstance(protocol, str) or not protocol.strip():
        raise invalid("protocol", "the protocol number is required (003 §6.3)")


def check_text(value: Any, field: str, longest: int = 2000, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid(field, "required")
        return None
    if not isinstance(value, str) or len(value) > longest:
        raise invalid(field, f"a string of at most {longest} characters")
    return value.strip()
