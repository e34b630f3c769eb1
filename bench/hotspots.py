"""Where a write's time goes (issue 17): a small university on a stack of its own, then bulk marking and grade
entry driven as bench/marking and bench/gradebook do while py-spy samples the attendance, grading and gateway
processes; the raw stacks (collapsed, one line a stack: what flamegraph tools read) and the top functions by own and
total samples go to .run/hotspots/.

    bench/hotspots [--groups 40] [--sessions 40] [--concurrency 16] [--rate 200]

py-spy samples the running thread's Python stack from outside (no change to the code measured); an eventlet
process waiting on PostgreSQL or RabbitMQ sits in its hub, which py-spy counts as idle unless --idle is given.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import gradebook
import marking
from common import ROOT, Client, Stack, admin_token, login_all, pids_of
from university import University, import_university

OUT = ROOT / ".run" / "hotspots"
PROCESSES = {"attendance": "attendance.service:AttendanceService", "grading": "grading.service:GradingService",
             "gateway": "gateway.service:GatewayService"}


def py_spy() -> str:
    here = Path(sys.executable).parent / "py-spy"
    if here.exists():
        return str(here)
    sys.exit("py-spy is not installed: pip install py-spy==0.4.3 (into the project's venv)")


def record(name: str, pid: str, rate: int, seconds: int, idle: bool) -> subprocess.Popen:
    args = [py_spy(), "record", "--pid", pid, "--rate", str(rate), "--duration", str(seconds), "--nonblocking",
            "--format", "raw", "--output", str(OUT / f"{name}.txt")]
    return subprocess.Popen(args + (["--idle"] if idle else []), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def top(name: str, n: int = 25) -> dict[str, list[tuple[str, float]]]:
    """From py-spy's raw (collapsed) stacks: the functions with the most samples of their own and in total."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    path = OUT / f"{name}.txt"
    if not path.exists():
        return {"own": [], "total": []}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        k = int(count)
        samples += k
        frames = stack.split(";")
        own[frames[-1]] = own.get(frames[-1], 0) + k
        for f in set(frames):
            total[f] = total.get(f, 0) + k

    def best(d: dict[str, int]) -> list[tuple[str, float]]:
        return [(f, round(100 * c / max(samples, 1), 1)) for f, c in sorted(d.items(), key=lambda x: -x[1])[:n]]

    return {"samples": samples, "own": best(own), "total": best(total)}  # type: ignore[dict-item]


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/hotspots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=40)
    parser.add_argument("--sessions", type=int, default=40, help="sessions marked per burst (one per group)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--idle", action="store_true", help="count samples of a process waiting, too")
    parser.add_argument("--port", type=int, default=int(os.environ.get("EJOURNAL_BENCH_PORT", "23280")))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with Stack("ejournal_bench_hotspots", args.port) as stack:
        c = Client(stack.url)
        uni = University(groups=args.groups, per_group=30, weeks=1, per_week=10)
        ids = import_university(c, uni).pop("ids")
        groups = list(range(min(args.sessions, uni.groups)))
        tokens = login_all(c, [uni.teacher(g).lower() for g in groups])
        admin = admin_token(c)
        marking.mark(c, uni, ids, tokens, admin, groups, 5, args.concurrency)  # warm: caches, pools, plans
        pids = {name: (pids_of(pattern) or ["0"])[0] for name, pattern in PROCESSES.items()}
        spies = {name: record(name, pid, args.rate, 600, args.idle) for name, pid in pids.items()}
        time.sleep(1)
        t = time.perf_counter()
        marked = marking.mark(c, uni, ids, tokens, admin, groups, 0, args.concurrency)
        graded = gradebook.gradebook(c, uni, tokens, groups, args.concurrency)
        elapsed = time.perf_counter() - t
        for spy in spies.values():
            spy.send_signal(2)  # SIGINT: py-spy writes what it has
        for spy in spies.values():
            spy.wait(30)
    report = {"elapsed": elapsed, "marking": marked["burst"], "gradebook": {k: graded[k] for k in ("create", "write",
              "read")}, "profiles": {name: top(name) for name in PROCESSES}}
    (OUT / "summary.json").write_text(json.dumps(report, indent=1, default=str))
    for name, prof in report["profiles"].items():
        print(f"\n== {name}: {prof.get('samples', 0)} samples; most of their own ==")
        for f, pct in prof["own"][:15]:
            print(f"  {pct:5.1f}%  {f}")
        print(f"-- {name}: most in total --")
        for f, pct in prof["total"][:25]:
            print(f"  {pct:5.1f}%  {f}")
    burst = marked["burst"]
    print(f"\nmarking {burst['rate']:.1f}/s p50 {burst['p50']:.0f} ms p99 {burst['p99']:.0f} ms; "
          f"gradebook read {graded['read']['rate']:.1f}/s; raw stacks in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
