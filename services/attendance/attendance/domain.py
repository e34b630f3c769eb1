"""Attendance rules as plain Python: sessions, marks, excuses, check-in (RULES.md §2, §3, §5; API.md
"Attendance"). No nameko, no SQLAlchemy, no clock: callers pass the policy, what is stored and `now`.

- Sessions come only from the timetable, and only for the teaching load: "filling is mandatory only according
  to the schedule" (000 §2, 002 §3.5). A timetable batch is checked whole before anything is written; a bad
  row rejects the batch and the error names it (`sessions[3].teacher`).
- The student list is built from orders (admission, transfer, expulsion) (003 §2.1): a session's roster is who
  was enrolled in its group (and subgroup) on the session's local date, so an expelled student leaves the
  rosters after the order's date, not before.
- Marks are keys of the institution's classifier (003 App. 2, 002 §3.5, 004 §6); each code says which role may
  set it. Excused and sick are set only on the directorate's confirmation of a document (003 §4.2.2-4.2.4),
  made-up only through a completed make-up (003 §5.4.2); a teacher can neither set nor undo them.
- Attendance is entered within the preset's window (003 §4.2.1: at most 24 h; 002 §4.3: on the class day);
  a first entry after it is flagged late.
- The excuse document is handed in within 3 working days of returning (003 §4.2.3); later filing is accepted
  but flagged. Approval turns the range's `absent` marks into the excuse's status.
- QR check-in (the system's default, preset `checkin`): only from the roster, only inside the window around the
  start, from the allowed networks; one device checking in several students is flagged for the teacher.
- A late correction (003 §4.4.2) executed by grading sets the mark it names whatever the classifier's roles say:
  it rests on its approval chain. A mark set so changes only by whoever may set its status, or by another
  correction or an appeal decision.
- An archived academic year (RULES.md §9) refuses every change to its sessions' marks, topics, check-ins and
  excuses; only an appeal decision (commission) passes.

The answers, event payloads and audit entries are shaped here too (contracts/attendance.py describes them);
handlers.py loads through queries.py, asks these functions and records what they decide. The check-in and
archived-year rules the gateway applies too are kernel/checkin.py's (imported here under their names).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from contracts.attendance import CHECKIN_LIMITS, CheckinRequest  # noqa: F401
from kernel.checkin import (  # noqa: F401
    COMMISSION,
    PRESENT,
    ClosedYear,
    address_allowed,
    check_checkin,
    checkin_open,
    checkin_window,
    on_roster,
    session_day,
    year_lock,
)
from kernel.errors import Conflict, DomainError, Forbidden, Locked, WindowClosed
from kernel.policy import CHECKIN, MAKEUP, Policy
from kernel.roster import IMPORTED, Period, enrolled_on, enrolment_periods  # noqa: F401
from kernel.validation import Errors, invalid, reject  # noqa: F401

SOURCES = ("teacher", "checkin", "excuse", "makeup", "correction")
CORRECTION = "correction"  # a mark written by an executed late correction (003 §4.4.2)
APPROVED = (CORRECTION, COMMISSION)  # writers whose change rests on an approval, not on the classifier's roles
PROTECTED_SOURCES = ("excuse", "makeup", "correction")
ABSENT = "absent"
MAX_EXCUSE_DAYS = 366
REFERENCES = ("group", "subgroup", "teacher", "discipline")


# -- rosters (003 §2.1: the student list is built from orders) ------------------------------------------------


def roster(enrolments: Iterable[tuple[str, Period]], group: str, subgroup: str | None, day: date) -> list[str]:
    """The students of a session: (student, period) pairs in, sorted student codes out."""
    by_student: dict[str, list[Period]] = {}
    for student, period in enrolments:
        by_student.setdefault(student, []).append(period)
    return sorted(s for s, periods in by_student.items() if on_roster(periods, group, subgroup, day))


# -- the timetable (000 §2, 002 §3.5: sessions only from the schedule, only for the load) ---------------------


@dataclass(frozen=True)
class StoredSession:
    id: int
    ref: str
    term: str
    discipline: str
    group: str
    subgroup: str | None
    kind: str
    teacher: str
    starts_at: datetime
    minutes: int
    room: str | None
    has_marks: bool = False


@dataclass
class TimetableKnown:
    groups: dict[str, list[str]]  # code -> subgroups
    assignments: set[tuple[str, str, str, str, str | None]]  # (teacher, discipline, group, kind, subgroup)
    existing: dict[str, StoredSession]  # ref -> stored session


@dataclass
class TimetablePlan:
    new: list[dict[str, Any]]
    changed: list[tuple[StoredSession, dict[str, Any]]]  # (stored, incoming row)
    unchanged: list[StoredSession]


MUTABLE = ("teacher", "starts_at", "minutes", "room")
IDENTITY = ("discipline", "group", "subgroup", "kind")


def check_timetable(batch: Mapping[str, Any], known: TimetableKnown, policy: Policy) -> TimetablePlan:
    """Validate a whole timetable batch (as loaded by TimetableSchema) and sort it into new, changed and
    unchanged sessions. Raises ValidationFailed naming every bad row (`sessions[i].field`)."""
    errors = Errors()
    term = batch["term"]
    if term["ends"] < term["starts"]:
        errors.add("term.ends", "the term ends before it starts")
    pairs = {(a[1], a[2]) for a in known.assignments}
    seen: dict[str, int] = {}
    plan = TimetablePlan(new=[], changed=[], unchanged=[])
    for i, row in enumerate(batch["sessions"]):
        where = f"sessions[{i}]"
        if row["ref"] in seen:
            errors.add(f"{where}.ref", f"duplicate ref {row['ref']!r} (also in row {seen[row['ref']]})")
        else:
            seen[row["ref"]] = i
        group, subgroup = row["group"], row["subgroup"]
        key = (row["teacher"], row["discipline"], group, row["kind"], subgroup)
        if group not in known.groups:
            errors.add(f"{where}.group", f"unknown group {group!r}")
        elif subgroup is not None and subgroup not in known.groups[group]:
            errors.add(f"{where}.subgroup", f"group {group!r} has no subgroup {subgroup!r}")
        elif row["kind"] == "lecture" and subgroup is not None:
            errors.add(f"{where}.subgroup", "a lecture is for the whole group: no subgroup")
        elif key not in known.assignments:
            if (row["discipline"], group) not in pairs:
                errors.add(f"{where}.discipline",
                           f"discipline {row['discipline']!r} is not in the load of group {group!r}")
            else:
                who = f"{row['kind']}" + (f", subgroup {subgroup}" if subgroup else "")
                errors.add(f"{where}.teacher",
                           f"no assignment of the load: {row['teacher']} does not teach {row['discipline']} "
                           f"({who}) to {group}")
        day = session_day(policy, row["starts_at"])
        if not term["starts"] <= day <= term["ends"]:
            errors.add(f"{where}.starts_at", f"{day.isoformat()} is outside the term "
                                             f"{term['starts'].isoformat()}..{term['ends'].isoformat()}")
        stored = known.existing.get(row["ref"])
        if stored is None:
            plan.new.append(row)
            continue
        if stored.term != term["code"]:
            errors.add(f"{where}.ref", f"ref {row['ref']!r} is a session of term {stored.term!r}")
        elif any(getattr(stored, k) != row[k] for k in IDENTITY):
            errors.add(f"{where}.ref", f"ref {row['ref']!r} names a session of another discipline, group or kind")
        if all(getattr(stored, k) == row[k] for k in MUTABLE):
            plan.unchanged.append(stored)
            continue
        if stored.has_marks and stored.starts_at != row["starts_at"]:
            errors.add(f"{where}.starts_at", "the session already has attendance marks: it cannot move")
        plan.changed.append((stored, row))
    reject(errors)
    return plan


def only_references(errors: Mapping[str, Any]) -> bool:
    """Whether a refused timetable names only rows whose group or load this service may not have heard of yet
    (identity's events trail a load imported a moment ago)."""
    return bool(errors) and all(key.rsplit(".", 1)[-1] in REFERENCES for key in errors)


# -- marks (003 App. 2, §4.2; 002 §3.5; 004 §6) ------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    status: str
    source: str
    entered_at: datetime | None = None  # a teacher's value: when it was first entered


@dataclass(frozen=True)
class Change:
    student: str
    old: str | None
    new: str


def source_for(policy: Policy, role: str, status: str) -> str:
    if role == CORRECTION:
        return "correction"
    if role == MAKEUP:
        return "makeup"
    if role == CHECKIN:
        return "checkin"
    if status in policy.attendance.excuse_kinds:
        return "excuse"
    return "teacher"


def may_replace(policy: Policy, role: str, current: Mark) -> bool:
    """A mark backed by a document, a make-up or a correction (003 §4.2.4, §5.4.2, §4.4.2) changes only by whoever
    may set it, or by another approved change; a completed make-up may close an absence it applies to (003 §5.2.2:
    excused absences are made up too)."""
    if current.source not in PROTECTED_SOURCES or role in APPROVED:
        return True
    if policy.may_set(role, current.status):
        return True
    return role == MAKEUP and current.status in policy.makeup.applies_to


def decide_marks(policy: Policy, role: str, marks: Sequence[Mapping[str, str]], roster: Iterable[str],
                 current: Mapping[str, Mark], now: datetime | None = None) -> list[Change]:
    """The changes a batch of marks makes, or the refusal: an unknown status or a repeated student (422),
    a status the role may not set (403), a student not on the roster (422), a document-backed mark the role
    may not undo (403), a teacher's own mark changed after its self-correction window (409 window_closed: 003
    §4.4.1 three days from its entry; none at kostanay, 004 §4, §13; the correction chain is the way). Unchanged
    marks make no change; marks not sent stay as they are."""
    errors = Errors()
    seen: dict[str, int] = {}
    for i, m in enumerate(marks):
        if not policy.has_code(m["status"]):
            keys = ", ".join(c.key for c in policy.codes)
            errors.add(f"marks[{i}].status", f"unknown status {m['status']!r}; one of: {keys}")
        if m["student"] in seen:
            errors.add(f"marks[{i}].student", f"student {m['student']!r} repeats (also mark {seen[m['student']]})")
        else:
            seen[m["student"]] = i
    reject(errors)
    for i, m in enumerate(marks):
        if role not in APPROVED and not policy.may_set(role, m["status"]):
            who = ", ".join(policy.code(m["status"]).set_by)
            message = f"a {role} may not set {m['status']!r} (set by: {who})"
            raise Forbidden(f"marks[{i}].status: {message}", {f"marks[{i}].status": [message]})
    members = set(roster)
    for i, m in enumerate(marks):
        if m["student"] not in members:
            errors.add(f"marks[{i}].student", f"{m['student']} is not on the roster of this session")
    reject(errors)
    changes: list[Change] = []
    for i, m in enumerate(marks):
        stored = current.get(m["student"])
        if stored is not None and stored.status == m["status"]:
            continue
        if stored is not None and not may_replace(policy, role, stored):
            message = f"the mark is {stored.status!r} (from {stored.source}); a {role} may not change it"
            raise Forbidden(f"marks[{i}]: {message}", {f"marks[{i}].status": [message]})
        if (role == "teacher" and now is not None and stored is not None and stored.source == "teacher"
                and stored.entered_at is not None and not policy.is_open("self_correction", stored.entered_at, now)):
            errors.add(f"marks[{i}].status", f"{m['student']}: entered {policy.local(stored.entered_at):%Y-%m-%d %H:%M}"
                                             "; past the self-correction window, request a correction")
        changes.append(Change(m["student"], stored.status if stored else None, m["status"]))
    if errors:
        raise WindowClosed("a mark entered before can no longer be changed by the teacher; request a correction",
                           errors.by_field)
    return changes


def entry_deadline(policy: Policy, starts_at: datetime) -> datetime | None:
    return policy.deadline("attendance_entry", starts_at)


def entry_late(policy: Policy, starts_at: datetime, first_entry_at: datetime) -> bool:
    """A first entry after the attendance-entry window (003 §4.2.1: 24 h; 002 §4.3: the class day) is late;
    a window without a time bound is never late."""
    deadline = entry_deadline(policy, starts_at)
    return deadline is not None and first_entry_at > deadline


# -- the archived year (RULES.md §9) --------------------------------------------------------------------------


def check_year(closed: Iterable[ClosedYear], first: date, last: date | None = None, role: str | None = None) -> None:
    """Refuse (409 locked) a change to sessions dated in [first, last] of an archived year (`year_lock`)."""
    reason = year_lock(closed, first, last, role)
    if reason:
        raise Locked(reason)


# -- QR check-in (preset `checkin`) ------------------------------------------------------------------------


def shared_devices(checkins: Iterable[tuple[str, str | None]]) -> dict[str, list[str]]:
    """Devices that checked in more than one student (one phone scanning for absent friends)."""
    by_device: dict[str, set[str]] = {}
    for student, device in checkins:
        if device:
            by_device.setdefault(device, set()).add(student)
    return {d: sorted(s) for d, s in sorted(by_device.items()) if len(s) > 1}


@dataclass(frozen=True)
class CheckinVerdict:
    request: CheckinRequest
    outcome: str  # accepted | repeat | refused
    code: str | None = None  # the refusal's error code (forbidden, window_closed, locked, not_found)
    reason: str | None = None


def judge_checkins(policy: Policy, requests: Iterable[CheckinRequest], sessions: Mapping[int, Any],
                   periods: Mapping[str, Sequence[Period]], done: Iterable[tuple[int, str]],
                   closed: Iterable[ClosedYear]) -> list[CheckinVerdict]:
    """Each request's verdict, in order: a student's first check-in to a session is accepted if the rules
    allow it then (roster on the session's date, window at the scan's instant, network, archived year); any
    later one for the same session is a repeat (a no-op), whether stored before or earlier in this batch.
    `sessions` maps ids to rows with `group`, `subgroup`, `starts_at`."""
    seen = set(done)
    closed = list(closed)
    verdicts = []
    for r in requests:
        key = (r.session, r.student)
        if key in seen:
            verdicts.append(CheckinVerdict(r, "repeat"))
            continue
        s = sessions.get(r.session)
        if s is None:
            verdicts.append(CheckinVerdict(r, "refused", "not_found", f"no session {r.session}"))
            continue
        lock = year_lock(closed, session_day(policy, s.starts_at), role=CHECKIN)
        if lock:
            verdicts.append(CheckinVerdict(r, "refused", "locked", lock))
            continue
        try:
            check_checkin(policy, periods.get(r.student, ()), s.group, s.subgroup, s.starts_at, r.at, r.address)
        except DomainError as refusal:
            verdicts.append(CheckinVerdict(r, "refused", refusal.code, refusal.detail))
            continue
        seen.add(key)
        verdicts.append(CheckinVerdict(r, "accepted"))
    return verdicts


# -- excuses (003 §4.2.3-4.2.4) ----------------------------------------------------------------------------


def document_deadline(policy: Policy, to: date) -> datetime | None:
    """The last instant to hand the document in, or None when it has no time bound: the preset's
    `excuse_document` window counted from the student's return (003 §4.2.3: "within 3 working days from the day
    of coming back to study"), the first working day after the absence's last day; like every period in days it
    starts the day after that (kernel/policy.py)."""
    back = policy.add_working_days(to, 1)
    return policy.deadline("excuse_document", datetime.combine(back, time(12), tzinfo=policy.tz))


def document_due(policy: Policy, to: date) -> date | None:
    deadline = document_deadline(policy, to)
    return deadline.date() if deadline is not None else None


def late_filing(policy: Policy, to: date, filed_at: datetime) -> bool:
    deadline = document_deadline(policy, to)
    return deadline is not None and filed_at > deadline


def check_excuse(policy: Policy, body: Mapping[str, Any], *, student_known: bool, actor: str, role: str) -> None:
    if role == "student" and actor != body["student"]:
        raise Forbidden("a student files an excuse only for themselves")
    if role not in ("student", "directorate"):
        raise Forbidden(f"a {role} does not file excuses (the student or the directorate does)")
    errors = Errors()
    kinds = policy.attendance.excuse_kinds
    if not kinds:
        errors.add("kind", "this institution has no document-backed absences")
    elif body["kind"] not in kinds:
        errors.add("kind", f"unknown kind {body['kind']!r}; one of: {', '.join(kinds)}")
    if not student_known:
        errors.add("student", f"unknown student {body['student']!r}")
    if body["to"] < body["from_"]:
        errors.add("to", "ends before it starts")
    elif (body["to"] - body["from_"]).days >= MAX_EXCUSE_DAYS:
        errors.add("to", f"an excuse covers at most {MAX_EXCUSE_DAYS} days")
    reject(errors)


def check_decision(state: str) -> None:
    if state != "pending":
        raise Conflict(f"the excuse is already {state}")


def excused_changes(kind: str, start: date, end: date,
                    marks: Iterable[tuple[int, date, str, Mark]]) -> list[tuple[int, Change]]:
    """Approval turns every `absent` mark on a session whose local date is in [start, end] into `kind`
    (003 §4.2.4); other marks (present, made up, already excused) stay. `marks`: (session, day, student, mark)."""
    return [(session, Change(student, mark.status, kind)) for session, day, student, mark in marks
            if start <= day <= end and mark.status == ABSENT]


def excuse_range(policy: Policy, start: date, end: date) -> tuple[datetime, datetime]:
    """The instants of the sessions an excuse covers: from the start of its first local day to the start of the
    day after its last (exclusive)."""
    return (datetime.combine(start, time.min, tzinfo=policy.tz),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=policy.tz))


