"""The use-cases of the reports' RPCs, one function per RPC: check the request (domain), load the read models
(queries), let the domain shape the answer, render a document when asked for one. Reports has no RPC writes of its
own (its read models move with events: projections.py; its scheduled reports are made by jobs.py), so nothing
here adds a row, emits or commits. Nothing imports nameko; `uow` is the worker's unit of work (its Session `tx`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from kernel.errors import NotFound
from kernel.policy import Policy
from reports import domain, queries, render

UnitOfWork = Any  # kernel.db.UnitOfWork (or tests/unit/fakes.FakeUnitOfWork): `tx` and `now()`


def names(uow: UnitOfWork, people: Iterable[str], disciplines: Iterable[str] = ()) -> dict[str, str]:
    return queries.names(uow.tx, people, disciplines)


def evaluate(uow: UnitOfWork, pol: Policy, groups: Sequence[str] = (),
             student: str | None = None) -> list[domain.Evaluation]:
    """The forecast for every student of the groups (or for one student, in every group they have marks or
    grades in), discipline by discipline."""
    facts, marks, members = queries.forecast_facts(uow.tx, pol, groups, student)
    pairs = domain.evaluated_pairs(facts, marks, members, student)
    controls = queries.controls(uow.tx, (d for _, _, d in pairs))
    return domain.evaluate(pol, pairs, facts, marks, controls)


def stamp(uow: UnitOfWork, pol: Policy) -> str:
    """The local day of the unit's time, for a document's file name."""
    return f"{uow.now().astimezone(pol.tz):%Y-%m-%d}"


# -- the attendance report -----------------------------------------------------------------------------------


def attendance(uow: UnitOfWork, pol: Policy, filters: domain.Filters) -> dict[str, Any]:
    counts, held = queries.attendance_counts(uow.tx, pol, filters, uow.now())
    keys = domain.report_keys(counts, held)
    found = names(uow, (k[2] for k in keys), (k[1] for k in keys))
    return domain.attendance_report(pol, filters, counts, held, found)


def attendance_report(uow: UnitOfWork, pol: Policy, faculty: Any = None, group: Any = None, discipline: Any = None,
                      teacher: Any = None, date_from: Any = None, date_to: Any = None, fmt: Any = "json",
                      lang: Any = "ru") -> dict[str, Any]:
    """Marks per status, attendance rate, excused and made-up shares per group × discipline × teacher
    (RULES.md §8), summed in SQL over the per-session tally."""
    filters, errors = domain.parse_filters(faculty, group, discipline, teacher, date_from, date_to)
    domain.check_format(errors, fmt, domain.FORMATS, lang)
    domain.reject("invalid report filters", errors)
    report = attendance(uow, pol, filters)
    if fmt == "json":
        return report
    doc = render.attendance_document(pol, report, lang, names(
        uow, (r["teacher"] for r in report["rows"]), (r["discipline"] for r in report["rows"])))
    return render.render_table(doc, fmt, f"attendance-{stamp(uow, pol)}")


# -- the journal-filling report (Appendix No. 1, RULES.md §8) and the teacher's journal ---------------------


def filling(uow: UnitOfWork, pol: Policy, teacher: str, term: str | None = None, start: datetime | None = None,
            end: datetime | None = None) -> dict[str, Any]:
    """One teacher's filling, per group × discipline, for a term or for [start, end)."""
    tx = uow.tx
    now = uow.now()
    sessions = queries.teacher_sessions(tx, teacher, term, start, end)
    first, last = queries.term_span(tx, term) if term is not None else domain.day_span(start, end)
    first_day, last_day = domain.local_date(pol, first), domain.local_date(pol, last)
    pairs = domain.filling_pairs(sessions)
    graded = queries.teacher_grades(tx, teacher, pairs, first_day, last_day)
    found = names(uow, [teacher], (d for _, d in pairs))
    who = queries.person(tx, teacher)
    return domain.filling_report(pol, teacher, term, sessions, first_day, last_day, graded, found,
                                 who.department if who else None, now)


