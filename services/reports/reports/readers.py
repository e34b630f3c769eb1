"""Reading the reports' own read models into the facts `domain` decides on: queries only, no rules and no writes.
Each function takes the unit of work's SQLAlchemy session; the service's entrypoints call them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, any_, bindparam, exists, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import Session as DbSession

from kernel.policy import Policy
from reports import domain
from reports.models import Assessment, Case, Discipline, Grade, Mark, OrgUnit, Person, Session, Tally


def names(s: DbSession, people: Iterable[str], disciplines: Iterable[str] = ()) -> dict[str, str]:
    """Full names by person code, discipline names under `discipline:<code>`."""
    out: dict[str, str] = {}
    codes = sorted({c for c in people if c})
    if codes:  # one array parameter: a faculty's report names some 1,600 teachers
        out.update(dict(s.execute(select(Person.code, Person.full_name)
                                  .where(Person.code == any_(bindparam("codes", codes, type_=ARRAY(Text)))))
                        .tuples().all()))
    dcodes = sorted({c for c in disciplines if c})
    if dcodes:
        out.update({f"discipline:{c}": n for c, n in s.execute(
            select(Discipline.code, Discipline.name).where(Discipline.code.in_(dcodes))).tuples()})
    return out


def person(s: DbSession, code: str) -> Person | None:
    return s.get(Person, code)


def unit(s: DbSession, code: str | None) -> OrgUnit | None:
    return s.get(OrgUnit, code) if code else None


def faculty_of_group(s: DbSession, group: str | None) -> str | None:
    g = unit(s, group)
    d = unit(s, g.parent if g else None)
    return d.parent if d else None


def units(s: DbSession, kind: str, faculty: str | None = None) -> list[str]:
    """Codes of the org units of a kind (faculty, department, group), within a faculty when given."""
    q = select(OrgUnit.code).where(OrgUnit.kind == kind).order_by(OrgUnit.code)
    if faculty is not None and kind == "department":
        q = q.where(OrgUnit.parent == faculty)
    elif faculty is not None and kind == "group":
        departments = select(OrgUnit.code).where(OrgUnit.kind == "department", OrgUnit.parent == faculty)
        q = q.where(OrgUnit.parent.in_(departments))
    return list(s.scalars(q))


def groups_of_department(s: DbSession, department: str) -> list[str]:
    return list(s.scalars(select(OrgUnit.code).where(OrgUnit.kind == "group", OrgUnit.parent == department)
                          .order_by(OrgUnit.code)))


def students_of(s: DbSession, groups: Sequence[str]) -> list[Person]:
    if not groups:
        return []
    return list(s.scalars(select(Person).where(Person.kind == "student", Person.group.in_(list(groups)))
                          .order_by(Person.group, Person.full_name, Person.code)))


def parents_of(s: DbSession, students: Sequence[str]) -> dict[str, list[dict[str, str]]]:
    """Each student's parents (from the parents' `children`), for the curator's contact list."""
    out: dict[str, list[dict[str, str]]] = {}
    if not students:
        return out
    wanted = set(students)
    linked = Person.children.has_any(array(list(students), type_=Text))
    for p in s.scalars(select(Person).where(Person.kind == "parent", linked).order_by(Person.full_name)):
        for child in p.children or []:
            if child in wanted:
                out.setdefault(child, []).append({"code": p.code, "full_name": p.full_name})
    return out


def controls(s: DbSession, disciplines: Iterable[str]) -> dict[str, str]:
    codes = sorted(set(disciplines))
    if not codes:
        return {}
    return {c: (ctl if ctl in ("exam", "credit") else "exam") for c, ctl in s.execute(
        select(Discipline.code, Discipline.control).where(Discipline.code.in_(codes))).tuples()}


# -- grades and marks for the forecast -----------------------------------------------------------------------

Pair = tuple[str, str]  # (group, discipline)


