"""Rebuild the reports' read models from nothing: empty them, then replay every service's event log.

    python -m reports.rebuild          (or: deploy/ctl reports-rebuild)

Reports never read another service's tables (ARCHITECTURE.md); each service keeps the events it published (its
outbox doubles as its event log) and pages it out through the `events` RPC every service has
(kernel/service.py). The replay applies the read models the live consumers apply (reports/projections.py, through
kernel.projections' in-place rebuild): each projection records the event id in `processed_event` in the same
transaction as its effect, exactly as on a delivery from the broker.

Safe while live events keep arriving, and idempotent:
1. One transaction locks the read models and `processed_event` (ACCESS EXCLUSIVE: a live handler in flight
   finishes first, the next one waits), empties them and the projections' processed ids, commits. So every event
   is either applied before and forgotten together with its processed id, or applied after, into the empty
   tables, with its id kept.
2. The replay pages each source's outbox in id order and applies the events a batch per page (`apply_batch`).
   An event a live consumer already applied after step 1 is skipped by its processed id (and the other way
   round: a replayed event that the broker delivers later is a duplicate there). An event committed after the
   replay read past its id reaches the live consumer as usual.
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
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from kernel.config import settings
from kernel.db import UnitOfWork, make_engine
from kernel.projections import rebuild as kit
from reports.projections import PROJECTIONS

log = logging.getLogger("reports.rebuild")

PAGE = 500
RPC_TIMEOUT_S = 60


def rpc_events(proxy: Any) -> kit.Events:
    """A source's event log paged through its `events` RPC (reports may not read another service's tables)."""

    def pages(source: str, types: list[str], page: int) -> Iterator[list[dict[str, Any]]]:
        after = 0
        while True:
            answer = getattr(proxy, source).events(after_id=after, limit=page, types=types)
            if not answer["items"]:
                return
            yield [item["event"] for item in answer["items"]]
            after = answer["next_after"]

    return pages


def rebuild(page: int = PAGE) -> dict[str, Any]:
    cfg = settings()
    engine = make_engine(cfg.service_url("reports"), pool_size=1)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    started = time.monotonic()
    # Held for the whole rebuild: the scheduler generates no report while the read models are partial (a
    # scheduled report is a document of its period, kept as generated); a generation in progress finishes first.
    guard = engine.connect()
    uow = UnitOfWork(factory, "reports")
    try:
        guard.execute(text("SELECT pg_advisory_lock(hashtext('reports.rebuild'))"))
        guard.commit()  # a session-level lock outlives the transaction; no snapshot held open meanwhile
        with ClusterRpcProxy({"AMQP_URI": cfg.amqp_uri, "serializer": "json"}, timeout=RPC_TIMEOUT_S) as proxy:
            result = kit.in_place(uow, PROJECTIONS, rpc_events(proxy), page)
    finally:
        uow.close()
        guard.close()  # ends the session, which releases its advisory lock
        engine.dispose()
    return {**result, "seconds": round(time.monotonic() - started, 2)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="reports.rebuild", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--page", type=int, default=PAGE, help=f"events per RPC page and batch (default {PAGE})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not 1 <= args.page <= 1000:
        parser.error("--page: 1..1000")
    result = rebuild(args.page)
    print(f"reports rebuilt in {result['seconds']} s: emptied "
          + ", ".join(f"{t} {n}" for t, n in result["removed"].items()))
    print("\n".join(kit.summary(result["replayed"].items())))
    return 1 if any(stats.failed for stats in result["replayed"].values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
