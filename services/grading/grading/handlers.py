"""Grading's use-cases, one function per RPC (and one for an appeal decision): load through `queries`, let
`domain` decide, add or change rows through `uow.tx`, record the event (`uow.emit`) and the audit entries
(`uow.audit`) in the same unit of work, answer through `views`. Nothing here commits (the entrypoint does) or
imports nameko; `uow` is the worker's unit of work (kernel.db.UnitOfWork, or tests/unit/fakes.FakeUnitOfWork).
"""

from __future__ import annotations

from typing import Any

from grading import domain, queries, views
from grading.models import Assessment, ClosedYear, Correction, Grade, Statement
from kernel.errors import NotFound
from kernel.policy import Policy
from kernel.wire import as_id, iso

UnitOfWork = Any  # kernel.db.UnitOfWork: `tx`, `now()`, `emit`, `audit`


# -- loading one object (404 when there is none) -------------------------------------------------------------


def _assessment(uow: UnitOfWork, assessment_id: Any, lock: bool = False) -> Assessment:
    row = queries.assessment(uow.tx, as_id(assessment_id, "assessment"), lock)
    if row is None:
        raise NotFound(f"no assessment {assessment_id}")
    return row


def _statement(uow: UnitOfWork, statement_id: Any, lock: bool = False) -> Statement:
    row = queries.statement(uow.tx, as_id(statement_id, "statement"), lock)
    if row is None:
        raise NotFound(f"no statement {statement_id}")
    return row


def _correction(uow: UnitOfWork, correction_id: Any, lock: bool = False) -> Correction:
    row = queries.correction(uow.tx, as_id(correction_id, "correction"), lock)
    if row is None:
        raise NotFound(f"no correction {correction_id}")
    return row


def _assessment_view(uow: UnitOfWork, pol: Policy, row: Assessment) -> dict[str, Any]:
    return views.assessment(pol, row, queries.grades(uow.tx, row.id))


def _check_lock(uow: UnitOfWork, pol: Policy, row: Assessment, role: str,
                facts: list[domain.AssessmentFact]) -> None:
    domain.check_unlocked(pol, role, domain.fact_of(row), facts,
                          queries.posted_statement_facts(uow.tx, row.group, row.discipline),
                          queries.year_closed(uow.tx, domain.academic_year(row.date)))


# -- assessments and grades -------------------------------------------------------------------------------------


def create_assessment(uow: UnitOfWork, pol: Policy, body: Any, actor: str) -> dict[str, Any]:
    values = domain.assessment_values(pol, body)
    row = Assessment(**values, created_by=actor, created_at=uow.now())
    facts = queries.facts(uow.tx, row.group, row.discipline)
    _check_lock(uow, pol, row, "teacher", facts + [domain.AssessmentFact(0, row.kind, row.title, row.date, row.max)])
    uow.tx.add(row)
    uow.tx.flush()
    view = views.assessment(pol, row, [])  # a new assessment has no grades yet
    uow.emit("assessment.created", views.without_grades(view), actor=actor)
    uow.audit(entity="assessment", entity_id=str(row.id), action="created", actor=actor,
              new=views.without_grades(view))
    return view


def get_assessment(uow: UnitOfWork, pol: Policy, assessment_id: Any) -> dict[str, Any]:
    return _assessment_view(uow, pol, _assessment(uow, assessment_id))


def list_assessments(uow: UnitOfWork, pol: Policy, group: str, discipline: str) -> dict[str, Any]:
    return {"items": [_assessment_view(uow, pol, r) for r in queries.assessments(uow.tx, group, discipline)],
            "next_cursor": None}


def record_grades(uow: UnitOfWork, pol: Policy, assessment_id: Any, grades: Any, actor: str, role: str = "teacher",
                  on_behalf_of: str | None = None, reason: str | None = None,
                  approval: str | None = None) -> dict[str, Any]:
    batch = domain.grade_list(grades)
    row = _assessment(uow, assessment_id, lock=True)  # one writer per assessment
    write_grades(uow, pol, row, batch, actor, role, on_behalf_of, reason, approval)
    return _assessment_view(uow, pol, row)


