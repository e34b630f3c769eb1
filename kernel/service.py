"""What every nameko service exposes besides its domain: a liveness answer and its audit trail."""

from __future__ import annotations

from datetime import datetime
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
        return audit.verify(self.db.tx, self.name)

    @rpc
    def audit_entries(self, entity: str | None = None, entity_id: str | None = None,
                      student: str | None = None, limit: int = 500, after: Any = None) -> list[dict[str, Any]]:
        """In time order; `after` ([at, service, id] of a merged list's last entry) starts past it."""
        if after is not None:
            after = (datetime.fromisoformat(after[0]), str(after[1]), int(after[2]))
        rows = audit.entries(self.db.tx, self.name, entity=entity, entity_id=entity_id, student=student,
                             limit=min(int(limit), 501), after=after)
        for row in rows:
            row["at"] = row["at"].isoformat()
        return rows

    @rpc
    def outbox_status(self) -> dict[str, Any]:
        row = self.db.execute(text(
            f"SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)"
            f" FROM {self.name}.outbox WHERE published_at IS NULL")).one()
        return {"backlog": int(row[0]), "oldest_age_seconds": float(row[1])}

    EVENTS_PAGE_MAX = 1000

    @rpc
    def events(self, after_id: Any = 0, limit: Any = 500, types: Any = None) -> dict[str, Any]:
        """This service's events from its outbox, which doubles as its event log, in id order (the order they
        were stored), a page at a time: `{"items": [{"id", "event"}], "next_after", "last_id"}`. Read models
        are rebuilt from these pages (`python -m reports.rebuild`); `types` narrows them to the event types a
        consumer handles. A page may stop short of `last_id` while a later-numbered row is still uncommitted;
        such an event reaches the consumers through the broker as usual."""
        from kernel.errors import ValidationFailed  # here, so that this block stays self-contained

        errors: dict[str, list[str]] = {}
        if isinstance(after_id, bool) or not isinstance(after_id, int) or after_id < 0:
            errors["after_id"] = ["a whole number, 0 or more"]
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= self.EVENTS_PAGE_MAX:
            errors["limit"] = [f"a whole number from 1 to {self.EVENTS_PAGE_MAX}"]
        if types is not None and (not isinstance(types, list) or not types
                                  or not all(isinstance(t, str) and 0 < len(t) <= 100 for t in types)):
            errors["types"] = ["a non-empty list of event types, or null for all"]
        if errors:
            first = next(iter(errors.items()))
            raise ValidationFailed(f"{first[0]}: {first[1][0]}", errors)
        where = "id > :after" + (" AND type = ANY(:types)" if types is not None else "")
        rows = self.db.execute(text(f"SELECT id, envelope FROM {self.name}.outbox WHERE {where}"
                                    " ORDER BY id LIMIT :limit"),
                               {"after": after_id, "limit": limit, "types": types}).all()
        last = self.db.execute(text(f"SELECT coalesce(max(id), 0) FROM {self.name}.outbox")).scalar()
        items = [{"id": int(r.id), "event": r.envelope} for r in rows]
        return {"items": items, "next_after": items[-1]["id"] if items else after_id, "last_id": int(last or 0)}
