"""What every benchmark shares: a stack of its own (start, environment, stop), an HTTP client, driving many
requests at once with latencies and percentiles, waiting until the stack has applied its events, and the limits
each figure is printed beside, measured in the same run on the same machine: PostgreSQL COPY of the same rows,
raw pika publishing with confirms, a bare nameko HTTP->RPC round trip, argon2 hashing (an import's floor).

Nothing here asserts a time: the benchmarks measure and print; the maintainer reads the figures.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "bench-admin-password"
PASSWORD = "bench-password"


# ------------------------------------------------------------------------------------------------ the stack


class Stack:
    """A stack of the benchmark's own (state directory, database, vhost and port named after it), started with
    deploy/up and purged with deploy/down, so a run never touches anybody's data and leaves nothing behind."""

    def __init__(self, name: str, port: int, simulation: bool = False, env: dict[str, str] | None = None):
        self.name, self.port, self.simulation = name, port, simulation
        self.env = {**os.environ, **(env or {}), "EJOURNAL_STATE_DIR": str(ROOT / ".run" / name),
                    "EJOURNAL_DB_NAME": name,
                    "EJOURNAL_AMQP_VHOST": name, "EJOURNAL_PORT": str(port),
                    "EJOURNAL_ADMIN_PASSWORD": ADMIN_PASSWORD,
                    "EJOURNAL_AMQP_URI": f"amqp://guest:guest@127.0.0.1:5672/{name}"}
        self.url = f"http://127.0.0.1:{port}"
        self.started = False

    def up(self) -> float:
        """Start it (purging a leftover of the same name first); seconds taken. The stack's environment (secrets,
        PYTHONPATH) is then this process's, so kernel.config.settings() describes it."""
        (ROOT / ".run").mkdir(exist_ok=True)
        self.down()
        log = ROOT / ".run" / f"{self.name}-up.log"
        t = time.perf_counter()
        with open(log, "wb") as out:
            up = subprocess.run([str(ROOT / "deploy" / "up"), "--no-demo", "--preset", "oshtu",
                                 "--simulation" if self.simulation else "--no-simulation"],
                                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        if up.returncode:
            sys.stderr.write(log.read_text()[-3000:])
            self.down()
            sys.exit(f"deploy/up failed for the bench stack {self.name} (log: {log})")
        self.started = True
        dump = subprocess.run(["bash", "-c", f"source {ROOT}/deploy/env.sh && env -0"], env=self.env,
                              capture_output=True, check=True).stdout
        for item in dump.split(b"\0"):
            key, _, value = item.decode().partition("=")
            if key.startswith("EJOURNAL_") or key in ("PYTHONPATH", "PATH", "EVENTLET_TESTS"):
                os.environ[key] = value
        for path in reversed(os.environ["PYTHONPATH"].split(":")):
            if path and path not in sys.path:
                sys.path.insert(0, path)
        return time.perf_counter() - t

    def down(self) -> None:
        subprocess.run([str(ROOT / "deploy" / "down"), "--purge", "--yes"], env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.started = False

    def __enter__(self) -> Stack:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()


# ------------------------------------------------------------------------------------------------ HTTP


class Client:
    """One keep-alive HTTP connection per thread (and per client: two servers never share one)."""

    def __init__(self, url: str):
        self.host, self.port = urlparse(url).hostname, urlparse(url).port
        self.local = threading.local()

    def call(self, method: str, path: str, body=None, token=None, raw: bytes | None = None):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
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
        sys.exit(f"{what}: HTTP {status}: {str(body)[:2000]}")
    return body


def admin_token(c: Client) -> str:
    return check(*c.call("POST", "/api/v1/auth/login", {"login": "admin", "password": ADMIN_PASSWORD}),
                 "admin login")["access_token"]


def login_all(c: Client, logins: Iterable[str], password: str = PASSWORD) -> dict[str, str]:
    """A token per login (retrying while the gateway's read model of the accounts is still filling)."""

    def one(login):
        for _ in range(150):
            status, body = c.call("POST", "/api/v1/auth/login", {"login": login, "password": password})
            if status == 200:
                return login, body["access_token"]
            time.sleep(0.2)
        sys.exit(f"login {login}: HTTP {status}: {body}")

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(one, list(logins)))


def summary(latencies: Sequence[float], elapsed: float, **extra: Any) -> dict[str, Any]:
    """Throughput and percentiles (ms) of one measured batch."""
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0] if latencies else 0.0] * 99
    return {"n": len(latencies), "rate": len(latencies) / elapsed if elapsed else 0.0, "p50": q[49] * 1000,
            "p90": q[89] * 1000, "p99": q[98] * 1000, "max": max(latencies, default=0.0) * 1000,
            "elapsed": elapsed, **extra}


