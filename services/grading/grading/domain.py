"""Grading rules as plain Python (RULES.md §4, §5, §9; API.md "Grades, statements, corrections").

- Grades sit on the preset's scale (RULES.md §4: 0-5 marks at jagu, whole points 0-100 at kostanay, points at
  oshtu/oshsu) and never above their assessment's maximum; a batch is checked whole before anything is written.
- The rating formula is preset data (`policy.grading.rating`): a component earns its maximum (for the
  discipline's control, exam or credit) times the student's share in what the component is computed from
  (002 §3.5 at jagu: attendance 8 and performance 10 for an exam discipline, 16 and 20 for a credit one).
- Modules: a session or a current assessment dated on or before the (latest) module 1 control belongs to
  module 1, a later one to module 2; before a module 1 control exists everything is module 1.
- Statements: open -> posted (teacher) -> closed (academic office); once posted the teacher is locked out of the
  data it rests on when `statements.lock_on_post` (002 §4.3, 001 §4.3); once closed only an appeal decision
  changes it (003 §7.6).
- Late corrections: the chain of `policy.corrections.chain` (003 §4.4.2; 004 §10, §13), one step after another.
- The academic year (1 September to 31 August) is archived as a whole: read-only, except a commission decision
  (003 §7.4).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Protocol

from contracts.grading import CORRECTION_STATES, KINDS, STATEMENT_STATES  # noqa: F401
from kernel.errors import Conflict, Forbidden, Locked, ValidationFailed, WindowClosed
from kernel.policy import Policy
from kernel.roster import IMPORTED, Period, enrolled_on, enrolment_periods  # noqa: F401
from kernel.validation import Errors, invalid, reject

COMMISSION = "commission"  # an appeal decision (003 §6.3): the one writer a closed statement or year admits
CORRECTION = "correction"  # a grade written by an executed late correction (003 §4.4.2)
# The window that dates a grade's entry, by assessment kind (RULES.md §5 rows "current/module/final grade").
ENTRY_WINDOW = {"current": "grade_entry", "module1": "module_grade_entry", "module2": "module_grade_entry",
                "final": "final_grade_entry"}


def number(value: float) -> float | int:
    """A grade or points value as JSON shows it: 4, not 4.0."""
    return int(value) if float(value).is_integer() else value


def maybe_number(value: float | None) -> float | int | None:
    return None if value is None else number(value)


# -- a request's fields (422 validation_error naming the field) ------------------------------------------------


def parse_date(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise invalid(field, "an ISO date (YYYY-MM-DD)") from None


def required_text(body: Mapping[str, Any], field: str, longest: int) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip() or len(value) > longest:
        raise invalid(field, f"a string of 1..{longest} characters")
    return value.strip()


def required_code(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(field, "a code")
    return value


# -- rosters (from identity's enrolment periods; `ends` exclusive) --------------------------------------------


def on_roster(periods: Iterable[Period], group: str, day: date) -> bool:
    return any(p.group == group and p.starts <= day and (p.ends is None or day < p.ends) for p in periods)


@dataclass(frozen=True)
class Enrolled:
    """One enrolment period of a student in the group asked about (`ends` exclusive; None = current)."""

    student: str
    starts: date
    ends: date | None


def roster_on(enrolled: Iterable[Enrolled], day: date) -> list[str]:
    """The group's students on `day`, sorted (RULES.md §2)."""
    return sorted({e.student for e in enrolled if e.starts <= day and (e.ends is None or day < e.ends)})


def discipline_control(stored: str | None) -> str:
    """A discipline's control as the rating reads it: exam unless identity said credit (or exam)."""
    return stored if stored in ("exam", "credit") else "exam"


# -- assessments and grades (RULES.md §4) ---------------------------------------------------------------------


def check_assessment(policy: Policy, body: Mapping[str, Any]) -> Errors:
    errors = Errors()
    if body.get("kind") not in KINDS:
        errors.add("kind", f"one of {', '.join(KINDS)}")
    top = body.get("max")
    if isinstance(top, bool) or not isinstance(top, int | float) or top <= 0:
        errors.add("max", "a positive number")
    elif not policy.grading.scale.accepts(top):
        errors.add("max", f"{number(top)} is not on the {policy.name} scale")
    return errors