def write_grades(uow: UnitOfWork, pol: Policy, row: Assessment, grades: list[dict[str, Any]], actor: str, role: str,
                 on_behalf_of: str | None, reason: str | None, approval: str | None) -> list[domain.Change]:
    """The one audited path every grade takes: a teacher's entry, an executed correction, an appeal."""
    tx = uow.tx
    domain.reject(domain.check_grades(pol, row.max, domain.roster_on(queries.enrolments(tx, row.group), row.date),
                                      grades))
    _check_lock(uow, pol, row, role, queries.facts(tx, row.group, row.discipline))
    stored = {g.student: g for g in queries.grades(tx, row.id)}
    changes = domain.grade_changes({k: g.value for k, g in stored.items()}, grades)
    now = uow.now()
    domain.refuse_late_changes(pol, role, changes, {k: g.first_entry_at for k, g in stored.items()}, now)
    late: list[str] = []
    for c in changes:
        grade = stored.get(c.student)
        if grade is None:
            is_late = domain.grade_late(pol, row.kind, row.date, now)
            tx.add(Grade(assessment=row.id, student=c.student, value=c.new, late=is_late, first_entry_at=now,
                         set_at=now, set_by=actor))
            if is_late:
                late.append(c.student)
        else:
            grade.value, grade.set_at, grade.set_by = c.new, now, actor
    tx.flush()
    if not changes:
        return changes
    uow.emit("grade.recorded", domain.grade_recorded(row, changes, late, actor, role, on_behalf_of, reason, approval),
             actor=actor)
    for entry in domain.grade_audits(row, changes, actor, on_behalf_of, reason, approval):
        uow.audit(**entry)
    if domain.statements_follow(role):
        _refresh_statements(uow, pol, row, actor, approval)
    return changes


def _refresh_statements(uow: UnitOfWork, pol: Policy, row: Assessment, actor: str, approval: str | None) -> None:
    """A posted or closed statement changed by an appeal decision or a correction: its rows follow."""
    facts = queries.facts(uow.tx, row.group, row.discipline)
    boundary = domain.module_boundary(facts)
    fact = next(f for f in facts if f.id == row.id)
    for st in queries.posted_statements(uow.tx, row.group, row.discipline):
        if not domain.statement_covers(st.kind, fact, boundary):
            continue
        rows, _ = _statement_rows(uow, pol, st.group, st.discipline, st.kind)
        if rows != st.rows:
            old = st.rows
            st.rows = rows
            uow.audit(entity="statement", entity_id=str(st.id), action="recomputed", actor=actor,
                      old=old, new=rows, approval=approval)


def decide_appeal(uow: UnitOfWork, pol: Policy, decision: dict[str, Any]) -> list[domain.Change]:
    """An upheld appeal with a value changes the grade through the one audited path, even on a closed
    statement (003 §6.3, §7.6): role "commission", the protocol as the approval."""
    if decision.get("assessment") is not None:
        row = _assessment(uow, decision["assessment"], lock=True)
    else:
        st = _statement(uow, decision["statement"])
        found = queries.latest_assessment(uow.tx, st.group, st.discipline, st.kind)
        if found is None:
            raise NotFound(f"statement {st.id} rests on no {st.kind} assessment to change")
        row = found
    grades, actor, reason, approval = domain.appeal_grade(decision)
    return write_grades(uow, pol, row, grades, actor, domain.COMMISSION, None, reason, approval)


def count_makeup_result(uow: UnitOfWork, result: dict[str, Any]) -> None:
    """A completed make-up's result counts in the rating (RULES.md §6): grading's own act, audited once per
    make-up. Its row is a read model (projections.py), written by the kit beside this; the entry is asked after
    the row, so a second event of the same make-up, waiting on the first one's row, sees the first's entry."""
    if queries.makeup_counted(uow.tx, result["id"]):
        return
    uow.audit(entity="makeup_result", entity_id=str(result["id"]), action="counted", actor=result.get("actor"),
              student=result["student"], new={"session": result["session"], "result": result["result"]},
              approval=f"make-up {result['id']}")


# -- the gradebook and the rating ---------------------------------------------------------------------------------


def _results(uow: UnitOfWork, pol: Policy, group: str, discipline: str,
             student: str | None = None) -> tuple[str, list[dict[str, Any]], list[domain.SessionFact],
                                                  list[domain.AssessmentFact]]:
    tx = uow.tx
    control = domain.discipline_control(queries.control(tx, discipline))
    sessions = queries.sessions(tx, group, discipline)
    facts = queries.facts(tx, group, discipline)
    students = domain.gradebook_students(queries.group_students(tx, group), sessions, facts, student)
    return control, domain.results(pol, control, students, sessions, facts), sessions, facts


def gradebook(uow: UnitOfWork, pol: Policy, group: str, discipline: str, student: str | None = None) -> dict[str, Any]:
    control, results, _, _ = _results(uow, pol, group, discipline, student)
    made_up = views.makeups(pol, queries.makeup_results(uow.tx, group, discipline))
    return domain.gradebook(pol, group, discipline, control, results, made_up)


# -- statements ---------------------------------------------------------------------------------------------------


def _statement_rows(uow: UnitOfWork, pol: Policy, group: str, discipline: str,
                    kind: str) -> tuple[list[dict[str, Any]], Any]:
    _, results, sessions, facts = _results(uow, pol, group, discipline)
    return domain.statement_rows(pol, kind, results, sessions, facts)


