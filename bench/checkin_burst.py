"""Check-in burst benchmark; run through `bench/checkin_burst`, which starts and stops a stack of its own.

Prints sustained check-ins/s, p50/p99 latency, lost and duplicated marks, beside a bare nameko HTTP→RPC
round trip driven the same way in the same run. Nothing here asserts a time: it measures and prints.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import (
    PASSWORD,
    ROOT,
    Client,
    admin_token,
    bare_round_trip,
    check,
    drive,
    login_all,
    outbox_backlogs,
    pids_of,
    process_cpu,
    wait_quiet,
)

# the sessions start a few minutes from now, in real time: the stack runs without the simulation clock, as in
# production, and the check-in window (oshtu: from 10 minutes before the start) is open for the burst
START = (datetime.now(UTC) + timedelta(minutes=3)).replace(second=0, microsecond=0)


def setup(c: Client, students: int, per_group: int, prefix: str = "B"):
    """A faculty of `students` in groups of `per_group`, a teacher and a session starting at START per group.
    Every code begins with `prefix` (the default gives BF, BG-00, BS00000, bs00000 ...), so a second run on
    the same stack (e.g. with a second replica) has students and sessions of its own."""
    admin = admin_token(c)
    p, low = prefix, prefix.lower()
    groups = [f"{p}G-{i:02d}" for i in range((students + per_group - 1) // per_group)]
    contingent = {
        "faculties": [{"code": f"{p}F", "name": f"Bench faculty {p}"}],
        "departments": [{"code": f"{p}D", "faculty": f"{p}F", "name": f"Bench department {p}"}],
        "groups": [{"code": g, "department": f"{p}D", "course": 1, "subgroups": []} for g in groups],
        "students": [{"code": f"{p}S{i:05d}", "full_name": f"Студент {i}", "group": groups[i // per_group],
                      "login": f"{low}s{i:05d}", "password": PASSWORD} for i in range(students)],
        "staff": [{"code": f"{p}T{j:02d}", "full_name": f"Мугалим {j}", "login": f"{low}t{j:02d}",
                   "password": PASSWORD, "department": f"{p}D", "roles": [{"role": "teacher"}]}
                  for j in range(len(groups))],
    }
    t = time.perf_counter()
    check(*c.call("POST", "/api/v1/import/contingent", contingent, admin), "contingent")
    load = {"disciplines": [{"code": f"{p}DIS", "name": "Bench discipline", "control": "exam", "credits": 3}],
            "assignments": [{"teacher": f"{p}T{j:02d}", "discipline": f"{p}DIS", "group": g, "kind": "lecture"}
                            for j, g in enumerate(groups)]}
    check(*c.call("POST", "/api/v1/import/load", load, admin), "load")
    term = {"code": "BENCH-TERM" if p == "B" else f"BENCH-TERM-{p}",
            "starts": (START - timedelta(days=30)).date().isoformat(),
            "ends": (START + timedelta(days=60)).date().isoformat()}
    timetable = {"term": term,
                 "sessions": [{"ref": f"{p}-{g}", "discipline": f"{p}DIS", "group": g, "kind": "lecture",
                               "teacher": f"{p}T{j:02d}", "starts_at": START.isoformat(), "minutes": 80}
                              for j, g in enumerate(groups)]}
    for _ in range(120):  # the load reaches the attendance service through events, a moment after it is imported
        status, body = c.call("POST", "/api/v1/import/timetable", timetable, admin)
        if status != 422:
            break
        time.sleep(0.5)
    sessions = check(status, body, "timetable")["sessions"]
    print(f"  setup: {students} students in {len(groups)} groups, {len(sessions)} sessions "
          f"({time.perf_counter() - t:.1f} s)")
    return groups, sessions


def server_time(c: Client, path: str = "/api/v1/checkin") -> tuple[float, float]:
    """(requests, seconds) the gateway itself spent on `path` so far, from its /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    _, body = c.call("GET", "/metrics")
    text = body.decode() if isinstance(body, bytes) else str(body)
    values = {"count": 0.0, "sum": 0.0}
    for family in text_string_to_metric_families(text):
        if family.name != "ejournal_http_request_duration_seconds":
            continue
        for sample in family.samples:
            kind = sample.name.rsplit("_", 1)[-1]
            if kind in values and sample.labels.get("route") == path and sample.labels.get("method") == "POST":
                values[kind] += sample.value
    return values["count"], values["sum"]


def drain_time(limit: float = 60.0) -> tuple[int | None, float | None]:
    """(backlog right after the burst, seconds until the relay had published all of it)."""
    started = time.perf_counter()
    first = outbox_backlogs("attendance")
    backlog = first
    while backlog and time.perf_counter() - started < limit:
        time.sleep(0.1)
        backlog = outbox_backlogs("attendance")
    return first, (time.perf_counter() - started if backlog == 0 else None)