def check_grades(policy: Policy, top: float, roster: Iterable[str], grades: Sequence[Mapping[str, Any]]) -> Errors:
    """The whole batch: every value on the preset's scale and not above the assessment's maximum, every student
    on the group's roster on the assessment's date, no student twice."""
    errors = Errors()
    members = set(roster)
    seen: dict[str, int] = {}
    for i, g in enumerate(grades):
        student = g.get("student")
        value: Any = g.get("value")
        if not isinstance(student, str) or not student:
            errors.add(f"grades[{i}].student", "a student code")
            continue
        if student in seen:
            errors.add(f"grades[{i}].student", f"{student} appears twice (also grades[{seen[student]}])")
        seen[student] = i
        if student not in members:
            errors.add(f"grades[{i}].student", f"{student} is not on the group's roster on the assessment's date")
        if not policy.grading.scale.accepts(value):
            errors.add(f"grades[{i}].value", f"{student}: {value!r} is not on the {policy.name} scale"
                                             f" ({describe_scale(policy)})")
        elif value > top:
            errors.add(f"grades[{i}].value", f"{student}: {number(value)} is above the assessment's maximum"
                                             f" {number(top)}")
    return errors


class AssessmentLike(Protocol):
    """What the rules read of a stored assessment (grading.models.Assessment is one)."""

    @property
    def id(self) -> int: ...
    @property
    def group(self) -> str: ...
    @property
    def discipline(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def date(self) -> dt.date: ...
    @property
    def max(self) -> float: ...


def assessment_values(policy: Policy, body: Any) -> dict[str, Any]:
    """A new assessment's fields: the kind and maximum checked together (on the preset's scale), then each text
    and the date."""
    if not isinstance(body, dict):
        raise invalid("body", "an object")
    reject(check_assessment(policy, body))
    return {"group": required_text(body, "group", 64), "discipline": required_text(body, "discipline", 64),
            "kind": body["kind"], "title": required_text(body, "title", 300),
            "date": parse_date(body.get("date"), "date"), "max": float(body["max"])}


def fact_of(a: AssessmentLike, grades: Mapping[str, float] | None = None) -> AssessmentFact:
    return AssessmentFact(a.id, a.kind, a.title, a.date, a.max, dict(grades or {}))


def grade_list(grades: Any) -> list[dict[str, Any]]:
    """A batch of grades as the request gives it: a list of objects (each checked by `check_grades`)."""
    if not isinstance(grades, list) or not all(isinstance(g, dict) for g in grades):
        raise invalid("grades", "a list of {student, value}")
    return grades


def describe_scale(policy: Policy) -> str:
    scale = policy.grading.scale
    if scale.kind == "marks":
        return "marks " + ", ".join(str(v) for v in scale.values or ())
    whole = "whole " if scale.integer else ""
    return f"{whole}points {number(scale.min or 0)}-{number(scale.max or 0)}"


@dataclass(frozen=True)
class Change:
    student: str
    old: float | None
    new: float


def grade_changes(stored: Mapping[str, float], grades: Sequence[Mapping[str, Any]]) -> list[Change]:
    """Only the values that differ from what is stored (writing the same value again changes nothing)."""
    return [Change(g["student"], stored.get(g["student"]), float(g["value"])) for g in grades
            if stored.get(g["student"]) is None or float(stored[g["student"]]) != float(g["value"])]


def refuse_late_changes(policy: Policy, role: str, changes: Sequence[Change], entered: Mapping[str, datetime],
                        now: datetime) -> None:
    """A teacher changes a grade already entered only inside the self-correction window counted from that grade's
    first entry (003 §4.4.1: 3 calendar days, also while the 5-day entry window of §4.3.1 is open; none at kostanay,
    004 §4, §13); past it the correction chain is the way (409 window_closed naming the students)."""
    if role != "teacher":
        return
    late = [c.student for c in changes if c.old is not None and c.student in entered
            and not policy.is_open("self_correction", entered[c.student], now)]
    if late:
        raise WindowClosed("a grade entered before can no longer be changed by the teacher (the self-correction "
                           "window has passed or the institution has none); request a correction",
                           {"grades": [f"{student}: past the self-correction window" for student in late]})


def grade_recorded(a: AssessmentLike, changes: Sequence[Change], late: Sequence[str], actor: str, role: str,
                   on_behalf_of: str | None, reason: str | None, approval: str | None) -> dict[str, Any]:
    """The `grade.recorded` payload: the changed values of one assessment, who and by which path."""
    return {
        "assessment": a.id, "group": a.group, "discipline": a.discipline, "kind": a.kind,
        "date": a.date.isoformat(), "max": number(a.max),
        "changes": [{"student": c.student, "old": maybe_number(c.old), "new": number(c.new)} for c in changes],
        "late": list(late), "actor": actor, "role": role, "on_behalf_of": on_behalf_of, "reason": reason,
        "approval": approval}


def grade_audits(a: AssessmentLike, changes: Sequence[Change], actor: str, on_behalf_of: str | None,
                 reason: str | None, approval: str | None) -> list[dict[str, Any]]:
    """One audit entry per changed grade (RULES.md §10: old and new value, who, why, on whose approval)."""
    return [{"entity": "grade", "entity_id": f"{a.id}:{c.student}", "action": "recorded", "actor": actor,
             "on_behalf_of": on_behalf_of, "student": c.student, "old": maybe_number(c.old), "new": number(c.new),
             "reason": reason, "approval": approval} for c in changes]


def statements_follow(role: str) -> bool:
    """A grade written by an appeal decision or an executed correction may sit under a posted or closed
    statement: that statement's rows are recomputed (003 §7.6)."""
    return role in (COMMISSION, CORRECTION)


def day_start(policy: Policy, day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=policy.tz)


def entry_deadline(policy: Policy, kind: str, day: date) -> datetime | None:
    """The last instant to enter a grade of this kind for work done on `day` (RULES.md §5; 003 §4.3.1: 5
    calendar days at oshtu), or None when the window is not a time."""
    return policy.deadline(ENTRY_WINDOW.get(kind, "grade_entry"), day_start(policy, day))


def grade_late(policy: Policy, kind: str, day: date, first_entry_at: datetime) -> bool:
    """A grade first entered after its entry deadline is flagged for the filling report."""
    deadline = entry_deadline(policy, kind, day)
    return deadline is not None and first_entry_at > deadline


# -- the academic year (RULES.md §9; 003 §7.4) -----------------------------------------------------------------


def academic_year(day: date) -> str:
    """1 September to 31 August: 2027-03-01 is in "2026-2027"."""
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


def year_bounds(year: str) -> tuple[date, date]:
    """ "2026-2027" -> (2026-09-01, 2027-08-31), both inclusive; ValueError for anything else."""
    parts = year.split("-") if isinstance(year, str) else []
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 4 for p in parts) or int(parts[1]) != int(parts[0]) + 1:
        raise ValueError(f"{year!r} is not an academic year like 2026-2027")
    return date(int(parts[0]), 9, 1), date(int(parts[1]), 8, 31)


