"""SQLAlchemy 2 unit of work as a nameko dependency provider (the nameko-sqlalchemy pattern).

A worker gets a fresh UnitOfWork; nothing is written unless it commits, and `worker_teardown`
rolls back and returns the connection. State changes, outbox rows and audit entries share the
one transaction, so an event is stored exactly when the change it describes is.

Outbox rows and audit entries are collected and written at commit, in one round trip after the
audit chains are locked: a chain's lock is held for three short statements, not the whole unit.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from kernel import audit, clock
from kernel.config import settings
from kernel.events import Envelope, new_event


def make_psycopg2_green() -> None:
    """psycopg2 is C code: eventlet's monkey patching does not reach it, so a query would block every
    greenlet of the process. A wait callback makes libpq yield to the hub (psycogreen's recipe)."""
    import psycopg2
    from psycopg2 import extensions

    try:
        from eventlet.hubs import trampoline
    except ImportError:  # pragma: no cover - eventlet is a dependency
        return

    def wait(conn: Any, timeout: float | None = None) -> None:
        while True:
            state = conn.poll()
            if state == extensions.POLL_OK:
                break
            if state == extensions.POLL_READ:
                trampoline(conn.fileno(), read=True)
            elif state == extensions.POLL_WRITE:
                trampoline(conn.fileno(), write=True)
            else:
                raise psycopg2.OperationalError(f"Bad result from poll: {state!r}")

    extensions.set_wait_callback(wait)


IDLE_PING_S = 2.0  # a pooled connection idle longer than this is pinged before use


DB_POOL_LIMIT = 10


def make_engine(url: str, pool_size: int = 5) -> Engine:
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=2,
        pool_timeout=10,
        connect_args={"connect_timeout": 5, "options": "-c statement_timeout=30000"},
    )
    # instead of pool_pre_ping's round trip on every checkout: ping only a connection that sat idle, so a
    # restarted PostgreSQL is noticed, and a burst of requests does not pay one extra round trip each
    event.listen(engine, "checkin", _stamp_idle)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _stamp_idle(dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < IDLE_PING_S:
        return
    autocommit = dbapi_connection.autocommit
    try:
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cur:
            cur.execute("SELECT 1")
        dbapi_connection.autocommit = autocommit
    except Exception as error:  # noqa: BLE001 - any failure means: use another connection
        raise exc.DisconnectionError(f"stale pooled connection: {error}") from error


class UnitOfWork:
    def __init__(self, factory: sessionmaker[Session], service: str, context: dict[str, Any] | None = None):
        self._factory = factory
        self.service = service
        self.context = context or {}
        self._session: Session | None = None
        self._now: datetime | None = None
        self._outbox: list[dict[str, Any]] = []
        self._audit: list[dict[str, Any]] = []

    @property
    def tx(self) -> Session:
        """The unit's SQLAlchemy Session, named for what it is here (its transaction), so that "session"
        always means a timetable session."""
        if self._session is None:
            self._session = self._factory()
        return self._session


    def execute(self, statement: Any, params: Any = None) -> Any:
        return self.tx.execute(statement, params)

    def now(self) -> datetime:
        """The time of this unit of work: read once (in simulation mode, from `kernel.clock`), then kept."""
        if self._now is None:
            self._now = clock.now(self.tx)
        return self._now

    def now_from_offset(self, offset_seconds: float | None) -> datetime:
        """Set the unit's time from a `clock.OFFSET_SQL` value a hot path read along with its own query."""
        if self._now is None:
            self._now = clock.at_offset(offset_seconds)
        return self._now

    def emit(self, event_type: str, payload: dict[str, Any], *, actor: str | None = None,
             version: int = 1) -> Envelope:
        """Store an event in the outbox, in this transaction (written at commit); the relay publishes it after."""
        event = new_event(
            self.service, event_type, payload, self.now(), actor=actor,
            institution=settings().preset, request_id=self.context.get("request_id"), version=version,
        )
        self._outbox.append(
            {"event_id": event.event_id, "type": event.type, "version": event.version,
             "occurred_at": event.occurred_at,
             "envelope": json.dumps(event.to_wire(), ensure_ascii=False, default=str)})
        return event

    def audit(self, **entry: Any) -> dict[str, Any]:
        """Add an audit entry (optionally `chain=`, the stream it links in; `main` when none), written at
        commit; the returned entry gets its id and hash then."""
        entry.setdefault("at", self.now())
        pending = audit.new_entry(**entry)
        self._audit.append(pending)
        return pending

    def claim(self, event_id: str, handler: str) -> bool:
        """Record that `handler` processed `event_id`; False when it already had (a redelivery)."""
        inserted = self.tx.execute(
            text(
                f"INSERT INTO {self.service}.processed_event (event_id, handler) VALUES (:e, :h)"
                " ON CONFLICT DO NOTHING RETURNING 1"
            ),
            {"e": event_id, "h": handler},
        ).scalar()
        return inserted is not None

    def flush_records(self) -> None:
        """Write the collected audit entries and outbox rows: link the entries (locks their chains), then
        one round trip inserts both and notifies the relay (PostgreSQL delivers it only on commit)."""
        if not (self._outbox or self._audit):
            return
        s = self.tx
        params: dict[str, Any] = {}
        parts: list[str] = []
        if self._audit:
            linked = audit.link(s, self.service, self._audit)
            parts.append(audit.insert_sql(self.service, linked, params, audit.chained(s, self.service)))
        if self._outbox:
            rows = []
            for i, row in enumerate(self._outbox):
                rows.append(f"(%(o{i}_event_id)s, %(o{i}_type)s, %(o{i}_version)s, %(o{i}_occurred_at)s,"
                            f" CAST(%(o{i}_envelope)s AS jsonb))")
                params.update({f"o{i}_{k}": v for k, v in row.items()})
            parts.append(f"INSERT INTO {self.service}.outbox (event_id, type, version, occurred_at, envelope)"
                         f" VALUES {', '.join(rows)}")
            parts.append(f"NOTIFY outbox_{self.service}")  # wakes the relay at once
        audit.driver(s).exec_driver_sql("; ".join(parts), params)
        self._outbox, self._audit = [], []

    def commit(self) -> None:
        if self._session is None:
            return
        self.flush_records()
        self._session.commit()

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()
        self._outbox, self._audit = [], []

    def close(self) -> None:
        self._outbox, self._audit = [], []
        if self._session is not None:
            self._session.rollback()
            self._session.close()
            self._session = None


class Database(DependencyProvider):
    """`db = Database()` on a service class: `self.db` is the worker's UnitOfWork."""

    def __init__(self, service: str | None = None):
        self.service = service
        self.engine: Engine | None = None
        self.factory: sessionmaker[Session] | None = None
        self.uows: WeakKeyDictionary[Any, UnitOfWork] = WeakKeyDictionary()

    def setup(self) -> None:
        self.service = self.service or self.container.service_name
        make_psycopg2_green()
        # a connection per worker, up to DB_POOL_LIMIT: a service with many workers for work that waits on the
        # broker, not the database (the gateway's check-ins), does not hold a connection for each of them
        workers = int(self.container.config.get("max_workers", 10))
        self.engine = make_engine(settings().service_url(self.service), pool_size=min(workers, DB_POOL_LIMIT))
        self.factory = sessionmaker(bind=self.engine, expire_on_commit=False)

    def get_dependency(self, worker_ctx: Any) -> UnitOfWork:
        assert self.factory is not None and self.service is not None
        uow = UnitOfWork(self.factory, self.service, worker_ctx.context_data)
        self.uows[worker_ctx] = uow
        return uow

    def worker_teardown(self, worker_ctx: Any) -> None:
        uow = self.uows.pop(worker_ctx, None)
        if uow is not None:
            uow.close()

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None

    def kill(self) -> None:
        self.stop()
