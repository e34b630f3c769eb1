"""The projection kit's declarations and how it writes them (the package docstring says what it is for)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Union

from sqlalchemy import and_, delete, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from kernel.events import Envelope

log = logging.getLogger("kernel.projections")

Row = dict[str, Any]


@dataclass(frozen=True)
class Put:
    """The row of its key: inserted, or the stored one updated unless a newer event set it. `insert_only`
    values are written only when the row is new (a default the events do not always carry)."""

    row: Row
    insert_only: Row = field(default_factory=dict)


@dataclass(frozen=True)
class Remove:
    """The row of this key goes (unless a newer event set it)."""

    key: Row


@dataclass(frozen=True)
class Replace:
    """Every row matching `where` goes and `rows` come instead (an event carrying a whole history)."""

    where: Row
    rows: list[Row]


Change = Union[Put, Remove, Replace]  # noqa: UP007 - a runtime alias, isinstance-friendly


@dataclass(frozen=True)
class Direct:
    """A read model that writes itself (`fn(uow, event)`), for more than rows: counters moving with the rows
    they count, merges of a case's fields. It must give the same tables in any order of events."""

    fn: Callable[[Any, Envelope], None]


Apply = Callable[[Envelope], Iterable[Change]]


@dataclass(frozen=True)
class Projection:
    """A read model: its table (the mapped class), key columns, and for each (source, event type) it consumes
    the function turning the event into changes (or a `Direct`). `at` and `event_id` name the columns that
    store the setting event's occurred_at and id: newest wins by (at, event_id), by `at` alone (a later
    delivery of the same instant wins) when the table keeps no event id, or by `order_by` (columns of the row,
    a person's revision) instead. A table with none of them keeps the last event applied. `tables` lists every
    table it writes (default: its own), `ignore` the columns a rebuild does not compare (surrogate ids)."""

    name: str
    table: Any
    keys: tuple[str, ...]
    on: Mapping[tuple[str, str], Apply | Direct]
    at: str | None = None
    event_id: str | None = None
    order_by: tuple[str, ...] = ()
    tables: tuple[Any, ...] = ()
    ignore: tuple[str, ...] = ()

    @property
    def version(self) -> tuple[str, ...]:
        return self.order_by or tuple(c for c in (self.at, self.event_id) if c)

    @property
    def written(self) -> tuple[Any, ...]:
        return self.tables or (self.table,)

    def consumes(self, event: Envelope) -> bool:
        return (event.source, event.type) in self.on


def occurred(event: Envelope) -> datetime:
    return datetime.fromisoformat(event.occurred_at)


def claim_name(projection: Projection) -> str:
    """The handler name a projection's processed events are recorded under (`processed_event.handler`)."""
    return f"projection:{projection.name}"


def stamp(projection: Projection, event: Envelope | None) -> Row:
    out: Row = {}
    if event is None:
        return out
    if projection.at:
        out[projection.at] = occurred(event)
    if projection.event_id:
        out[projection.event_id] = event.event_id
    return out


def key_match(model: Any, key: Row) -> Any:
    return and_(*[getattr(model, k).is_(None) if v is None else getattr(model, k) == v for k, v in key.items()])


def not_newer(projection: Projection, model: Any, new: Sequence[Any]) -> Any:
    """SQL: the stored row's version is older than `new` (the excluded row's columns or the event's values),
    or equal when the table keeps no event id to break the tie (then the later delivery wins, as before)."""
    columns = [getattr(model, c) for c in projection.version]
    stored = columns[0] if len(columns) == 1 else tuple_(*columns)
    value = new[0] if len(new) == 1 else tuple_(*new)
    older = stored < value if strict(projection) else stored <= value
    return or_(columns[0].is_(None), older)


def strict(projection: Projection) -> bool:
    """An equal version is the same state (a revision, or one event): it changes nothing. Only a table that keeps
    the event's time without its id lets the later delivery of one instant win."""
    return bool(projection.event_id or projection.order_by)


def newer(projection: Projection, stored: Sequence[Any], new: Sequence[Any]) -> bool:
    if stored[0] is None:
        return True
    if projection.order_by:
        return tuple(stored) < tuple(new)
    if projection.event_id:
        return tuple(map(str, stored[1:])) < tuple(map(str, new[1:])) if stored[0] == new[0] else stored[0] < new[0]
    return tuple(stored) <= tuple(new)


