"""python -m kernel.projections rebuild <service> [<projection>] [--compare] [--page N] (rebuild.py)."""

from __future__ import annotations

import argparse
import logging
import sys

from sqlalchemy.orm import sessionmaker

from kernel.config import settings
from kernel.db import UnitOfWork, make_engine
from kernel.projections import rebuild


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m kernel.projections",
                                     description=(rebuild.__doc__ or "").split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("rebuild", help="replay the events into a service's read models")
    cmd.add_argument("service", help="the service whose read models (<service>.projections:PROJECTIONS)")
    cmd.add_argument("projection", nargs="?", help="one of them (default: all)")
    cmd.add_argument("--compare", action="store_true",
                     help="replay into temporary tables and list the rows that differ from the live ones")
    cmd.add_argument("--page", type=int, default=rebuild.PAGE, help="events per batch")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    projections = rebuild.chosen(args.service, args.projection)
    engine = make_engine(settings().admin_url(), pool_size=1)
    try:
        if args.compare:
            with engine.connect() as conn:
                replayed, diffs = rebuild.compare(conn, args.service, projections, page=args.page)
            lines = [f"{args.service}: {', '.join(p.name for p in projections)} replayed into fresh tables",
                     *rebuild.summary([("events", replayed)])]
            differ = rebuild.report_differences(diffs, lines)
            print("\n".join(lines))
            return 1 if differ or replayed.failed else 0
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        with engine.connect() as reader:
            uow = UnitOfWork(factory, args.service)
            try:
                result = rebuild.in_place(uow, projections, rebuild.outbox_events(reader), args.page)
            finally:
                uow.close()
        print(f"{args.service} rebuilt: emptied " + ", ".join(f"{t} {n}" for t, n in result["removed"].items()))
        print("\n".join(rebuild.summary(result["replayed"].items())))
        return 1 if any(s.failed for s in result["replayed"].values()) else 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