def _statement_year_check(uow: UnitOfWork, pol: Policy, st: Statement) -> None:
    day = domain.statement_day(pol, st.covers_until, st.created_at)
    domain.refuse_archived(day, queries.year_closed(uow.tx, domain.academic_year(day)))


def create_statement(uow: UnitOfWork, pol: Policy, group: str, discipline: str, kind: str,
                     actor: str) -> dict[str, Any]:
    domain.check_statement_request(pol, group, discipline, kind)
    tx = uow.tx
    queries.lock_statement_key(tx, group, discipline, kind)
    existing = queries.statement_of(tx, group, discipline, kind)
    domain.refuse_settled(None if existing is None else domain.StatementFact(existing.id, existing.kind,
                                                                             existing.state), group, discipline)
    rows, covers_until = _statement_rows(uow, pol, group, discipline, kind)
    now = uow.now()
    control = domain.discipline_control(queries.control(tx, discipline))
    if existing is None:
        st = Statement(group=group, discipline=discipline, kind=kind, state="open", control=control, rows=rows,
                       covers_until=covers_until, created_by=actor, created_at=now)
        _statement_year_check(uow, pol, st)
        tx.add(st)
        action = "created"
    else:  # an open statement is recomputed from the journal, never typed
        st = existing
        _statement_year_check(uow, pol, st)
        st.rows, st.covers_until, st.control = rows, covers_until, control
        action = "recomputed"
    tx.flush()
    view = views.statement(pol, st)
    uow.emit("statement.created", views.statement_event(pol, st), actor=actor)
    uow.audit(entity="statement", entity_id=str(st.id), action=action, actor=actor, new=view)
    return view


def post_statement(uow: UnitOfWork, pol: Policy, statement_id: Any, actor: str) -> dict[str, Any]:
    return _move_statement(uow, pol, statement_id, "post", actor)


def close_statement(uow: UnitOfWork, pol: Policy, statement_id: Any, actor: str) -> dict[str, Any]:
    return _move_statement(uow, pol, statement_id, "close", actor)


def _move_statement(uow: UnitOfWork, pol: Policy, statement_id: Any, action: str, actor: str) -> dict[str, Any]:
    st = _statement(uow, statement_id, lock=True)
    _statement_year_check(uow, pol, st)
    old = st.state
    st.state = domain.statement_move(st.state, action)
    now = uow.now()
    if action == "post":
        # what is posted is what the journal says at this moment (rows computed, never typed)
        st.rows, st.covers_until = _statement_rows(uow, pol, st.group, st.discipline, st.kind)
        st.posted_at, st.posted_by = now, actor
    else:
        st.closed_at, st.closed_by = now, actor
    uow.tx.flush()
    view = views.statement(pol, st)
    uow.emit(f"statement.{st.state}", views.statement_event(pol, st), actor=actor)
    uow.audit(entity="statement", entity_id=str(st.id), action=action, actor=actor, old={"state": old},
              new={"state": st.state, "covers_until": view["covers_until"], "rows": st.rows})
    return view


def get_statement(uow: UnitOfWork, pol: Policy, statement_id: Any) -> dict[str, Any]:
    st = _statement(uow, statement_id)
    view = views.statement(pol, st)
    if st.state == "open":  # an open statement shows the journal as it is now
        rows, covers_until = _statement_rows(uow, pol, st.group, st.discipline, st.kind)
        view["rows"], view["covers_until"] = rows, iso(pol, covers_until)
    return view


def list_statements(uow: UnitOfWork, pol: Policy, group: str | None = None, discipline: str | None = None,
                    state: str | None = None) -> dict[str, Any]:
    return {"items": [views.statement(pol, st) for st in queries.statements(uow.tx, group, discipline, state)],
            "next_cursor": None}


# -- late corrections -----------------------------------------------------------------------------------------------


def _correction_view(uow: UnitOfWork, pol: Policy, row: Correction) -> dict[str, Any]:
    return views.correction(pol, row, uow.now())


def _check_target(uow: UnitOfWork, pol: Policy, target: Any,
                  value: Any) -> tuple[dict[str, Any], Assessment | None]:
    """The clean target of a correction request, and the assessment when it is a grade."""
    kind, student = domain.target_of(target)
    if kind == "grade":
        row = _assessment(uow, target.get("assessment"))
        domain.check_grade_target(pol, row.max, domain.roster_on(queries.enrolments(uow.tx, row.group), row.date),
                                  student, value)
        return {"kind": "grade", "assessment": row.id, "student": student}, row
    domain.check_attendance_value(pol, value)
    return {"kind": "attendance", "session": as_id(target.get("session"), "session"), "student": student}, None


