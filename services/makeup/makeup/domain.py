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

No nameko, no SQLAlchemy, no clock: callers pass `now`. Besides the rules, the shapes this service answers and
emits are made here (the make-up, dispute, commission and appeal as the API shows them, the register, the events'
payloads, the audit entries), and the values a use-case writes: a row is read through its attributes only, and a
change is returned as a dict of the fields to set (handlers.py applies it and saves).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from contracts.makeup import APPEAL_STATES, DISPUTE_STATES, MAKEUP_STATES, TASK_KINDS  # noqa: F401
from kernel.errors import Conflict, DeadlinePassed, Forbidden, ValidationFailed
from kernel.policy import Policy

STORED_MAKEUP_STATES = ("requested", "assigned", "completed")  # expired is derived from the deadline
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


# -- the requests' arguments ----------------------------------------------------------------------------------------


def check_student(student: Any) -> str:
    if not isinstance(student, str) or not student:
        raise invalid("student", "a student code")
    return student


def check_until(until: datetime, now: datetime) -> datetime:
    if until <= now:
        raise invalid("until", "must be in the future")
    return until


def check_state_filter(state: str | None, states: Sequence[str]) -> str | None:
    """A list's `state` filter: one of the states the API names (expired included for make-ups)."""
    if state is not None and state not in states:
        raise invalid("state", f"one of {', '.join(states)}")
    return state


def check_period(date_from: Any, date_to: Any) -> tuple[date, date]:
    """A commission's period: two ISO dates, `from` and `to` (the order of the fields is that of the errors)."""
    days = []
    for field, value in (("from", date_from), ("to", date_to)):
        try:
            days.append(date.fromisoformat(value))
        except (TypeError, ValueError):
            raise invalid(field, "an ISO date") from None
    return days[0], days[1]


def check_decision_value(policy: Policy, upheld: bool, value: Any) -> float | int | str | None:
    """The grade an upheld appeal sets (none when not upheld, or upheld without a new value): a number."""
    if not upheld or value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid("value", "a number on the preset's scale")
    return check_result(policy, value)


# -- the answers (API.md "Make-up and appeals") ---------------------------------------------------------------------


def iso(policy: Policy, value: datetime | None) -> str | None:
    """An instant as the API shows it: ISO 8601 in the institution's zone (as kernel.wire.iso)."""
    return policy.local(value).isoformat() if value is not None else None


def local(policy: Policy, value: datetime | None) -> datetime | None:
    return policy.local(value) if value is not None else None


def step_entry(policy: Policy, action: str, actor: str, at: datetime, **extra: Any) -> dict[str, Any]:
    """One step of an object's `steps` (what the student sees of its history)."""
    return {"action": action, "actor": actor, "at": iso(policy, at), **extra}


def extension_steps(stored: Sequence[Mapping[str, Any]] | None) -> list[ExtensionStep]:
    """The extension's steps as stored ({role, actor, at, until, reason}, instants in ISO 8601)."""
    return [ExtensionStep(role=s["role"], actor=s["actor"], at=datetime.fromisoformat(s["at"]),
                          until=datetime.fromisoformat(s["until"]), reason=s.get("reason") or "")
            for s in stored or []]


def snapshot(view: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: view.get(k) for k in keys}


def makeup_view(policy: Policy, row: Any, now: datetime) -> dict[str, Any]:
    """A make-up as answered and as its events carry it; the state shown is derived from the deadline in force."""
    stored = row.extension or []
    extension = None
    if stored:
        steps = extension_steps(stored)
        extension = {"until": stored[-1]["until"], "reason": stored[-1].get("reason"),
                     "complete": extension_complete(policy, steps),
                     "awaiting": next_extension_role(policy, steps),
                     "steps": [{"role": s["role"], "actor": s["actor"], "at": s["at"], "until": s["until"],
                                "reason": s.get("reason")} for s in stored]}
    return {"id": row.id, "session": row.session, "student": row.student, "discipline": row.discipline,
            "group": row.group, "teacher": row.teacher, "kind": row.kind, "absence_status": row.absence_status,
            "state": shown_state(row.state, row.deadline, now), "task_kind": row.task_kind,
            "task_kinds": list(task_kinds(row.kind)), "topic": row.topic, "due": iso(policy, row.due),
            "result": row.result, "comment": row.comment, "requested_at": iso(policy, row.requested_at),
            "requested_by": row.requested_by, "assigned_at": iso(policy, row.assigned_at),
            "completed_at": iso(policy, row.completed_at), "deadline": iso(policy, row.deadline),
            "base_deadline": iso(policy, row.base_deadline), "extension": extension, "steps": list(row.steps or [])}


