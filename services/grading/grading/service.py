"""Grading: the only writer of assessments, grades, statements, late corrections and the year archive. Thin
entrypoints: load what the request touches, let `domain` decide, write state + outbox event + audit in one
commit, answer.

The gateway has already checked who may call, object access and the time windows; this service re-checks the
invariants it owns (the scale, the roster, a posted or closed statement, an archived year, the correction chain).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from nameko.rpc import rpc
from sqlalchemy import and_, delete, or_, select, text, true

from grading import domain
from grading.models import (
    Assessment,
    ClosedYear,
    Correction,
    Discipline,
    Enrolment,
    Grade,
    MakeupResult,
    Mark,
    Session,
    Statement,
)
from kernel.consumer import handles
from kernel.db import Database
from kernel.errors import Conflict, Forbidden, Locked, NotFound, ValidationFailed
from kernel.events import Envelope
from kernel.metrics import DomainGauge
from kernel.paging import page_by_id
from kernel.policy import Policy
from kernel.readmodels import replace_enrolment, upsert_newest
from kernel.service import ServiceBase
from kernel.validation import invalid as _invalid
from kernel.wire import as_id as _id
from kernel.wire import iso as _iso
from kernel.wire import policy


def _date(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise _invalid(field, "an ISO date (YYYY-MM-DD)") from None


def _text(body: Mapping[str, Any], field: str, longest: int) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip() or len(value) > longest:
        raise _invalid(field, f"a string of 1..{longest} characters")
    return value.strip()


def _fact(a: Assessment, grades: Iterable[Grade]) -> domain.AssessmentFact:
    return domain.AssessmentFact(a.id, a.kind, a.title, a.date, a.max, {g.student: g.value for g in grades})


def _steps(rows: Iterable[Mapping[str, Any]]) -> list[domain.Step]:
    return [domain.Step(s["action"], s["role"], s["actor"], datetime.fromisoformat(s["at"]), s.get("note"))
            for s in rows]


class GradingService(ServiceBase):
    name = "grading"
    db = Database()
    domain_gauges = (  # kernel/metrics.py
        DomainGauge("ejournal_statements", "Statements by kind and state",
                    "SELECT kind, state, count(*) FROM grading.statement GROUP BY kind, state", ("kind", "state")),
        DomainGauge("ejournal_corrections", "Late corrections by state",
                    "SELECT state, count(*) FROM grading.correction GROUP BY state", ("state",)),
    )

    # -- loading ------------------------------------------------------------------------------------------
    def _assessment(self, assessment_id: Any, lock: bool = False) -> Assessment:
        row = self.db.session.get(Assessment, _id(assessment_id, "assessment"), with_for_update=lock or None)
        if row is None:
            raise NotFound(f"no assessment {assessment_id}")
        return row

    def _grades(self, assessment_id: int) -> list[Grade]:
        return list(self.db.session.scalars(select(Grade).where(Grade.assessment == assessment_id)
                                            .order_by(Grade.student)))

    def _assessment_view(self, pol: Policy, row: Assessment) -> dict[str, Any]:
        return {"id": row.id, "group": row.group, "discipline": row.discipline, "kind": row.kind,
                "title": row.title, "date": row.date.isoformat(), "max": domain.number(row.max),
                "created_by": row.created_by,
                "grades": [{"student": g.student, "value": domain.number(g.value), "late": bool(g.late),
                            "first_entry_at": _iso(pol, g.first_entry_at), "set_at": _iso(pol, g.set_at),
                            "set_by": g.set_by} for g in self._grades(row.id)]}

    def _facts(self, group: str, discipline: str) -> list[domain.AssessmentFact]:
        s = self.db.session
        rows = list(s.scalars(select(Assessment).where(Assessment.group == group, Assessment.discipline == discipline)
                              .order_by(Assessment.date, Assessment.id)))
        grades: dict[int, list[Grade]] = {}
        if rows:
            for g in s.scalars(select(Grade).where(Grade.assessment.in_([a.id for a in rows]))):
                grades.setdefault(g.assessment, []).append(g)
        return [_fact(a, grades.get(a.id, [])) for a in rows]

    def _sessions(self, group: str, discipline: str) -> list[domain.SessionFact]:
        s = self.db.session
        rows = list(s.scalars(select(Session).where(Session.group == group, Session.discipline == discipline)
                              .order_by(Session.starts_at, Session.id)))
        marks: dict[int, dict[str, str]] = {}
        if rows:
            for m in s.scalars(select(Mark).where(Mark.session.in_([r.id for r in rows]))):
                marks.setdefault(m.session, {})[m.student] = m.status
        return [domain.SessionFact(r.id, r.starts_at, marks.get(r.id, {})) for r in rows]

    def _periods(self, student: str) -> list[domain.Period]:
        rows = self.db.session.scalars(select(Enrolment).where(Enrolment.student == student))
        return [domain.Period(e.group, e.subgroup, e.starts, e.ends) for e in rows]

    def _roster(self, group: str, day: date) -> list[str]:
        rows = self.db.session.scalars(select(Enrolment).where(Enrolment.group == group))
        return sorted({e.student for e in rows
                       if e.starts <= day and (e.ends is None or day < e.ends)})

    def _control(self, discipline: str) -> str:
        row = self.db.session.get(Discipline, discipline)
        return row.control if row is not None and row.control in ("exam", "credit") else "exam"

    def _year_closed(self, day: date) -> bool:
        return self.db.session.get(ClosedYear, domain.academic_year(day)) is not None

    def _check_lock(self, pol: Policy, row: Assessment, role: str, facts: list[domain.AssessmentFact]) -> None:
        boundary = domain.module_boundary(facts)
        fact = next((f for f in facts if f.id == row.id), domain.AssessmentFact(row.id, row.kind, row.title,
                                                                                  row.date, row.max))
        statements = self.db.session.scalars(select(Statement).where(
            Statement.group == row.group, Statement.discipline == row.discipline,
            Statement.state.in_(("posted", "closed"))))
        covering = [domain.StatementFact(st.id, st.kind, st.state) for st in statements
                    if domain.statement_covers(st.kind, fact, boundary)]
        reason = domain.lock_reason(pol, role, covering, domain.academic_year(row.date), self._year_closed(row.date))
        if reason:
            raise Locked(reason)

    # -- assessments and grades ---------------------------------------------------------------------------
    @rpc
    def create_assessment(self, body: Any, actor: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _invalid("body", "an object")
        pol = policy()
        domain.reject(domain.check_assessment(pol, body))
        values = {"group": _text(body, "group", 64), "discipline": _text(body, "discipline", 64),
                  "kind": body["kind"], "title": _text(body, "title", 300), "date": _date(body.get("date"), "date"),
                  "max": float(body["max"])}
        uow = self.db
        row = Assessment(**values, created_by=actor, created_at=uow.now())
        facts = self._facts(row.group, row.discipline)
        self._check_lock(pol, row, "teacher", facts + [domain.AssessmentFact(0, row.kind, row.title, row.date,
                                                                             row.max)])
        uow.session.add(row)
        uow.session.flush()
        view = self._assessment_view(pol, row)
        uow.emit("assessment.created", {k: v for k, v in view.items() if k != "grades"}, actor=actor)
        uow.audit(entity="assessment", entity_id=str(row.id), action="created", actor=actor,
                  new={k: v for k, v in view.items() if k != "grades"})
        uow.commit()
        return view

    @rpc
    def get_assessment(self, assessment_id: int) -> dict[str, Any]:
        return self._assessment_view(policy(), self._assessment(assessment_id))

    @rpc
    def list_assessments(self, group: str, discipline: str) -> dict[str, Any]:
        pol = policy()
        rows = self.db.session.scalars(select(Assessment).where(Assessment.group == group,
                                                                 Assessment.discipline == discipline)
                                       .order_by(Assessment.date, Assessment.id))
        return {"items": [self._assessment_view(pol, r) for r in rows], "next_cursor": None}

    @rpc
    def record_grades(self, assessment_id: int, grades: Any, actor: str, role: str = "teacher",
                      on_behalf_of: str | None = None, reason: str | None = None,
                      approval: str | None = None) -> dict[str, Any]:
        if not isinstance(grades, list) or not all(isinstance(g, dict) for g in grades):
            raise _invalid("grades", "a list of {student, value}")
        pol = policy()
        row = self._assessment(assessment_id, lock=True)  # one writer per assessment
        self._write_grades(pol, row, grades, actor, role, on_behalf_of, reason, approval)
        self.db.commit()
        return self._assessment_view(pol, row)

    def _write_grades(self, pol: Policy, row: Assessment, grades: list[dict[str, Any]], actor: str, role: str,
                      on_behalf_of: str | None, reason: str | None, approval: str | None) -> list[domain.Change]:
        """The one audited path every grade takes: a teacher's entry, an executed correction, an appeal."""
        uow = self.db
        s = uow.session
        domain.reject(domain.check_grades(pol, row.max, self._roster(row.group, row.date), grades))
        facts = self._facts(row.group, row.discipline)
        self._check_lock(pol, row, role, facts)
        stored = {g.student: g for g in self._grades(row.id)}
        changes = domain.grade_changes({k: g.value for k, g in stored.items()}, grades)
        now = uow.now()
        domain.refuse_late_changes(pol, role, changes, {k: g.first_entry_at for k, g in stored.items()}, now)
        late: list[str] = []
        for c in changes:
            grade = stored.get(c.student)
            if grade is None:
                is_late = domain.grade_late(pol, row.kind, row.date, now)
                s.add(Grade(assessment=row.id, student=c.student, value=c.new, late=is_late, first_entry_at=now,
                            set_at=now, set_by=actor))
                if is_late:
                    late.append(c.student)
            else:
                grade.value, grade.set_at, grade.set_by = c.new, now, actor
        s.flush()
        if not changes:
            return changes
        uow.emit("grade.recorded", {
            "assessment": row.id, "group": row.group, "discipline": row.discipline, "kind": row.kind,
            "date": row.date.isoformat(), "max": domain.number(row.max),
            "changes": [{"student": c.student, "old": None if c.old is None else domain.number(c.old),
                         "new": domain.number(c.new)} for c in changes],
            "late": late, "actor": actor, "role": role, "on_behalf_of": on_behalf_of, "reason": reason,
            "approval": approval}, actor=actor)
        for c in changes:
            uow.audit(entity="grade", entity_id=f"{row.id}:{c.student}", action="recorded", actor=actor,
                      on_behalf_of=on_behalf_of, student=c.student,
                      old=None if c.old is None else domain.number(c.old), new=domain.number(c.new),
                      reason=reason, approval=approval)
        if role in (domain.COMMISSION, domain.CORRECTION):
            self._refresh_statements(pol, row, actor, approval)
        return changes

    def _refresh_statements(self, pol: Policy, row: Assessment, actor: str, approval: str | None) -> None:
        """A posted or closed statement changed by an appeal decision or a correction: its rows follow."""
        facts = self._facts(row.group, row.discipline)
        boundary = domain.module_boundary(facts)
        fact = next(f for f in facts if f.id == row.id)
        for st in self.db.session.scalars(select(Statement).where(
                Statement.group == row.group, Statement.discipline == row.discipline,
                Statement.state.in_(("posted", "closed")))):
            if not domain.statement_covers(st.kind, fact, boundary):
                continue
            rows, _ = self._statement_rows(pol, st.group, st.discipline, st.kind)
            if rows != st.rows:
                old = st.rows
                st.rows = rows
                self.db.audit(entity="statement", entity_id=str(st.id), action="recomputed", actor=actor,
                              old=old, new=rows, approval=approval)

    # -- the gradebook and the rating ---------------------------------------------------------------------
    def _results(self, pol: Policy, group: str, discipline: str,
                 student: str | None = None) -> tuple[str, list[dict[str, Any]], list[domain.SessionFact],
                                                      list[domain.AssessmentFact]]:
        control = self._control(discipline)
        sessions = self._sessions(group, discipline)
        facts = self._facts(group, discipline)
        students = set(self.db.session.scalars(select(Enrolment.student).where(Enrolment.group == group)))
        for a in facts:
            students.update(a.grades)
        for sf in sessions:
            students.update(sf.marks)
        chosen = sorted(st for st in students if student is None or st == student)
        results = []
        for st in chosen:
            result = domain.student_result(pol, control, st, sessions, facts)
            result["grades"] = domain.student_grades(st, facts)
            results.append(result)
        return control, results, sessions, facts

    @rpc
    def gradebook(self, group: str, discipline: str, student: str | None = None) -> dict[str, Any]:
        pol = policy()
        control, results, _, _ = self._results(pol, group, discipline, student)
        made_up: dict[str, list[dict[str, Any]]] = {}
        for m in self.db.session.scalars(select(MakeupResult).where(
                MakeupResult.group == group, MakeupResult.discipline == discipline).order_by(MakeupResult.makeup)):
            made_up.setdefault(m.student, []).append({"makeup": m.makeup, "session": m.session, "result": m.result,
                                                       "comment": m.comment,
                                                       "completed_at": _iso(pol, m.completed_at)})
        for r in results:
            r["makeups"] = made_up.get(r["student"], [])
        return {"group": group, "discipline": discipline, "control": control,
                "rating_max": domain.number(pol.grading.rating.max), "students": results}

    # -- statements ---------------------------------------------------------------------------------------
    def _statement_rows(self, pol: Policy, group: str, discipline: str,
                        kind: str) -> tuple[list[dict[str, Any]], datetime | None]:
        _, results, sessions, facts = self._results(pol, group, discipline)
        boundary = domain.module_boundary(facts)
        instants = [sf.starts_at for sf in sessions if sf.marks
                    and domain.statement_covers_session(kind, pol.local(sf.starts_at).date(), boundary)]
        instants += [domain.day_start(pol, a.day) for a in facts if a.grades
                     and domain.statement_covers(kind, a, boundary)]
        rows = [domain.statement_row(pol, kind, r) for r in results]
        return rows, max(instants) if instants else None

    def _statement(self, statement_id: Any, lock: bool = False) -> Statement:
        row = self.db.session.get(Statement, _id(statement_id, "statement"), with_for_update=lock or None)
        if row is None:
            raise NotFound(f"no statement {statement_id}")
        return row

    def _statement_view(self, pol: Policy, st: Statement) -> dict[str, Any]:
        return {"id": st.id, "group": st.group, "discipline": st.discipline, "kind": st.kind, "state": st.state,
                "control": st.control, "rows": st.rows, "covers_until": _iso(pol, st.covers_until),
                "created_by": st.created_by, "created_at": _iso(pol, st.created_at),
                "posted_by": st.posted_by, "posted_at": _iso(pol, st.posted_at),
                "closed_by": st.closed_by, "closed_at": _iso(pol, st.closed_at)}

    def _statement_year_check(self, pol: Policy, st: Statement) -> None:
        day = pol.local(st.covers_until or st.created_at).date()
        if self._year_closed(day):
            raise Locked(f"the academic year {domain.academic_year(day)} is archived (RULES.md §9)")

    def _statement_event(self, pol: Policy, st: Statement) -> dict[str, Any]:
        return {"id": st.id, "group": st.group, "discipline": st.discipline, "kind": st.kind, "state": st.state,
                "covers_until": _iso(pol, st.covers_until)}

    @rpc
    def create_statement(self, group: str, discipline: str, kind: str, actor: str) -> dict[str, Any]:
        pol = policy()
        if kind not in pol.statements.kinds:
            raise _invalid("kind", f"one of {', '.join(pol.statements.kinds)}")
        for field, value in (("group", group), ("discipline", discipline)):
            if not isinstance(value, str) or not value:
                raise _invalid(field, "a code")
        uow = self.db
        s = uow.session
        s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"statement:{group}:{discipline}:{kind}"})
        existing = s.scalars(select(Statement).where(Statement.group == group, Statement.discipline == discipline,
                                                     Statement.kind == kind)).first()
        if existing is not None and existing.state != "open":
            raise Conflict(f"statement {existing.id} for {group} {discipline} {kind} is already {existing.state}")
        rows, covers_until = self._statement_rows(pol, group, discipline, kind)
        now = uow.now()
        if existing is None:
            st = Statement(group=group, discipline=discipline, kind=kind, state="open",
                           control=self._control(discipline), rows=rows, covers_until=covers_until,
                           created_by=actor, created_at=now)
            self._statement_year_check(pol, st)
            s.add(st)
            action = "created"
        else:  # an open statement is recomputed from the journal, never typed
            st = existing
            self._statement_year_check(pol, st)
            st.rows, st.covers_until, st.control = rows, covers_until, self._control(discipline)
            action = "recomputed"
        s.flush()
        view = self._statement_view(pol, st)
        uow.emit("statement.created", self._statement_event(pol, st), actor=actor)
        uow.audit(entity="statement", entity_id=str(st.id), action=action, actor=actor, new=view)
        uow.commit()
        return view

    @rpc
    def post_statement(self, statement_id: int, actor: str) -> dict[str, Any]:
        return self._move_statement(statement_id, "post", actor)

    @rpc
    def close_statement(self, statement_id: int, actor: str) -> dict[str, Any]:
        return self._move_statement(statement_id, "close", actor)

    def _move_statement(self, statement_id: Any, action: str, actor: str) -> dict[str, Any]:
        pol = policy()
        uow = self.db
        st = self._statement(statement_id, lock=True)
        self._statement_year_check(pol, st)
        old = st.state
        st.state = domain.statement_move(st.state, action)
        now = uow.now()
        if action == "post":
            # what is posted is what the journal says at this moment (rows computed, never typed)
            st.rows, st.covers_until = self._statement_rows(pol, st.group, st.discipline, st.kind)
            st.posted_at, st.posted_by = now, actor
        else:
            st.closed_at, st.closed_by = now, actor
        uow.session.flush()
        view = self._statement_view(pol, st)
        uow.emit(f"statement.{st.state}", self._statement_event(pol, st), actor=actor)
        uow.audit(entity="statement", entity_id=str(st.id), action=action, actor=actor, old={"state": old},
                  new={"state": st.state, "covers_until": view["covers_until"], "rows": st.rows})
        uow.commit()
        return view

    @rpc
    def get_statement(self, statement_id: int) -> dict[str, Any]:
        pol = policy()
        st = self._statement(statement_id)
        view = self._statement_view(pol, st)
        if st.state == "open":  # an open statement shows the journal as it is now
            rows, covers_until = self._statement_rows(pol, st.group, st.discipline, st.kind)
            view["rows"], view["covers_until"] = rows, _iso(pol, covers_until)
        return view

    @rpc
    def list_statements(self, group: str | None = None, discipline: str | None = None,
                        state: str | None = None) -> dict[str, Any]:
        pol = policy()
        q = select(Statement).order_by(Statement.id)
        if group is not None:
            q = q.where(Statement.group == group)
        if discipline is not None:
            q = q.where(Statement.discipline == discipline)
        if state is not None:
            q = q.where(Statement.state == state)
        return {"items": [self._statement_view(pol, st) for st in self.db.session.scalars(q)], "next_cursor": None}

    # -- late corrections ---------------------------------------------------------------------------------
    def _correction(self, correction_id: Any, lock: bool = False) -> Correction:
        row = self.db.session.get(Correction, _id(correction_id, "correction"), with_for_update=lock or None)
        if row is None:
            raise NotFound(f"no correction {correction_id}")
        return row

    def _correction_view(self, pol: Policy, row: Correction) -> dict[str, Any]:
        steps = _steps(row.steps)
        upcoming = domain.next_step(pol, steps)
        due = domain.execution_due(pol, steps)
        return {"id": row.id, "target": row.target, "value": row.value, "reason": row.reason,
                "state": row.state, "requested_by": row.requested_by, "created_at": _iso(pol, row.created_at),
                "steps": [{"action": s.action, "role": s.role, "actor": s.actor, "at": _iso(pol, s.at),
                           "note": s.note} for s in steps],
                "next": {"action": upcoming[0], "role": upcoming[1]} if upcoming else None,
                "due": _iso(pol, due), "overdue": domain.overdue(pol, steps, self.db.now())}

    def _check_target(self, pol: Policy, target: Any, value: Any) -> dict[str, Any]:
        if not isinstance(target, dict) or target.get("kind") not in ("attendance", "grade"):
            raise _invalid("target.kind", "attendance or grade")
        student = target.get("student")
        if not isinstance(student, str) or not student:
            raise _invalid("target.student", "a student code")
        if target["kind"] == "grade":
            row = self._assessment(target.get("assessment"))
            errors = domain.check_grades(pol, row.max, self._roster(row.group, row.date),
                                         [{"student": student, "value": value}])
            if errors:
                flat = {("value" if k.endswith(".value") else "target.student"): v
                        for k, v in errors.by_field.items()}
                raise ValidationFailed(next(iter(flat.items()))[1][0], flat)
            return {"kind": "grade", "assessment": row.id, "student": student}
        if not isinstance(value, str) or not pol.has_code(value):
            raise _invalid("value", f"one of the attendance codes {', '.join(c.key for c in pol.codes)}")
        return {"kind": "attendance", "session": _id(target.get("session"), "session"), "student": student}

    @rpc
    def create_correction(self, target: Any, value: Any, reason: Any, actor: str,
                          group: str | None = None) -> dict[str, Any]:
        """A late correction request; `group` (the gateway's, for a session this service has not heard of yet)
        gives way to the target's own group."""
        pol = policy()
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 2000:
            raise _invalid("reason", "a written reason of 1..2000 characters (003 §4.4.2)")
        clean = self._check_target(pol, target, value)
        if clean["kind"] == "grade" and pol.corrections.academic_by == "commission":
            kind = self._assessment(clean["assessment"]).kind
            stored = self.db.session.get(Grade, (clean["assessment"], clean["student"]))
            # changing a module or final grade is an academic correction (003 §4.4.3 b); a missed first entry of
            # one is a technical one (§4.4.3 a), through this chain like any late entry (§4.4.2)
            if kind != "current" and stored is not None:
                raise Forbidden(f"a {kind} grade changes only by an appeal commission's decision and protocol "
                                "(003 §4.4.3, RULES.md §5); file an appeal instead")
        uow = self.db
        now = uow.now()
        first = pol.corrections.chain[0]
        step = domain.Step(first.action, first.role, actor, now, None)
        upcoming = domain.next_step(pol, [step])
        if clean["kind"] == "grade":
            group = self._assessment(clean["assessment"]).group
        else:
            session = uow.session.get(Session, clean["session"])
            group = session.group if session is not None else group
        row = Correction(target=clean, value=value, reason=reason.strip(), state="pending", group=group,
                         next_action=upcoming[0] if upcoming else None, next_role=upcoming[1] if upcoming else None,
                         steps=[self._step_wire(step)], requested_by=actor, created_at=now)
        uow.session.add(row)
        uow.session.flush()
        view = self._correction_view(pol, row)
        uow.emit("correction.requested", view, actor=actor)
        uow.audit(entity="correction", entity_id=str(row.id), action=first.action, actor=actor,
                  student=clean["student"], new={"target": clean, "value": value}, reason=row.reason)
        uow.commit()
        return view

    @staticmethod
    def _step_wire(step: domain.Step) -> dict[str, Any]:
        return {"action": step.action, "role": step.role, "actor": step.actor, "at": step.at.isoformat(),
                "note": step.note}

    @rpc
    def correction_step(self, correction_id: int, action: str, actor: str, actor_roles: Any,
                        note: str | None = None) -> dict[str, Any]:
        pol = policy()
        uow = self.db
        row = self._correction(correction_id, lock=True)
        roles = {r[0] if isinstance(r, list | tuple) else r.get("role") if isinstance(r, dict) else r
                 for r in (actor_roles or [])}
        steps = _steps(row.steps)
        step = domain.take_step(pol, steps, action, actor, roles, uow.now(), note)
        approval = f"correction {row.id}"
        if step.action == "execute":
            self._execute(pol, row, actor, approval)
        after = [*steps, step]
        row.steps = [*row.steps, self._step_wire(step)]
        row.state = domain.correction_state(pol, after)
        upcoming = domain.next_step(pol, after)
        row.next_action, row.next_role = (upcoming if upcoming else (None, None))
        uow.session.flush()
        view = self._correction_view(pol, row)
        uow.emit(f"correction.{'rejected' if step.action == 'reject' else 'step'}", view, actor=actor)
        uow.audit(entity="correction", entity_id=str(row.id), action=step.action, actor=actor,
                  student=row.target.get("student"), new={"state": row.state, "step": view["steps"][-1]},
                  reason=note, approval=approval if step.action in ("approve", "execute") else None)
        uow.commit()
        return view

    def _execute(self, pol: Policy, row: Correction, actor: str, approval: str) -> None:
        target = row.target
        if target["kind"] == "grade":
            assessment = self._assessment(target["assessment"], lock=True)
            self._write_grades(pol, assessment, [{"student": target["student"], "value": row.value}], actor,
                               domain.CORRECTION, None, row.reason, approval)
            return
        session = self.db.session.get(Session, target["session"])
        if session is not None:
            day = pol.local(session.starts_at).date()
            if self._year_closed(day):
                raise Locked(f"the academic year {domain.academic_year(day)} is archived (RULES.md §9)")
        self.db.emit("correction.executed", {"id": row.id, "target": target, "value": row.value, "actor": actor,
                                             "approval": approval, "reason": row.reason}, actor=actor)

    @rpc
    def get_correction(self, correction_id: int) -> dict[str, Any]:
        return self._correction_view(policy(), self._correction(correction_id))

    @rpc
    def list_corrections(self, state: str | None = None, requested_by: str | None = None,
                         reach: list[Any] | None = None, limit: Any = None, cursor: Any = None) -> dict[str, Any]:
        """A page, in id order, of the corrections a caller has business with: those it requested (`requested_by`)
        and, for each `[role, groups]` of `reach` (groups None: every group), those awaiting that role in those
        groups or, with a `state` other than pending, those of its groups in that state. Neither: every one."""
        pol = policy()
        if state is not None and state not in ("pending", "executed", "rejected"):
            raise _invalid("state", "pending, executed or rejected")
        q = select(Correction)
        if state is not None:
            q = q.where(Correction.state == state)
        mine = []
        if requested_by is not None:
            mine.append(Correction.requested_by == requested_by)
        for role, groups in reach or []:
            waiting = [] if state not in (None, "pending") else [Correction.state == "pending",
                                                                   Correction.next_role == role]
            clauses = [*waiting, *([] if groups is None else [Correction.group.in_(list(groups))])]
            mine.append(and_(*clauses) if clauses else true())
        if mine:
            q = q.where(or_(*mine))
        return page_by_id(self.db.session, q, Correction.id, limit, cursor,
                          lambda r: self._correction_view(pol, r))

    # -- the year archive ---------------------------------------------------------------------------------
    @rpc
    def close_year(self, year: str, actor: str) -> dict[str, Any]:
        try:
            starts, ends = domain.year_bounds(year)
        except ValueError as exc:
            raise _invalid("year", str(exc)) from None
        pol = policy()
        uow = self.db
        row = uow.session.get(ClosedYear, year, with_for_update=True)
        if row is None:
            row = ClosedYear(year=year, closed_by=actor, closed_at=uow.now())
            uow.session.add(row)
            uow.session.flush()
            payload = {"year": year, "starts": starts.isoformat(), "ends": ends.isoformat(), "actor": actor,
                       "closed_at": _iso(pol, row.closed_at)}
            uow.emit("year.closed", payload, actor=actor)
            uow.audit(entity="year", entity_id=year, action="closed", actor=actor, new=payload)
            uow.commit()
        return {"year": row.year, "starts": starts.isoformat(), "ends": ends.isoformat(), "closed": True,
                "closed_by": row.closed_by, "closed_at": _iso(pol, row.closed_at)}

    @rpc
    def is_year_closed(self, year: str) -> bool:
        return self.db.session.get(ClosedYear, year) is not None

    # -- read models, from events -------------------------------------------------------------------------
    @handles("identity", "enrolment.changed")
    def on_enrolment_changed(self, event: Envelope) -> None:
        """The payload carries the student's whole enrolment history: replace it."""
        replace_enrolment(self.db.session, Enrolment, event.payload)

    @handles("identity", "discipline.changed")
    def on_discipline_changed(self, event: Envelope) -> None:
        p = event.payload
        s = self.db.session
        row = s.get(Discipline, p["code"])
        values = {"name": p.get("name") or p["code"], "control": p.get("control") or "exam",
                  "credits": p.get("credits")}
        if row is None:
            s.add(Discipline(code=p["code"], **values))
        else:
            for k, v in values.items():
                setattr(row, k, v)

    def _upsert_session(self, p: Mapping[str, Any], session_id: Any) -> None:
        s = self.db.session
        row = s.get(Session, int(session_id))
        values = {"term": p.get("term"), "discipline": p["discipline"], "group": p["group"],
                  "subgroup": p.get("subgroup"), "kind": p.get("kind"),
                  "starts_at": datetime.fromisoformat(p["starts_at"])}
        if row is None:
            s.add(Session(id=int(session_id), **values))
        else:
            for k, v in values.items():
                setattr(row, k, v)
        s.flush()

    @handles("attendance", "session.scheduled")
    def on_session_scheduled(self, event: Envelope) -> None:
        self._upsert_session(event.payload, event.payload["id"])

    @handles("attendance", "marks.recorded")
    def on_marks_recorded(self, event: Envelope) -> None:
        """Keep each student's current status per session (the attendance summary and rating follow it)."""
        p = event.payload
        self._upsert_session(p, p["session"])
        session = int(p["session"])
        at = datetime.fromisoformat(event.occurred_at)
        last = {c["student"]: c.get("new") for c in p.get("changes") or []}  # one statement for the whole event
        upsert_newest(self.db.session, Mark, ("session", "student"),
                      [{"session": session, "student": k, "status": v, "at": at}
                       for k, v in last.items() if v is not None])
        gone = [k for k, v in last.items() if v is None]
        if gone:  # an older event, delivered late, changes nothing
            self.db.execute(delete(Mark).where(Mark.session == session, Mark.student.in_(gone),
                                               or_(Mark.at.is_(None), Mark.at <= at)))

    # -- make-up results and appeal decisions, from the makeup service's events -------------------------
    @handles("makeup", "makeup.completed")
    def on_makeup_completed(self, event: Envelope) -> None:
        p = event.payload
        if self.db.session.get(MakeupResult, p["id"]) is None:
            self.db.session.add(MakeupResult(
                makeup=p["id"], session=p["session"], student=p["student"], group=p["group"],
                discipline=p["discipline"], result=str(p["result"]), comment=p.get("comment"),
                completed_at=datetime.fromisoformat(p["completed_at"]) if p.get("completed_at") else None))
            self.db.audit(entity="makeup_result", entity_id=str(p["id"]), action="counted", actor=p.get("actor"),
                          student=p["student"], new={"session": p["session"], "result": p["result"]},
                          approval=f"make-up {p['id']}")

    @handles("makeup", "appeal.decided")
    def on_appeal_decided(self, event: Envelope) -> None:
        """An upheld appeal with a value changes the grade through the one audited path, even on a closed
        statement (003 §6.3, §7.6): role "commission", the protocol as the approval."""
        p = event.payload
        pol = policy()
        if p.get("assessment") is not None:
            row = self._assessment(p["assessment"], lock=True)
        else:
            st = self._statement(p["statement"])
            row = self.db.session.scalars(select(Assessment).where(
                Assessment.group == st.group, Assessment.discipline == st.discipline, Assessment.kind == st.kind)
                .order_by(Assessment.date.desc(), Assessment.id.desc())).first()
            if row is None:
                raise NotFound(f"statement {st.id} rests on no {st.kind} assessment to change")
        self._write_grades(pol, row, [{"student": p["student"], "value": p["value"]}], p.get("actor") or "commission",
                           domain.COMMISSION, None, f"appeal {p['id']}",
                           p.get("approval") or f"appeal {p['id']}, protocol {p.get('protocol')}")

