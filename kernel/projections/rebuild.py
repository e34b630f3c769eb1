"""Replay the events into a service's read models, from the outboxes (each service's event log, kernel.tables).

    python -m kernel.projections rebuild <service> [<projection>] [--compare]

With `--compare` the live tables are left alone: the events are replayed into fresh temporary tables of the same
shape (one transaction, dropped at its end) and every row that differs between the two is listed; exit 1 on a
difference. Without it the projections are rebuilt in place: their tables and processed event ids are emptied in
one locked transaction, then the events are applied in batches (`apply_batch`, claims kept), so a live consumer
applying an event meanwhile and the replay apply it once between them. A service lists its read models in
`<service>.projections:PROJECTIONS`; the kernel imports it by the name given, and knows no service.

The command connects as the database's admin role: it reads other services' outboxes, which no service role may.
Compare on a quiet stack: an event published but not yet consumed is in the replay and not yet in the live table.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from kernel.projections.kit import BatchResult, Projection, apply_batch, claim_name

PAGE = 500
SHOWN = 10  # differing rows listed per table

Events = Callable[[str, list[str], int], Iterator[list[dict[str, Any]]]]  # (source, types, page) -> pages of bodies


def registry(service: str) -> list[Projection]:
    return list(importlib.import_module(f"{service}.projections").PROJECTIONS)


def chosen(service: str, name: str | None) -> list[Projection]:
    projections = registry(service)
    if name is None:
        return projections
    picked = [p for p in projections if name in (p.name, p.name.split(".", 1)[-1])]
    if not picked:
        raise SystemExit(f"{service} has no projection {name}: {', '.join(p.name for p in projections)}")
    return picked


def sources(projections: Sequence[Projection]) -> dict[str, list[str]]:
    """source -> the event types the projections consume from it."""
    out: dict[str, set[str]] = {}
    for projection in projections:
        for source, event_type in projection.on:
            out.setdefault(source, set()).add(event_type)
    return {source: sorted(types) for source, types in sorted(out.items())}


def outbox_events(conn: Connection) -> Events:
    """The event log of a service read from its outbox, in id order (the order it stored them)."""

    def pages(source: str, types: list[str], page: int) -> Iterator[list[dict[str, Any]]]:
        after = 0
        while True:
            rows = conn.execute(text(f"SELECT id, envelope FROM {source}.outbox WHERE id > :after"
                                     " AND type = ANY(:types) ORDER BY id LIMIT :n"),
                                {"after": after, "types": types, "n": page}).all()
            if not rows:
                return
            yield [row.envelope for row in rows]
            after = rows[-1].id

    return pages


@dataclass
class Replayed:
    events: int = 0
    applied: int = 0
    duplicates: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    def add(self, n: int, batch: BatchResult) -> None:
        self.events += n
        self.applied += batch.applied
        self.duplicates += batch.duplicates
        self.failed += batch.failed


class Shadow:
    """What an apply function sees as the unit of work: `tx` and the service's name."""

    def __init__(self, tx: Session, service: str):
        self.tx, self.service = tx, service

    def claim(self, event_id: str, handler: str) -> bool:  # pragma: no cover - the shadow replay claims nothing
        return True


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compared_columns(projection: Projection, table: Any) -> list[str]:
    out = []
    for column in table.__table__.columns:
        if column.name in projection.ignore:
            continue
        json = isinstance(column.type, JSON) and not isinstance(column.type, JSONB)
        out.append(quoted(column.name) + ("::jsonb" if json else ""))
    return out


def differences(conn: Connection, projection: Projection, table: Any, schema: str) -> dict[str, list[Any]]:
    """Rows only in the live table, and rows only in the replayed one (as multisets: EXCEPT ALL)."""
    columns = ", ".join(compared_columns(projection, table))
    name = quoted(table.__table__.name)
    live, fresh = f"SELECT {columns} FROM {schema}.{name}", f"SELECT {columns} FROM pg_temp.{name}"
    return {"live only": list(conn.execute(text(f"{live} EXCEPT ALL {fresh}")).all()),
            "replay only": list(conn.execute(text(f"{fresh} EXCEPT ALL {live}")).all())}