def teacher_of(uow: UnitOfWork, teacher: Any, term: Any, errors: dict[str, str]) -> tuple[str, str]:
    code, term_code = domain.check_teacher_request(teacher, term, errors)
    domain.require_person(queries.person(uow.tx, code), "staff", "teacher", code)
    return code, term_code


def filling_report(uow: UnitOfWork, pol: Policy, teacher: Any, term: Any, fmt: Any = "json", lang: Any = "ky",
                   journal_url: Any = None) -> dict[str, Any]:
    """The journal-filling report of a teacher and term ("Appendix No. 1", RULES.md §8; 001 §5.4-5.6): json,
    or the PDF to print and sign, with a QR code to `journal_url` (the teacher's journal for inspection)."""
    code, term_code = teacher_of(uow, teacher, term, domain.check_filling_request(fmt, lang, journal_url))
    report = {**filling(uow, pol, code, term_code), "journal_url": journal_url}
    if fmt == "json":
        return report
    found = names(uow, [code], (r["discipline"] for r in report["rows"]))
    return render.render_filling(render.filling_document(pol, report, lang, found),
                                 f"filling-{code}-{term_code}-{lang}")


def teacher_journal(uow: UnitOfWork, pol: Policy, teacher: Any, term: Any) -> dict[str, Any]:
    """A teacher's journal for a term as an inspector opens it from Appendix No. 1's QR code (001 §5.6)."""
    code, term_code = teacher_of(uow, teacher, term, {})
    tx = uow.tx
    now = uow.now()
    sessions = queries.teacher_sessions(tx, code, term_code)
    marks = queries.tallies(tx, [x.id for x in sessions])
    first, last = queries.term_span(tx, term_code)
    pairs = {(x.group, x.discipline) for x in sessions}
    graded = queries.teacher_grades(tx, code, pairs, domain.local_date(pol, first), domain.local_date(pol, last))
    found = names(uow, [code], (d for _, d in pairs))
    return domain.teacher_journal(pol, code, term_code, sessions, marks, graded, found,
                                  filling(uow, pol, code, term_code)["totals"], now)


# -- the student record --------------------------------------------------------------------------------------


def student_record(uow: UnitOfWork, pol: Policy, student: Any, lang: Any = "ru") -> dict[str, Any]:
    """Everything the reports' read models hold on one student (API.md `/students/{code}/record`)."""
    code = domain.check_record_request(student, lang)
    tx = uow.tx
    who = domain.require_person(queries.person(tx, code), "student", "student", code)
    marks = queries.student_marks(tx, code)
    grades = queries.student_grades(tx, code)
    forecast = {(e.group, e.discipline): e for e in evaluate(uow, pol, student=code)}
    keys = domain.record_keys(marks, grades, forecast)
    found = names(uow, [x.teacher for x, _ in marks], (d for _, d in keys))
    return domain.student_record(pol, who, queries.faculty_of_group(tx, who.group), marks, grades, forecast,
                                 queries.student_cases(tx, code), found, lang)


# -- the at-risk forecast and the quality report -------------------------------------------------------------


def at_risk_body(uow: UnitOfWork, pol: Policy, groups: Sequence[str], lang: str) -> dict[str, Any]:
    found = [e for e in evaluate(uow, pol, groups=groups) if e.reasons]
    students = sorted({e.student for e in found})
    who = names(uow, students, (e.discipline for e in found))
    parents = queries.parents_of(uow.tx, students)
    return domain.at_risk_report(pol, found, who, parents, lang, uow.now())


def at_risk(uow: UnitOfWork, pol: Policy, faculty: Any = None, group: Any = None, fmt: Any = "json",
            lang: Any = "ru") -> dict[str, Any]:
    """Students whose attendance or projected total falls below the preset's `at_risk` thresholds, with the
    reason in words and their parents to contact (RULES.md §4; 000 §5, 002 §7.6)."""
    faculty_code, group_code = domain.check_at_risk_request(faculty, group, fmt, lang)
    groups = [group_code] if group_code else queries.units(uow.tx, "group", faculty_code)
    body = {"filters": {"faculty": faculty_code, "group": group_code}, **at_risk_body(uow, pol, groups, lang)}
    if fmt == "json":
        return body
    return render.render_table(render.at_risk_document(pol, body, lang, "at_risk_report"), fmt,
                               f"at-risk-{stamp(uow, pol)}")


