"""The system clock, and the simulation clock of API.md ("Test clock").

Outside simulation mode time is the real UTC time and nothing is read. In simulation mode the
offset set by the IT admin lives in the `kernel.clock` row, which every service role may read, so
every service works as if that were the time. Domain rules never call this: they take `now`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from kernel.config import settings

CLOCK_DDL = """
CREATE SCHEMA IF NOT EXISTS kernel;
CREATE TABLE IF NOT EXISTS kernel.clock (
  id integer PRIMARY KEY CHECK (id = 1),
  offset_seconds double precision NOT NULL DEFAULT 0,
  set_at timestamptz NOT NULL DEFAULT now(),
  set_by text
);
INSERT INTO kernel.clock (id) VALUES (1) ON CONFLICT DO NOTHING;
"""


def real_now() -> datetime:
    return datetime.now(UTC)


# a scalar subquery a hot path may add to a statement it sends anyway, then pass the value to `at_offset`
OFFSET_SQL = "(SELECT offset_seconds FROM kernel.clock WHERE id = 1)"


def now(conn: Any | None = None) -> datetime:
    """The time every rule is measured against; `conn` is needed only in simulation mode."""
    if not settings().simulation or conn is None:
        return real_now()
    return at_offset(conn.execute(text(f"SELECT {OFFSET_SQL}")).scalar())


def at_offset(offset_seconds: float | None) -> datetime:
    """The time, given the offset read from `kernel.clock` (ignored outside simulation mode)."""
    if not settings().simulation or not offset_seconds:
        return real_now()
    return real_now() + timedelta(seconds=offset_seconds)


def set_now(conn: Any, target: datetime, actor: str | None) -> datetime:
    offset = (target - real_now()).total_seconds()
    conn.execute(
        text("UPDATE kernel.clock SET offset_seconds = :o, set_at = now(), set_by = :a WHERE id = 1"),
        {"o": offset, "a": actor},
    )
    return target