def compare(conn: Connection, service: str, projections: Sequence[Projection], events: Events | None = None,
            page: int = PAGE) -> tuple[Replayed, dict[str, dict[str, list[Any]]]]:
    """Replay into temporary copies of the projections' tables and diff them with the live ones; rolled back
    at the end, so nothing stays. The connection's snapshot (REPEATABLE READ) is the one both are read in."""
    events = events or outbox_events(conn)
    tables = {t.__table__.name: (p, t) for p in projections for t in p.written}
    schema = next(iter(tables.values()))[1].__table__.schema
    transaction = conn.begin()
    try:
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        for name in tables:
            conn.execute(text(f"CREATE TEMP TABLE {quoted(name)} (LIKE {schema}.{quoted(name)} INCLUDING ALL)"
                              " ON COMMIT DROP"))
        shadow_tx = Session(bind=conn.execution_options(schema_translate_map={schema: "pg_temp"}),
                            join_transaction_mode="create_savepoint")
        shadow = Shadow(shadow_tx, service)
        replayed = Replayed()
        for source, types in sources(projections).items():
            for bodies in events(source, types, page):
                replayed.add(len(bodies), apply_batch(shadow, bodies, projections, claim=False))
        shadow_tx.flush()
        diffs = {name: differences(conn, p, t, schema) for name, (p, t) in tables.items()}
    finally:
        transaction.rollback()
    return replayed, diffs


def empty(tx: Session, projections: Sequence[Projection], schema: str, attempts: int = 5) -> dict[str, int]:
    """Lock and empty the projections' tables and their processed event ids, in one transaction (ACCESS
    EXCLUSIVE: a live consumer in flight finishes first, the next waits). A deadlock: try again."""
    names = sorted({t.__table__.name for p in projections for t in p.written})
    handlers = [claim_name(p) for p in projections]
    for attempt in range(1, attempts + 1):
        try:
            tx.execute(text("SET LOCAL statement_timeout = '15min'"))
            tx.execute(text(f"LOCK TABLE {', '.join(f'{schema}.{quoted(n)}' for n in names)},"
                            f" {schema}.processed_event IN ACCESS EXCLUSIVE MODE"))
            counts = {n: int(getattr(tx.execute(text(f"DELETE FROM {schema}.{quoted(n)}")), "rowcount", 0))
                      for n in names}
            claimed = tx.execute(text(f"DELETE FROM {schema}.processed_event WHERE handler = ANY(:h)"),
                                 {"h": handlers})
            counts["processed_event"] = int(getattr(claimed, "rowcount", 0))
            tx.commit()
            return counts
        except DBAPIError:
            tx.rollback()
            if attempt == attempts:
                raise
            time.sleep(0.5 * attempt)
    raise AssertionError("unreachable")


def replay(uow: Any, projections: Sequence[Projection], events: Events, page: int = PAGE,
           attempts: int = 5) -> dict[str, Replayed]:
    """Apply every source's events, a batch per page, each batch one transaction (`uow.commit`); a batch that
    fails as a whole (a deadlock with a live consumer) is rolled back and tried again."""
    out: dict[str, Replayed] = {}
    for source, types in sources(projections).items():
        stats = out[source] = Replayed()
        for bodies in events(source, types, page):
            for attempt in range(1, attempts + 1):
                try:
                    batch = apply_batch(uow, bodies, projections, reraise=(OperationalError,))
                    uow.commit()
                    break
                except OperationalError:
                    uow.rollback()
                    if attempt == attempts:
                        raise
                    time.sleep(0.2 * attempt)
            stats.add(len(bodies), batch)
    return out


def in_place(uow: Any, projections: Sequence[Projection], events: Events, page: int = PAGE) -> dict[str, Any]:
    schema = projections[0].table.__table__.schema
    removed = empty(uow.tx, projections, schema)
    return {"removed": removed, "replayed": replay(uow, projections, events, page)}


def report_differences(diffs: dict[str, dict[str, list[Any]]], lines: list[str]) -> bool:
    differ = False
    for name, sides in diffs.items():
        n = sum(map(len, sides.values()))
        lines.append(f"  {name}: " + ("the same" if not n else f"{n} rows differ"))
        for side, rows in sides.items():
            differ = differ or bool(rows)
            lines += [f"    {side}: {tuple(row)}" for row in rows[:SHOWN]]
            if len(rows) > SHOWN:
                lines.append(f"    {side}: ... {len(rows) - SHOWN} more")
    return differ


def summary(replayed: Iterable[tuple[str, Replayed]]) -> list[str]:
    lines = []
    for source, stats in replayed:
        lines.append(f"  {source}: {stats.events} events replayed, {stats.applied} applied,"
                     f" {stats.duplicates} already applied" + (f", {len(stats.failed)} FAILED" if stats.failed else ""))
        lines += [f"    {event_id}: {error}" for event_id, error in stats.failed[:SHOWN]]
    return lines
