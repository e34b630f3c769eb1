"""Grading: the only writer of assessments, grades, statements, late corrections and the year archive. The
entrypoints only translate: each RPC asks its use-case in `handlers` (which loads through `queries`, lets `domain`
decide and records state, outbox event and audit entries in the unit of work), commits, and answers.

The gateway has already checked who may call, object access and the time windows; this service re-checks the
invariants it owns (the scale, the roster, a posted or closed statement, an archived year, the correction chain).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from nameko.rpc import rpc
from sqlalchemy import delete, or_

from grading import handlers
from grading.models import Discipline, Enrolment, MakeupResult, Mark, Session
from kernel.consumer import handles
from kernel.db import Database
from kernel.events import Envelope
from kernel.metrics import DomainGauge
from kernel.readmodels import replace_enrolment, upsert_newest
from kernel.service import ServiceBase
from kernel.wire import policy


class GradingService(ServiceBase):
    name = "grading"
    db = Database()
    domain_gauges = (  # kernel/metrics.py
        DomainGauge("ejournal_statements", "Statements by kind and state",
                    "SELECT kind, state, count(*) FROM grading.statement GROUP BY kind, state", ("kind", "state")),
        DomainGauge("ejournal_corrections", "Late corrections by state",
                    "SELECT state, count(*) FROM grading.correction GROUP BY state", ("state",)),
    )

    # -- assessments and grades ---------------------------------------------------------------------------
    @rpc
    def create_assessment(self, body: Any, actor: str) -> dict[str, Any]:
        result = handlers.create_assessment(self.db, policy(), body, actor)
        self.db.commit()
        return result

    @rpc
    def get_assessment(self, assessment_id: int) -> dict[str, Any]:
        return handlers.get_assessment(self.db, policy(), assessment_id)

    @rpc
    def list_assessments(self, group: str, discipline: str) -> dict[str, Any]:
        return handlers.list_assessments(self.db, policy(), group, discipline)

    @rpc
    def record_grades(self, assessment_id: int, grades: Any, actor: str, role: str = "teacher",
                      on_behalf_of: str | None = None, reason: str | None = None,
                      approval: str | None = None) -> dict[str, Any]:
        result = handlers.record_grades(self.db, policy(), assessment_id, grades, actor, role, on_behalf_of, reason,
                                        approval)
        self.db.commit()
        return result

    # -- the gradebook and the rating ---------------------------------------------------------------------
    @rpc
    def gradebook(self, group: str, discipline: str, student: str | None = None) -> dict[str, Any]:
        return handlers.gradebook(self.db, policy(), group, discipline, student)

    # -- statements ---------------------------------------------------------------------------------------
    @rpc
    def create_statement(self, group: str, discipline: str, kind: str, actor: str) -> dict[str, Any]:
        result = handlers.create_statement(self.db, policy(), group, discipline, kind, actor)
        self.db.commit()
        return result

    @rpc
    def post_statement(self, statement_id: int, actor: str) -> dict[str, Any]:
        result = handlers.post_statement(self.db, policy(), statement_id, actor)
        self.db.commit()
        return result

    @rpc
    def close_statement(self, statement_id: int, actor: str) -> dict[str, Any]:
        result = handlers.close_statement(self.db, policy(), statement_id, actor)
        self.db.commit()
        return result

    @rpc
    def get_statement(self, statement_id: int) -> dict[str, Any]:
        return handlers.get_statement(self.db, policy(), statement_id)

    @rpc
    def list_statements(self, group: str | None = None, discipline: str | None = None,
                        state: str | None = None) -> dict[str, Any]:
        return handlers.list_statements(self.db, policy(), group, discipline, state)

    # -- late corrections ---------------------------------------------------------------------------------
    @rpc
    def create_correction(self, target: Any, value: Any, reason: Any, actor: str,
                          group: str | None = None) -> dict[str, Any]:
        result = handlers.create_correction(self.db, policy(), target, value, reason, actor, group)
        self.db.commit()
        return result

    @rpc
    def correction_step(self, correction_id: int, action: str, actor: str, actor_roles: Any,
                        note: str | None = None) -> dict[str, Any]:
        result = handlers.correction_step(self.db, policy(), correction_id, action, actor, actor_roles, note)
        self.db.commit()
        return result

    @rpc
    def get_correction(self, correction_id: int) -> dict[str, Any]:
        return handlers.get_correction(self.db, policy(), correction_id)

    @rpc
    def list_corrections(self, state: str | None = None, requested_by: str | None = None,
                         reach: list[Any] | None = None, limit: Any = None, cursor: Any = None) -> dict[str, Any]:
        return handlers.list_corrections(self.db, policy(), state, requested_by, reach, limit, cursor)

    # -- the year archive ---------------------------------------------------------------------------------
    @rpc
    def close_year(self, year: str, actor: str) -> dict[str, Any]:
        result = handlers.close_year(self.db, policy(), year, actor)
        self.db.commit()
        return result

    @rpc
    def is_year_closed(self, year: str) -> bool:
        return handlers.is_year_closed(self.db, year)

    # -- read models, from events -------------------------------------------------------------------------
    @handles("identity", "enrolment.changed")
    def on_enrolment_changed(self, event: Envelope) -> None:
        """The payload carries the student's whole enrolment history: replace it."""
        replace_enrolment(self.db.tx, Enrolment, event.payload)

    @handles("identity", "discipline.changed")
    def on_discipline_changed(self, event: Envelope) -> None:
        p = event.payload
        tx = self.db.tx
        row = tx.get(Discipline, p["code"])
        values = {"name": p.get("name") or p["code"], "control": p.get("control") or "exam",
                  "credits": p.get("credits")}
        if row is None:
            tx.add(Discipline(code=p["code"], **values))
        else:
            for k, v in values.items():
                setattr(row, k, v)

    def _upsert_session(self, p: Mapping[str, Any], session_id: Any) -> None:
        tx = self.db.tx
        row = tx.get(Session, int(session_id))
        values = {"term": p.get("term"), "discipline": p["discipline"], "group": p["group"],
                  "subgroup": p.get("subgroup"), "kind": p.get("kind"),
                  "starts_at": datetime.fromisoformat(p["starts_at"])}
        if row is None:
            tx.add(Session(id=int(session_id), **values))
        else:
            for k, v in values.items():
                setattr(row, k, v)
        tx.flush()

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
        upsert_newest(self.db.tx, Mark, ("session", "student"),
                      [{"session": session, "student": k, "status": v, "at": at}
                       for k, v in last.items() if v is not None])
        gone = [k for k, v in last.items() if v is None]
        if gone:  # an older event, delivered late, changes nothing
            self.db.tx.execute(delete(Mark).where(Mark.session == session, Mark.student.in_(gone),
                                                  or_(Mark.at.is_(None), Mark.at <= at)))

    # -- make-up results and appeal decisions, from the makeup service's events -------------------------
    @handles("makeup", "makeup.completed")
    def on_makeup_completed(self, event: Envelope) -> None:
        p = event.payload
        if self.db.tx.get(MakeupResult, p["id"]) is None:
            self.db.tx.add(MakeupResult(
                makeup=p["id"], session=p["session"], student=p["student"], group=p["group"],
                discipline=p["discipline"], result=str(p["result"]), comment=p.get("comment"),
                completed_at=datetime.fromisoformat(p["completed_at"]) if p.get("completed_at") else None))
            self.db.audit(entity="makeup_result", entity_id=str(p["id"]), action="counted", actor=p.get("actor"),
                          student=p["student"], new={"session": p["session"], "result": p["result"]},
                          approval=f"make-up {p['id']}")

    @handles("makeup", "appeal.decided")
    def on_appeal_decided(self, event: Envelope) -> None:
        """An upheld appeal with a value changes the grade through the one audited path (handlers.decide_appeal)."""
        handlers.decide_appeal(self.db, policy(), event.payload)