def drive(c: Client, requests: list[tuple[str, str, bytes, str | None]], concurrency: int,
          answers: list | None = None):
    """Send every (method, path, raw body, token) with `concurrency` clients; throughput, percentiles, statuses.
    `answers`, when given, receives each (status, body) in the order of `requests`."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def one(req):
        method, path, raw, token = req
        t = time.perf_counter()
        try:
            status, body = c.call(method, path, token=token, raw=raw)
        except (OSError, http.client.HTTPException) as exc:
            status, body = 0, str(exc)
        dt = time.perf_counter() - t
        with lock:
            latencies.append(dt)
            statuses[status] = statuses.get(status, 0) + 1
        return status, body

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        got = list(pool.map(one, requests))
    elapsed = time.perf_counter() - started
    if answers is not None:
        answers.extend(got)
    return summary(latencies, elapsed, statuses=statuses, ended=time.perf_counter())


def as_json(body: Any) -> bytes:
    return json.dumps(body).encode()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def until(predicate: Callable[[], bool], limit: float, pause: float = 0.05) -> float | None:
    """Seconds until `predicate()` held, or None when it did not within `limit`."""
    started = time.perf_counter()
    while True:
        if predicate():
            return time.perf_counter() - started
        if time.perf_counter() - started > limit:
            return None
        time.sleep(pause)


# ------------------------------------------------------------------------------------------------ broker


def management(path: str) -> Any:
    """RabbitMQ's management API (the project's scripts enable it; guest on localhost)."""
    request = urllib.request.Request(f"http://127.0.0.1:15672/api/{path}",
                                     headers={"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def queues() -> list[dict[str, Any]]:
    vhost = os.environ.get("EJOURNAL_AMQP_VHOST", "ejournal")
    return management(f"queues/{vhost}?columns=name,messages,consumers")


def outbox_backlogs(service: str | None = None) -> int:
    """Events the services (or one of them) have stored but their relays have not published yet, from the
    gateway's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{os.environ['EJOURNAL_PORT']}/metrics", timeout=30) as answer:
        text = answer.read().decode()
    prefix = "ejournal_service_outbox_backlog{" + (f'service="{service}"}}' if service else "")
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines() if line.startswith(prefix))


def wait_quiet(limit: float = 120.0) -> float:
    """Wait until the stack has applied every event so far (the services' queues are empty and their outboxes
    published, three times in a row), so what follows is measured alone; seconds waited."""
    started = time.perf_counter()
    quiet = 0
    while time.perf_counter() - started < limit and quiet < 3:
        try:
            busy = sum(q.get("messages") or 0 for q in queues() if not q["name"].startswith("ejournal."))
            busy += outbox_backlogs()
        except (OSError, ValueError, IndexError):
            busy = 1
        quiet = quiet + 1 if busy == 0 else 0
        time.sleep(0.5)
    return time.perf_counter() - started


# ------------------------------------------------------------------------------------------------ limits