def write(tx: Any, projection: Projection, event: Envelope | None, changes: Iterable[Change]) -> None:
    """Write an event's changes to the projection's table in `tx` (the unit's Session); without an event (a
    state a service answered), only `order_by` orders them."""
    model = projection.table
    stamped = stamp(projection, event)
    puts: list[Put] = []
    for change in changes:
        if isinstance(change, Put):
            puts.append(change)
            continue
        put_rows(tx, projection, puts, stamped)
        puts = []
        if isinstance(change, Remove):
            query = delete(model).where(key_match(model, change.key))
            if stamped and not projection.order_by:
                query = query.where(not_newer(projection, model, list(stamped.values())))
            tx.execute(query)
        else:
            tx.execute(delete(model).where(key_match(model, change.where)))
            if change.rows:
                tx.execute(insert(model), [{**row, **stamped} for row in change.rows])
    put_rows(tx, projection, puts, stamped)


def put_rows(tx: Any, projection: Projection, puts: list[Put], stamped: Row) -> None:
    """Rows with a whole key: one INSERT .. ON CONFLICT per shape of row, run executemany. A key with a null
    (no unique index sees it) goes by a locked look-up instead."""
    model, keys = projection.table, projection.keys
    shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Row]] = {}
    for put in puts:
        row = {**put.insert_only, **put.row, **stamped}
        if any(row.get(k) is None for k in keys):
            put_by_lookup(tx, projection, row, {**put.row, **stamped})
        else:
            shapes.setdefault((tuple(put.row), tuple(c for c in put.insert_only if c not in put.row)),
                              []).append(row)
    for (_, only), rows in shapes.items():
        updated = [c for c in rows[0] if c not in keys and c not in only]
        stmt = pg_insert(model)
        if not updated:
            tx.execute(stmt.on_conflict_do_nothing(index_elements=list(keys)), rows)
            continue
        where = not_newer(projection, model, [stmt.excluded[c] for c in projection.version]) \
            if projection.version else None
        tx.execute(stmt.on_conflict_do_update(index_elements=list(keys),
                                              set_={c: stmt.excluded[c] for c in updated}, where=where), rows)


def put_by_lookup(tx: Any, projection: Projection, row: Row, updates: Row) -> None:
    model = projection.table
    key = {k: row.get(k) for k in projection.keys}
    stored = tx.execute(select(model).where(key_match(model, key)).with_for_update()).scalars().first()
    if stored is None:
        tx.execute(insert(model).values(**row))
        return
    version = projection.version
    if version and not newer(projection, [getattr(stored, c) for c in version], [row[c] for c in version]):
        return
    changed = {c: v for c, v in updates.items() if c not in projection.keys}
    if changed:
        tx.execute(update(model).where(key_match(model, key)).values(**changed))


def envelope(event: Envelope | Mapping[str, Any]) -> Envelope:
    return event if isinstance(event, Envelope) else Envelope.from_wire(dict(event))


def apply(uow: Any, projections: Sequence[Projection], event: Envelope, *, claim: bool = True) -> int:
    """Apply an event to each projection that consumes it, in the unit of work's transaction; each projection
    claims the event first (`uow.claim`), so one it already applied is skipped. The number applied."""
    applied = 0
    for projection in projections:
        how = projection.on.get((event.source, event.type))
        if how is None or (claim and not uow.claim(event.event_id, claim_name(projection))):
            continue
        if isinstance(how, Direct):
            how.fn(uow, event)
        else:
            write(uow.tx, projection, event, how(event))
        applied += 1
    return applied


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (event id, error)


def apply_batch(uow: Any, events: Iterable[Envelope | Mapping[str, Any]], projections: Sequence[Projection],
                *, claim: bool = True, reraise: tuple[type[BaseException], ...] = ()) -> BatchResult:
    """Apply a list of envelopes in the unit's one transaction, a savepoint each: an event that fails is undone
    alone, logged and reported, the others stay; one of `reraise` (a deadlock: the batch may be tried again)
    goes to the caller. The caller commits."""
    result = BatchResult()
    for body in events:
        event_id = str(body.event_id if isinstance(body, Envelope) else body.get("event_id"))
        savepoint = uow.tx.begin_nested()
        try:
            n = apply(uow, projections, envelope(body), claim=claim)
        except Exception as exc:  # noqa: BLE001 - as a live consumer would park it: this event only
            savepoint.rollback()
            if isinstance(exc, reraise):
                raise
            log.error("event %s not applied: %s: %s", event_id, type(exc).__name__, exc)
            result.failed.append((event_id, f"{type(exc).__name__}: {exc}"))
            continue
        savepoint.commit()
        if n:
            result.applied += 1
        else:
            result.duplicates += 1
    return result