def excuse_approval(excuse_id: int) -> str:
    """How the marks an approved excuse changes name their approval."""
    return f"excuse {excuse_id}"


def decided_state(approve: bool) -> str:
    return "approved" if approve else "rejected"


def excused_by_session(changes: Iterable[tuple[int, Change]]) -> tuple[dict[int, list[Change]], list[dict[str, Any]]]:
    """An approval's changes grouped per session (one `marks.recorded` each) and as the answer lists them."""
    by_session: dict[int, list[Change]] = {}
    changed: list[dict[str, Any]] = []
    for session, c in changes:
        by_session.setdefault(session, []).append(c)
        changed.append({"session": session, "student": c.student, "old": c.old, "new": c.new})
    return by_session, changed


# -- marks: what a write stores (003 §4.2.1, §4.4.1) --------------------------------------------------------------


def check_marks_body(marks: Any) -> None:
    if not isinstance(marks, list):
        raise invalid("marks", "a list of {student, status}")


def is_first_entry(first_entry_at: datetime | None, wanted: Sequence[Any], role: str) -> bool:
    """The teacher's first entry of a session's attendance (003 §4.2.1); a make-up or a correction is not it."""
    return first_entry_at is None and bool(wanted) and role not in (MAKEUP, *APPROVED)


@dataclass(frozen=True)
class MarkWrite:
    """One mark as a change stores it: `entered` is when a teacher's value was entered (None for any other
    source); `keeps_entry` says a stored teacher's mark keeps its own first entry (the self-correction window is
    timed from it, 003 §4.4.1)."""

    student: str
    status: str
    source: str
    entered: datetime | None
    keeps_entry: bool


