"""Reading the reports' own read models into the facts `domain` decides on: queries only, no rules and no writes.
Each function takes `tx`, the unit of work's SQLAlchemy Session; the handlers, jobs and projections call them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Text, any_, bindparam, exists, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import Session as Tx

from kernel.policy import Policy
from reports import domain
from reports.models import Assessment, Case, Discipline, Grade, Mark, OrgUnit, Person, ScheduledReport, Session, Tally


def names(tx: Tx, people: Iterable[str], disciplines: Iterable[str] = ()) -> dict[str, str]:
    """Full names by person code, discipline names under `discipline:<code>`."""
    out: dict[str, str] = {}
    codes = sorted({c for c in people if c})
    if codes:  # one array parameter: a faculty's report names some 1,600 teachers
        out.update(dict(tx.execute(select(Person.code, Person.full_name)
                                  .where(Person.code == any_(bindparam("codes", codes, type_=ARRAY(Text)))))
                        .tuples().all()))
    dcodes = sorted({c for c in disciplines if c})
    if dcodes:
        out.update({f"discipline:{c}": n for c, n in tx.execute(
            select(Discipline.code, Discipline.name).where(Discipline.code.in_(dcodes))).tuples()})
    return out


def person(tx: Tx, code: str) -> Person | None:
    return tx.get(Person, code)


def unit(tx: Tx, code: str | None) -> OrgUnit | None:
    return tx.get(OrgUnit, code) if code else None


def faculty_of_group(tx: Tx, group: str | None) -> str | None:
    g = unit(tx, group)
    d = unit(tx, g.parent if g else None)
    return d.parent if d else None


def units(tx: Tx, kind: str, faculty: str | None = None) -> list[str]:
    """Codes of the org units of a kind (faculty, department, group), within a faculty when given."""
    q = select(OrgUnit.code).where(OrgUnit.kind == kind).order_by(OrgUnit.code)
    if faculty is not None and kind == "department":
        q = q.where(OrgUnit.parent == faculty)
    elif faculty is not None and kind == "group":
        departments = select(OrgUnit.code).where(OrgUnit.kind == "department", OrgUnit.parent == faculty)
        q = q.where(OrgUnit.parent.in_(departments))
    return list(tx.scalars(q))


def groups_of_department(tx: Tx, department: str) -> list[str]:
    return list(tx.scalars(select(OrgUnit.code).where(OrgUnit.kind == "group", OrgUnit.parent == department)
                          .order_by(OrgUnit.code)))


def students_of(tx: Tx, groups: Sequence[str]) -> list[Person]:
    if not groups:
        return []
    return list(tx.scalars(select(Person).where(Person.kind == "student", Person.group.in_(list(groups)))
                          .order_by(Person.group, Person.full_name, Person.code)))


def parents_of(tx: Tx, students: Sequence[str]) -> dict[str, list[dict[str, str]]]:
    """Each student's parents (from the parents' `children`), for the curator's contact list."""
    out: dict[str, list[dict[str, str]]] = {}
    if not students:
        return out
    wanted = set(students)
    linked = Person.children.has_any(array(list(students), type_=Text))
    for p in tx.scalars(select(Person).where(Person.kind == "parent", linked).order_by(Person.full_name)):
        for child in p.children or []:
            if child in wanted:
                out.setdefault(child, []).append({"code": p.code, "full_name": p.full_name})
    return out


def controls(tx: Tx, disciplines: Iterable[str]) -> dict[str, str]:
    codes = sorted(set(disciplines))
    if not codes:
        return {}
    return {c: domain.control_of(ctl) for c, ctl in tx.execute(
        select(Discipline.code, Discipline.control).where(Discipline.code.in_(codes))).tuples()}


# -- grades and marks for the forecast -----------------------------------------------------------------------

Pair = domain.Pair


def assessments(tx: Tx, groups: Sequence[str], students: Sequence[str] | None = None,
                ids: Sequence[int] = ()) -> dict[Pair, list[domain.AssessmentFact]]:
    """The assessments of the groups (and those named by id), with the grades of `students` (all when None)."""
    if not groups and not ids:
        return {}
    graded = exists().where(Grade.assessment == Assessment.id)
    rows = tx.execute(select(Assessment, graded.label("graded")).where(
        Assessment.group.in_(list(groups)) | Assessment.id.in_(list(ids)))
        .order_by(Assessment.day, Assessment.id)).all()
    by_id = {a.id: a for a, _ in rows}
    grades: dict[int, dict[str, float]] = {}
    if by_id:
        q = select(Grade.assessment, Grade.student, Grade.value).where(Grade.assessment.in_(list(by_id)))
        if students is not None:
            q = q.where(Grade.student.in_(list(students)))
        for aid, student, value in tx.execute(q).tuples():
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