def dispute_view(policy: Policy, row: Any) -> dict[str, Any]:
    return {"id": row.id, "assessment": row.assessment, "student": row.student, "group": row.group,
            "discipline": row.discipline, "reason": row.reason, "state": row.state,
            "published_at": iso(policy, row.published_at), "deadline": iso(policy, row.deadline),
            "opened_at": iso(policy, row.opened_at), "opened_by": row.opened_by, "value": row.value,
            "note": row.note, "steps": list(row.steps or [])}


def commission_view(policy: Policy, row: Any, today: date) -> dict[str, Any]:
    return {"id": row.id, "order": row.order, "members": list(row.members), "from": row.date_from.isoformat(),
            "to": row.date_to.isoformat(), "created_by": row.created_by, "created_at": iso(policy, row.created_at),
            "active": commission_active(row.date_from, row.date_to, today)}


def appeal_view(policy: Policy, row: Any) -> dict[str, Any]:
    return {"id": row.id, "statement": row.statement, "assessment": row.assessment, "student": row.student,
            "group": row.group, "discipline": row.discipline, "reason": row.reason, "state": row.state,
            "published_at": iso(policy, row.published_at), "deadline": iso(policy, row.deadline),
            "filed_at": iso(policy, row.filed_at), "filed_by": row.filed_by, "commission": row.commission,
            "upheld": row.upheld, "protocol": row.protocol, "value": row.value, "decided_by": row.decided_by,
            "decided_at": iso(policy, row.decided_at), "steps": list(row.steps or [])}


def audit_entry(entity: str, entity_id: int, action: str, actor: str, **fields: Any) -> dict[str, Any]:
    """An audit entry of one object, in that object's chain (`<entity>:<id>`)."""
    return {"entity": entity, "entity_id": str(entity_id), "action": action, "actor": actor, **fields,
            "chain": f"{entity}:{entity_id}"}


# -- make-up: the use-cases' decisions (003 §5) ---------------------------------------------------------------------


def late_refusal(policy: Policy, row: Any, now: datetime) -> DeadlinePassed | None:
    """003 §5.3.2: a request past the deadline is kept (the approvers can extend it) but refused; None in time."""
    if not is_past(row.deadline, now):
        return None
    return DeadlinePassed(
        f"the make-up deadline passed at {iso(policy, row.deadline)}; later only by the decision of "
        f"{', '.join(policy.makeup.extension_by)} (003 §5.3.2)",
        deadline=iso(policy, row.deadline), makeup=row.id,
        awaiting=next_extension_role(policy, extension_steps(row.extension)))


def new_makeup(policy: Policy, session: int, student: str, info: Any, status: str | None, actor: str, role: str,
               now: datetime) -> dict[str, Any]:
    """The fields of a requested make-up of the absence `status` in the session `info` (its read model row)."""
    check_absence(policy, status)
    deadline = base_deadline(policy, info.starts_at)
    return {"session": session, "student": student, "discipline": info.discipline, "group": info.group,
            "teacher": info.teacher, "kind": info.kind, "absence_status": status or "absent", "state": "requested",
            "requested_at": now, "requested_by": actor, "base_deadline": deadline, "deadline": deadline,
            "extension": [], "steps": [step_entry(policy, "requested", actor, now, role=role)]}


def requested_audit(row: Any, view: Mapping[str, Any], actor: str, role: str) -> dict[str, Any]:
    return audit_entry("makeup", row.id, "requested", actor, student=row.student,
                       new=snapshot(view, "session", "discipline", "group", "kind", "absence_status", "deadline"),
                       reason=f"role {role}")


ASSIGNED_FIELDS = ("state", "task_kind", "topic", "due")


def assignment(policy: Policy, row: Any, task_kind: Any, topic: Any, due: Any, actor: str,
               now: datetime) -> dict[str, Any]:
    """The teacher assigns (or re-assigns) the task: one that suits the session kind, due inside the deadline."""
    check_move(row.state, "assign")
    check_task_kind(row.kind, task_kind)
    text_topic = check_text(topic, "topic", 500)
    due_at = parse_instant(policy, due, "due")
    check_due(due_at, local(policy, row.deadline), now)
    return {"state": "assigned", "task_kind": task_kind, "topic": text_topic, "due": due_at, "assigned_at": now,
            "assigned_by": actor,
            "steps": [*(row.steps or []), step_entry(policy, "assigned", actor, now, task_kind=task_kind,
                                                     topic=text_topic, due=iso(policy, due_at))]}


