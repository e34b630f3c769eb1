"""Attendance: the only writer of the timetable, topics, marks, check-ins and excuses. The entrypoints only
translate: the preset, the use-case (`handlers`: load, let `domain` decide, write state + outbox event + audit in
the unit of work), one commit, the answer. The event consumers below keep this service's read models.
"""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from attendance import domain, handlers
from attendance.projections import PROJECTIONS
from kernel.consumer import handles
from kernel.db import Database
from kernel.events import Envelope
from kernel.policy import MAKEUP
from kernel.projections import apply
from kernel.service import ServiceBase
from kernel.wire import policy


class AttendanceService(ServiceBase):
    name = "attendance"
    db = Database()

    # -- the timetable ------------------------------------------------------------------------------------
    @rpc
    def import_timetable(self, body: Any, actor: str) -> dict[str, Any]:
        result = handlers.import_timetable(self.db, policy(), body, actor)
        self.db.commit()
        return result

    @rpc
    def list_sessions(self, group: str | None = None, discipline: str | None = None, teacher: str | None = None,
                      date_from: str | None = None, date_to: str | None = None, limit: int = 100,
                      cursor: str | None = None, student: str | None = None) -> dict[str, Any]:
        return handlers.list_sessions(self.db, policy(), group, discipline, teacher, date_from, date_to, limit,
                                      cursor, student)

    @rpc
    def get_session(self, session_id: int, student: str | None = None) -> dict[str, Any]:
        return handlers.get_session(self.db, policy(), session_id, student)

    @rpc
    def set_plan(self, session_id: int, planned_topic: str | None, actor: str) -> dict[str, Any]:
        result = handlers.set_plan(self.db, policy(), session_id, planned_topic, actor)
        self.db.commit()
        return result

    @rpc
    def set_topic(self, session_id: int, topic: str | None, work_kind: str | None, actor: str,
                  on_behalf_of: str | None = None) -> dict[str, Any]:
        result = handlers.set_topic(self.db, policy(), session_id, topic, work_kind, actor, on_behalf_of)
        self.db.commit()
        return result

    # -- marks --------------------------------------------------------------------------------------------
    @rpc
    def record_marks(self, session_id: int, marks: Any, actor: str, role: str = "teacher",
                     on_behalf_of: str | None = None, reason: str | None = None) -> dict[str, Any]:
        result = handlers.record_marks(self.db, policy(), session_id, marks, actor, role, on_behalf_of, reason)
        self.db.commit()
        return result

    # QR check-ins arrive through the command queue and are recorded in batches: attendance.intake

    @rpc
    def live_roster(self, session_id: int) -> dict[str, Any]:
        return handlers.live_roster(self.db, policy(), session_id)

    # -- excuses (003 §4.2.3-4.2.4) ---------------------------------------------------------------------------
    @rpc
    def file_excuse(self, body: Any, actor: str, role: str) -> dict[str, Any]:
        result = handlers.file_excuse(self.db, policy(), body, actor, role)
        self.db.commit()
        return result

    @rpc
    def decide_excuse(self, excuse_id: int, approve: bool, note: str | None, actor: str) -> dict[str, Any]:
        result = handlers.decide_excuse(self.db, policy(), excuse_id, approve, note, actor)
        self.db.commit()
        return result

    @rpc
    def get_excuse(self, excuse_id: int) -> dict[str, Any]:
        return handlers.get_excuse(self.db, policy(), excuse_id)

    @rpc
    def list_excuses(self, state: str | None = None, students: list[str] | None = None, limit: int = 100,
                     cursor: str | None = None) -> dict[str, Any]:
        return handlers.list_excuses(self.db, policy(), state, students, limit, cursor)

    @rpc
    def student_faculty_group(self, student: str) -> dict[str, Any]:
        """The student's enrolment today (local date), with the group's department."""
        return handlers.student_faculty_group(self.db, policy(), student)

    # -- read models, from identity's events (attendance/projections.py) -------------------------------------
    @handles("identity", "org.changed")
    def on_org_changed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("identity", "enrolment.changed")
    def on_enrolment_changed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("identity", "discipline.changed")
    def on_discipline_changed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("identity", "assignment.changed")
    def on_assignment_changed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    # -- grading's events: executed corrections, the archived year ---------------------------------------------
    @handles("grading", "correction.executed")
    def on_correction_executed(self, event: Envelope) -> None:
        """An approved late correction of a mark (003 §4.4.2): the same audited path as a teacher's marks, with
        the approval named; a correction of a grade is grading's own. A redelivery is claimed once (`handles`)
        and would change nothing anyway (the mark already has the value)."""
        p = event.payload
        target = p.get("target") or {}
        if target.get("kind") != "attendance":
            return
        pol = policy()
        row = handlers.load_session(self.db, target.get("session"), lock=True)
        handlers.write_marks(self.db, pol, row, [{"student": target.get("student"), "status": p.get("value")}],
                             actor=p.get("actor") or event.actor or "grading", role=domain.CORRECTION,
                             on_behalf_of=None, reason=p.get("reason"),
                             approval=p.get("approval") or f"correction {p.get('id')}")

    @handles("grading", "year.closed")
    def on_year_closed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("makeup", "makeup.completed")
    def on_makeup_completed(self, event: Envelope) -> None:
        """A completed make-up turns the absence into `made_up` (003 §5: "отработка аткарылды"), only this way;
        the same audited path as every mark, with the make-up named as the approval."""
        p = event.payload
        pol = policy()
        row = handlers.load_session(self.db, p["session"], lock=True)
        handlers.write_marks(self.db, pol, row, [{"student": p["student"], "status": "made_up"}],
                             actor=p.get("actor") or event.actor or "makeup", role=MAKEUP, on_behalf_of=None,
                             reason=p.get("comment"), approval=f"make-up {p['id']}")
