"""What every nameko service exposes besides its domain: a liveness answer and its audit trail."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc
from sqlalchemy import text

from kernel import audit
from kernel.db import Database
from kernel.metrics import DomainGauge, Metrics


class ServiceBase:
    """Mixin for service classes; `name` and `db` are set by the service."""

    name: str
    db: Database
    telemetry = Metrics()  # /metrics, RPC and handler metrics, the log line of every worker (kernel/metrics.py)
    domain_gauges: tuple[DomainGauge, ...] = ()  # a service's own counts by state, measured at each scrape

    @rpc
    def ping(self) -> dict[str, Any]:
        self.db.execute(text("SELECT 1"))  # the service answers only if its database does
        return {"service": self.name, "ok": True}

    @rpc
    def audit_verify(self) -> dict[str, Any]:
        return audit.verify(self.db.session, self.name)

    @rpc
    def audit_entries(self, entity: str | None = None, entity_id: str | None = None,
                      student: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        rows = audit.entries(self.db.session, self.name, entity=entity, entity_id=entity_id, student=student,
                             limit=limit)
        for row in rows:
            row["at"] = row["at"].isoformat()
        return rows

    @rpc
    def outbox_status(self) -> dict[str, Any]:
        row = self.db.execute(text(
            f"SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)"
            f" FROM {self.name}.outbox WHERE published_at IS NULL")).one()
        return {"backlog": int(row[0]), "oldest_age_seconds": float(row[1])}