# -- modules and the rating (RULES.md §4) ----------------------------------------------------------------------


@dataclass(frozen=True)
class SessionFact:
    id: int
    starts_at: datetime
    marks: Mapping[str, str]  # student -> attendance code key


@dataclass(frozen=True)
class AssessmentFact:
    id: int
    kind: str
    title: str
    day: date
    max: float
    grades: Mapping[str, float] = field(default_factory=dict)


def module_boundary(assessments: Iterable[AssessmentFact]) -> date | None:
    """The date of the latest module 1 control: what is dated on or before it is module 1."""
    days = [a.day for a in assessments if a.kind == "module1"]
    return max(days) if days else None


def module_of(day: date, boundary: date | None) -> int:
    return 1 if boundary is None or day <= boundary else 2


def assessment_module(a: AssessmentFact, boundary: date | None) -> int | None:
    if a.kind == "module1":
        return 1
    if a.kind == "module2":
        return 2
    if a.kind == "final":
        return None
    return module_of(a.day, boundary)


def _round(x: float) -> float | int:
    return number(round(x + 0.0, 2))


def attendance_summary(policy: Policy, statuses: Iterable[str]) -> dict[str, Any]:
    """Sessions held (with a mark for the student), present, absent, excused, made up; `rate` in percent.
    What each code counts as is the preset's `counts_as`: the share is present-equivalent sessions over held
    sessions less those that count as excused (an excused absence neither earns nor costs)."""
    counts = {"held": 0, "present": 0, "absent": 0, "excused": 0, "made_up": 0}
    earned = 0
    for status in statuses:
        counts["held"] += 1
        as_ = policy.code(status).counts_as if policy.has_code(status) else "absent"
        if status == "made_up":
            counts["made_up"] += 1
        else:
            counts[as_] += 1
        if as_ == "present":
            earned += 1
    base = counts["held"] - _excused(policy, counts)
    share = earned / base if base else (1.0 if counts["held"] else 0.0)
    return {**counts, "earned": earned, "counted": base, "share": share, "rate": _round(share * 100)}