def completion(policy: Policy, row: Any, result: Any, comment: Any, actor: str, now: datetime) -> dict[str, Any]:
    """The teacher records the result of an assigned make-up, by the deadline in force (003 §5.4-5.5)."""
    check_move(row.state, "complete")
    check_deadline(local(policy, row.deadline), now)
    value = check_result(policy, result)
    text_comment = check_text(comment, "comment", 2000, required=False)
    return {"state": "completed", "result": value, "comment": text_comment, "completed_at": now,
            "completed_by": actor,
            "steps": [*(row.steps or []), step_entry(policy, "completed", actor, now, result=value,
                                                     comment=text_comment)]}


def completed_payload(row: Any, view: Mapping[str, Any], actor: str) -> dict[str, Any]:
    """`makeup.completed`: attendance turns the mark into made_up, grading counts the result (003 §5.4.2, §5.5)."""
    return {"id": row.id, "session": row.session, "student": row.student, "discipline": row.discipline,
            "group": row.group, "kind": row.kind, "teacher": row.teacher, "task_kind": row.task_kind,
            "topic": row.topic, "result": row.result, "comment": row.comment, "completed_at": view["completed_at"],
            "actor": actor}


@dataclass(frozen=True)
class Extension:
    """One approver's step of an extension: the make-up's new fields, and what the audit entry says of it."""

    changes: dict[str, Any]
    old: dict[str, Any]
    until: str | None
    reason: str
    complete: bool
    approval: str


def extension(policy: Policy, row: Any, until: Any, reason: Any, actor: str, role: str,
              now: datetime) -> Extension:
    """003 §5.3.2: the approvers of `makeup.extension_by` extend, in order; the deadline moves when all did."""
    if row.state == "completed":
        raise Conflict("the make-up is already completed", state=row.state)
    until_at = check_until(parse_instant(policy, until, "until"), now)
    text_reason = check_text(reason, "reason", 2000) or ""
    step = ExtensionStep(role=role, actor=actor, at=now, until=until_at, reason=text_reason)
    steps = add_extension_step(policy, extension_steps(row.extension), step, row.base_deadline)
    complete = extension_complete(policy, steps)
    stored = {"role": role, "actor": actor, "at": iso(policy, now), "until": iso(policy, until_at),
              "reason": text_reason}
    changes = {"extension": [*(row.extension or []), stored],
               "deadline": effective_deadline(policy, row.base_deadline, steps),
               "steps": [*(row.steps or []), step_entry(policy, "extension", actor, now, role=role,
                                                        until=iso(policy, until_at), reason=text_reason,
                                                        complete=complete)]}
    return Extension(changes=changes, old={"deadline": iso(policy, row.deadline), "steps": len(steps) - 1},
                     until=iso(policy, until_at), reason=text_reason, complete=complete,
                     approval="; ".join(f"{s.role} {s.actor}" for s in steps))


def extension_audit(row: Any, ext: Extension, view: Mapping[str, Any], actor: str, role: str) -> dict[str, Any]:
    return audit_entry("makeup", row.id, f"extension_{role}", actor, student=row.student, old=ext.old,
                       new={"deadline": view["deadline"], "until": ext.until, "complete": ext.complete},
                       reason=ext.reason, approval=ext.approval)


def extension_event(ext: Extension) -> str:
    return "makeup.extended" if ext.complete else "makeup.extension_step"


def awaits_extension_by(policy: Policy, row: Any, role: str, now: datetime) -> bool:
    """An approver's queue: the make-ups whose extension waits for `role`; the first approver's holds only those
    past their deadline (nobody has asked before)."""
    steps = extension_steps(row.extension)
    if next_extension_role(policy, steps) != role:
        return False
    return bool(steps) or is_past(row.deadline, now)


# -- the make-up register (003 §5.6): its answer --------------------------------------------------------------------


