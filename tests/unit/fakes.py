"""A unit of work without a database, for the handlers' tests (issue 16: rules tested in milliseconds).

The handlers of a service load through its `queries` (a test replaces those with `monkeypatch`), let the domain
decide, and record through the unit of work: what they emit and audit is kept here, in order, to be read back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Emitted:
    type: str
    payload: dict[str, Any]
    actor: str | None
    version: int


class FakeTx:
    """Stands where the SQLAlchemy Session would: `add` keeps the rows, `flush` gives them ids; a query fails,
    so a test notices a handler that reads the database past its `queries`."""

    def __init__(self) -> None:
        self.added: list[Any] = []
        self.deleted: list[Any] = []
        self._next_id = 1

    def add(self, row: Any) -> None:
        self.added.append(row)

    def add_all(self, rows: list[Any]) -> None:
        for row in rows:
            self.add(row)

    def delete(self, row: Any) -> None:
        self.deleted.append(row)

    def flush(self) -> None:
        for row in self.added:
            if hasattr(row, "id") and getattr(row, "id", None) is None:
                row.id = self._next_id
                self._next_id += 1

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a handler under test queried the database directly; load through queries")

    scalar = scalars = get = execute


@dataclass
class FakeUnitOfWork:
    clock: datetime
    service: str = "test"
    context: dict[str, Any] = field(default_factory=dict)
    tx: Any = field(default_factory=FakeTx)
    emitted: list[Emitted] = field(default_factory=list)
    audited: list[dict[str, Any]] = field(default_factory=list)
    claimed: set[tuple[str, str]] = field(default_factory=set)
    commits: int = 0
    rollbacks: int = 0

    def now(self) -> datetime:
        return self.clock

    def now_from_offset(self, offset_seconds: float | None) -> datetime:
        return self.clock

    def emit(self, event_type: str, payload: dict[str, Any], *, actor: str | None = None,
             version: int = 1) -> Emitted:
        event = Emitted(event_type, payload, actor, version)
        self.emitted.append(event)
        return event

    def audit(self, **entry: Any) -> dict[str, Any]:
        entry.setdefault("at", self.clock)
        self.audited.append(entry)
        return entry

    def claim(self, event_id: str, handler: str) -> bool:
        if (event_id, handler) in self.claimed:
            return False
        self.claimed.add((event_id, handler))
        return True

    def commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        self.rollbacks += 1
        self.emitted.clear()
        self.audited.clear()

    def types(self) -> list[str]:
        """The types of the emitted events, in order."""
        return [e.type for e in self.emitted]