def _excused(policy: Policy, counts: Mapping[str, int]) -> int:
    made_up_excused = policy.has_code("made_up") and policy.code("made_up").counts_as == "excused"
    return counts["excused"] + (counts["made_up"] if made_up_excused else 0)


def _attendance_component(policy: Policy, student: str, top: float, sessions: Sequence[SessionFact],
                          module: int | None, boundary: date | None) -> dict[str, Any]:
    chosen = [s for s in sessions if student in s.marks
              and (module is None or module_of(policy.local(s.starts_at).date(), boundary) == module)]
    summary = attendance_summary(policy, (s.marks[student] for s in chosen))
    points = top * summary["share"]
    if not summary["held"]:
        how = "no sessions held yet: 0"
    else:
        excused = summary["held"] - summary["counted"]
        note = f" ({excused} excused not counted)" if excused else ""
        how = (f"{number(top)} × {summary['earned']}/{summary['counted']} sessions attended{note}"
               f" = {_round(points)}")
    return {"points": _round(points), "max": number(top), "from": how}


def _current_component(student: str, top: float, assessments: Sequence[AssessmentFact]) -> dict[str, Any]:
    graded = [a for a in assessments if a.grades]
    if not graded:
        return {"points": 0, "max": number(top), "from": "no current grades yet: 0"}
    shares = [a.grades.get(student, 0.0) / a.max for a in graded]
    mean = sum(shares) / len(shares)
    terms = " + ".join(f"{number(a.grades.get(student, 0.0))}/{number(a.max)}" for a in graded)
    points = top * mean
    return {"points": _round(points), "max": number(top),
            "from": f"{number(top)} × mean({terms}) = {number(top)} × {round(mean, 4)} = {_round(points)}"
                    + (" (no grade counts 0)" if any(student not in a.grades for a in graded) else "")}


def _control_component(student: str, top: float, kind: str, assessments: Sequence[AssessmentFact]) -> dict[str, Any]:
    graded = [a for a in assessments if a.grades]
    if not graded:
        return {"points": 0, "max": number(top), "from": f"no {kind} grade yet: 0"}
    got = sum(a.grades.get(student, 0.0) for a in graded)
    out_of = sum(a.max for a in graded)
    points = top * got / out_of
    return {"points": _round(points), "max": number(top),
            "from": f"{number(top)} × {number(got)}/{number(out_of)} = {_round(points)}"
                    + (" (no grade counts 0)" if any(student not in a.grades for a in graded) else "")}