def assessments(s: DbSession, groups: Sequence[str], students: Sequence[str] | None = None,
                ids: Sequence[int] = ()) -> dict[Pair, list[domain.AssessmentFact]]:
    """The assessments of the groups (and those named by id), with the grades of `students` (all when None)."""
    if not groups and not ids:
        return {}
    graded = exists().where(Grade.assessment == Assessment.id)
    rows = s.execute(select(Assessment, graded.label("graded")).where(
        Assessment.group.in_(list(groups)) | Assessment.id.in_(list(ids)))
        .order_by(Assessment.day, Assessment.id)).all()
    by_id = {a.id: a for a, _ in rows}
    grades: dict[int, dict[str, float]] = {}
    if by_id:
        q = select(Grade.assessment, Grade.student, Grade.value).where(Grade.assessment.in_(list(by_id)))
        if students is not None:
            q = q.where(Grade.student.in_(list(students)))
        for aid, student, value in s.execute(q).tuples():
            grades.setdefault(aid, {})[student] = value
    out: dict[Pair, list[domain.AssessmentFact]] = {}
    for a, has in rows:
        out.setdefault((a.group, a.discipline), []).append(
            domain.AssessmentFact(a.id, a.kind, a.day, a.max, bool(has), grades.get(a.id, {})))
    return out


MARKS_BY_MODULE = """
SELECT m.student, s."group", s.discipline, m.status,
       CASE WHEN b.boundary IS NULL OR (s.starts_at AT TIME ZONE :tz)::date <= b.boundary THEN 1 ELSE 2 END,
       count(*)
FROM reports.mark m JOIN reports.session s ON s.id = m.session
LEFT JOIN unnest(CAST(:bg AS text[]), CAST(:bd AS text[]), CAST(:bb AS date[])) AS b(g, d, boundary)
  ON b.g = s."group" AND b.d = s.discipline
WHERE {where}
GROUP BY 1, 2, 3, 4, 5
"""


def marks_by_module(s: DbSession, pol: Policy, facts: dict[Pair, list[domain.AssessmentFact]],
                    groups: Sequence[str] = (), student: str | None = None
                    ) -> dict[tuple[str, str, str], dict[int, dict[str, int]]]:
    """(student, group, discipline) -> module -> status -> marks, summed in SQL; the module of a session by its
    local day against the pair's module boundary (domain.module_boundary)."""
    bounds = [(g, d, b) for (g, d), facts_ in facts.items() if (b := domain.module_boundary(facts_)) is not None]
    params: dict[str, Any] = {"tz": pol.timezone, "bg": [b[0] for b in bounds], "bd": [b[1] for b in bounds],
                              "bb": [b[2] for b in bounds]}
    if student is not None:
        where, params["student"] = "m.student = :student", student
    else:
        where, params["groups"] = 's."group" = ANY(:groups)', list(groups)
    out: dict[tuple[str, str, str], dict[int, dict[str, int]]] = {}
    for st, g, d, status, module, n in s.execute(text(MARKS_BY_MODULE.format(where=where)), params).tuples():
        out.setdefault((st, g, d), {}).setdefault(int(module), {})[status] = int(n)
    return out


@dataclass(frozen=True)
class Evaluation:
    """One student in one discipline: attendance, projection and the reasons for being at risk."""

    student: str
    group: str
    discipline: str
    attendance: domain.Standing
    projection: domain.Projection
    reasons: list[domain.Reason]


def evaluate(s: DbSession, pol: Policy, groups: Sequence[str] = (), student: str | None = None) -> list[Evaluation]:
    """The forecast for every student of the groups (or for one student, in every group they have marks or
    grades in), discipline by discipline."""
    if student is not None:
        me = person(s, student)
        mark_groups = set(s.scalars(select(Session.group).join(Mark, Mark.session == Session.id)
                                    .where(Mark.student == student).distinct()))
        graded = list(s.scalars(select(Grade.assessment).where(Grade.student == student)))
        wanted = sorted(mark_groups | ({me.group} if me and me.group else set()))
        facts = assessments(s, wanted, [student], graded)
        marks = marks_by_module(s, pol, facts, student=student)
        members = {(student, g) for g in wanted}
    else:
        facts = assessments(s, groups)
        marks = marks_by_module(s, pol, facts, groups=groups)
        members = {(p.code, p.group) for p in students_of(s, groups) if p.group}
    pairs: set[tuple[str, str, str]] = set(marks)
    for (g, d), facts_ in facts.items():
        pairs.update((st, g, d) for st, grp in members if grp == g)
        if student is not None:
            pairs.update((student, g, d) for a in facts_ if student in a.grades)
    ctl = controls(s, (d for _, _, d in pairs))
    out = []
    for st, g, d in sorted(pairs):
        by_module = marks.get((st, g, d), {})
        attendance = domain.standing(pol, domain.add_counts(*by_module.values()))
        projection = domain.project(pol, ctl.get(d, "exam"), st, by_module, facts.get((g, d), []))
        out.append(Evaluation(st, g, d, attendance, projection, domain.risk_reasons(pol, attendance, projection)))
    return out


