"""The reports' scheduled work (RULES.md §8: weekly or monthly, each semester and year): every report of
`domain.schedule` for its last finished period, generated once per period and scope, unattended.

`generate_due(uow, pol)` is what the service's timer runs; it commits one report at a time (a report is a
document of its period, stored with its `report.ready` event in one transaction) and nothing imports nameko.
"""

from __future__ import annotations

from typing import Any

from kernel.policy import Policy
from reports import domain, handlers, queries
from reports.models import ScheduledReport

UnitOfWork = Any  # kernel.db.UnitOfWork (or tests/unit/fakes.FakeUnitOfWork)


def generate_due(uow: UnitOfWork, pol: Policy) -> list[int]:
    """Generate every report of `domain.schedule` for its last finished period that is not stored yet, one
    commit each; a replica that finds another one generating leaves it to it. Returns the new ids."""
    tx = uow.tx
    today = pol.local(uow.now()).date()
    made: list[int] = []
    for report, cadence, scope_kind in domain.schedule(pol):
        period = domain.last_finished(cadence, today)
        for scope in queries.units(tx, scope_kind):
            # one generator at a time; none while `reports.rebuild` refills the read models it reads
            if not queries.lock_schedule(tx):
                uow.rollback()
                return made
            if queries.scheduled_done(tx, report, cadence, period.start, scope_kind, scope):
                uow.rollback()
                continue
            body = scheduled_body(uow, pol, report, period, scope_kind, scope)
            row = ScheduledReport(report=report, cadence=cadence, period=period.label,
                                  period_start=period.start, period_end=period.end, scope_kind=scope_kind,
                                  scope=scope, generated_at=uow.now(), body=body)
            tx.add(row)
            tx.flush()
            uow.emit("report.ready", {**domain.scheduled_view(pol, row)}, actor="system")
            uow.commit()
            made.append(row.id)
    uow.rollback()
    return made


def scheduled_body(uow: UnitOfWork, pol: Policy, report: str, period: domain.Period, scope_kind: str,
                   scope: str) -> dict[str, Any]:
    """The stored body of one scheduled report: the report as its RPC answers it, for the period and scope."""
    tx = uow.tx
    head = domain.scheduled_head(pol, report, period, scope_kind, scope, uow.now())
    start, end = domain.period_bounds(pol, period.start, period.end)
    if report == "attendance":
        return {**head, **handlers.attendance(uow, pol, domain.Filters(faculty=scope, date_from=period.start,
                                                                       date_to=period.end))}
    if report in domain.FILLING_REPORTS:
        return {**head, "teachers": [handlers.filling(uow, pol, t, start=start, end=end)
                                     for t in queries.teachers_with_sessions(tx, scope, start, end)]}
    if report == "contact_list":
        return {**head, **handlers.at_risk_body(uow, pol, [scope], "ru")}
    if report == "quality":
        return {**head, **handlers.quality(uow, pol, queries.units(tx, "group", scope))}
    raise ValueError(f"no scheduled report {report!r}")