def register_keys(policy: Policy, statuses: Mapping[tuple[int, str], str],
                  makeups: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """The register's lines: every absence the preset lets be made up (or made up), and every make-up."""
    absence = set(policy.makeup.applies_to) | {MADE_UP}
    return {k for k, status in statuses.items() if status in absence} | set(makeups)


def register_line(policy: Policy, key: tuple[int, str], status: str | None, info: Any, mk: Any,
                  now: datetime) -> dict[str, Any]:
    """One absence with its session (`info`, None when unknown) and its make-up (`mk`, None when none)."""
    return {
        "session": key[0], "student": key[1], "status": status,
        "starts_at": iso(policy, info.starts_at) if info else None, "kind": info.kind if info else None,
        "teacher": info.teacher if info else None,
        "makeup": None if mk is None else {
            "id": mk.id, "state": shown_state(mk.state, mk.deadline, now), "task_kind": mk.task_kind,
            "topic": mk.topic, "assigned_at": iso(policy, mk.assigned_at), "due": iso(policy, mk.due),
            "completed_at": iso(policy, mk.completed_at), "result": mk.result, "comment": mk.comment,
            "deadline": iso(policy, mk.deadline)}}


def register(policy: Policy, group: str, discipline: str, statuses: Mapping[tuple[int, str], str],
             makeups: Mapping[tuple[int, str], Any], sessions: Mapping[int, Any], now: datetime) -> dict[str, Any]:
    """The register of a group's discipline and whether it agrees with the journal marks."""
    items = [register_line(policy, key, statuses.get(key), sessions.get(key[0]), makeups.get(key), now)
             for key in register_keys(policy, statuses, makeups)]
    items.sort(key=lambda i: (i["starts_at"] or "", i["session"], i["student"]))
    mismatches, pending = register_mismatches(
        statuses, [RegisterMakeup(m.id, m.session, m.student, m.state, m.completed_at) for m in makeups.values()],
        now)
    return {"group": group, "discipline": discipline, "items": items, "consistent": not mismatches,
            "mismatches": mismatches, "pending": pending, "checked_at": iso(policy, now)}


# -- disputes: the use-cases' decisions (003 §6.2) ------------------------------------------------------------------


def publication(policy: Policy, published_at: Any, stored: datetime | None) -> datetime:
    """When the grade became visible: as the caller says (an ISO date means its start), else as grading's
    `grade.recorded` told this service."""
    if published_at is not None:
        return parse_instant(policy, published_at, "published_at", end_of_day=False)
    if stored is not None:
        return stored
    raise Conflict("no grade of this student for this assessment has been published")


def new_dispute(policy: Policy, assessment: int, student: str, info: Any, reason: str, published_at: datetime,
                actor: str, now: datetime) -> dict[str, Any]:
    """The fields of an opened dispute, inside the window from the grade's publication."""
    deadline = check_dispute_window(policy, published_at, now)
    return {"assessment": assessment, "student": student, "group": info.group if info else None,
            "discipline": info.discipline if info else None, "reason": reason, "state": "open",
            "published_at": published_at, "deadline": deadline, "opened_at": now, "opened_by": actor,
            "updated_at": now, "steps": [step_entry(policy, "opened", actor, now, reason=reason)]}


def opened_audit(row: Any, view: Mapping[str, Any], actor: str) -> dict[str, Any]:
    return audit_entry("dispute", row.id, "opened", actor, student=row.student,
                       new=snapshot(view, "assessment", "state", "deadline"), reason=row.reason)


def resolution(policy: Policy, value: Any, note: Any) -> dict[str, Any]:
    """What the teacher's answer sets: the grade (optional, on the scale) and the note (required)."""
    checked = None if value is None else check_result(policy, value)
    return {"value": checked, "note": check_text(note, "note", 2000)}


def escalation(note: Any) -> dict[str, Any]:
    return {"note": check_text(note, "note", 2000, required=False)}


def dispute_change(policy: Policy, row: Any, action: str, actor: str, now: datetime,
                   **changes: Any) -> dict[str, Any]:
    """The dispute's new fields after `action` (resolve, escalate) with its `changes` (value, note)."""
    state = dispute_move(row.state, action)
    return {"state": state, **changes, "updated_at": now,
            "steps": [*(row.steps or []), step_entry(policy, state, actor, now, **changes)]}


def dispute_audit(row: Any, old_state: str, actor: str, **changes: Any) -> dict[str, Any]:
    return audit_entry("dispute", row.id, row.state, actor, student=row.student, old={"state": old_state},
                       new={"state": row.state, **changes}, reason=changes.get("note"))


# -- commissions and appeals: the use-cases' decisions (003 §6.3) ---------------------------------------------------


def new_commission(order: Any, members: Any, date_from: Any, date_to: Any, actor: str,
                   now: datetime) -> dict[str, Any]:
    """The fields of a commission appointed by order, with its members and its period."""
    text_order = check_text(order, "order", 100) or ""
    day_from, day_to = check_period(date_from, date_to)
    codes = check_commission(members, day_from, day_to)
    return {"order": text_order, "members": codes, "date_from": day_from, "date_to": day_to, "created_by": actor,
            "created_at": now}


def appeal_anchor(published_at: datetime, last_dispute_answer: datetime | None) -> datetime:
    """After a dispute the appeal runs from the dispute's last answer (003 §6.2 -> §6.3)."""
    if last_dispute_answer is not None and last_dispute_answer > published_at:
        return last_dispute_answer
    return published_at


def statement_anchor(statement: Any) -> datetime:
    """003 §6.3: an appeal against a statement runs from its posting (as grading's event told this service)."""
    check_statement_appealable(statement.state if statement else None)
    if statement.posted_at is None:
        raise Conflict("the statement's posting has not reached this service yet; try again shortly")
    return statement.posted_at


def check_appeal_target(statement: Any, assessment: Any) -> None:
    if statement is None and assessment is None:
        raise invalid("statement", "a statement or an assessment is required")


def new_appeal(policy: Policy, statement: int | None, assessment: int | None, student: str, group: str | None,
               discipline: str | None, reason: str, published_at: datetime, actor: str,
               now: datetime) -> dict[str, Any]:
    """The fields of a filed appeal, inside the window from the publication."""
    deadline = check_appeal_window(policy, published_at, now)
    return {"statement": statement, "assessment": assessment, "student": student, "group": group,
            "discipline": discipline, "reason": reason, "state": "filed", "published_at": published_at,
            "deadline": deadline, "filed_at": now, "filed_by": actor,
            "steps": [step_entry(policy, "filed", actor, now, reason=reason)]}


def filed_audit(row: Any, view: Mapping[str, Any], actor: str) -> dict[str, Any]:
    return audit_entry("appeal", row.id, "filed", actor, student=row.student,
                       new=snapshot(view, "statement", "assessment", "state", "deadline"), reason=row.reason)


@dataclass(frozen=True)
class Decision:
    """A commission's decision on an appeal: the appeal's new fields, the audit entry, the event."""

    changes: dict[str, Any]
    audit: dict[str, Any]
    event: str
    payload: dict[str, Any]


def decision(policy: Policy, row: Any, upheld: Any, protocol: Any, value: Any, actor: str,
             commissions: Sequence[Any], now: datetime) -> Decision:
    """003 §6.3: decided once, with a protocol, by a member of a commission active that day (the newest of the
    actor's `commissions` that is). Only an upheld appeal with a value changes a grade (`appeal.decided`: grading
    applies it with role commission); any other decision closes the appeal (`appeal.closed`)."""
    check_decision(row.state, upheld, protocol)
    cid = check_decider(actor, [(c.id, c.members, c.date_from, c.date_to) for c in commissions],
                        policy.local(now).date())
    commission = next(c for c in commissions if c.id == cid)
    new_value = check_decision_value(policy, upheld, value)
    text_protocol = str(protocol).strip()
    members = list(commission.members)
    changes = {"state": "decided", "commission": cid, "upheld": upheld, "protocol": text_protocol,
               "value": new_value, "decided_by": actor, "decided_at": now,
               "steps": [*(row.steps or []), step_entry(policy, "decided", actor, now, commission=cid,
                                                        order=commission.order, protocol=text_protocol,
                                                        upheld=upheld, value=new_value)]}
    approval = (f"appeal commission {cid} (order {commission.order}; members {', '.join(members)}),"
                f" protocol {text_protocol}, decided by {actor}")
    audit = audit_entry("appeal", row.id, "decided", actor, student=row.student, old={"state": "filed"},
                        new={"state": "decided", "upheld": upheld, "value": new_value, "commission": cid,
                             "protocol": text_protocol, "members": members},
                        reason=row.reason, approval=approval)
    payload = {"id": row.id, "student": row.student, "statement": row.statement, "assessment": row.assessment,
               "upheld": upheld, "protocol": text_protocol, "value": new_value, "actor": actor, "commission": cid,
               "order": commission.order, "members": members, "approval": approval}
    return Decision(changes=changes, audit=audit,
                    event="appeal.decided" if upheld and new_value is not None else "appeal.closed",
                    payload=payload)
