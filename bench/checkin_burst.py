"""Check-in burst benchmark; run through `bench/checkin_burst`, which starts and stops a stack of its own.

Prints sustained check-ins/s, p50/p99 latency, lost and duplicated marks, beside a bare nameko HTTP→RPC
round trip driven the same way in the same run. Nothing here asserts a time: it measures and prints.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
# the sessions start a few minutes from now, in real time: the stack runs without the simulation clock, as in
# production, and the check-in window (oshtu: from 10 minutes before the start) is open for the burst
START = (datetime.now(UTC) + timedelta(minutes=3)).replace(second=0, microsecond=0)


class Client:
    """One keep-alive HTTP connection per thread."""

    local = threading.local()

    def __init__(self, url: str):
        self.host, self.port = urlparse(url).hostname, urlparse(url).port

    def call(self, method: str, path: str, body=None, token=None, raw: bytes | None = None):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        try:
            conn.request(method, path, payload, headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self.local.conn = None
            raise
        return resp.status, (json.loads(data) if data and resp.getheader("Content-Type", "").find("json") >= 0
                             else data)


def check(status, body, what):
    if status >= 300:
        sys.exit(f"{what}: HTTP {status}: {body}")
    return body


def setup(c: Client, students: int, per_group: int):
    _, tok = c.call("POST", "/api/v1/auth/login", {"login": "admin", "password": os.environ["EJOURNAL_ADMIN_PASSWORD"]})
    admin = tok["access_token"]
    groups = [f"BG-{i:02d}" for i in range((students + per_group - 1) // per_group)]
    contingent = {
        "faculties": [{"code": "BF", "name": "Bench faculty"}],
        "departments": [{"code": "BD", "faculty": "BF", "name": "Bench department"}],
        "groups": [{"code": g, "department": "BD", "course": 1, "subgroups": []} for g in groups],
        "students": [{"code": f"BS{i:05d}", "full_name": f"Студент {i}", "group": groups[i // per_group],
                      "login": f"bs{i:05d}", "password": "bench-password"} for i in range(students)],
        "staff": [{"code": f"BT{j:02d}", "full_name": f"Мугалим {j}", "login": f"bt{j:02d}",
                   "password": "bench-password", "department": "BD", "roles": [{"role": "teacher"}]}
                  for j in range(len(groups))],
    }
    t = time.perf_counter()
    check(*c.call("POST", "/api/v1/import/contingent", contingent, admin), "contingent")
    load = {"disciplines": [{"code": "BDIS", "name": "Bench discipline", "control": "exam", "credits": 3}],
            "assignments": [{"teacher": f"BT{j:02d}", "discipline": "BDIS", "group": g, "kind": "lecture"}
                            for j, g in enumerate(groups)]}
    check(*c.call("POST", "/api/v1/import/load", load, admin), "load")
    term = {"code": "BENCH-TERM", "starts": (START - timedelta(days=30)).date().isoformat(),
            "ends": (START + timedelta(days=60)).date().isoformat()}
    timetable = {"term": term,
                 "sessions": [{"ref": f"B-{g}", "discipline": "BDIS", "group": g, "kind": "lecture",
                               "teacher": f"BT{j:02d}", "starts_at": START.isoformat(), "minutes": 80}
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


def login_all(c: Client, logins: list[str]) -> dict[str, str]:
    def one(login):
        for _ in range(100):
            status, body = c.call("POST", "/api/v1/auth/login", {"login": login, "password": "bench-password"})
            if status == 200:
                return login, body["access_token"]
            time.sleep(0.2)  # the gateway's read model may still be filling
        sys.exit(f"login {login}: HTTP {status}: {body}")

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(one, logins))


def drive(c: Client, requests: list[tuple[str, str, bytes, str | None]], concurrency: int):
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def one(req):
        method, path, raw, token = req
        t = time.perf_counter()
        try:
            status, _ = c.call(method, path, token=token, raw=raw)
        except (OSError, http.client.HTTPException):
            status = 0
        dt = time.perf_counter() - t
        with lock:
            latencies.append(dt)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, requests))
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {"n": len(requests), "rate": len(requests) / elapsed, "p50": q[49] * 1000, "p99": q[98] * 1000,
            "statuses": statuses, "elapsed": elapsed, "ended": time.perf_counter()}


def outbox_backlog(c: Client, service: str = "attendance") -> int | None:
    """The service's unpublished outbox rows, as the gateway's /metrics shows them."""
    status, body = c.call("GET", "/metrics")
    text = body.decode() if isinstance(body, bytes) else str(body)
    found = re.search(re.escape(f'ejournal_service_outbox_backlog{{service="{service}"}} ') + r"([0-9.e+]+)", text)
    return int(float(found.group(1))) if status == 200 and found else None


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


def drain_time(c: Client, limit: float = 60.0) -> tuple[int | None, float | None]:
    """(backlog right after the burst, seconds until the relay had published all of it)."""
    started = time.perf_counter()
    first = outbox_backlog(c)
    backlog = first
    while backlog and time.perf_counter() - started < limit:
        time.sleep(0.1)
        backlog = outbox_backlog(c)
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


def wait_quiet(limit: float = 120.0) -> float:
    """Wait until the stack has applied every event of the set-up (the services' queues are empty), so the
    burst is measured alone; seconds waited. RabbitMQ's management API, as the project's scripts enable it."""
    import base64
    import urllib.request

    vhost = os.environ.get("EJOURNAL_AMQP_VHOST", "ejournal")
    request = urllib.request.Request(f"http://127.0.0.1:15672/api/queues/{vhost}?columns=name,messages",
                                     headers={"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
    started = time.perf_counter()
    quiet = 0
    while time.perf_counter() - started < limit and quiet < 3:
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                queues = json.loads(answer.read())
            busy = sum(q.get("messages") or 0 for q in queues if not q["name"].startswith("ejournal."))
        except OSError:
            busy = 1
        quiet = quiet + 1 if busy == 0 else 0
        time.sleep(0.5)
    return time.perf_counter() - started


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by each of the stack's processes, PostgreSQL, RabbitMQ and this client."""
    tick = os.sysconf("SC_CLK_TCK")

    def of(pid: str) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            return 0.0

    out: dict[str, float] = {}
    status = subprocess.run([str(ROOT / "deploy" / "ctl"), "status", "--json"], capture_output=True, text=True)
    for line in status.stdout.splitlines():  # one JSON object per process
        try:
            proc = json.loads(line)
        except ValueError:
            continue
        if isinstance(proc, dict) and proc.get("pid"):
            out[str(proc["name"])] = of(str(proc["pid"]))
    for name, pattern in (("postgresql", "postgres"), ("rabbitmq", "beam.smp")):
        pids = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
        out[name] = sum(of(pid) for pid in pids)
    usage = os.times()
    out["bench client"] = usage.user + usage.system
    return out


def cpu_report(before: dict[str, float], after: dict[str, float], seconds: float) -> str:
    used = sorted(((after[k] - before.get(k, 0.0), k) for k in after), reverse=True)
    return ", ".join(f"{k} {v / seconds:.0%}" for v, k in used if v / seconds >= 0.02)


def bare_round_trip(n: int, concurrency: int) -> dict:
    port = int(os.environ["EJOURNAL_PORT"]) + 50
    config = ROOT / ".run" / "bench-bare.yaml"
    config.write_text(f"AMQP_URI: {os.environ['EJOURNAL_AMQP_URI']}\nWEB_SERVER_ADDRESS: 127.0.0.1:{port}\n")
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'bench'}:{os.environ.get('PYTHONPATH', '')}"}
    nameko = str(Path(sys.executable).parent / "nameko")
    proc = subprocess.Popen([nameko, "run", "--config", str(config), "bare_service:BareBackend",
                             "bare_service:BareGateway"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        c = Client(f"http://127.0.0.1:{port}")
        for _ in range(100):
            try:
                if c.call("POST", "/rt", raw=b"x")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        return drive(c, [("POST", "/rt", b'{"token":"x"}', None)] * n, concurrency)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--students", type=int, default=600)
    parser.add_argument("--per-group", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--order", choices=("grouped", "mixed"), default="grouped",
                        help="grouped: a group's students scan together (one session at a time takes the load); "
                             "mixed: every session's students at once, as at the start of a pair")
    parser.add_argument("--profile", metavar="DIR", help="py-spy the attendance service and gateway during the burst")
    args = parser.parse_args()
    c = Client(args.url)
    groups, sessions = setup(c, args.students, args.per_group)
    t = time.perf_counter()
    tokens = login_all(c, [f"bs{i:05d}" for i in range(args.students)] + [f"bt{j:02d}" for j in range(len(groups))])
    print(f"  logins: {len(tokens)} ({time.perf_counter() - t:.1f} s)")
    codes = {}
    for j, g in enumerate(groups):
        body = check(*c.call("POST", f"/api/v1/sessions/{sessions[f'B-{g}']}/checkin-codes",
                             token=tokens[f"bt{j:02d}"]), "code")
        codes[g] = body["token"]
    # every student checks in, then every student scans again (a repeat must be a no-op)
    requests = [("POST", "/api/v1/checkin", json.dumps({"token": codes[groups[i // args.per_group]],
                                                          "device": f"phone-{i}"}).encode(), tokens[f"bs{i:05d}"])
                for i in range(args.students)]
    if args.order == "mixed":  # interleave the groups: student 0 of every group, then student 1, ...
        requests = [requests[i] for i in sorted(range(len(requests)), key=lambda i: (i % args.per_group, i))]
    spies = profile(args.profile, ["attendance", "gateway", "relay-attendance"], max(5.0, args.students / 60))
    print(f"  waited {wait_quiet():.1f} s for the stack to apply the set-up's events")
    cpu_before = cpu_seconds()
    served_before = server_time(c)
    burst = drive(c, requests, args.concurrency)
    served = [a - b for a, b in zip(server_time(c), served_before, strict=True)]
    cpu_burst = cpu_report(cpu_before, cpu_seconds(), burst["elapsed"])

    def journal() -> tuple[int, int]:
        """(students marked present, duplicated marks) over every session, as the teachers see them."""
        present = duplicated = 0
        for j, g in enumerate(groups):
            view = check(*c.call("GET", f"/api/v1/sessions/{sessions[f'B-{g}']}", token=tokens[f"bt{j:02d}"]),
                         "view")
            students = [m["student"] for m in view["marks"] if m["status"] == "present"]
            present += len(set(students))
            duplicated += len(students) - len(set(students))
        return present, duplicated

    deadline = time.perf_counter() + 30  # the answers come before the intake's commit: until the journal has all
    while journal()[0] < args.students and time.perf_counter() < deadline:
        time.sleep(0.05)
    recorded_after = time.perf_counter() - burst["ended"]
    backlog, drained = drain_time(c)
    repeat = drive(c, requests, args.concurrency)
    for spy in spies:
        spy.wait()
    present, duplicated = journal()
    answered_ok = burst["statuses"].get(200, 0)
    lost = answered_ok - present if answered_ok >= present else 0
    bare = bare_round_trip(len(requests), args.concurrency)

    print()
    print(f"check-in burst: {args.students} students, {len(groups)} sessions ({args.order}), "
          f"{args.concurrency} concurrent clients, "
          f"{os.cpu_count()} cores (client and server share them)")
    print(f"{'':32} {'requests':>9} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8}  answers")
    for name, r in (("check-ins (first scan)", burst), ("check-ins (repeat scan, no-op)", repeat),
                    ("bare nameko HTTP->RPC round trip", bare)):
        print(f"{name:32} {r['n']:>9} {r['rate']:>8.0f} {r['p50']:>8.1f} {r['p99']:>8.1f}  {r['statuses']}")
    print(f"marks present {present} of {args.students} students; answered 200: {answered_ok}; "
          f"lost {lost}; duplicated {duplicated}")
    print(f"every check-in in the journal {recorded_after:.2f} s after the last answer "
          f"(end to end: {args.students / (burst['elapsed'] + recorded_after):.0f} check-ins/s recorded)")
    print(f"attendance outbox after the burst: {backlog if backlog is not None else '?'} unpublished, "
          + (f"all published {drained:.1f} s later" if drained is not None else "not drained within 60 s"))
    if served[0]:
        print(f"time inside the gateway per first scan (its /metrics): {served[1] / served[0] * 1000:.1f} ms mean")
    print(f"CPU during the first scans (share of one core): {cpu_burst}")
    print("goal (issue 3): >= 500 check-ins/s sustained, p99 < 300 ms, zero lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
