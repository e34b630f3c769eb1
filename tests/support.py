"""Test support shared by conftest and the tests: the test stack's settings and helpers."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent

# The test stack; deploy/test exports the same values.
os.environ.setdefault("EJOURNAL_STATE_DIR", str(ROOT / ".run" / "test"))
os.environ.setdefault("EJOURNAL_DB_NAME", "ejournal_test")
os.environ.setdefault("EJOURNAL_AMQP_VHOST", "ejournal_test")
os.environ.setdefault("EJOURNAL_PORT", "18080")
os.environ.setdefault("EJOURNAL_PRESET", "oshtu")
os.environ.setdefault("EJOURNAL_ADMIN_PASSWORD", "admin-test-password")
os.environ["EJOURNAL_AMQP_URI"] = f"amqp://guest:guest@127.0.0.1:5672/{os.environ['EJOURNAL_AMQP_VHOST']}"


def load_secrets() -> None:
    path = Path(os.environ["EJOURNAL_STATE_DIR"]) / "secrets.env"
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.startswith("EJOURNAL_"):
            os.environ[key] = value
    from kernel.config import settings

    settings.cache_clear()


def deploy(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "deploy" / args[0]), *args[1:]], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


class Stack:
    def __init__(self) -> None:
        self.url = f"http://127.0.0.1:{os.environ['EJOURNAL_PORT']}"
        self.state_dir = Path(os.environ["EJOURNAL_STATE_DIR"])
        self.admin_password = os.environ["EJOURNAL_ADMIN_PASSWORD"]
        self._tokens: dict[str, str] = {}

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url + path, headers=headers, timeout=kwargs.pop("timeout", 30),
                                **kwargs)

    def login(self, login: str, password: str) -> str:
        key = f"{login}:{password}"
        if key not in self._tokens:
            r = self.api("POST", "/api/v1/auth/login", json={"login": login, "password": password})
            assert r.status_code == 200, r.text
            self._tokens[key] = r.json()["access_token"]
        return self._tokens[key]

    def admin(self) -> str:
        return self.login("admin", self.admin_password)

    def wait_ready(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        body: dict = {}
        while time.monotonic() < deadline:
            try:
                r = self.api("GET", "/ready", timeout=5)
                body = r.json()
                if r.status_code == 200:
                    return body
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise AssertionError(f"stack not ready: {body}")

    def set_clock(self, when: str) -> None:
        """Set the stack's simulation clock (API.md "Test clock")."""
        r = self.api("PUT", "/api/v1/_clock", self.admin(), json={"now": when})
        assert r.status_code == 200, r.text

    def ctl(self, *args: str) -> str:
        result = deploy("ctl", *args, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


def person(code: str, name: str, password: str, **extra) -> dict:
    """A contingent row whose login is its code in lower case."""
    return {"code": code, "full_name": name, "login": code.lower(), "password": password, **extra}


def eventually(check, timeout: float = 20, interval: float = 0.2):
    """Poll `check` until it returns a truthy value (events are applied asynchronously)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last: {last!r})")


def until_status(call, status: int, timeout: float = 20):
    """Call `call()` (an HTTP request) until it answers `status`; the response. (A requests.Response with an
    error status is falsy, so `eventually` alone cannot return it.)"""
    box = []

    def check():
        r = call()
        box[:] = [r]
        return r.status_code == status

    try:
        eventually(check, timeout=timeout)
    except AssertionError:
        raise AssertionError(f"never answered {status}; last: {box[0].status_code} {box[0].text[:300]}") from None
    return box[0]


def admin_query(statement: str, params: dict | tuple | None = None) -> list[tuple]:
    """Run SQL on the test stack's database as its admin role (committed); the rows, if any."""
    import psycopg2

    from kernel.config import settings

    cfg = settings()
    conn = psycopg2.connect(host=cfg.pg_host, port=cfg.pg_port, dbname=cfg.db_name, user=cfg.admin_role,
                            password=cfg.pg_admin_password, connect_timeout=10)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


class Tap:
    """A queue of the test's own bound to an exchange, read with basic_get (no heartbeats: the test is the loop).
    Exclusive unless `name` is given: a named tap is durable and survives a broker restart (delete it after)."""

    def __init__(self, exchange: str, routing_keys: tuple[str, ...], name: str = ""):
        import pika

        params = pika.URLParameters(os.environ["EJOURNAL_AMQP_URI"])
        params.heartbeat = 0
        self.conn = pika.BlockingConnection(params)
        self.channel = self.conn.channel()
        self.queue = self.channel.queue_declare(name, exclusive=not name, durable=bool(name)).method.queue
        for key in routing_keys:
            self.channel.queue_bind(self.queue, exchange, routing_key=key)
        self.messages: list[tuple[str, object, dict]] = []

    def drain(self) -> list[tuple[str, object, dict]]:
        """Everything received so far: (routing key, properties, body as JSON)."""
        import json

        while True:
            method, props, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return self.messages
            self.messages.append((method.routing_key, props, json.loads(body)))

    def reconnect(self) -> None:
        """A fresh connection to the same (durable) queue, e.g. after the broker restarted."""
        import pika

        params = pika.URLParameters(os.environ["EJOURNAL_AMQP_URI"])
        params.heartbeat = 0
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - the broker may have dropped it
            pass
        self.conn = pika.BlockingConnection(params)
        self.channel = self.conn.channel()

    def close(self, delete: bool = False) -> None:
        if delete:
            self.channel.queue_delete(self.queue)
        self.conn.close()
