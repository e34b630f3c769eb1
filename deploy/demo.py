"""Load the demo university into a running journal through the public API, and list logins to try.

    python deploy/demo.py --url http://127.0.0.1:8080 --admin-password-file PATH \
        [--preset oshtu] [--password demo12345] [--state-dir DIR]

Logs in as `admin`, then POSTs the contingent, the teaching load and the timetable built by demo_data.py (the
imports are idempotent by code, so a second run changes nothing), waits until a demo student can log in and read
`GET /api/v1/me` (the gateway's read model fills asynchronously), and writes $STATE_DIR/demo-logins.txt.
Exit status: 0 done, 1 the API answered an error (its problem+json is printed), 2 the API could not be reached or
did not become ready in time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import demo_data
import requests

LOGIN_TIMEOUT = 30.0
READY_WAIT = 60.0  # seconds, the bound on waiting for the read model
DEFAULT_STATE_DIR = Path(__file__).resolve().parents[1] / ".run"


class ApiError(Exception):
    """The API answered an error status; `body` is its problem+json (or whatever text came back)."""

    def __init__(self, step: str, response: requests.Response) -> None:
        self.step, self.status, self.body = step, response.status_code, _body_text(response)
        super().__init__(f"{step}: HTTP {self.status}")


class Unreachable(Exception):
    pass


def _body_text(response: requests.Response) -> str:
    try:
        return json.dumps(response.json(), ensure_ascii=False, indent=2)
    except ValueError:
        return response.text.strip() or "(empty body)"


class Client:
    """A thin API client: bearer token, timeouts, and one fresh login when the token has expired."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        self.credentials: tuple[str, str] | None = None
        self.token: str | None = None

    def _send(self, method: str, path: str, step: str, timeout: float, **kwargs) -> requests.Response:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            return self.http.request(method, self.base + path, headers=headers, timeout=timeout, **kwargs)
        except requests.Timeout as exc:
            raise Unreachable(f"{step}: no answer from {self.base} within {timeout:.0f} s") from exc
        except requests.ConnectionError as exc:
            raise Unreachable(f"{step}: cannot reach {self.base} ({exc.__class__.__name__})") from exc

    def login(self, login: str, password: str) -> requests.Response:
        """Log in; answers the raw response so a caller may treat 401/429 as "not yet"."""
        self.token = None
        r = self._send("POST", "/api/v1/auth/login", f"login as {login}", LOGIN_TIMEOUT,
                       json={"login": login, "password": password})
        if r.status_code == 200:
            self.credentials = (login, password)
            self.token = r.json()["access_token"]
        return r

    def get(self, path: str) -> requests.Response:
        return self._send("GET", path, f"GET {path}", LOGIN_TIMEOUT)

    def call(self, method: str, path: str, step: str, body: dict | None = None) -> requests.Response:
        r = self._send(method, path, step, self.timeout, json=body)
        if r.status_code == 401 and self.credentials:  # the access token expired during a long import
            relogin = self.login(*self.credentials)
            if relogin.status_code != 200:
                raise ApiError(f"{step} (login again)", relogin)
            r = self._send(method, path, step, self.timeout, json=body)
        return r


def summarize(answer: object) -> str:
    """The counts an import answered, on one line: `students=150 staff=21 ...`; lists and maps by their size."""
    if not isinstance(answer, dict):
        return f"{len(answer)} items" if isinstance(answer, list) else str(answer)
    parts: list[str] = []
    for key, value in answer.items():
        if isinstance(value, bool) or value is None or isinstance(value, str):
            parts.append(f"{key}={value}")
        elif isinstance(value, int | float):
            parts.append(f"{key}={value}")
        elif isinstance(value, dict) and 0 < len(value) <= 12 and all(isinstance(v, int) for v in value.values()):
            parts.extend(f"{key}.{k}={v}" for k, v in value.items())
        elif isinstance(value, dict | list):
            parts.append(f"{key}: {len(value)}")
    return " ".join(parts) or "(no counts in the answer)"


def import_step(client: Client, name: str, path: str, body: dict, optional: bool = False) -> Any:
    sizes = ", ".join(f"{len(v)} {k}" for k, v in body.items() if isinstance(v, list))
    print(f"{name}: sending {sizes} ...", flush=True)
    started = time.monotonic()
    r = client.call("POST", path, name, body)
    if optional and r.status_code in (404, 405):
        print(f"{name}: not available yet")
        return None
    if r.status_code not in (200, 201):
        raise ApiError(name, r)
    try:
        answer = r.json()
    except ValueError:
        answer = r.text
    print(f"{name}: HTTP {r.status_code} in {time.monotonic() - started:.1f} s: {summarize(answer)}")
    return answer


def wait_for_sessions(client: Client, session_ids: list[int]) -> None:
    """Bounded wait until the gateway's read model has the timetable's last session: the sessions reach it through
    events, a moment after the import answered, and a teacher opening one before then would be told it is not
    there."""
    if not session_ids:
        return
    last, deadline, r = max(session_ids), time.monotonic() + READY_WAIT, None
    print(f"waiting (at most {READY_WAIT:.0f} s) until every session of the timetable can be opened ...", flush=True)
    while time.monotonic() < deadline:
        r = client.get(f"/api/v1/sessions/{last}")
        if r.status_code == 200:
            print(f"sessions: all {len(session_ids)} can be opened")
            return
        time.sleep(0.5)
    raise Unreachable(f"session {last} could not be opened within {READY_WAIT:.0f} s "
                      f"(HTTP {r.status_code if r is not None else '?'})")


