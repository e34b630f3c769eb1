"""Rebuild the reports' read models from nothing: empty them, then replay every service's event log.

    python -m reports.rebuild          (or: deploy/ctl reports-rebuild)

Reports never read another service's tables (ARCHITECTURE.md); each service keeps the events it published (its
outbox doubles as its event log) and pages it out through the `events` RPC every service has
(kernel/service.py). The replay goes through the very handlers the live consumers run: the `@handles` wrapper
records the event id in `processed_event` in the same transaction as the handler's effect, exactly as a delivery
from the broker does.

Safe while live events keep arriving, and idempotent:
1. One transaction locks the read models and `processed_event` (ACCESS EXCLUSIVE: a live handler in flight
   finishes first, the next one waits), empties them, commits. So every event is either applied before and
   forgotten together with its processed id, or applied after, into the empty tables, with its id kept.
2. The replay pages each source's outbox in id order and hands every event to its handlers. An event a live
   consumer already applied after step 1 is skipped by its processed id (and the other way round: a replayed
   event that the broker delivers later is a duplicate there). An event committed after the replay read past its
   id reaches the live consumer as usual.
3. Events of one source may therefore apply in a different order than they were stored (a live event before
   older replayed ones; the broker's retries reorder too). Every handler keeps the newest value by the event's
   `occurred_at` (a person by its revision), a counter moves with the row it counts, so the tables come out the
   same in any order: the numbers equal those of the consumers that saw every event once, in order.
Running it again (or after a crash half-way) starts over from step 1. Scheduled reports are documents of their
period, not read models: a rebuild keeps them, and none is generated while it runs (the advisory lock
`reports.rebuild`). While it runs, reports asked for show partial numbers.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from kernel.config import settings
from kernel.consumer import ReliableEventHandler
from kernel.db import UnitOfWork, make_engine
from reports.models import SCHEMA, TABLES
from reports.service import ReportsService

log = logging.getLogger("reports.rebuild")

PAGE = 500
RPC_TIMEOUT_S = 60


def handlers() -> dict[str, dict[str, list[Callable[..., Any]]]]:
    """source -> event type -> the ReportsService handlers (the `@handles` wrappers) the live consumers run."""
    out: dict[str, dict[str, list[Callable[..., Any]]]] = {}
    for _, method in inspect.getmembers(ReportsService, inspect.isfunction):
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, ReliableEventHandler):
                out.setdefault(entrypoint.source_service, {}).setdefault(entrypoint.event_type, []).append(method)
    return out


class ReplayUnitOfWork(UnitOfWork):
    """A batch of events in one transaction, a savepoint each: a handler's commit releases its savepoint, its
    rollback (the event was processed already) undoes only that event."""

    savepoint: Any = None

    def begin_event(self) -> None:
        self.savepoint = self.tx.begin_nested()

    def commit(self) -> None:
        self.flush_records()
        self.savepoint.commit()

    def rollback(self) -> None:
        self.savepoint.rollback()
        self._outbox, self._audit = [], []

    def commit_batch(self) -> None:
        assert self._session is not None
        self._session.commit()

    def abandon_batch(self) -> None:
        if self._session is not None:
            self._session.rollback()


def empty(factory: sessionmaker) -> dict[str, int]:
    """Step 1: lock and empty the read models and the processed event ids, in one transaction. A deadlock with
    a reader that locked the tables in another order aborts one of the two: then try again."""
    names = [f"{SCHEMA}.{t}" for t in [*TABLES, "processed_event"]]
    for attempt in range(1, 6):
        with factory() as tx:
            try:
                tx.execute(text("SET LOCAL statement_timeout = '15min'"))  # a big schema takes a while to empty
                tx.execute(text(f"LOCK TABLE {', '.join(names)} IN ACCESS EXCLUSIVE MODE"))
                counts = {t: tx.execute(text(f"DELETE FROM {SCHEMA}.{t}")).rowcount
                          for t in [*TABLES, "processed_event"]}
                tx.commit()
                return counts
            except DBAPIError as exc:
                tx.rollback()
                if attempt == 5:
                    raise
                log.warning("emptying the read models: %s; trying again", exc.orig)
                time.sleep(0.5 * attempt)
    raise AssertionError("unreachable")


def replay_source(proxy: Any, factory: sessionmaker, source: str, by_type: dict[str, list[Callable[..., Any]]],
                  page: int = PAGE) -> dict[str, int]:
    """Step 2 for one source: its events in id order, through the handlers; a batch that fails (a deadlock with
    a live handler) is rolled back and tried again."""
    service = ReportsService()
    stats = {"events": 0, "applied": 0, "duplicates": 0, "failed": 0}
    after = 0
    while True:
        answer = getattr(proxy, source).events(after_id=after, limit=page, types=sorted(by_type))
        items = answer["items"]
        if not items:
            return stats
        for attempt in range(1, 6):
            uow = ReplayUnitOfWork(factory, "reports")
            service.db = uow  # what nameko injects for a worker: the handler code is the live consumers'
            outcome = {"applied": 0, "duplicates": 0, "failed": 0}
            try:
                for item in items:
                    body = item["event"]
                    for handler in by_type.get(body.get("type"), []):
                        uow.begin_event()
                        try:
                            done = handler(service, body)
                        except DBAPIError:
                            raise
                        except Exception as exc:  # noqa: BLE001 - as a live consumer would park it: skip it
                            uow.rollback()
                            log.error("%s event %s (%s) skipped: %s: %s", source, body.get("event_id"),
                                      body.get("type"), type(exc).__name__, exc)
                            outcome["failed"] += 1
                            continue
                        outcome["applied" if done == "done" else "duplicates"] += 1
                uow.commit_batch()
                break
            except DBAPIError as exc:
                uow.abandon_batch()
                if attempt == 5:
                    raise
                log.warning("%s events after %d: %s; trying the batch again", source, after, exc.orig)
                time.sleep(0.2 * attempt)
            finally:
                uow.close()
        stats["events"] += len(items)
        for k, n in outcome.items():
            stats[k] += n
        after = answer["next_after"]


def rebuild(page: int = PAGE) -> dict[str, Any]:
    cfg = settings()
    engine = make_engine(cfg.service_url("reports"), pool_size=1)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    started = time.monotonic()
    # Held for the whole rebuild: the scheduler generates no report while the read models are partial (a
    # scheduled report is a document of its period, kept as generated); a generation in progress finishes first.
    guard = engine.connect()
    try:
        guard.execute(text("SELECT pg_advisory_lock(hashtext('reports.rebuild'))"))
        guard.commit()  # a session-level lock outlives the transaction; no snapshot held open meanwhile
        removed = empty(factory)
        sources = handlers()
        replayed = {}
        with ClusterRpcProxy({"AMQP_URI": cfg.amqp_uri, "serializer": "json"}, timeout=RPC_TIMEOUT_S) as proxy:
            for source in sorted(sources):
                replayed[source] = replay_source(proxy, factory, source, sources[source], page)
    finally:
        guard.close()  # ends the session, which releases its advisory lock
        engine.dispose()
    return {"removed": removed, "replayed": replayed, "seconds": round(time.monotonic() - started, 2)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="reports.rebuild", description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", type=int, default=PAGE, help=f"events per RPC page and batch (default {PAGE})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not 1 <= args.page <= 1000:
        parser.error("--page: 1..1000")
    result = rebuild(args.page)
    print(f"reports rebuilt in {result['seconds']} s: emptied "
          + ", ".join(f"{t} {n}" for t, n in result["removed"].items()))
    for source, stats in result["replayed"].items():
        print(f"  {source}: {stats['events']} events replayed, {stats['applied']} applied,"
              f" {stats['duplicates']} already applied by the live consumers"
              + (f", {stats['failed']} FAILED (see the log)" if stats["failed"] else ""))
    return 1 if any(stats["failed"] for stats in result["replayed"].values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
