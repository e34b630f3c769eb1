"""kernel.projections against the real PostgreSQL (a schema of its own, `kproj`): a keyed read model comes out
the same in any order of events, the newest (occurred_at, event_id) wins (a tie of time goes to the greater id),
a duplicate delivery applies once, a batch keeps its good events beside a bad one, and the rebuild's comparison
finds a row tampered with in the live table."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, Integer, String, create_engine, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import mapped_column, sessionmaker

from kernel.events import Envelope
from kernel.projections import Projection, Put, Remove, Replace, apply, apply_batch
from kernel.projections.rebuild import compare, report_differences
from kernel.tables import schema_base

pytestmark = pytest.mark.integration
SCHEMA = "kproj"
T0 = datetime(2026, 10, 5, 9, 0, tzinfo=timezone(timedelta(hours=6)))
Base = schema_base(SCHEMA)


class Thing(Base):  # a keyed read model that keeps the setting event's time and id
    __tablename__ = "thing"
    code = mapped_column(String(32), primary_key=True)
    name, colour = mapped_column(String(100)), mapped_column(String(32))
    at, event_id = mapped_column(DateTime(timezone=True)), mapped_column(UUID(as_uuid=False))


class Member(Base):  # rows replaced as a whole, under a surrogate id
    __tablename__ = "member"
    id = mapped_column(Integer, primary_key=True, autoincrement=True)
    team, person = mapped_column(String(32)), mapped_column(String(32))


def thing_rows(event: Envelope):
    p = event.payload
    if p.get("gone"):
        return [Remove({"code": p["code"]})]
    return [Put({"code": p["code"], "name": p["name"]}, insert_only={"colour": "grey"})]


def member_rows(event: Envelope):
    p = event.payload
    return [Replace({"team": p["team"]}, [{"team": p["team"], "person": m} for m in p["members"]])]


THINGS = Projection("kproj.things", Thing, ("code",), {("kproj", "thing.changed"): thing_rows}, at="at",
                    event_id="event_id")
MEMBERS = Projection("kproj.members", Member, ("team", "person"), {("kproj", "team.changed"): member_rows},
                     ignore=("id",))


@pytest.fixture(scope="module")
def db(stack):
    from kernel.config import settings

    engine = create_engine(settings().admin_url())
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        Base.metadata.create_all(conn)
    yield engine
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    engine.dispose()


@pytest.fixture
def uow(db):
    from kernel.db import UnitOfWork

    with db.begin() as conn:
        conn.execute(text(f"TRUNCATE {SCHEMA}.thing, {SCHEMA}.member, {SCHEMA}.processed_event, {SCHEMA}.outbox"))
    unit = UnitOfWork(sessionmaker(bind=db, expire_on_commit=False), SCHEMA)
    yield unit
    unit.close()


def thing(name: str, at: datetime, event_id: str | None = None, code: str = "A", **extra) -> Envelope:
    return Envelope(event_id=event_id or str(uuid.uuid4()), type="thing.changed", version=1,
                    occurred_at=at.isoformat(), source="kproj", payload={"code": code, "name": name, **extra})


def things(uow) -> dict[str, tuple]:
    rows = uow.tx.execute(text(f"SELECT code, name, colour FROM {SCHEMA}.thing")).all()
    return {r.code: (r.name, r.colour) for r in rows}


def test_the_table_comes_out_the_same_in_any_order_of_events(uow):
    events = [thing("first", T0), thing("second", T0 + timedelta(minutes=1)),
              thing("third", T0 + timedelta(minutes=2)), thing("other", T0, code="B")]
    outcomes = set()
    for order in itertools.permutations(events):
        uow.tx.execute(text(f"TRUNCATE {SCHEMA}.thing, {SCHEMA}.processed_event"))
        for e in order:
            apply(uow, [THINGS], e)
        outcomes.add(tuple(sorted(things(uow).items())))
    assert outcomes == {(("A", ("third", "grey")), ("B", ("other", "grey")))}


def test_an_equal_time_goes_to_the_greater_event_id_in_either_order(uow):
    low = thing("low", T0, "00000000-0000-0000-0000-00000000000a")
    high = thing("high", T0, "00000000-0000-0000-0000-00000000000b")
    for order in ((low, high), (high, low)):
        uow.tx.execute(text(f"TRUNCATE {SCHEMA}.thing, {SCHEMA}.processed_event"))
        for e in order:
            apply(uow, [THINGS], e)
        assert things(uow) == {"A": ("high", "grey")}


def test_an_older_removal_delivered_late_leaves_the_newer_row(uow):
    apply(uow, [THINGS], thing("kept", T0 + timedelta(minutes=1)))
    apply(uow, [THINGS], thing("", T0, gone=True))
    assert things(uow) == {"A": ("kept", "grey")}
    apply(uow, [THINGS], thing("", T0 + timedelta(minutes=2), gone=True))
    assert things(uow) == {}


def test_a_duplicate_delivery_applies_once(uow):
    e = thing("once", T0)
    assert apply(uow, [THINGS], e) == 1
    uow.tx.execute(text(f"UPDATE {SCHEMA}.thing SET name = 'changed since'"))
    assert apply(uow, [THINGS], e) == 0  # claimed: not written again
    assert things(uow) == {"A": ("changed since", "grey")}


def test_a_batch_applies_in_one_transaction_without_its_bad_event(uow):
    bad = thing("bad", T0, code="C" * 40)  # too long for the column: the database refuses it
    result = apply_batch(uow, [thing("a", T0), bad.to_wire(), thing("b", T0, code="B")], [THINGS])
    assert (result.applied, [event_id for event_id, _ in result.failed]) == (2, [bad.event_id])
    uow.commit()
    assert things(uow) == {"A": ("a", "grey"), "B": ("b", "grey")}


def test_the_rebuild_comparison_finds_a_tampered_row(db, uow):
    uow.emit("thing.changed", {"code": "A", "name": "from the log"})
    uow.emit("team.changed", {"team": "T", "members": ["P1", "P2"]})
    uow.commit()
    for body in uow.tx.execute(text(f"SELECT envelope FROM {SCHEMA}.outbox ORDER BY id")).scalars():
        apply(uow, [THINGS, MEMBERS], Envelope.from_wire(body))
    uow.commit()
    with db.connect() as conn:
        replayed, diffs = compare(conn, SCHEMA, [THINGS, MEMBERS])
    assert replayed.events == 2 and not replayed.failed
    assert not report_differences(diffs, [])
    uow.tx.execute(text(f"UPDATE {SCHEMA}.thing SET name = 'tampered'"))
    uow.tx.execute(text(f"DELETE FROM {SCHEMA}.member WHERE person = 'P2'"))
    uow.commit()
    with db.connect() as conn:
        _, diffs = compare(conn, SCHEMA, [THINGS, MEMBERS])
    lines: list[str] = []
    assert report_differences(diffs, lines)
    assert [tuple(r)[:2] for r in diffs["thing"]["live only"]] == [("A", "tampered")]
    assert [tuple(r)[:2] for r in diffs["thing"]["replay only"]] == [("A", "from the log")]
    assert [tuple(r) for r in diffs["member"]["replay only"]] == [("T", "P2")] and not diffs["member"]["live only"]
    assert uow.tx.execute(text("SELECT to_regclass('pg_temp.thing')")).scalar() is None  # nothing left behind