def profile(out_dir: str | None, names: list[str], seconds: float) -> list[subprocess.Popen]:
    """py-spy on the stack's processes for the burst (optional: `--profile DIR`, py-spy on PATH or PY_SPY)."""
    spy = os.environ.get("PY_SPY") or shutil.which("py-spy")
    if not out_dir or not spy:
        return []
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    procs = []
    for name in names:
        pid = subprocess.run([str(ROOT / "deploy" / "ctl"), "pid", name], capture_output=True, text=True).stdout
        pid = pid.strip().split()[-1] if pid.strip() else ""
        if pid.isdigit():
            procs.append(subprocess.Popen([spy, "record", "-p", pid, "-d", str(int(seconds)), "-r", "200", "-f",
                                           "raw", "-o", f"{out_dir}/{name}.txt"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1.0)  # py-spy attaches
    return procs


def profile_summary(out_dir: str, top: int = 30) -> None:
    """DIR/summary.txt: per process, the frames its samples were most often inside (share of its samples)."""
    lines = []
    for path in sorted(Path(out_dir).glob("*.txt")):
        if path.name == "summary.txt":
            continue
        total, inside = 0, Counter()
        for row in path.read_text().splitlines():
            stack, _, count = row.rpartition(" ")
            if not count.isdigit():
                continue
            total += int(count)
            for frame in set(stack.split(";")):
                inside[frame] += int(count)
        lines.append(f"== {path.stem}: {total} samples")
        lines += [f"{n / total:6.1%}  {frame}" for frame, n in inside.most_common(top)]
    Path(out_dir, "summary.txt").write_text("\n".join(lines) + "\n")


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by each of the stack's processes, PostgreSQL, RabbitMQ and this client."""
    out: dict[str, float] = {}
    status = subprocess.run([str(ROOT / "deploy" / "ctl"), "status", "--json"], capture_output=True, text=True)
    for line in status.stdout.splitlines():  # one JSON object per process
        try:
            proc = json.loads(line)
        except ValueError:
            continue
        if isinstance(proc, dict) and proc.get("pid"):
            out[str(proc["name"])] = process_cpu(proc["pid"])
    for name, pattern in (("postgresql", "postgres"), ("rabbitmq", "beam.smp")):
        out[name] = process_cpu(*pids_of(pattern))
    usage = os.times()
    out["bench client"] = usage.user + usage.system
    return out


def cpu_report(before: dict[str, float], after: dict[str, float], seconds: float, n: int) -> dict[str, Any]:
    """Each process's share of one core over `seconds`, and the stack's CPU per request (the bench client's
    left out): on a shared machine whose speed varies from run to run, the steadier of the two figures."""
    used = sorted(((after[k] - before.get(k, 0.0), k) for k in after), reverse=True)
    stack = sum(v for v, k in used if k != "bench client")
    gateway = next((v for v, k in used if k == "gateway"), 0.0)
    return {"shares": ", ".join(f"{k} {v / seconds:.0%}" for v, k in used if v / seconds >= 0.02),
            "cpu_ms": stack / n * 1000, "gateway_cpu_ms": gateway / n * 1000}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--students", type=int, default=600)
    parser.add_argument("--per-group", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--order", choices=("grouped", "mixed"), default="grouped",
                        help="grouped: a group's students scan together (one session at a time takes the load); "
                             "mixed: every session's students at once, as at the start of a pair")
    parser.add_argument("--profile", metavar="DIR",
                        help="py-spy the stack's processes during the burst (DIR/summary.txt sums them up)")
    parser.add_argument("--prefix", default="B", help="codes of the faculty set up for the burst begin with it")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare round trip (bench/all measures it)")
    parser.add_argument("--summary", metavar="FILE", help="also write the figures as JSON (bench/all reads it)")
    args = parser.parse_args(argv)
    c = Client(args.url)
    p, low = args.prefix, args.prefix.lower()
    groups, sessions = setup(c, args.students, args.per_group, p)
    t = time.perf_counter()
    tokens = login_all(c, [f"{low}s{i:05d}" for i in range(args.students)]
                       + [f"{low}t{j:02d}" for j in range(len(groups))])
    print(f"  logins: {len(tokens)} ({time.perf_counter() - t:.1f} s)")
    codes = {}
    for j, g in enumerate(groups):
        body = check(*c.call("POST", f"/api/v1/sessions/{sessions[f'{p}-{g}']}/checkin-codes",
                             token=tokens[f"{low}t{j:02d}"]), "code")
        codes[g] = body["token"]
    # every student checks in, then every student scans again (a repeat must be a no-op)
    requests = [("POST", "/api/v1/checkin", json.dumps({"token": codes[groups[i // args.per_group]],
                                                          "device": f"phone-{i}"}).encode(), tokens[f"{low}s{i:05d}"])
                for i in range(args.students)]
    if args.order == "mixed":  # interleave the groups: student 0 of every group, then student 1, ...
        requests = [requests[i] for i in sorted(range(len(requests)), key=lambda i: (i % args.per_group, i))]
    spies = profile(args.profile, ["gateway", "intake-attendance", "attendance", "relay-attendance", "reports",
                                   "makeup", "grading", "feed-public"], max(5.0, args.students / 60))
    print(f"  waited {wait_quiet():.1f} s for the stack to apply the set-up's events")
    cpu_before = cpu_seconds()
    served_before = server_time(c)
    burst = drive(c, requests, args.concurrency)
    served = [a - b for a, b in zip(server_time(c), served_before, strict=True)]
    cpu_burst = cpu_report(cpu_before, cpu_seconds(), burst["elapsed"], len(requests))

    def journal() -> tuple[int, int]:
        """(students marked present, duplicated marks) over every session, as the teachers see them."""
        present = duplicated = 0
        for j, g in enumerate(groups):
            view = check(*c.call("GET", f"/api/v1/sessions/{sessions[f'{p}-{g}']}",
                                token=tokens[f"{low}t{j:02d}"]), "view")
            students = [m["student"] for m in view["marks"] if m["status"] == "present"]
            present += len(set(students))
            duplicated += len(students) - len(set(students))
        return present, duplicated

    deadline = time.perf_counter() + 30  # the answers come before the intake's commit: until the journal has all
    while journal()[0] < args.students and time.perf_counter() < deadline:
        time.sleep(0.05)
    recorded_after = time.perf_counter() - burst["ended"]
    backlog, drained = drain_time()
    cpu_before = cpu_seconds()
    repeat = drive(c, requests, args.concurrency)
    cpu_repeat = cpu_report(cpu_before, cpu_seconds(), repeat["elapsed"], len(requests))
    for spy in spies:
        spy.wait()
    if spies:
        profile_summary(args.profile)
    present, duplicated = journal()
    answered_ok = burst["statuses"].get(200, 0)
    lost = answered_ok - present if answered_ok >= present else 0
    bare = None if args.no_bare else bare_round_trip(len(requests), args.concurrency)

    print()
    print(f"check-in burst: {args.students} students, {len(groups)} sessions ({args.order}), "
          f"{args.concurrency} concurrent clients, "
          f"{os.cpu_count()} cores (client and server share them)")
    print(f"{'':32} {'requests':>9} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms':>7}  answers")
    burst["cpu_ms"], repeat["cpu_ms"] = cpu_burst["cpu_ms"], cpu_repeat["cpu_ms"]
    for name, r in (("check-ins (first scan)", burst), ("check-ins (repeat scan, no-op)", repeat),
                    ("bare nameko HTTP->RPC round trip", bare)):
        if r is None:
            continue
        print(f"{name:32} {r['n']:>9} {r['rate']:>8.0f} {r['p50']:>8.1f} {r['p99']:>8.1f} {r['cpu_ms']:>7.2f}"
              f"  {r['statuses']}")
    print("  (CPU ms: the stack's CPU time per request, all processes and the broker and database, client not"
          " counted; the bare round trip's: its process and the broker's)")
    print(f"marks present {present} of {args.students} students; answered 200: {answered_ok}; "
          f"lost {lost}; duplicated {duplicated}")
    print(f"every check-in in the journal {recorded_after:.2f} s after the last answer "
          f"(end to end: {args.students / (burst['elapsed'] + recorded_after):.0f} check-ins/s recorded)")
    print(f"attendance outbox after the burst: {backlog if backlog is not None else '?'} unpublished, "
          + (f"all published {drained:.1f} s later" if drained is not None else "not drained within 60 s"))
    if served[0]:
        print(f"time inside the gateway per first scan (its /metrics): {served[1] / served[0] * 1000:.1f} ms mean")
    print(f"CPU during the first scans (share of one core): {cpu_burst['shares']}; "
          f"the gateway's per check-in: {cpu_burst['gateway_cpu_ms']:.2f} ms")
    print("goal (issue 3): >= 500 check-ins/s sustained, p99 < 300 ms, zero lost")
    if args.summary:
        Path(args.summary).write_text(json.dumps({
            "students": args.students, "sessions": len(groups), "concurrency": args.concurrency,
            "burst": burst, "repeat": repeat, "bare": bare, "present": present, "answered_ok": answered_ok,
            "lost": lost, "duplicated": duplicated, "recorded_after": recorded_after,
            "backlog": backlog, "drained": drained, "cpu": cpu_burst["shares"],
            "cpu_ms": cpu_burst["cpu_ms"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