def student_result(policy: Policy, control: str, student: str, sessions: Sequence[SessionFact],
                   assessments: Sequence[AssessmentFact]) -> dict[str, Any]:
    """One student's components, rating, letter, 5-point grade and exam admission (RULES.md §4)."""
    rating = policy.grading.rating
    maxima = rating.maxima_for(control)
    boundary = module_boundary(assessments)
    components: dict[str, dict[str, Any]] = {}
    for c in rating.components:
        if c.key not in maxima:
            continue  # e.g. no final exam component for a credit discipline
        top = float(maxima[c.key])
        if c.source == "attendance":
            comp = _attendance_component(policy, student, top, sessions, c.module, boundary)
        else:
            mine = [a for a in assessments if a.kind == c.source
                    and (c.module is None or c.source != "current" or assessment_module(a, boundary) == c.module)]
            comp = (_current_component(student, top, mine) if c.source == "current"
                    else _control_component(student, top, c.source, mine))
        components[c.key] = {**comp, "source": c.source, "module": c.module}
    total = _round(sum(float(c["points"]) for c in components.values()))
    letter = policy.letter_for(min(float(total), rating.max))
    summary = attendance_summary(policy, (s.marks[student] for s in sessions if student in s.marks))
    before_final = _round(sum(float(c["points"]) for c in components.values() if c["source"] != "final"))
    admission = policy.grading.admission
    reasons = []
    if float(before_final) < admission.min_points:
        reasons.append(f"{before_final} points before the final, fewer than the {number(admission.min_points)}"
                       f" required")
    if summary["rate"] < admission.attendance_percent:
        reasons.append(f"attendance {summary['rate']}%, below the {number(admission.attendance_percent)}%"
                       f" required")
    return {
        "student": student,
        "attendance": {k: summary[k] for k in ("held", "present", "absent", "excused", "made_up", "rate")},
        "components": components,
        "before_final": before_final,
        "rating": total,
        "letter": letter.letter,
        "grade5": letter.grade5,
        "passed": letter.min >= policy.grading.pass_mark,
        "admitted": not reasons,
        "admission_reasons": reasons,
    }


def student_grades(student: str, assessments: Sequence[AssessmentFact]) -> list[dict[str, Any]]:
    return [{"assessment": a.id, "kind": a.kind, "title": a.title, "date": a.day.isoformat(),
             "value": number(a.grades[student]) if student in a.grades else None, "max": number(a.max)}
            for a in sorted(assessments, key=lambda a: (a.day, a.id))]


def gradebook_students(enrolled: Iterable[str], sessions: Sequence[SessionFact],
                       assessments: Sequence[AssessmentFact], student: str | None = None) -> list[str]:
    """Who a gradebook lists: everyone ever enrolled in the group, and anyone with a grade or a mark in the
    discipline (a student moved out keeps their results), sorted; one student when asked for one."""
    students = set(enrolled)
    for a in assessments:
        students.update(a.grades)
    for sf in sessions:
        students.update(sf.marks)
    return sorted(st for st in students if student is None or st == student)


def results(policy: Policy, control: str, students: Iterable[str], sessions: Sequence[SessionFact],
            assessments: Sequence[AssessmentFact]) -> list[dict[str, Any]]:
    """Each student's result (`student_result`) with their grades."""
    out = []
    for st in students:
        result = student_result(policy, control, st, sessions, assessments)
        result["grades"] = student_grades(st, assessments)
        out.append(result)
    return out


