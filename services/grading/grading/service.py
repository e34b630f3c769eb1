"""Grading: the only writer of assessments, grades, statements, late corrections and the year archive. The
entrypoints only translate: each RPC asks its use-case in `handlers` (which loads through `queries`, lets `domain`
decide and records state, outbox event and audit entries in the unit of work), commits, and answers.

The gateway has already checked who may call, object access and the time windows; this service re-checks the
invariants it owns (the scale, the roster, a posted or closed statement, an archived year, the correction chain).
"""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from grading import handlers
from grading.projections import PROJECTIONS
from kernel.consumer import handles
from kernel.db import Database
from kernel.events import Envelope
from kernel.metrics import DomainGauge
from kernel.projections import apply
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

    # -- read models, from identity's and attendance's events (grading/projections.py) -----------------------
    @handles("identity", "enrolment.changed")
    def on_enrolment_changed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("identity", "discipline.changed")
    def on_discipline_changed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("attendance", "session.scheduled")
    def on_session_scheduled(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("attendance", "marks.recorded")
    def on_marks_recorded(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    # -- make-up results and appeal decisions, from the makeup service's events -------------------------
    @handles("makeup", "makeup.completed")
    def on_makeup_completed(self, event: Envelope) -> None:
        """The result is a read model (the kit writes it once, a rebuild replays it); counting it is grading's own
        audited act, which a rebuild must not repeat, so its entry is the handler's (handlers.count_makeup_result)."""
        apply(self.db, PROJECTIONS, event)
        handlers.count_makeup_result(self.db, event.payload)

    @handles("makeup", "appeal.decided")
    def on_appeal_decided(self, event: Envelope) -> None:
        """An upheld appeal with a value changes the grade through the one audited path (handlers.decide_appeal)."""
        handlers.decide_appeal(self.db, policy(), event.payload)