def quality(uow: UnitOfWork, pol: Policy, groups: Sequence[str]) -> dict[str, Any]:
    found = evaluate(uow, pol, groups=groups)
    return domain.quality_report(found, names(uow, (), (e.discipline for e in found)))


# -- documents -----------------------------------------------------------------------------------------------


def render_statement(uow: UnitOfWork, pol: Policy, statement: Any, fmt: Any = "pdf", lang: Any = "ru",
                     verify_url: Any = "") -> dict[str, Any]:
    """A statement document (ведомость, RULES.md §8) from grading's statement, with a QR code to verify_url."""
    domain.check_statement_request(statement, fmt, lang, verify_url)
    people, discipline = domain.statement_people(statement)
    found = names(uow, people, [discipline])
    doc = render.statement_document(pol, statement, lang, verify_url, found,
                                    found.get(f"discipline:{statement.get('discipline')}"))
    return render.render_statement(doc, fmt, f"statement-{statement.get('id', 'draft')}-{lang}")


# -- stored scheduled reports --------------------------------------------------------------------------------


def within_scopes(uow: UnitOfWork, within: Any, errors: dict[str, str]) -> set[tuple[str, str]] | None:
    """The (kind, code) scopes an office caller may read: their faculties with the faculties' departments
    and groups, their departments with their groups, their groups (None: every scope)."""
    if within is None:
        return None
    if not domain.check_within(within, errors):
        return set()
    tx = uow.tx
    out: set[tuple[str, str]] = set()
    departments = set(within.get("departments", []))
    for f in within.get("faculties", []):
        out.add(("faculty", f))
        departments.update(queries.units(tx, "department", f))
    groups = set(within.get("groups", []))
    for d in departments:
        out.add(("department", d))
        groups.update(queries.groups_of_department(tx, d))
    out.update(("group", g) for g in groups)
    return out


def list_scheduled(uow: UnitOfWork, pol: Policy, within: Any = None, report: Any = None, limit: Any = 100,
                   cursor: Any = None) -> dict[str, Any]:
    """Stored scheduled reports, newest first; `within` (from the gateway: {"faculties", "departments",
    "groups"}) limits them to the caller's org units, None to all."""
    errors: dict[str, str] = {}
    report_key = domain.check_list_request(report, limit, cursor, errors)
    scopes = within_scopes(uow, within, errors)
    domain.reject("invalid list request", errors)
    rows = queries.scheduled_rows(uow.tx, limit + 1, report_key, cursor, scopes)
    return domain.scheduled_page(pol, rows, limit)


def get_scheduled(uow: UnitOfWork, pol: Policy, report_id: Any, within: Any = None, fmt: Any = "json",
                  lang: Any = "ru") -> dict[str, Any]:
    """One stored scheduled report: json (with its body) or a document (csv, xlsx, pdf)."""
    errors: dict[str, str] = {}
    domain.check_format(errors, fmt, domain.FORMATS, lang)
    scopes = within_scopes(uow, within, errors)
    domain.reject("invalid report request", errors)
    row = queries.scheduled(uow.tx, report_id) if isinstance(report_id, int) else None
    if row is None or not domain.in_scope(scopes, row.scope_kind, row.scope):
        raise NotFound(f"no scheduled report {report_id}")
    if fmt == "json":
        return {**domain.scheduled_view(pol, row), "body": row.body}
    body = row.body
    kind = domain.document_kind(row.report)
    if kind == "attendance":
        doc = render.attendance_document(pol, body, lang, names(
            uow, (r["teacher"] for r in body["rows"]), (r["discipline"] for r in body["rows"])))
    elif kind == "filling":
        doc = render.filling_summary_document(pol, body, lang, row.report,
                                              names(uow, (t["teacher"] for t in body["teachers"])))
    elif kind == "contact_list":
        doc = render.at_risk_document(pol, body, lang, "contact_list")
    else:
        doc = render.quality_document(pol, body, lang)
    return render.render_table(doc, fmt, f"{row.report}-{row.period}-{row.scope}")