def gradebook(policy: Policy, group: str, discipline: str, control: str, rows: Sequence[dict[str, Any]],
              makeups: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The gradebook answer: each student's result with their counted make-ups (RULES.md §6)."""
    for r in rows:
        r["makeups"] = makeups.get(r["student"], [])
    return {"group": group, "discipline": discipline, "control": control,
            "rating_max": number(policy.grading.rating.max), "students": list(rows)}


# -- statements (003 §1.5, §7.6; 002 §4.3) ----------------------------------------------------------------------


STATEMENT_MOVES = {"post": ("open", "posted"), "close": ("posted", "closed")}


def statement_move(state: str, action: str) -> str:
    """open -> posted -> closed; anything else is a Conflict."""
    before, after = STATEMENT_MOVES[action]
    if state != before:
        raise Conflict(f"a statement can be {'posted' if action == 'post' else 'closed'} only when {before};"
                       f" this one is {state}")
    return after


def statement_row(policy: Policy, kind: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """A statement row from a gradebook result: a module statement carries that module's components and their
    sum (its letter from the share of the module's maximum, scaled to the rating maximum); the final statement
    carries every component, the rating, the letter and the 5-point grade."""
    comps: Mapping[str, Mapping[str, Any]] = result["components"]
    if kind == "final":
        return {"student": result["student"], "points": result["rating"], "letter": result["letter"],
                "grade5": result["grade5"], "admitted": result["admitted"],
                "components": {k: dict(v) for k, v in comps.items()}}
    module = 1 if kind == "module1" else 2
    chosen = {k: dict(v) for k, v in comps.items() if v["module"] == module}
    points = sum(float(v["points"]) for v in chosen.values())
    top = sum(float(v["max"]) for v in chosen.values())
    scaled = policy.grading.rating.max * points / top if top else 0.0
    letter = policy.letter_for(scaled)
    return {"student": result["student"], "points": _round(points), "max": number(top),
            "letter": letter.letter, "grade5": letter.grade5, "components": chosen}


def statement_covers(statement_kind: str, assessment: AssessmentFact, boundary: date | None) -> bool:
    """Whether a statement rests on an assessment's grades: the final statement on all of them, a module
    statement on its own control and the current work of its module."""
    if statement_kind == "final":
        return True
    module = 1 if statement_kind == "module1" else 2
    return assessment_module(assessment, boundary) == module


def statement_covers_session(statement_kind: str, day: date, boundary: date | None) -> bool:
    return statement_kind == "final" or module_of(day, boundary) == (1 if statement_kind == "module1" else 2)


def statement_rows(policy: Policy, kind: str, rows: Sequence[Mapping[str, Any]], sessions: Sequence[SessionFact],
                   assessments: Sequence[AssessmentFact]) -> tuple[list[dict[str, Any]], datetime | None]:
    """A statement's rows from the gradebook's results, and the instant it covers the journal until: the latest
    marked session or graded assessment (from the start of its day) it rests on."""
    boundary = module_boundary(assessments)
    instants = [sf.starts_at for sf in sessions if sf.marks
                and statement_covers_session(kind, policy.local(sf.starts_at).date(), boundary)]
    instants += [day_start(policy, a.day) for a in assessments if a.grades
                 and statement_covers(kind, a, boundary)]
    return [statement_row(policy, kind, r) for r in rows], max(instants) if instants else None


def check_statement_request(policy: Policy, group: Any, discipline: Any, kind: Any) -> None:
    """A statement is asked for by one of the preset's kinds, for a group and a discipline."""
    if kind not in policy.statements.kinds:
        raise invalid("kind", f"one of {', '.join(policy.statements.kinds)}")
    required_code("group", group)
    required_code("discipline", discipline)


def refuse_settled(existing: StatementFact | None, group: str, discipline: str) -> None:
    """Only an open statement is (re)computed on request; a posted or closed one stays as it was."""
    if existing is not None and existing.state != "open":
        raise Conflict(f"statement {existing.id} for {group} {discipline} {existing.kind} is already"
                       f" {existing.state}")


def statement_day(policy: Policy, covers_until: datetime | None, created_at: datetime) -> date:
    """The local day that places a statement in an academic year."""
    return policy.local(covers_until or created_at).date()


def refuse_archived(day: date, archived: bool) -> None:
    """Nothing of an archived academic year changes but by an appeal decision (RULES.md §9)."""
    if archived:
        raise Locked(f"the academic year {academic_year(day)} is archived (RULES.md §9)")


@dataclass(frozen=True)
class StatementFact:
    id: int
    kind: str
    state: str


def lock_reason(policy: Policy, role: str, covering: Iterable[StatementFact], year: str,
                year_closed: bool) -> str | None:
    """Why a write to graded data is refused (409 locked), or None. An appeal decision (role commission) passes
    everything; an executed late correction passes a posted statement but not a closed one or an archived year."""
    if role == COMMISSION:
        return None
    if year_closed:
        return f"the academic year {year} is archived: only an appeal decision changes it (RULES.md §9)"
    for st in covering:
        if st.state == "closed":
            return f"statement {st.id} ({st.kind}) is closed: only an appeal decision changes it"
        if st.state == "posted" and policy.statements.lock_on_post and role != CORRECTION:
            return f"statement {st.id} ({st.kind}) is posted: the data it rests on is locked"
    return None


def check_unlocked(policy: Policy, role: str, target: AssessmentFact, assessments: Sequence[AssessmentFact],
                   posted: Iterable[StatementFact], year_closed: bool) -> None:
    """409 locked when a posted or closed statement covering the assessment, or its archived year, refuses this
    writer (`lock_reason`); `assessments` are the discipline's, which place the module boundary."""
    boundary = module_boundary(assessments)
    fact = next((f for f in assessments if f.id == target.id), target)
    covering = [st for st in posted if statement_covers(st.kind, fact, boundary)]
    reason = lock_reason(policy, role, covering, academic_year(target.day), year_closed)
    if reason:
        raise Locked(reason)


# -- late corrections (003 §4.4.2; 004 §10, §13) ------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    action: str
    role: str
    actor: str
    at: datetime
    note: str | None = None


def next_step(policy: Policy, steps: Sequence[Step]) -> tuple[str, str] | None:
    """(action, role) of the chain's next step, or None when the chain is finished (executed or rejected)."""
    if any(s.action == "reject" for s in steps):
        return None
    done = len([s for s in steps if s.action != "reject"])
    chain = policy.corrections.chain
    if done >= len(chain):
        return None
    return chain[done].action, chain[done].role


def correction_state(policy: Policy, steps: Sequence[Step]) -> str:
    if any(s.action == "reject" for s in steps):
        return "rejected"
    if next_step(policy, steps) is None:
        return "executed"
    return "pending"


def approver_roles(policy: Policy) -> set[str]:
    return {s.role for s in policy.corrections.chain if s.action != "request"}


def take_step(policy: Policy, steps: Sequence[Step], action: str, actor: str, roles: Iterable[str],
              now: datetime, note: str | None = None) -> Step:
    """The next step, checked: the chain not finished, the action the chain's next one (no skipping), the actor
    holding that step's role; `reject` by any approver role of the chain while the request is pending."""
    held = set(roles)
    upcoming = next_step(policy, steps)
    if upcoming is None:
        raise Conflict(f"the correction is {correction_state(policy, steps)}: no more steps")
    if action == "reject":
        usable = sorted(held & approver_roles(policy))
        if not usable:
            raise Forbidden(f"only {', '.join(sorted(approver_roles(policy)))} may reject a correction")
        role = upcoming[1] if upcoming[1] in usable else usable[0]
        return Step("reject", role, actor, now, note)
    want_action, want_role = upcoming
    if action != want_action:
        raise Conflict(f"the next step is {want_action} by {want_role}, not {action}")
    if want_role not in held:
        raise Forbidden(f"{want_action} is done by {want_role}")
    return Step(action, want_role, actor, now, note)


def execution_due(policy: Policy, steps: Sequence[Step]) -> datetime | None:
    """The deadline of the execute step when it has a window (004 §10: 3 working days after the act), counted
    from the step before it; None while that step is not done or when the window has no time."""
    chain = policy.corrections.chain
    last = chain[-1]
    if last.window is None or len(chain) < 2:
        return None
    done = [s for s in steps if s.action != "reject"]
    if len(done) < len(chain) - 1:
        return None
    return policy.deadline(last.window, done[len(chain) - 2].at)


def overdue(policy: Policy, steps: Sequence[Step], now: datetime) -> bool:
    due = execution_due(policy, steps)
    if due is None or any(s.action == "reject" for s in steps):
        return False
    executed = [s for s in steps if s.action == "execute"]
    return (executed[0].at if executed else now) > due


# -- a late correction's request and steps, as stored and answered ------------------------------------------------


def check_reason(reason: Any) -> str:
    """A correction is requested with a written reason (003 §4.4.2)."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 2000:
        raise invalid("reason", "a written reason of 1..2000 characters (003 §4.4.2)")
    return reason.strip()


def target_of(target: Any) -> tuple[str, str]:
    """(kind, student) of a correction's target: an attendance mark or a grade of a student."""
    if not isinstance(target, dict) or target.get("kind") not in ("attendance", "grade"):
        raise invalid("target.kind", "attendance or grade")
    student = target.get("student")
    if not isinstance(student, str) or not student:
        raise invalid("target.student", "a student code")
    return target["kind"], student


def check_grade_target(policy: Policy, top: float, roster: Iterable[str], student: str, value: Any) -> None:
    """The corrected grade as an entry of it would be checked, its errors named by the request's fields."""
    errors = check_grades(policy, top, roster, [{"student": student, "value": value}])
    if errors:
        flat = {("value" if k.endswith(".value") else "target.student"): v for k, v in errors.by_field.items()}
        raise ValidationFailed(next(iter(flat.items()))[1][0], flat)


def check_attendance_value(policy: Policy, value: Any) -> None:
    if not isinstance(value, str) or not policy.has_code(value):
        raise invalid("value", f"one of the attendance codes {', '.join(c.key for c in policy.codes)}")


def commission_decides_academic(policy: Policy) -> bool:
    """Whether an academic correction (a module or final grade changed) is the appeal commission's (003 §4.4.3)."""
    return policy.corrections.academic_by == "commission"


def refuse_academic_correction(kind: str, graded: bool) -> None:
    """Changing a module or final grade is an academic correction (003 §4.4.3 b); a missed first entry of one is a
    technical one (§4.4.3 a), through the correction chain like any late entry (§4.4.2)."""
    if kind != "current" and graded:
        raise Forbidden(f"a {kind} grade changes only by an appeal commission's decision and protocol "
                        "(003 §4.4.3, RULES.md §5); file an appeal instead")


def first_step(policy: Policy, actor: str, now: datetime) -> tuple[Step, tuple[str, str] | None]:
    """The request, the chain's first step, and the (action, role) after it."""
    first = policy.corrections.chain[0]
    step = Step(first.action, first.role, actor, now, None)
    return step, next_step(policy, [step])


def after_steps(policy: Policy, steps: Sequence[Step]) -> tuple[str, str | None, str | None]:
    """(state, next action, next role) of a correction whose steps these are."""
    upcoming = next_step(policy, steps)
    return (correction_state(policy, steps), *(upcoming if upcoming else (None, None)))


def step_wire(step: Step) -> dict[str, Any]:
    return {"action": step.action, "role": step.role, "actor": step.actor, "at": step.at.isoformat(),
            "note": step.note}


def steps_from_wire(rows: Iterable[Mapping[str, Any]]) -> list[Step]:
    return [Step(s["action"], s["role"], s["actor"], datetime.fromisoformat(s["at"]), s.get("note")) for s in rows]


def held_roles(actor_roles: Any) -> set[Any]:
    """The caller's roles as the gateway sends them: role names, [role, scope] pairs or {"role": ...} objects."""
    return {r[0] if isinstance(r, list | tuple) else r.get("role") if isinstance(r, dict) else r
            for r in (actor_roles or [])}


def correction_approval(correction_id: int) -> str:
    """How a grade written by an executed correction names its approval in the audit trail."""
    return f"correction {correction_id}"


def step_event(step: Step) -> str:
    return f"correction.{'rejected' if step.action == 'reject' else 'step'}"


def step_approval(step: Step, approval: str) -> str | None:
    """Only approving and executing steps carry the approval in their audit entry."""
    return approval if step.action in ("approve", "execute") else None


def correction_executed(correction_id: int, target: Mapping[str, Any], value: Any, actor: str, approval: str,
                        reason: str) -> dict[str, Any]:
    """The `correction.executed` payload of an attendance target: attendance writes the mark it names."""
    return {"id": correction_id, "target": target, "value": value, "actor": actor, "approval": approval,
            "reason": reason}




def check_correction_state(state: Any) -> None:
    if state is not None and state not in CORRECTION_STATES:
        raise invalid("state", "pending, executed or rejected")


# -- an appeal decision (003 §6.3, §7.6) ----------------------------------------------------------------------------


def appeal_grade(decision: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str, str, str]:
    """(grades, actor, reason, approval) of an upheld appeal's grade: the commission's protocol as the approval."""
    return ([{"student": decision["student"], "value": decision["value"]}], decision.get("actor") or COMMISSION,
            f"appeal {decision['id']}",
            decision.get("approval") or f"appeal {decision['id']}, protocol {decision.get('protocol')}")


# -- the year archive (RULES.md §9; 003 §7.4) -------------------------------------------------------------------


def year_asked(year: Any) -> tuple[date, date]:
    """The bounds of the academic year a request names, or 422 naming the field."""
    try:
        return year_bounds(year)
    except ValueError as exc:
        raise invalid("year", str(exc)) from None