def create_correction(uow: UnitOfWork, pol: Policy, target: Any, value: Any, reason: Any, actor: str,
                      group: str | None = None) -> dict[str, Any]:
    """A late correction request; `group` (the gateway's, for a session this service has not heard of yet)
    gives way to the target's own group."""
    reason = domain.check_reason(reason)
    clean, assessment = _check_target(uow, pol, target, value)
    if assessment is not None and domain.commission_decides_academic(pol):
        graded = queries.grade(uow.tx, assessment.id, clean["student"]) is not None
        domain.refuse_academic_correction(assessment.kind, graded)
    now = uow.now()
    step, upcoming = domain.first_step(pol, actor, now)
    if assessment is not None:
        group = assessment.group
    else:
        session = queries.session(uow.tx, clean["session"])
        group = session.group if session is not None else group
    row = Correction(target=clean, value=value, reason=reason, state="pending", group=group,
                     next_action=upcoming[0] if upcoming else None, next_role=upcoming[1] if upcoming else None,
                     steps=[domain.step_wire(step)], requested_by=actor, created_at=now)
    uow.tx.add(row)
    uow.tx.flush()
    view = _correction_view(uow, pol, row)
    uow.emit("correction.requested", view, actor=actor)
    uow.audit(entity="correction", entity_id=str(row.id), action=step.action, actor=actor,
              student=clean["student"], new={"target": clean, "value": value}, reason=row.reason)
    return view


def correction_step(uow: UnitOfWork, pol: Policy, correction_id: Any, action: str, actor: str, actor_roles: Any,
                    note: str | None = None) -> dict[str, Any]:
    row = _correction(uow, correction_id, lock=True)
    steps = domain.steps_from_wire(row.steps)
    step = domain.take_step(pol, steps, action, actor, domain.held_roles(actor_roles), uow.now(), note)
    approval = domain.correction_approval(row.id)
    if step.action == "execute":
        _execute(uow, pol, row, actor, approval)
    row.steps = [*row.steps, domain.step_wire(step)]
    row.state, row.next_action, row.next_role = domain.after_steps(pol, [*steps, step])
    uow.tx.flush()
    view = _correction_view(uow, pol, row)
    uow.emit(domain.step_event(step), view, actor=actor)
    uow.audit(entity="correction", entity_id=str(row.id), action=step.action, actor=actor,
              student=row.target.get("student"), new={"state": row.state, "step": view["steps"][-1]},
              reason=note, approval=domain.step_approval(step, approval))
    return view


def _execute(uow: UnitOfWork, pol: Policy, row: Correction, actor: str, approval: str) -> None:
    target = row.target
    if target["kind"] == "grade":
        assessment = _assessment(uow, target["assessment"], lock=True)
        write_grades(uow, pol, assessment, [{"student": target["student"], "value": row.value}], actor,
                     domain.CORRECTION, None, row.reason, approval)
        return
    session = queries.session(uow.tx, target["session"])
    if session is not None:
        day = pol.local(session.starts_at).date()
        domain.refuse_archived(day, queries.year_closed(uow.tx, domain.academic_year(day)))
    uow.emit("correction.executed", domain.correction_executed(row.id, target, row.value, actor, approval,
                                                                row.reason), actor=actor)


def get_correction(uow: UnitOfWork, pol: Policy, correction_id: Any) -> dict[str, Any]:
    return _correction_view(uow, pol, _correction(uow, correction_id))


def list_corrections(uow: UnitOfWork, pol: Policy, state: str | None = None, requested_by: str | None = None,
                     reach: list[Any] | None = None, limit: Any = None, cursor: Any = None) -> dict[str, Any]:
    """A page, in id order, of the corrections a caller has business with: those it requested (`requested_by`)
    and, for each `[role, groups]` of `reach` (groups None: every group), those awaiting that role in those
    groups or, with a `state` other than pending, those of its groups in that state. Neither: every one."""
    domain.check_correction_state(state)
    return queries.corrections_page(uow.tx, state, requested_by, reach or [], limit, cursor,
                                    lambda r: _correction_view(uow, pol, r))


# -- the year archive ---------------------------------------------------------------------------------------------


def close_year(uow: UnitOfWork, pol: Policy, year: Any, actor: str) -> dict[str, Any]:
    starts, ends = domain.year_asked(year)
    row = queries.closed_year(uow.tx, year, lock=True)
    if row is None:
        row = ClosedYear(year=year, closed_by=actor, closed_at=uow.now())
        uow.tx.add(row)
        uow.tx.flush()
        payload = views.year_closed_event(pol, row, starts, ends)
        uow.emit("year.closed", payload, actor=actor)
        uow.audit(entity="year", entity_id=year, action="closed", actor=actor, new=payload)
    return views.closed_year(pol, row, starts, ends)


def is_year_closed(uow: UnitOfWork, year: str) -> bool:
    return queries.year_closed(uow.tx, year)