def mark_writes(policy: Policy, role: str, changes: Iterable[Change], stored: Mapping[str, Mark],
                now: datetime) -> list[MarkWrite]:
    writes = []
    for c in changes:
        source = source_for(policy, role, c.new)
        current = stored.get(c.student)
        keeps = current is not None and current.source == "teacher" and current.entered_at is not None
        writes.append(MarkWrite(c.student, c.new, source, now if source == "teacher" else None, keeps))
    return writes


def batch_source(policy: Policy, role: str, changes: Sequence[Change]) -> str:
    """The source a `marks.recorded` event names: its first change's (a first entry without changes: teacher)."""
    return source_for(policy, role, changes[0].new) if changes else "teacher"


def mark_action(role: str) -> str:
    return "corrected" if role == CORRECTION else "recorded"


# -- the wire: answers, event payloads and audit entries (API.md "Attendance"; schemas.py) -------------------------

SCHEDULED = ("id", "ref", "term", "discipline", "group", "subgroup", "kind", "teacher", "starts_at", "minutes",
             "room")
SESSION_FIELDS = ("ref", "discipline", "group", "subgroup", "kind", "teacher", "starts_at", "minutes", "room")


def iso(policy: Policy, value: datetime | None) -> str | None:
    """An instant as the API shows it: ISO 8601 in the institution's time zone (as kernel.wire.iso)."""
    return policy.local(value).isoformat() if value is not None else None


