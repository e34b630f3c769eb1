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
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from kernel.errors import Conflict, DomainError, Forbidden, WindowClosed
from kernel.policy import CHECKIN, MAKEUP, Policy
from kernel.roster import IMPORTED, Period, enrolled_on, enrolment_periods  # noqa: F401
from kernel.validation import Errors, reject  # noqa: F401

SOURCES = ("teacher", "checkin", "excuse", "makeup", "correction")
CORRECTION = "correction"  # a mark written by an executed late correction (003 §4.4.2)
COMMISSION = "commission"  # an appeal decision (003 §6.3): the one writer an archived year admits
APPROVED = (CORRECTION, COMMISSION)  # writers whose change rests on an approval, not on the classifier's roles
PROTECTED_SOURCES = ("excuse", "makeup", "correction")
ABSENT = "absent"
PRESENT = "present"
MAX_EXCUSE_DAYS = 366
REFERENCES = ("group", "subgroup", "teacher", "discipline")


# -- rosters (003 §2.1: the student list is built from orders) ------------------------------------------------


def on_roster(periods: Iterable[Period], group: str, subgroup: str | None, day: date) -> bool:
    """Whether a student with these enrolment periods belongs to a session of `group`/`subgroup` on `day`."""
    period = enrolled_on([p for p in periods if p.group == group], day)
    return period is not None and (subgroup is None or period.subgroup == subgroup)


def roster(enrolments: Iterable[tuple[str, Period]], group: str, subgroup: str | None, day: date) -> list[str]:
    """The students of a session: (student, period) pairs in, sorted student codes out."""
    by_student: dict[str, list[Period]] = {}
    for student, period in enrolments:
        by_student.setdefault(student, []).append(period)
    return sorted(s for s, periods in by_student.items() if on_roster(periods, group, subgroup, day))


def session_day(policy: Policy, starts_at: datetime) -> date:
    """A session belongs to the local date of its start, in the institution's timezone."""
    return policy.local(starts_at).date()


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


@dataclass(frozen=True)
class ClosedYear:
    year: str
    starts: date
    ends: date  # inclusive


def year_lock(closed: Iterable[ClosedYear], first: date, last: date | None = None,
              role: str | None = None) -> str | None:
    """Why a change to sessions dated in [first, last] (one day when `last` is None) is refused (409 locked),
    or None: a closed academic year admits only an appeal decision (role commission)."""
    if role == COMMISSION:
        return None
    last = first if last is None else last
    for y in sorted(closed, key=lambda y: y.starts):
        if y.starts <= last and first <= y.ends:
            return f"the academic year {y.year} is archived: only an appeal decision changes it (RULES.md §9)"
    return None


# -- QR check-in (preset `checkin`) ------------------------------------------------------------------------


def checkin_window(policy: Policy, starts_at: datetime) -> tuple[datetime, datetime]:
    c = policy.checkin
    return (starts_at - timedelta(minutes=c.opens_minutes_before_start),
            starts_at + timedelta(minutes=c.closes_minutes_after_start))


def checkin_open(policy: Policy, starts_at: datetime, now: datetime) -> bool:
    """Both edges belong to the window."""
    opens, closes = checkin_window(policy, starts_at)
    return opens <= now <= closes


def address_allowed(policy: Policy, address: str | None) -> bool:
    subnets = policy.checkin.allowed_subnets
    if not subnets:
        return True
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in subnets)


def check_checkin(policy: Policy, periods: Iterable[Period], group: str, subgroup: str | None,
                  starts_at: datetime, now: datetime, address: str | None) -> None:
    """Raise unless this student may check in to this session now, from this address."""
    if not policy.checkin.enabled or not policy.may_set(CHECKIN, PRESENT):
        raise Forbidden("QR check-in is not used at this institution")
    if not on_roster(periods, group, subgroup, session_day(policy, starts_at)):
        raise Forbidden("not on the roster of this session")
    if not checkin_open(policy, starts_at, now):
        opens, closes = checkin_window(policy, starts_at)
        raise WindowClosed(f"check-in is open from {policy.local(opens).isoformat()} "
                           f"to {policy.local(closes).isoformat()}")
    if not address_allowed(policy, address):
        raise Forbidden("check-in is accepted only from the institution's network")


def shared_devices(checkins: Iterable[tuple[str, str | None]]) -> dict[str, list[str]]:
    """Devices that checked in more than one student (one phone scanning for absent friends)."""
    by_device: dict[str, set[str]] = {}
    for student, device in checkins:
        if device:
            by_device.setdefault(device, set()).add(student)
    return {d: sorted(s) for d, s in sorted(by_device.items()) if len(s) > 1}


CHECKIN_LIMITS = {"student": 64, "address": 64, "device": 200}  # the check-in table's columns


@dataclass(frozen=True)
class CheckinRequest:
    """A scanned code the gateway accepted, on its way to this service (kernel.commands.CHECKIN). `at` is
    when it was scanned: the window is judged at that instant, however long the queue held it."""

    id: str
    session: int
    student: str
    at: datetime
    address: str | None
    device: str | None

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "session": self.session, "student": self.student, "at": self.at.isoformat(),
                "address": self.address, "device": self.device}

    @classmethod
    def from_wire(cls, body: Any) -> CheckinRequest:
        """Raise ValueError, naming the field, for anything but what `to_wire` makes."""
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        if not isinstance(body.get("id"), str) or not 1 <= len(body["id"]) <= 64:
            raise ValueError("id: a string of 1..64 characters")
        if not isinstance(body.get("session"), int) or isinstance(body["session"], bool) or body["session"] < 1:
            raise ValueError("session: a positive integer")
        try:
            at = datetime.fromisoformat(str(body["at"]))
        except (KeyError, ValueError):
            raise ValueError("at: an ISO date-time") from None
        if at.tzinfo is None:
            raise ValueError("at: needs a UTC offset")
        texts: dict[str, Any] = {}
        for field, longest in CHECKIN_LIMITS.items():
            value = body.get(field) or None  # "" = unknown
            if (value is None and field == "student") or (
                    value is not None and (not isinstance(value, str) or len(value) > longest)):
                raise ValueError(f"{field}: a string of 1..{longest} characters")
            texts[field] = value
        return cls(body["id"], body["session"], texts["student"], at, texts["address"], texts["device"])


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
