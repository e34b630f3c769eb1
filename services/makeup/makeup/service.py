"""Make-up, disputes and appeals: the only writer of make-ups, disputes, commissions and appeals. The entrypoints
only translate: each RPC asks its use-case in `handlers` (which loads through `queries`, lets `domain` decide and
records state, outbox event and audit entry in the unit of work), commits, and answers.

The gateway has already checked who may call (roles and object access); this service enforces what it owns: the
deadlines, the extension order, the state machines and the commission's membership. Consequences elsewhere travel
as events: `makeup.completed` (attendance sets the mark to made_up, grading counts the result) and
`appeal.decided` (grading applies the value with role commission).
"""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from kernel.consumer import handles
from kernel.db import Database
from kernel.events import Envelope
from kernel.metrics import DomainGauge
from kernel.projections import apply
from kernel.service import ServiceBase
from kernel.wire import policy
from makeup import handlers
from makeup.projections import PROJECTIONS


class MakeupService(ServiceBase):
    name = "makeup"
    db = Database()
    domain_gauges = (  # kernel/metrics.py
        DomainGauge("ejournal_makeups", "Make-ups by state", "SELECT state, count(*) FROM makeup.makeup GROUP BY state",
                    ("state",)),
        DomainGauge("ejournal_appeals", "Appeals by state", "SELECT state, count(*) FROM makeup.appeal GROUP BY state",
                    ("state",)),
    )

    # -- make-up (003 §5) ------------------------------------------------------------------------------------
    @rpc
    def request_makeup(self, session: Any, student: str, actor: str, role: str = "student") -> dict[str, Any]:
        view, refusal = handlers.request_makeup(self.db, policy(), session, student, actor, role)
        self.db.commit()
        if refusal is not None:  # a late request is stored (the approvers can extend it), then refused: 409
            raise refusal
        return view

    @rpc
    def get_makeup(self, makeup_id: Any) -> dict[str, Any]:
        return handlers.get_makeup(self.db, policy(), makeup_id)

    @rpc
    def assign_makeup(self, makeup_id: Any, task_kind: Any, topic: Any, due: Any, actor: str) -> dict[str, Any]:
        result = handlers.assign_makeup(self.db, policy(), makeup_id, task_kind, topic, due, actor)
        self.db.commit()
        return result

    @rpc
    def complete_makeup(self, makeup_id: Any, result: Any, comment: Any, actor: str) -> dict[str, Any]:
        view = handlers.complete_makeup(self.db, policy(), makeup_id, result, comment, actor)
        self.db.commit()
        return view

    @rpc
    def extend_makeup(self, makeup_id: Any, until: Any, reason: Any, actor: str, role: str) -> dict[str, Any]:
        result = handlers.extend_makeup(self.db, policy(), makeup_id, until, reason, actor, role)
        self.db.commit()
        return result

    @rpc
    def list_makeups(self, state: str | None = None, group: str | None = None, discipline: str | None = None,
                     student: str | None = None, teacher: str | None = None,
                     awaiting_extension_role: str | None = None, groups: list[str] | None = None,
                     limit: Any = None, cursor: Any = None) -> dict[str, Any]:
        """A page of make-ups in id order; `groups` narrows them to the caller's units (an approver's queue holds
        the make-ups of the groups it oversees, nobody else's)."""
        return handlers.list_makeups(self.db, policy(), state, group, discipline, student, teacher,
                                     awaiting_extension_role, groups, limit, cursor)

    @rpc
    def register(self, group: str, discipline: str) -> dict[str, Any]:
        """The make-up register (003 §5.6): every absence of the group in the discipline with its make-up, and
        the check that it agrees with the journal marks."""
        return handlers.register(self.db, policy(), group, discipline)

    # -- disputes (003 §6.2) ---------------------------------------------------------------------------------
    @rpc
    def open_dispute(self, assessment: Any, student: str, reason: Any, actor: str,
                     published_at: str | None = None) -> dict[str, Any]:
        result = handlers.open_dispute(self.db, policy(), assessment, student, reason, actor, published_at)
        self.db.commit()
        return result

    @rpc
    def resolve_dispute(self, dispute_id: Any, value: Any, note: Any, actor: str) -> dict[str, Any]:
        result = handlers.resolve_dispute(self.db, policy(), dispute_id, value, note, actor)
        self.db.commit()
        return result

    @rpc
    def escalate_dispute(self, dispute_id: Any, actor: str, note: Any = None) -> dict[str, Any]:
        result = handlers.escalate_dispute(self.db, policy(), dispute_id, actor, note)
        self.db.commit()
        return result

    @rpc
    def get_dispute(self, dispute_id: Any) -> dict[str, Any]:
        return handlers.get_dispute(self.db, policy(), dispute_id)

    @rpc
    def list_disputes(self, state: str | None = None, student: str | None = None, assessment: Any = None,
                      group: str | None = None, discipline: str | None = None, limit: Any = None,
                      cursor: Any = None) -> dict[str, Any]:
        return handlers.list_disputes(self.db, policy(), state, student, assessment, group, discipline, limit,
                                      cursor)

    # -- commissions and appeals (003 §6.3) -----------------------------------------------------------------
    @rpc
    def create_commission(self, order: Any, members: Any, date_from: Any, date_to: Any,
                          actor: str) -> dict[str, Any]:
        result = handlers.create_commission(self.db, policy(), order, members, date_from, date_to, actor)
        self.db.commit()
        return result

    @rpc
    def get_commission(self, commission_id: Any) -> dict[str, Any]:
        return handlers.get_commission(self.db, policy(), commission_id)

    @rpc
    def list_commissions(self, limit: Any = None, cursor: Any = None) -> dict[str, Any]:
        return handlers.list_commissions(self.db, policy(), limit, cursor)

    @rpc
    def commission_of(self, member: str, active_only: bool = True) -> list[int]:
        """The commissions `member` sits on (active today, unless asked for all): the scope of role commission."""
        return handlers.commission_of(self.db, policy(), member, active_only)

    @rpc
    def file_appeal(self, student: str, reason: Any, actor: str, statement: Any = None, assessment: Any = None,
                    published_at: str | None = None) -> dict[str, Any]:
        result = handlers.file_appeal(self.db, policy(), student, reason, actor, statement, assessment, published_at)
        self.db.commit()
        return result

    @rpc
    def get_appeal(self, appeal_id: Any) -> dict[str, Any]:
        return handlers.get_appeal(self.db, policy(), appeal_id)

    @rpc
    def list_appeals(self, state: str | None = None, student: str | None = None, commissions: list[Any] | None = None,
                     limit: Any = None, cursor: Any = None) -> dict[str, Any]:
        """The student's own; the queue of the caller's commissions: every appeal awaiting a decision and those
        they decided."""
        return handlers.list_appeals(self.db, policy(), state, student, commissions, limit, cursor)

    @rpc
    def decide_appeal(self, appeal_id: Any, upheld: Any, protocol: Any, value: Any, actor: str) -> dict[str, Any]:
        result = handlers.decide_appeal(self.db, policy(), appeal_id, upheld, protocol, value, actor)
        self.db.commit()
        return result

    # -- read models, from attendance's and grading's events (makeup/projections.py) ------------------------
    @handles("attendance", "session.scheduled")
    def on_session_scheduled(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("attendance", "marks.recorded")
    def on_marks_recorded(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("grading", "statement.posted")
    def on_statement_posted(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("grading", "statement.closed")
    def on_statement_closed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("grading", "assessment.created")
    def on_assessment_created(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("grading", "grade.recorded")
    def on_grade_recorded(self, event: Envelope) -> None:
        """When each student's grade became visible: the dispute and appeal windows run from it (003 §6.2)."""
        apply(self.db, PROJECTIONS, event)
