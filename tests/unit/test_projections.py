"""kernel.projections without a database: which projections an event reaches, the claim that makes a redelivery
change nothing, a batch that undoes only its bad event, the newest-wins order of (occurred_at, event_id), and the
changes grading's and makeup's read models make of an event. The writes against PostgreSQL:
tests/integration/test_projections_on_postgres.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from kernel.events import Envelope
from kernel.projections import Direct, Projection, Put, Remove, apply, apply_batch, claim_name
from kernel.projections.kit import newer, stamp
from kernel.projections.rebuild import sources

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=timezone(timedelta(hours=6)))


def event(n: int, event_type: str = "thing.changed", at: datetime = T0, event_id: str | None = None,
          source: str = "src") -> Envelope:
    return Envelope(event_id=event_id or f"00000000-0000-0000-0000-{n:012d}", type=event_type, version=1,
                    occurred_at=at.isoformat(), source=source, payload={"n": n})


class Savepoint:
    def __init__(self, tx: Tx):
        self.tx = tx
        self.mark = len(tx.log)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        del self.tx.log[self.mark:]


class Tx:
    def __init__(self) -> None:
        self.log: list[Any] = []

    def begin_nested(self) -> Savepoint:
        return Savepoint(self)


class Uow:
    service = "test"

    def __init__(self) -> None:
        self.tx = Tx()
        self.claims: set[tuple[str, str]] = set()

    def claim(self, event_id: str, handler: str) -> bool:
        if (event_id, handler) in self.claims:
            return False
        self.claims.add((event_id, handler))
        return True


def recorder(name: str, fail_on: int | None = None) -> Direct:
    def fn(uow: Uow, e: Envelope) -> None:
        uow.tx.log.append((name, e.payload["n"]))
        if e.payload["n"] == fail_on:
            raise ValueError("a bad payload")

    return Direct(fn)


def projection(name: str, *types: str, fail_on: int | None = None) -> Projection:
    return Projection(name, table=None, keys=("n",), on={("src", t): recorder(name, fail_on) for t in types})


def test_an_event_reaches_each_projection_that_consumes_it_and_only_those():
    uow = Uow()
    both, other = projection("a", "thing.changed"), projection("b", "thing.changed", "other.changed")
    assert apply(uow, [both, other], event(1)) == 2
    assert apply(uow, [both, other], event(2, "other.changed")) == 1
    assert apply(uow, [both, other], event(3, "unknown")) == 0
    assert uow.tx.log == [("a", 1), ("b", 1), ("b", 2)]


def test_a_duplicate_delivery_applies_once_per_projection():
    uow = Uow()
    p = projection("a", "thing.changed")
    assert apply(uow, [p], event(1)) == 1
    assert apply(uow, [p], event(1)) == 0  # redelivered: claimed already
    assert uow.tx.log == [("a", 1)]
    assert (event(1).event_id, claim_name(p)) in uow.claims


def test_a_batch_undoes_only_its_bad_event_and_applies_the_rest():
    uow = Uow()
    p = projection("a", "thing.changed", fail_on=2)
    result = apply_batch(uow, [event(1), event(2).to_wire(), event(3), event(1)], [p])
    assert (result.applied, result.duplicates) == (2, 1)
    assert [event_id for event_id, _ in result.failed] == [event(2).event_id]
    assert "ValueError: a bad payload" in result.failed[0][1]
    assert uow.tx.log == [("a", 1), ("a", 3)]


@pytest.mark.parametrize(("stored", "new", "wins"), [
    ((None, None), (T0, "b"), True),  # nothing stored yet
    ((T0, "b"), (T0 + timedelta(seconds=1), "a"), True),  # later in time, whatever the id
    ((T0 + timedelta(seconds=1), "a"), (T0, "b"), False),  # an older event delivered late
    ((T0, "a"), (T0, "b"), True),  # the same instant: the greater event id wins, in either order
    ((T0, "b"), (T0, "a"), False),
    ((T0, "b"), (T0, "b"), False),  # the same event again
])
def test_newest_wins_by_occurred_at_then_event_id(stored, new, wins):
    p = Projection("a", None, ("n",), {}, at="at", event_id="event_id")
    assert newer(p, stored, new) is wins


def test_without_an_event_id_column_the_later_delivery_of_one_instant_wins():
    p = Projection("a", None, ("n",), {}, at="at")
    assert newer(p, (T0,), (T0,)) and not newer(p, (T0 + timedelta(seconds=1),), (T0,))


def test_the_kit_stamps_the_declared_version_columns_from_the_event():
    p = Projection("a", None, ("n",), {}, at="at", event_id="event_id")
    assert stamp(p, event(7)) == {"at": T0, "event_id": event(7).event_id}
    assert stamp(Projection("a", None, ("n",), {}), event(7)) == {}


def test_a_rebuild_reads_each_source_for_the_types_its_projections_consume():
    assert sources([projection("a", "x.b", "x.a"), Projection("b", None, ("n",), {("other", "y"): recorder("b")}),
                    projection("c", "x.a")]) == {"other": ["y"], "src": ["x.a", "x.b"]}


# -- grading's and makeup's declarations -------------------------------------------------------------------------


def marks_event(*changes: tuple[str, str | None]) -> Envelope:
    return Envelope(event_id=event(1).event_id, type="marks.recorded", version=1, occurred_at=T0.isoformat(),
                    source="attendance", payload={
                        "session": "5", "group": "G1", "discipline": "HIS", "term": "T", "kind": "lecture",
                        "starts_at": T0.isoformat(), "changes": [{"student": s, "new": v} for s, v in changes]})


def test_grading_keeps_each_students_last_mark_of_an_event_and_removes_a_cleared_one():
    from grading.projections import mark_changes

    changes = mark_changes(marks_event(("S1", "absent"), ("S2", "present"), ("S1", "late"), ("S2", None)))
    assert changes == [Put({"session": 5, "student": "S1", "status": "late"}),
                       Remove({"session": 5, "student": "S2"})]


def test_makeup_keeps_a_cleared_mark_as_a_row_without_status_and_skips_a_session_without_its_fields():
    from makeup.projections import mark_changes, session_changes

    assert [c.row["status"] for c in mark_changes(marks_event(("S1", "absent"), ("S1", None)))] == [None]
    bare = marks_event(("S1", "absent"))
    bare.payload.pop("starts_at")
    assert session_changes("session", bare) == []


def test_makeup_writes_a_statements_state_with_a_new_row_only_unless_it_closes():
    from makeup.projections import statement_changes

    def statement(state: str) -> Envelope:
        return Envelope(event_id=event(1).event_id, type=f"statement.{state}", version=1, occurred_at=T0.isoformat(),
                        source="grading", payload={"id": 3, "group": "G1", "discipline": "HIS", "kind": "final",
                                                   "state": state})

    [posted], [closed] = statement_changes(statement("posted")), statement_changes(statement("closed"))
    assert posted.row == {"id": 3, "posted_at": T0} and posted.insert_only["state"] == "posted"
    assert closed.row == {"id": 3, "state": "closed", "closed_at": T0}
