"""Every benchmark in one run (`bench/all [--quick]`), each figure printed beside the limits measured in the same
run on the same machine, and the results table written to BENCHMARKS.md.

One stack of its own (database and vhost `ejournal_bench_b_main`, port $EJOURNAL_BENCH_PORT or 23080) carries
the university import, bulk marking, the gradebook, the check-in burst and the two-replica runs; the faculty
report runs in bench/reports' own stack. Nothing asserts a time: the figures are printed and written down.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import common
import gradebook
import marking
from common import ROOT, Client, Stack, admin_token, load_average, login_all, ms, queues, seconds, until
from university import University, copy_limits, import_university

FULL = {"groups": 1000, "per_group": 30, "weeks": 16, "per_week": 10, "mark_sessions": 300, "checkin": 600,
        "bare": 3000, "publish": 5000, "hashes": 300, "reports": ["--repeat", "3"]}
REPORTS_TIMEOUT = 1800  # seconds; bench/reports alone is the tool for longer runs
QUICK = {"groups": 100, "per_group": 30, "weeks": 4, "per_week": 10, "mark_sessions": 60, "checkin": 300,
         "bare": 1000, "publish": 2000, "hashes": 60, "reports": ["--students", "3000", "--repeat", "3"]}


def stage(name: str, loads: dict[str, str]) -> None:
    loads[name] = load_average()
    print(f"\n== {name} (load average {loads[name]}) ==", flush=True)


def start_replicas(port: int) -> list[subprocess.Popen]:
    """A second attendance service and a second check-in intake, as deploy/processes runs them, beside the
    supervisor's: two consumers on the same RPC and check-in queues. Their metrics go to ports of their own."""
    sys.path.insert(0, str(ROOT / "deploy"))
    from procs import parse_processes

    commands = dict(parse_processes(ROOT / "deploy" / "processes"))
    log_dir = Path(os.environ["EJOURNAL_STATE_DIR"]) / "logs"
    procs = []
    for name, offset in (("attendance", 131), ("intake-attendance", 132)):
        env = {**os.environ, "EJOURNAL_PROCESS_NAME": f"{name}-2", "EJOURNAL_METRICS_PORT": str(port + offset),
               "EJOURNAL_INTAKE_METRICS_PORT": str(port + offset), "PYTHONUNBUFFERED": "1"}
        with open(log_dir / f"{name}-2.log", "ab") as out:
            procs.append(subprocess.Popen(["/bin/sh", "-c", f"exec {commands[name]}"], cwd=ROOT, env=env,
                                          stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
    return procs


def consumers(name: str) -> int:
    return next((q.get("consumers") or 0 for q in queues() if q["name"] == name), 0)


def checkin_burst(url: str, students: int, prefix: str) -> dict[str, Any]:
    out = ROOT / ".run" / f"bench-checkin-{prefix}.json"
    out.unlink(missing_ok=True)
    subprocess.run([sys.executable, str(ROOT / "bench" / "checkin_burst.py"), "--url", url, "--students",
                    str(students), "--prefix", prefix, "--no-bare", "--summary", str(out)], check=False)
    return json.loads(out.read_text()) if out.exists() else {}


def reports_bench(port: int, extra: list[str]) -> dict[str, Any]:
    """bench/reports.py (bench/reports' figures) against a stack of this run's own, named apart from the one
    bench/reports starts, so the two never purge each other's database; its figures parsed from its output."""
    # as bench/reports does: the scheduled reports' timer would start on the generated semester at once (weekly
    # lists of 1,200 groups) in the process that answers the report measured here
    with Stack("ejournal_bench_b_reports", port, simulation=True,
               env={"EJOURNAL_REPORTS_SCHEDULE_SECONDS": "86400"}) as stack:
        try:
            run = subprocess.run([sys.executable, "-P", str(ROOT / "bench" / "reports.py"), "--url", stack.url,
                                  "--admin-password", common.ADMIN_PASSWORD, *extra], capture_output=True, text=True,
                                 timeout=REPORTS_TIMEOUT)
        except subprocess.TimeoutExpired:
            return {"ok": False, "timeout": REPORTS_TIMEOUT}
    print(run.stdout[-4000:], run.stderr[-2000:] if run.returncode else "", flush=True)
    text = run.stdout
    found: dict[str, Any] = {"ok": run.returncode == 0}
    if m := re.search(r"(\d+) students in (\d+) groups, (\d+) sessions, (\d+) marks", text):
        found.update(students=int(m[1]), groups=int(m[2]), sessions=int(m[3]), marks=int(m[4]))
    if m := re.search(r"report over HTTP: p50 (\d+) ms, worst (\d+) ms", text):
        found.update(p50=float(m[1]), worst=float(m[2]))
    if m := re.search(r"raw marks: p50 (\d+) ms; the report is ([\d.]+)x", text):
        found.update(raw=float(m[1]), ratio=float(m[2]))
    if m := re.search(r"generated in (\d+) s", text):
        found.update(generated=float(m[1]))
    return found


def arguments(argv: list[str] | None) -> tuple[argparse.Namespace, dict[str, Any]]:
    """The command line, and the sizes it chooses (--quick's or the full ones, with any set one by one)."""
    parser = argparse.ArgumentParser(prog="bench/all", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller university and fewer requests")
    parser.add_argument("--port", type=int, default=int(os.environ.get("EJOURNAL_BENCH_PORT", "23080")))
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"), help="where the table goes")
    parser.add_argument("--concurrency", type=int, default=16, help="clients at once for marking and grades")
    parser.add_argument("--skip", action="append", default=[], choices=("checkin", "replicas", "reports"),
                        help="leave out a part (repeatable)")
    for key in ("groups", "weeks", "mark_sessions", "checkin"):
        parser.add_argument(f"--{key.replace('_', '-')}", type=int, help=f"instead of the default {key}")
    parser.add_argument("--reports-students", type=int, help="students of bench/reports' university")
    parser.add_argument("--note", help="a sentence on the machine or the run, printed under the load averages")
    parser.add_argument("--render", metavar="JSON", help="measure nothing: write the table again from a run's raw "
                        "figures (.run/bench-all.json), e.g. with a --note")
    args = parser.parse_args(argv)
    size = dict(QUICK if args.quick else FULL)
    size.update({k: getattr(args, k) for k in ("groups", "weeks", "mark_sessions", "checkin")
                 if getattr(args, k) is not None})
    if args.reports_students:
        size["reports"] = ["--students", str(args.reports_students), "--repeat", "3"]
    return args, size


def main(argv: list[str] | None = None) -> int:
    args, size = arguments(argv)
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        if args.note:
            saved["machine_note"] = args.note
        Path(args.out).write_text(render(saved))
        return 0
    loads: dict[str, str] = {}
    started = time.perf_counter()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join(["bench/all", *(sys.argv[1:] if argv is None else argv)])
    results: dict[str, Any] = {"size": size, "quick": args.quick, "when": when, "command": command,
                               "loads": loads, "machine_note": args.note}

    stage("stack", loads)
    stack = Stack("ejournal_bench_b_main", args.port)
    try:
        results["stack_up"] = stack.up()
        results["machine"] = common.machine()
        print(f"  up in {results['stack_up']:.0f} s; {results['machine']}", flush=True)
        c = Client(stack.url)
        stage("limits", loads)
        results["bare"] = common.bare_round_trip(size["bare"], 32)
        results["pika1"] = common.pika_publish(size["publish"], 1)
        results["pika8"] = common.pika_publish(size["publish"] * 2, 8)
        results["argon2"] = common.argon2_hashes(size["hashes"])
        print(f"  bare round trip {results['bare']['rate']:.0f}/s p50 {ms(results['bare']['p50'])}; pika confirms "
              f"{results['pika1']['rate']:.0f}/s (1 conn), {results['pika8']['rate']:.0f}/s (8); argon2 "
              f"{results['argon2']['rate']:.1f}/s", flush=True)

        stage("import", loads)
        uni = University(groups=size["groups"], per_group=size["per_group"], weeks=size["weeks"],
                         per_week=size["per_week"])
        imported = import_university(c, uni)
        ids = imported.pop("ids")
        results["import"] = imported
        results["import_copy"] = copy_limits(uni)

        marked = list(range(min(size["mark_sessions"], uni.groups)))
        teachers = [uni.teacher(g).lower() for g in marked]
        tokens, admin = login_all(c, teachers), admin_token(c)  # afresh before each part: tokens expire
        checkpoint(results, args.out)

        stage("marking", loads)
        results["marking"] = marking.mark(c, uni, ids, tokens, admin, marked, 0, args.concurrency)
        results["marking_copy"] = marking.copy_limit(uni, ids, marked, 0)
        print(f"  {json.dumps({k: v for k, v in results['marking'].items() if k != 'failures'}, default=str)}",
              flush=True)

        stage("gradebook", loads)
        tokens, admin = login_all(c, teachers), admin_token(c)
        checkpoint(results, args.out)
        results["gradebook"] = gradebook.gradebook(c, uni, tokens, marked, args.concurrency)
        results["gradebook_copy"] = gradebook.copy_limit(uni, marked)
        print(f"  write {results['gradebook']['write']['rate']:.1f}/s read {results['gradebook']['read']['rate']:.1f}"
              f"/s lost {results['gradebook']['lost']} failures {results['gradebook']['failures']}", flush=True)

        if "checkin" not in args.skip:
            stage("check-in burst", loads)
            checkpoint(results, args.out)
            results["checkin1"] = checkin_burst(stack.url, size["checkin"], "B1")

        if "replicas" not in args.skip:
            stage("two replicas", loads)
            replicas = start_replicas(args.port)
            try:
                ready = until(lambda: consumers("rpc-attendance") >= 2 and consumers("attendance.checkins") >= 2,
                              120, pause=0.5)
                results["replicas_ready"] = ready
                print(f"  second attendance service and intake consuming after {seconds(ready)}", flush=True)
                tokens, admin = login_all(c, teachers), admin_token(c)
                checkpoint(results, args.out)
                results["marking2"] = marking.mark(c, uni, ids, tokens, admin, marked, 5, args.concurrency)
                if "checkin" not in args.skip:
                    results["checkin2"] = checkin_burst(stack.url, size["checkin"], "B2")
            finally:
                for proc in replicas:
                    proc.terminate()
                for proc in replicas:
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    finally:
        stage("stack down", loads)
        stack.down()

    if "reports" not in args.skip:
        stage("faculty report (bench/reports)", loads)
        checkpoint(results, args.out)
        results["reports"] = reports_bench(args.port + 100, size["reports"])
    loads["end"] = load_average()
    results["elapsed"] = time.perf_counter() - started
    text = checkpoint(results, args.out)
    print("\n" + text)
    return 0


def checkpoint(results: dict[str, Any], out: str) -> str:
    """Write what is measured so far (the raw figures and the table): a run cut short still leaves them."""
    (ROOT / ".run" / "bench-all.json").write_text(json.dumps(results, default=str, indent=1))
    text = render(results)
    Path(out).write_text(text)
    return text


def rate(r: dict | None, unit: str = "/s") -> str:
    return "-" if not r else f"{r['rate']:,.0f}{unit}" if r["rate"] >= 10 else f"{r['rate']:.1f}{unit}"


def lat(r: dict | None) -> str:
    return "-" if not r else f"p50 {ms(r['p50'])}, p99 {ms(r['p99'])}"


def answers(r: dict | None) -> str:
    return "" if not r else ", ".join(f"{k}: {v}" for k, v in sorted(r.get("statuses", {}).items()))


def render(r: dict[str, Any]) -> str:
    m = r.get("machine", {})
    imp = r.get("import", {})
    copy = r.get("import_copy", {})
    size = r["size"]
    bare, pika1, pika8, argon2 = r.get("bare"), r.get("pika1"), r.get("pika8"), r.get("argon2")
    limits_rpc = f"bare nameko HTTP->RPC: {rate(bare)}, {lat(bare)}"
    limits_pub = f"pika publish+confirm: {rate(pika1, ' msg/s')} (1 connection), {rate(pika8, ' msg/s')} (8)"
    rows: list[tuple[str, str, str]] = []

    def correctness(x: dict) -> str:
        return f"stored once {x.get('stored')}, lost {x.get('lost')}, duplicated {x.get('duplicated')}"

    if imp:
        people = imp["students"] + imp["groups"]
        rows += [
            (f"import: contingent ({imp['students']:,} students + {imp['groups']:,} teachers, 10 requests)",
             f"{seconds(imp['contingent'])} ({people / imp['contingent']:,.0f} accounts/s)",
             f"argon2id hashing alone on every core: {rate(argon2, ' hashes/s')} = "
             f"{seconds(people / argon2['rate']) if argon2 else '-'}; COPY of the accounts: "
             f"{seconds(copy['people']['elapsed'])} ({rate(copy['people'], ' rows/s')})"
             + (f"; at this contingent's rate 30,000 students and 1,000 teachers would take "
                f"{seconds(31000 / (people / imp['contingent']))}, at the hashing rate "
                f"{seconds(31000 / argon2['rate'])}"
                if people < 31000 and argon2 else "")),
            (f"import: load ({imp['groups'] * 5:,} assignments)", seconds(imp["load"]), ""),
            (f"import: timetable ({imp['sessions']:,} sessions = {size['weeks']} weeks, "
             f"{imp['timetable_requests']} request{'s' if imp['timetable_requests'] > 1 else ''})",
             f"{seconds(imp['timetable'])} "
             f"({imp['sessions'] / imp['timetable']:,.0f} sessions/s)",
             f"COPY of the sessions: {seconds(copy['sessions']['elapsed'])} ({rate(copy['sessions'], ' rows/s')})"),
            ("import: total (answered)", seconds(imp["total"]), ""),
            ("import: every service has applied the events", f"{seconds(imp['applied'])} after the last answer",
             limits_pub),
        ]
    for key, label in (("marking", "1 attendance replica"), ("marking2", "2 attendance replicas")):
        x = r.get(key)
        if not x:
            continue
        b = x["burst"]
        cp = r.get("marking_copy")
        rows.append((f"bulk marking, {label}: {x['sessions']} sessions x 30 marks, PUT .../attendance, "
                     f"{x['concurrency']} teachers at once",
                     f"{rate(b, ' sessions/s')} = {b['rate'] * 30:,.0f} marks/s; {lat(b)}; answers {answers(b)}; "
                     f"{correctness(x)}",
                     f"{limits_rpc}; COPY of the same marks: {seconds(cp['elapsed'])} "
                     f"({rate(cp, ' rows/s')})" if cp else limits_rpc))
        reads = x.get("journal_reads")
        journal = (f"every session complete at the first read-through of all {x['sessions']} (which took "
                   f"{seconds(x['in_journal'])})" if reads == 1 else
                   f"every session complete {seconds(x['in_journal'])} after the last answer"
                   + (f" ({reads} read-throughs)" if reads else ""))
        rows.append((f"bulk marking, {label}: until visible",
                     f"journal read (GET /sessions/{{id}}): {journal}; attendance report (the reports service's "
                     f"read model, from events; the last {x['report_sample']} groups watched): every mark counted "
                     f"{seconds(x['in_report'])} after the last answer", limits_pub))
    g = r.get("gradebook")
    if g:
        cp = r.get("gradebook_copy")
        rows += [
            (f"gradebook: create an assessment ({g['groups']} groups)", f"{rate(g['create'])}; {lat(g['create'])}",
             limits_rpc),
            (f"gradebook: write 30 grades per assessment, {g['concurrency']} teachers at once",
             f"{rate(g['write'], ' assessments/s')} = {g['write']['rate'] * 30:,.0f} grades/s; {lat(g['write'])};"
             f" {correctness(g)}",
             f"COPY of the same grades: {seconds(cp['elapsed'])} ({rate(cp, ' rows/s')})" if cp else ""),
            ("gradebook: read (GET /gradebook, a group of 30, computed per request)",
             f"{rate(g['read'])}; {lat(g['read'])}; answers {answers(g['read'])}", limits_rpc),
        ]
    for key, label in (("checkin1", "1 intake + 1 attendance service"), ("checkin2", "2 intakes + 2 services")):
        x = r.get(key)
        if not x:
            continue
        b = x["burst"]
        rows.append((f"check-in burst, {label}: {x['students']} students, {x['sessions']} sessions, "
                     f"{x['concurrency']} clients",
                     f"{rate(b, ' check-ins/s')}; {lat(b)}; every one in the journal "
                     f"{seconds(x['recorded_after'])} after the last answer; present {x['present']}, "
                     f"lost {x['lost']}, duplicated {x['duplicated']}; repeat scans {rate(x['repeat'])}",
                     f"{limits_rpc}; {limits_pub}"))
    rep = r.get("reports")
    if rep and rep.get("p50") is not None:
        rows.append((f"faculty attendance report (bench/reports): {rep.get('students', '?'):,} students, "
                     f"{rep.get('marks', 0):,} marks", f"p50 {rep['p50']:.0f} ms, worst {rep['worst']:.0f} ms",
                     f"plain SQL aggregate over the raw marks: p50 {rep.get('raw', 0):.0f} ms "
                     f"(the report {rep.get('ratio', 0):.1f}x faster)"))
    elif rep:
        rows.append(("faculty attendance report (bench/reports)", "did not finish: see bench/reports' output", ""))

    loads = "; ".join(f"{k}: {v}" for k, v in r.get("loads", {}).items())
    lines = [
        "# Benchmarks",
        "",
        f"Measured {r['when']} by `{r['command']}` "
        f"(git {m.get('git', '?')}), {seconds(r.get('elapsed'))} in all. Each figure stands beside the limits "
        "measured in the same run on the same machine: what the same work costs without the journal around it.",
        "",
        "Load average (1, 5, 15 min) at the start of each part, the run's own work included (a part's load lingers "
        "in the next part's averages): "
        f"{loads}.{' ' + r['machine_note'] if r.get('machine_note') else ''}",
        "",
        f"Machine: {m.get('cpu', '?')}, {m.get('memory', '?')} RAM, {m.get('os', '?')}; Python "
        f"{m.get('python', '?')}, PostgreSQL {m.get('postgresql', '?')}, RabbitMQ {m.get('rabbitmq', '?')}. "
        "Client and server share the cores.",
        "",
        *([f"**Smaller than the full run**: this run's university is {size['groups'] * size['per_group']:,} "
           f"students in {size['groups']:,} groups with a term of {size['weeks']} weeks; `bench/all` without size "
           f"options imports {FULL['groups'] * FULL['per_group']:,} students in {FULL['groups']:,} groups with a "
           f"{FULL['weeks']}-week term (see the import row's extrapolation for its contingent).", ""]
          if size["groups"] < FULL["groups"] else []),
        "| benchmark | measured | limits measured in the same run |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        "",
        "Limits: *bare nameko HTTP->RPC* is `bench/bare_service.py` (an HTTP entrypoint making one RPC to a service "
        "that answers at once: no database, no validation, no authentication) driven like the API; *pika "
        "publish+confirm* is persistent messages of 200 bytes into a durable queue, each confirmed before the next "
        "(as the outbox relays and the check-in command publish); *COPY* is PostgreSQL COPY of the same rows into a "
        "fresh logged table of the same database in one transaction; *argon2id* is identity's password hashing "
        "(19 MiB, 2 passes) on every core at once, which every imported account needs.",
        "",
        "Reading the table: an import is bound by hashing every account's password (compare accounts/s with "
        "hashes/s; COPY shows what storing the rows costs by itself); a session's events reach the reports, "
        "grading and gateway read models through the outbox relays, so *applied* is the import's real end. Every "
        "API figure includes authentication, validation, the RPC to the service, its transaction with outbox and "
        "audit rows, and the answer: compare it with the bare round trip, which has none of them. Correctness "
        "counts are read back through the API after each burst, not taken from the answers.",
        "",
        "## How to reproduce",
        "",
        "```sh",
        "bench/all            # the whole university (30,000 students, a 16-week term): hours on 2 busy cores",
        "bench/all --quick    # 3,000 students, a 4-week term, fewer requests",
        "bench/all --groups 100 --weeks 8    # sizes can be set one by one (see bench/all --help)",
        "bench/all --skip reports --skip replicas    # parts can be left out",
        "bench/checkin_burst  # one benchmark alone; likewise bench/reports",
        "```",
        "",
        "Each run starts stacks of its own (`deploy/up --no-demo`, database and vhost `ejournal_bench_b_main`, port "
        "`$EJOURNAL_BENCH_PORT` or 23080; `ejournal_bench_b_reports` on that port + 100 for bench/reports.py) and "
        "purges them at the end. The "
        "raw figures of the last run are in `.run/bench-all.json`. What each part does:",
        "",
        f"- **import**: {size['groups']:,} groups of {size['per_group']} students in 10 faculties, a teacher per "
        "group, 50 disciplines (5 per group), a term of "
        f"{size['weeks']} weeks x {size['per_week']} sessions per group, through POST /api/v1/import/contingent "
        "(a request per faculty: the RPC deadline is 300 s and every account is hashed), /load, /timetable "
        "(10,000 sessions a request: the body limit is 10 MiB) (`bench/university.py`).",
        "- **bulk marking**: each teacher marks a whole session of 30 that started an hour or three ago "
        "(`bench/marking.py`); the journal read is the attendance service's own data, the report is the reports "
        "service's read model built from events.",
        "- **gradebook**: an assessment per group, its 30 grades, then every group's gradebook (`bench/gradebook.py`).",
        "- **check-in burst**: `bench/checkin_burst.py` against the same stack (QR check-ins of whole groups).",
        "- **two replicas**: a second `attendance` service and a second `intake-attendance` (the commands of "
        "`deploy/processes`) consume the same RPC and check-in queues; marking other sessions and another check-in "
        "burst, counting every mark.",
        "- **faculty report**: `bench/reports` (its own stack, a semester of marks generated into the read models).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