def session_chain(session_id: int) -> str:
    """The audit chain of a session: its marks, check-ins and topic (kernel.audit: one chain per stream)."""
    return f"session:{session_id}"


def excuse_chain(excuse_id: int) -> str:
    return f"excuse:{excuse_id}"


def timetable_chain(term: str) -> str:
    return f"timetable:{term}"


def bound(policy: Policy, value: str, field: str, end: bool) -> tuple[datetime, bool]:
    """A date is a whole local day (from its start; to the start of the next day, exclusive); a date-time is
    itself (inclusive). Returns (instant, inclusive)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1 if end else 0), time.min, tzinfo=policy.tz), not end
        instant = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise invalid(field, "not an ISO date or date-time") from None
    return (instant if instant.tzinfo else instant.replace(tzinfo=policy.tz)), True


def session_cursor(parts: Sequence[Any]) -> tuple[datetime, int]:
    """The (starts_at, id) a page of sessions continues after, from a decoded cursor."""
    try:
        return datetime.fromisoformat(parts[0]), int(parts[1])
    except (TypeError, ValueError):
        raise invalid("cursor", "not a cursor this service gave") from None


def session_cursor_key(row: Any) -> tuple[str, int]:
    return row.starts_at.isoformat(), row.id


def period_of(e: Any) -> Period:
    """An enrolment row (group, subgroup, starts, ends) as a period."""
    return Period(e.group, e.subgroup, e.starts, e.ends)


def mark_label(policy: Policy, status: str) -> str:
    """The mark a status shows as (the classifier's `mark`); a status the preset no longer has shows itself."""
    return policy.code(status).mark if policy.has_code(status) else status


def mark_view(policy: Policy, m: Any) -> dict[str, Any]:
    return {"student": m.student, "status": m.status, "mark": mark_label(policy, m.status),
            "source": m.source, "set_at": iso(policy, m.set_at)}


def session_summary(policy: Policy, row: Any) -> dict[str, Any]:
    return {"id": row.id, "ref": row.ref, "term": row.term, "discipline": row.discipline, "group": row.group,
            "subgroup": row.subgroup, "kind": row.kind, "teacher": row.teacher,
            "starts_at": iso(policy, row.starts_at), "minutes": row.minutes, "room": row.room,
            "planned_topic": row.planned_topic, "topic": row.topic, "work_kind": row.work_kind,
            "late": bool(row.late), "first_entry_at": iso(policy, row.first_entry_at),
            "last_entry_at": iso(policy, row.last_entry_at)}


def session_view(policy: Policy, row: Any, marks: Iterable[Any], roster: Iterable[str],
                 student: str | None = None) -> dict[str, Any]:
    """A session with its marks (sorted by student) and roster; one student's only when `student` is given."""
    return {**session_summary(policy, row),
            "marks": [mark_view(policy, m) for m in marks],
            "roster": [s for s in roster if student is None or s == student]}


def live_roster(policy: Policy, row: Any, roster: Iterable[str], marks: Mapping[str, Any],
                checkins: Mapping[str, Any], refused: Iterable[Any]) -> dict[str, Any]:
    """The teacher's live view of a session: each student's mark and check-in, the devices that checked in more
    than one student, and the scans refused by this service's re-check (attendance.checkins)."""
    shared = shared_devices((c.student, c.device) for c in checkins.values())
    flagged = {st for students in shared.values() for st in students}
    students = []
    for code in roster:
        mark, chk = marks.get(code), checkins.get(code)
        students.append({
            "student": code, "status": mark.status if mark else None,
            "mark": mark_label(policy, mark.status) if mark else None,
            "checked_in_at": iso(policy, chk.at) if chk else None, "device": chk.device if chk else None,
            "address": chk.address if chk else None, "shared_device": code in flagged})
    return {"session": row.id, "students": students,
            "shared_devices": [{"device": d, "students": st} for d, st in shared.items()],
            "refused_checkins": [{"student": r.student, "at": iso(policy, r.at), "code": r.code, "reason": r.reason}
                                 for r in refused]}


def scheduled_view(policy: Policy, values: Mapping[str, Any]) -> dict[str, Any]:
    """The `session.scheduled` payload of a session a timetable created or changed."""
    view = {k: values.get(k) for k in SCHEDULED}
    view["starts_at"] = iso(policy, values["starts_at"])
    return view


def marks_event(policy: Policy, row: Any, changes: Iterable[Change], *, actor: str, on_behalf_of: str | None,
                source: str, reason: str | None = None, approval: str | None = None) -> dict[str, Any]:
    """The `marks.recorded` payload: the session's facts its readers keep, and the changes."""
    return {"session": row.id, "term": row.term, "discipline": row.discipline, "group": row.group,
            "subgroup": row.subgroup, "kind": row.kind, "teacher": row.teacher,
            "starts_at": iso(policy, row.starts_at),
            "changes": [{"student": c.student, "old": c.old, "new": c.new} for c in changes],
            "late": bool(row.late), "first_entry_at": iso(policy, row.first_entry_at), "source": source,
            "actor": actor, "on_behalf_of": on_behalf_of, "reason": reason, "approval": approval}


def topic_event(policy: Policy, row: Any, actor: str, on_behalf_of: str | None) -> dict[str, Any]:
    """The `topic.recorded` payload."""
    return {"session": row.id, "term": row.term, "discipline": row.discipline, "group": row.group,
            "subgroup": row.subgroup, "kind": row.kind, "teacher": row.teacher,
            "starts_at": iso(policy, row.starts_at), "planned_topic": row.planned_topic, "topic": row.topic,
            "work_kind": row.work_kind, "actor": actor, "on_behalf_of": on_behalf_of}


def excuse_view(policy: Policy, e: Any) -> dict[str, Any]:
    """An excuse as answered and as `excuse.filed` carries it (with the date its document is due)."""
    due = document_due(policy, e.to)
    return {"id": e.id, "student": e.student, "from": e.from_.isoformat(), "to": e.to.isoformat(),
            "kind": e.kind, "document": e.document, "filed_by": e.filed_by, "filed_at": iso(policy, e.filed_at),
            "late_filing": bool(e.late_filing), "document_due": due.isoformat() if due else None,
            "state": e.state, "decided_by": e.decided_by, "decided_at": iso(policy, e.decided_at), "note": e.note}


def faculty_group(current: Period | None, department: str | None) -> dict[str, Any]:
    if current is None:
        return {"group": None, "subgroup": None, "department": None}
    return {"group": current.group, "subgroup": current.subgroup, "department": department}


def mark_audits(session_id: int, changes: Iterable[Change], *, action: str, actor: str,
                on_behalf_of: str | None = None, reason: str | None = None,
                approval: str | None = None) -> list[dict[str, Any]]:
    """One audit entry per changed mark, in the session's chain."""
    entries = []
    for c in changes:
        entry = {"entity": "mark", "entity_id": f"{session_id}:{c.student}", "action": action, "actor": actor,
                 "student": c.student, "old": c.old, "new": c.new, "reason": reason, "approval": approval,
                 "chain": session_chain(session_id)}
        if action != "excused":
            entry["on_behalf_of"] = on_behalf_of
        entries.append(entry)
    return entries


def topic_audit(session_id: int, action: str, actor: str, on_behalf_of: str | None, old: Mapping[str, Any],
                new: Mapping[str, Any]) -> dict[str, Any]:
    return {"entity": "session", "entity_id": str(session_id), "action": action, "actor": actor,
            "on_behalf_of": on_behalf_of, "old": dict(old), "new": dict(new), "chain": session_chain(session_id)}


def excuse_audit(excuse_id: int, student: str, action: str, actor: str, **entry: Any) -> dict[str, Any]:
    return {"entity": "excuse", "entity_id": str(excuse_id), "action": action, "actor": actor, "student": student,
            **entry, "chain": excuse_chain(excuse_id)}


# -- the timetable's writes ---------------------------------------------------------------------------------------


def term_change(stored: tuple[date, date] | None, term: Mapping[str, Any]) -> str | None:
    """What a timetable's term does to the stored one: add it, update its dates, or nothing."""
    if stored is None:
        return "add"
    return "update" if stored != (term["starts"], term["ends"]) else None


def new_sessions(plan: TimetablePlan, term: str) -> list[dict[str, Any]]:
    """The rows of the sessions a timetable creates."""
    return [{**{k: r[k] for k in SESSION_FIELDS}, "term": term, "late": False} for r in plan.new]


def moved_sessions(plan: TimetablePlan) -> list[dict[str, Any]]:
    """The updates of the sessions a timetable changes (only their mutable fields)."""
    return [{"id": st.id, **{k: r[k] for k in MUTABLE}} for st, r in plan.changed]


@dataclass
class TimetableOutcome:
    scheduled: list[dict[str, Any]]  # one `session.scheduled` each, in this order
    result: dict[str, Any]  # the answer
    audit: dict[str, Any] | None  # the timetable's audit entry (none when nothing changed)


def timetable_outcome(plan: TimetablePlan, term: str, refs: Sequence[str], created: Mapping[str, int],
                      actor: str) -> TimetableOutcome:
    """Every ref's session id, the sessions scheduled (new, then changed) and the answer; `created` maps the new
    sessions' refs to the ids they were stored with."""
    ids = {st.ref: st.id for st in plan.unchanged}
    ids.update(created)
    scheduled = [{**v, "id": ids[v["ref"]]} for v in new_sessions(plan, term)]
    for st, r in plan.changed:
        ids[st.ref] = st.id
        scheduled.append({**{k: r[k] for k in SESSION_FIELDS}, "term": term, "id": st.id})
    result = {"term": term, "sessions": {ref: ids[ref] for ref in refs}, "created": len(plan.new),
              "updated": len(plan.changed), "unchanged": len(plan.unchanged)}
    audit = None
    if plan.new or plan.changed:
        audit = {"entity": "timetable", "entity_id": term, "action": "imported", "actor": actor,
                 "chain": timetable_chain(term), "new": {k: result[k] for k in ("created", "updated", "unchanged")}}
    return TimetableOutcome(scheduled, result, audit)
