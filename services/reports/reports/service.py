"""The reports service's nameko entrypoints, thin: idempotent consumers that keep the read models (never another
service's tables, ARCHITECTURE.md; declared in projections.py, applied by kernel.projections), the RPCs that answer
reports and render documents from them (handlers.py), and the timer of the scheduled reports (jobs.py)."""

from __future__ import annotations

import logging
import os
from typing import Any

from nameko.rpc import rpc
from nameko.timer import timer

from kernel.config import settings
from kernel.consumer import handles
from kernel.db import Database
from kernel.events import Envelope
from kernel.metrics import DomainGauge
from kernel.policy import Policy, load_preset
from kernel.projections import apply
from kernel.service import ServiceBase
from reports import handlers, jobs
from reports.projections import PROJECTIONS

log = logging.getLogger("reports")
# how often the timer looks for a finished period (seconds of real time; the period itself follows the clock)
SCHEDULE_EVERY_S = float(os.environ.get("EJOURNAL_REPORTS_SCHEDULE_SECONDS", "10"))


def policy() -> Policy:
    return load_preset(settings().preset)


class ReportsService(ServiceBase):
    name = "reports"
    db = Database()
    domain_gauges = (  # kernel/metrics.py; marks as the report's read model counts them
        DomainGauge("ejournal_marks", "Attendance marks by status",
                    "SELECT status, sum(n) FROM reports.tally_rollup GROUP BY status", ("status",)),
    )

    # -- read models: identity ---------------------------------------------------------------------------------
    # Every upsert keeps the newest value by the event's time (or the person's revision): the handlers give the
    # same tables in any order of events, so a rebuild can replay while live events arrive (reports/rebuild.py).
    @handles("identity", "org.changed")
    def on_org_changed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("identity", "person.changed")
    def on_person_changed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("identity", "discipline.changed")
    def on_discipline_changed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    # -- read models: attendance -------------------------------------------------------------------------------
    @handles("attendance", "session.scheduled")
    def on_session_scheduled(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("attendance", "marks.recorded")
    def on_marks_recorded(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("attendance", "topic.recorded")
    def on_topic_recorded(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("attendance", "excuse.filed")
    def on_excuse_filed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("attendance", "excuse.decided")
    def on_excuse_decided(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    # -- read models: grading ----------------------------------------------------------------------------------
    @handles("grading", "statement.created")
    def on_statement_created(self, event: Envelope) -> None:
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
        apply(self.db, PROJECTIONS, event)

    # -- read models: makeup -----------------------------------------------------------------------------------
    @handles("makeup", "makeup.requested")
    def on_makeup_requested(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("makeup", "makeup.assigned")
    def on_makeup_assigned(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("makeup", "makeup.extension_step")
    def on_makeup_extension_step(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("makeup", "makeup.extended")
    def on_makeup_extended(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("makeup", "makeup.completed")
    def on_makeup_completed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("makeup", "dispute.opened")
    def on_dispute_opened(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("makeup", "dispute.resolved")
    def on_dispute_resolved(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("makeup", "dispute.escalated")
    def on_dispute_escalated(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("makeup", "appeal.filed")
    def on_appeal_filed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("makeup", "appeal.decided")
    def on_appeal_decided(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    @handles("makeup", "appeal.closed")
    def on_appeal_closed(self, event: Envelope) -> None:
        apply(self.db, PROJECTIONS, event)

    # -- reports (read-only: nothing to commit) ----------------------------------------------------------------
    @rpc
    def attendance_report(self, faculty: str | None = None, group: str | None = None,
                          discipline: str | None = None, teacher: str | None = None, date_from: str | None = None,
                          date_to: str | None = None, fmt: str = "json", lang: str = "ru") -> dict[str, Any]:
        return handlers.attendance_report(self.db, policy(), faculty, group, discipline, teacher, date_from,
                                          date_to, fmt, lang)

    @rpc
    def filling_report(self, teacher: Any, term: Any, fmt: str = "json", lang: str = "ky",
                       journal_url: Any = None) -> dict[str, Any]:
        return handlers.filling_report(self.db, policy(), teacher, term, fmt, lang, journal_url)

    @rpc
    def teacher_journal(self, teacher: Any, term: Any) -> dict[str, Any]:
        return handlers.teacher_journal(self.db, policy(), teacher, term)

    @rpc
    def student_record(self, student: Any, lang: str = "ru") -> dict[str, Any]:
        return handlers.student_record(self.db, policy(), student, lang)

    @rpc
    def at_risk(self, faculty: Any = None, group: Any = None, fmt: str = "json", lang: str = "ru") -> dict[str, Any]:
        return handlers.at_risk(self.db, policy(), faculty, group, fmt, lang)

    @rpc
    def render_statement(self, statement: Any, fmt: str = "pdf", lang: str = "ru",
                         verify_url: str = "") -> dict[str, Any]:
        return handlers.render_statement(self.db, policy(), statement, fmt, lang, verify_url)

    @rpc
    def list_scheduled(self, within: Any = None, report: Any = None, limit: Any = 100,
                       cursor: Any = None) -> dict[str, Any]:
        return handlers.list_scheduled(self.db, policy(), within, report, limit, cursor)

    @rpc
    def get_scheduled(self, report_id: Any, within: Any = None, fmt: str = "json", lang: str = "ru") -> dict[str, Any]:
        return handlers.get_scheduled(self.db, policy(), report_id, within, fmt, lang)

    # -- scheduled reports (RULES.md §8: weekly or monthly, each semester and year) ------------------------------
    @timer(interval=SCHEDULE_EVERY_S)
    def scheduled_tick(self) -> None:
        """Unattended: generate what is due by the (simulation) clock; each report once per period and scope."""
        try:
            jobs.generate_due(self.db, policy())
        except Exception:  # noqa: BLE001 - the next tick tries again; a timer that raises is only logged
            log.exception("scheduled reports: generation failed")
            self.db.rollback()