def process_cpu(*pids: int | str) -> float:
    """CPU seconds (user and system) the processes have used so far; 0 for one that is gone."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def pids_of(pattern: str) -> list[str]:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()


def bare_round_trip(n: int, concurrency: int) -> dict:
    """A bare nameko HTTP entrypoint making one RPC to a bare nameko service (bench/bare_service.py), no
    database, no validation, no authentication, driven as the API is: the floor of any HTTP->RPC route."""
    port = int(os.environ["EJOURNAL_PORT"]) + 50
    config = ROOT / ".run" / f"bench-bare-{port}.yaml"
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
        before = process_cpu(proc.pid) + process_cpu(*pids_of("beam.smp"))
        result = drive(c, [("POST", "/rt", b'{"token":"x"}', None)] * n, concurrency)
        used = process_cpu(proc.pid) + process_cpu(*pids_of("beam.smp")) - before
        return {**result, "cpu_ms": used / n * 1000}  # the bare services' and the broker's, per round trip
    finally:
        proc.terminate()
        proc.wait(10)


def pika_publish(n: int, connections: int = 1, size: int = 200) -> dict[str, Any]:
    """Raw pika: `n` persistent messages of `size` bytes into a durable queue, each published with publisher
    confirms (the broker has it before the next), over `connections` connections at once; messages/s."""
    import pika

    queue = f"bench.limit.{os.getpid()}"
    params = pika.URLParameters(os.environ["EJOURNAL_AMQP_URI"])
    setup = pika.BlockingConnection(params)
    setup.channel().queue_declare(queue, durable=True)
    body = b"x" * size
    per = n // connections
    latencies: list[float] = []
    lock = threading.Lock()

    def publisher(_: int) -> None:
        conn = pika.BlockingConnection(params)
        ch = conn.channel()
        ch.confirm_delivery()
        mine = []
        for _ in range(per):
            t = time.perf_counter()
            ch.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2), mandatory=True)
            mine.append(time.perf_counter() - t)
        conn.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(publisher, range(connections)))
    elapsed = time.perf_counter() - started
    setup.channel().queue_delete(queue)
    setup.close()
    return summary(latencies, elapsed, connections=connections)


def copy_rows(table: str, columns: str, rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    """PostgreSQL COPY of the rows into a fresh logged table of the stack's database (created, filled in one
    transaction, committed, dropped): the floor of storing them at all. `columns` is the CREATE TABLE body."""
    import psycopg2

    from kernel.config import settings

    cfg = settings()
    conn = psycopg2.connect(host=cfg.pg_host, port=cfg.pg_port, dbname=cfg.db_name, user=cfg.admin_role,
                            password=cfg.pg_admin_password)
    name = f"public.bench_copy_{table}_{os.getpid()}"
    buf = io.StringIO()
    count = 0
    for row in rows:
        buf.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
        count += 1
    buf.seek(0)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE TABLE {name} ({columns})")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.copy_expert(f"COPY {name} FROM STDIN", buf)
        conn.commit()
        elapsed = time.perf_counter() - started
    finally:
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {name}")
        conn.commit()
        conn.close()
    return {"n": count, "elapsed": elapsed, "rate": count / elapsed if elapsed else 0.0}


def argon2_hashes(n: int) -> dict[str, Any]:
    """Hashing `n` passwords with identity's argon2id parameters on every core at once (C code that releases the
    GIL): what importing that many accounts costs at the least, whatever else the import does."""
    from argon2 import PasswordHasher

    from identity.passwords import HASHER

    hasher = PasswordHasher(time_cost=HASHER.time_cost, memory_cost=HASHER.memory_cost,
                            parallelism=HASHER.parallelism)
    started = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(hasher.hash, [f"password-{i}" for i in range(n)]))
    elapsed = time.perf_counter() - started
    return {"n": n, "elapsed": elapsed, "rate": n / elapsed}


# ------------------------------------------------------------------------------------------------ the machine


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> dict[str, str]:
    """What the figures were measured on."""

    def out(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        memory = f"{int(mem) / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "?"
    pg = out("psql", "--version") or "?"
    rabbit = "?"
    try:
        rabbit = management("overview").get("rabbitmq_version", "?")
    except (OSError, ValueError):
        pass
    distribution = out("sh", "-c", ". /etc/os-release; echo $PRETTY_NAME")
    return {"cpu": f"{os.cpu_count()} cores, {cpu}", "memory": memory,
            "os": f"{platform.system()} {platform.release()} ({distribution})",
            "python": platform.python_version(), "postgresql": pg.replace("psql (PostgreSQL) ", ""),
            "rabbitmq": rabbit, "git": out("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD")}


def ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f} ms" if x >= 10 else f"{x:.1f} ms"


def seconds(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.1f} s" if x < 100 else f"{x:.0f} s ({x / 60:.0f} min)"
