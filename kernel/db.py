"""SQLAlchemy 2 unit of work as a nameko dependency provider (the nameko-sqlalchemy pattern).

A worker gets a fresh UnitOfWork; nothing is written unless it commits, and `worker_teardown`
rolls back and returns the connection. State changes, outbox rows and audit entries share the
one transaction, so an event is stored exactly when the change it describes is.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from sqlalchemy import create_engine, text
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


def make_engine(url: str, pool_size: int = 5) -> Engine:
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=2,
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args={"connect_timeout": 5, "options": "-c statement_timeout=30000"},
    )


class UnitOfWork:
    def __init__(self, factory: sessionmaker[Session], service: str, context: dict[str, Any] | None = None):
        self._factory = factory
        self.service = service
        self.context = context or {}
        self._session: Session | None = None
        self._notify = False

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._factory()
        return self._session

    def execute(self, statement: Any, params: Any = None) -> Any:
        return self.session.execute(statement, params)

    def now(self) -> datetime:
        return clock.now(self.session)

    def emit(self, event_type: str, payload: dict[str, Any], *, actor: str | None = None,
             version: int = 1) -> Envelope:
        """Store an event in the outbox, in this transaction; the relay publishes it after commit."""
        event = new_event(
            self.service, event_type, payload, self.now(), actor=actor,
            institution=settings().preset, request_id=self.context.get("request_id"), version=version,
        )
        self.session.execute(
            text(
                f"INSERT INTO {self.service}.outbox (event_id, type, version, occurred_at, envelope)"
                " VALUES (:event_id, :type, :version, :occurred_at, CAST(:envelope AS jsonb))"
            ),
            {"event_id": event.event_id, "type": event.type, "version": event.version,
             "occurred_at": event.occurred_at,
             "envelope": json.dumps(event.to_wire(), ensure_ascii=False, default=str)},
        )
        self._notify = True
        return event

    def audit(self, **entry: Any) -> dict[str, Any]:
        entry.setdefault("at", self.now())
        return audit.append(self.session, self.service, **entry)

    def claim(self, event_id: str, handler: str) -> bool:
        """Record that `handler` processed `event_id`; False when it already had (a redelivery)."""
        inserted = self.session.execute(
            text(
                f"INSERT INTO {self.service}.processed_event (event_id, handler) VALUES (:e, :h)"
                " ON CONFLICT DO NOTHING RETURNING 1"
            ),
            {"e": event_id, "h": handler},
        ).scalar()
        return inserted is not None

    def commit(self) -> None:
        if self._session is None:
            return
        if self._notify:
            # delivered by PostgreSQL only if the transaction commits: wakes the relay at once
            self._session.execute(text("SELECT pg_notify(:ch, '')"), {"ch": f"outbox_{self.service}"})
            self._notify = False
        self._session.commit()

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()
        self._notify = False

    def close(self) -> None:
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
        workers = int(self.container.config.get("max_workers", 10))
        self.engine = make_engine(settings().service_url(self.service), pool_size=workers)
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