# -- the journal-filling report ------------------------------------------------------------------------------


def term_span(s: DbSession, term: str) -> tuple[datetime | None, datetime | None]:
    first, last = s.execute(select(func.min(Session.starts_at), func.max(Session.starts_at))
                            .where(Session.term == term)).one()
    return first, last


def teacher_sessions(s: DbSession, teacher: str, term: str | None = None, start: datetime | None = None,
                     end: datetime | None = None) -> list[Session]:
    q = select(Session).where(Session.teacher == teacher).order_by(Session.starts_at, Session.id)
    if term is not None:
        q = q.where(Session.term == term)
    if start is not None:
        q = q.where(Session.starts_at >= start)
    if end is not None:
        q = q.where(Session.starts_at < end)
    return list(s.scalars(q))


def teachers_with_sessions(s: DbSession, department: str, start: datetime, end: datetime) -> list[str]:
    """The department's staff with sessions in [start, end)."""
    staff = select(Person.code).where(Person.kind == "staff", Person.department == department)
    return list(s.scalars(select(Session.teacher).where(Session.teacher.in_(staff), Session.starts_at >= start,
                                                        Session.starts_at < end).distinct()
                          .order_by(Session.teacher)))


def teacher_grades(s: DbSession, teacher: str, pairs: Iterable[Pair], first: date | None,
                   last: date | None) -> list[tuple[Assessment, list[Grade]]]:
    """Assessments of the teacher's groups and disciplines dated inside [first, last] (those another teacher
    created are theirs), each with its grades."""
    pairs = sorted(set(pairs))
    if not pairs or first is None or last is None:
        return []
    q = select(Assessment).where(Assessment.day >= first, Assessment.day <= last,
                                 (Assessment.created_by == teacher) | Assessment.created_by.is_(None))
    rows = [a for a in s.scalars(q.order_by(Assessment.day, Assessment.id)) if (a.group, a.discipline) in pairs]
    grades: dict[int, list[Grade]] = {}
    if rows:
        for g in s.scalars(select(Grade).where(Grade.assessment.in_([a.id for a in rows]))):
            grades.setdefault(g.assessment, []).append(g)
    return [(a, grades.get(a.id, [])) for a in rows]


def tallies(s: DbSession, session_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    if session_ids:
        for sid, status, n in s.execute(select(Tally.session, Tally.status, Tally.n)
                                        .where(Tally.session.in_(list(session_ids)), Tally.n != 0)).tuples():
            out.setdefault(sid, {})[status] = n
    return out


# -- the student record --------------------------------------------------------------------------------------


def student_marks(s: DbSession, student: str) -> list[tuple[Session, Mark]]:
    return list(s.execute(select(Session, Mark).join(Mark, Mark.session == Session.id)
                          .where(Mark.student == student).order_by(Session.starts_at, Session.id)).tuples())


def student_grades(s: DbSession, student: str) -> list[tuple[Assessment, Grade]]:
    return list(s.execute(select(Assessment, Grade).join(Grade, Grade.assessment == Assessment.id)
                          .where(Grade.student == student).order_by(Assessment.day, Assessment.id)).tuples())


def student_cases(s: DbSession, student: str) -> list[Case]:
    return list(s.scalars(select(Case).where(Case.student == student).order_by(Case.kind, Case.id)))