def wait_until_usable(client: Client, login: str, password: str, expected_code: str) -> None:
    """Bounded wait until the demo student can log in and `GET /api/v1/me` answers 200 with their account.

    A failed login is retried sparingly (the API rate-limits repeated failures); once logged in, only /me is
    polled."""
    deadline = time.monotonic() + READY_WAIT
    pause, last = 0.5, "nothing tried yet"
    print(f"waiting (at most {READY_WAIT:.0f} s) until {login} can log in and read /api/v1/me ...", flush=True)
    while True:
        if client.token is None:
            r = client.login(login, password)
            if r.status_code == 429:
                retry = r.headers.get("Retry-After", "")
                pause = max(pause, float(retry) if retry.isdigit() else 5.0)
            if r.status_code != 200:
                last = f"login answered HTTP {r.status_code}"
                if r.status_code not in (401, 429, 503):
                    raise ApiError(f"login as {login}", r)
        if client.token is not None:
            r = client.get("/api/v1/me")
            if r.status_code == 200 and r.json().get("code") == expected_code:
                print(f"{login}: logged in, /api/v1/me answers {r.json().get('full_name')}")
                return
            last = f"/api/v1/me answered HTTP {r.status_code}"
            if r.status_code == 401:
                client.token = None
            elif r.status_code not in (200, 403, 404, 503):
                raise ApiError("GET /api/v1/me", r)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Unreachable(f"the demo accounts did not become usable within {READY_WAIT:.0f} s ({last})")
        time.sleep(min(pause, remaining))
        pause = min(pause * 1.5, 5.0)


def logins_table(rows: list[dict], url: str, preset: str) -> str:
    columns = (("role", "role"), ("login", "login"), ("password", "password"), ("full_name", "name"),
               ("scope", "scope / group / children"))
    widths = {key: max(len(title), *(len(str(r[key])) for r in rows)) for key, title in columns}
    line = "  ".join("-" * widths[key] for key, _title in columns)
    out = [
        f"Demo accounts of the electronic journal at {url} (preset {preset}).",
        "Every demo account has the same password; the IT admin account is not listed.",
        "",
        "  ".join(title.ljust(widths[key]) for key, title in columns).rstrip(),
        line,
    ]
    out += ["  ".join(str(r[key]).ljust(widths[key]) for key, _title in columns).rstrip() for r in rows]
    return "\n".join(out) + "\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o600)  # passwords, even demo ones
    tmp.replace(path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Load the demo university through the public API.")
    ap.add_argument("--url", default=os.environ.get("EJOURNAL_URL", "http://127.0.0.1:8080"),
                    help="the gateway (default: $EJOURNAL_URL or http://127.0.0.1:8080)")
    ap.add_argument("--admin-password-file", required=True, type=Path,
                    help="a file holding the password of the `admin` account")
    ap.add_argument("--preset", default=os.environ.get("EJOURNAL_PRESET") or "oshtu",
                    help="institution preset (default: $EJOURNAL_PRESET or oshtu); kostanay gives a KZ academy")
    ap.add_argument("--password", default=demo_data.DEFAULT_PASSWORD,
                    help=f"password of every demo account (default: {demo_data.DEFAULT_PASSWORD})")
    ap.add_argument("--state-dir", type=Path,
                    default=Path(os.environ["EJOURNAL_STATE_DIR"]) if os.environ.get("EJOURNAL_STATE_DIR")
                    else DEFAULT_STATE_DIR,
                    help="where demo-logins.txt goes (default: $EJOURNAL_STATE_DIR or .run/)")
    ap.add_argument("--term-start", type=date.fromisoformat, default=demo_data.DEFAULT_TERM_START,
                    help="first day of the demo term (default: 2026-09-01)")
    ap.add_argument("--term-end", type=date.fromisoformat, default=None,
                    help="last day of the demo term (default: 31 Dec for an autumn term)")
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="seconds to wait for each import's answer (default: 300)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        admin_password = args.admin_password_file.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        print(f"cannot read the admin password file: {exc}", file=sys.stderr)
        return 2
    if not admin_password:
        print(f"the admin password file {args.admin_password_file} is empty", file=sys.stderr)
        return 2

    print(f"demo university for preset {args.preset} -> {args.url}")
    client = Client(args.url, args.timeout)
    try:
        r = client.login("admin", admin_password)
        if r.status_code != 200:
            raise ApiError("login as admin", r)
        print("admin: logged in")
        import_step(client, "contingent", "/api/v1/import/contingent",
                    demo_data.contingent(args.preset, args.password))
        import_step(client, "load", "/api/v1/import/load", demo_data.load(args.preset))
        timetable = import_step(client, "timetable", "/api/v1/import/timetable",
                                demo_data.timetable(args.preset, args.term_start, args.term_end), optional=True)
        if isinstance(timetable, dict) and isinstance(timetable.get("sessions"), dict):
            wait_for_sessions(client, [int(i) for i in timetable["sessions"].values()])

        rows = demo_data.demo_logins(args.preset, args.password)
        student = next(row for row in rows if row["role"] == "student")
        wait_until_usable(Client(args.url, args.timeout), student["login"], args.password, student["code"])
    except ApiError as exc:
        print(f"{exc.step}: the API answered HTTP {exc.status}:\n{exc.body}", file=sys.stderr)
        return 1
    except Unreachable as exc:
        print(str(exc), file=sys.stderr)
        return 2

    table = logins_table(rows, args.url, args.preset)
    target = args.state_dir / "demo-logins.txt"
    try:
        write_atomically(target, table)
    except OSError as exc:
        print(f"cannot write {target}: {exc}", file=sys.stderr)
        return 2
    print()
    print(table, end="")
    print(f"\n(written to {target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