def marks_by_module(tx: Tx, pol: Policy, facts: dict[Pair, list[domain.AssessmentFact]],
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
    for st, g, d, status, module, n in tx.execute(text(MARKS_BY_MODULE.format(where=where)), params).tuples():
        out.setdefault((st, g, d), {}).setdefault(int(module), {})[status] = int(n)
    return out


Facts = dict[Pair, list[domain.AssessmentFact]]
ModuleMarks = dict[domain.StudentPair, dict[int, dict[str, int]]]


def forecast_facts(tx: Tx, pol: Policy, groups: Sequence[str] = (), student: str | None = None
                   ) -> tuple[Facts, ModuleMarks, set[tuple[str, str]]]:
    """What the forecast of the groups' students (or of one student, in every group they have marks or grades
    in) is computed from: the assessments with their grades, the marks by module, the (student, group) members."""
    if student is not None:
        me = person(tx, student)
        mark_groups = set(tx.scalars(select(Session.group).join(Mark, Mark.session == Session.id)
                                     .where(Mark.student == student).distinct()))
        graded = list(tx.scalars(select(Grade.assessment).where(Grade.student == student)))
        wanted = sorted(mark_groups | ({me.group} if me and me.group else set()))
        facts = assessments(tx, wanted, [student], graded)
        marks = marks_by_module(tx, pol, facts, student=student)
        return facts, marks, {(student, g) for g in wanted}
    facts = assessments(tx, groups)
    marks = marks_by_module(tx, pol, facts, groups=groups)
    return facts, marks, {(p.code, p.group) for p in students_of(tx, groups) if p.group}


# -- the journal-filling report ------------------------------------------------------------------------------


def term_span(tx: Tx, term: str) -> tuple[datetime | None, datetime | None]:
    first, last = tx.execute(select(func.min(Session.starts_at), func.max(Session.starts_at))
                            .where(Session.term == term)).one()
    return first, last


def teacher_sessions(tx: Tx, teacher: str, term: str | None = None, start: datetime | None = None,
                     end: datetime | None = None) -> list[Session]:
    q = select(Session).where(Session.teacher == teacher).order_by(Session.starts_at, Session.id)
    if term is not None:
        q = q.where(Session.term == term)
    if start is not None:
        q = q.where(Session.starts_at >= start)
    if end is not None:
        q = q.where(Session.starts_at < end)
    return list(tx.scalars(q))


def teachers_with_sessions(tx: Tx, department: str, start: datetime, end: datetime) -> list[str]:
    """The department's staff with sessions in [start, end)."""
    staff = select(Person.code).where(Person.kind == "staff", Person.department == department)
    return list(tx.scalars(select(Session.teacher).where(Session.teacher.in_(staff), Session.starts_at >= start,
                                                        Session.starts_at < end).distinct()
                          .order_by(Session.teacher)))


def teacher_grades(tx: Tx, teacher: str, pairs: Iterable[Pair], first: date | None,
                   last: date | None) -> list[tuple[Assessment, list[Grade]]]:
    """Assessments of the teacher's groups and disciplines dated inside [first, last] (those another teacher
    created are theirs), each with its grades."""
    pairs = sorted(set(pairs))
    if not pairs or first is None or last is None:
        return []
    q = select(Assessment).where(Assessment.day >= first, Assessment.day <= last,
                                 (Assessment.created_by == teacher) | Assessment.created_by.is_(None))
    rows = [a for a in tx.scalars(q.order_by(Assessment.day, Assessment.id)) if (a.group, a.discipline) in pairs]
    grades: dict[int, list[Grade]] = {}
    if rows:
        for g in tx.scalars(select(Grade).where(Grade.assessment.in_([a.id for a in rows]))):
            grades.setdefault(g.assessment, []).append(g)
    return [(a, grades.get(a.id, [])) for a in rows]


def tallies(tx: Tx, session_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    if session_ids:
        for sid, status, n in tx.execute(select(Tally.session, Tally.status, Tally.n)
                                        .where(Tally.session.in_(list(session_ids)), Tally.n != 0)).tuples():
            out.setdefault(sid, {})[status] = n
    return out


# -- the student record --------------------------------------------------------------------------------------


def student_marks(tx: Tx, student: str) -> list[tuple[Session, Mark]]:
    return list(tx.execute(select(Session, Mark).join(Mark, Mark.session == Session.id)
                          .where(Mark.student == student).order_by(Session.starts_at, Session.id)).tuples())


def student_grades(tx: Tx, student: str) -> list[tuple[Assessment, Grade]]:
    return list(tx.execute(select(Assessment, Grade).join(Grade, Grade.assessment == Assessment.id)
                          .where(Grade.student == student).order_by(Assessment.day, Assessment.id)).tuples())


def student_cases(tx: Tx, student: str) -> list[Case]:
    return list(tx.scalars(select(Case).where(Case.student == student).order_by(Case.kind, Case.id)))


# -- the attendance report -----------------------------------------------------------------------------------


def attendance_counts(tx: Tx, pol: Policy, filters: domain.Filters, now: datetime
                      ) -> tuple[dict[domain.Row, dict[str, int]], dict[domain.Row, int]]:
    """Marks per status and sessions held by report row (group, discipline, teacher). Without dates the counts
    come from the rollups by report row (a few rows per row of the report); with dates from the per-session
    tally of the sessions inside them. Both give the same numbers for the same sessions: the rollups are the
    tallies summed by group × discipline × teacher."""
    params: dict[str, Any] = {"now": now}
    where = []
    for name in ("group", "discipline", "teacher"):
        if getattr(filters, name):
            where.append(f'"{name}" = :{name}')
            params[name] = getattr(filters, name)
    if filters.faculty:
        where.append('"group" IN (SELECT g.code FROM reports.org_unit g JOIN reports.org_unit d'
                     " ON d.code = g.parent WHERE g.kind = 'group' AND d.parent = :faculty)")
        params["faculty"] = filters.faculty
    counts: dict[domain.Row, dict[str, int]] = {}
    held: dict[domain.Row, int] = {}
    if filters.date_from is None and filters.date_to is None:
        # one round trip: marks per status, then (status NULL) the marked sessions from the rollup and the
        # unmarked ones that started (a session counts once it started or has marks)
        cond = " AND ".join(where) or "TRUE"
        for g, d, t, status, n in tx.execute(text(
                f'SELECT "group", discipline, teacher, status, n FROM reports.tally_rollup'
                f" WHERE {cond} AND n <> 0"
                f' UNION ALL SELECT "group", discipline, teacher, NULL, sessions FROM reports.marked_rollup'
                f" WHERE {cond} AND sessions <> 0"
                f' UNION ALL SELECT "group", discipline, teacher, NULL, count(*) FROM reports.session'
                f" WHERE {cond} AND NOT marked AND starts_at <= :now GROUP BY 1, 2, 3"), params):
            if status is None:
                held[(g, d, t)] = held.get((g, d, t), 0) + int(n)
            else:
                counts.setdefault((g, d, t), {})[status] = int(n)
        return counts, held
    if filters.date_from:
        where.append("starts_at >= :start")
        params["start"] = datetime.combine(filters.date_from, time(), pol.tz)
    if filters.date_to:
        where.append("starts_at < :end")
        params["end"] = datetime.combine(filters.date_to + timedelta(days=1), time(), pol.tz)
    cond = " AND ".join(where)
    for g, d, t, status, n in tx.execute(text(
            f'SELECT s."group", s.discipline, s.teacher, t.status, sum(t.n)::bigint FROM'
            f" (SELECT * FROM reports.session WHERE {cond}) s JOIN reports.tally t ON t.session = s.id"
            f" GROUP BY 1, 2, 3, 4 HAVING sum(t.n) <> 0"), params):
        counts.setdefault((g, d, t), {})[status] = int(n)
    for g, d, t, n in tx.execute(text(
            f'SELECT "group", discipline, teacher, count(*) FROM reports.session'
            f" WHERE {cond} AND (marked OR starts_at <= :now) GROUP BY 1, 2, 3"), params):
        held[(g, d, t)] = int(n)
    return counts, held


# -- scheduled reports ---------------------------------------------------------------------------------------


def scheduled(tx: Tx, report_id: int) -> ScheduledReport | None:
    return tx.get(ScheduledReport, report_id)


def scheduled_rows(tx: Tx, limit: int, report: str | None = None, cursor: str | None = None,
                   scopes: set[tuple[str, str]] | None = None) -> list[ScheduledReport]:
    """Up to `limit` stored reports, newest first, before `cursor`, of `scopes` (None: all)."""
    q = select(ScheduledReport).order_by(ScheduledReport.id.desc()).limit(limit)
    if report:
        q = q.where(ScheduledReport.report == report)
    if cursor:
        q = q.where(ScheduledReport.id < int(cursor))
    if scopes is not None:
        q = q.where(tuple_(ScheduledReport.scope_kind, ScheduledReport.scope).in_(scopes or [("", "")]))
    return list(tx.scalars(q))


def scheduled_done(tx: Tx, report: str, cadence: str, period_start: date, scope_kind: str, scope: str) -> bool:
    """Whether the report of this period and scope is stored already."""
    return tx.scalars(select(ScheduledReport.id).where(
        ScheduledReport.report == report, ScheduledReport.cadence == cadence,
        ScheduledReport.period_start == period_start, ScheduledReport.scope_kind == scope_kind,
        ScheduledReport.scope == scope)).first() is not None


def lock_schedule(tx: Tx) -> bool:
    """One generator at a time, and none while `reports.rebuild` refills the read models it reads (advisory
    locks held to the end of the transaction); False when another holds them."""
    return bool(tx.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('reports.schedule')) AND "
                                "pg_try_advisory_xact_lock_shared(hashtext('reports.rebuild'))")).scalar())
