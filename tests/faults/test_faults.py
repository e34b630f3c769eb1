"""Faults survived (issue 8 item 1; ARCHITECTURE.md "Delivery guarantees"): while students check in and teachers
rewrite a session's marks, each process of the stack is killed with SIGKILL in turn (the supervisor restarts it),
then RabbitMQ and then PostgreSQL are restarted. Afterwards:

- every check-in answered 2xx is stored exactly once (one check-in row, one audit entry, one event);
- every teacher write is atomic: a session's marks are those of one write, the last answered 2xx or a later one
  that answered an error (a timed-out write may still commit: it is never half-stored);
- the read models of reports, grading and makeup hold exactly the attendance service's marks;
- every `marks.recorded` event reaches the public feed (`ejournal.public.v1`, kernel/feed.py) at least once, a
  repeat with the same message_id;
- every audit chain verifies.

Students retry as a phone would (a new scan after an error). Opt-in marker `faults`; CI runs it after e2e. Set
EJOURNAL_FAULTS=processes to leave the broker and the database alone (they are shared with other stacks).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict

import pytest
import requests

from support import Tap, admin_query, eventually, person

pytestmark = pytest.mark.faults

PW = "faults-password-1"
DAY = "2027-10-04"  # the next academic year: the e2e tests archive 2026-2027 in the same stack
STUDENTS = 25
PROCESSES = ("gateway", "attendance", "intake-attendance", "relay-attendance", "reports", "grading", "makeup",
             "identity", "relay-grading", "feed-public")
STATUSES = ("present", "absent")  # what a teacher may set at oshtu (the test stack's preset)


def faults() -> list[str]:
    chosen = list(PROCESSES)
    if os.environ.get("EJOURNAL_FAULTS") != "processes":
        chosen += ["rabbitmq", "postgresql"]
    return chosen


def at(clock: str) -> str:
    return f"{DAY}T{clock}:00+06:00"


def minutes(start: str, k: int) -> str:
    h, m = map(int, start.split(":"))
    total = h * 60 + m + k
    return f"{total // 60:02d}:{total % 60:02d}"


@pytest.fixture(scope="module")
def world(stack):
    rounds = len(faults())
    stack.set_clock(at("06:00"))  # events are ordered by the time they occurred: load the day before its marks
    admin = stack.admin()
    groups = ("FL-1", "FL-2")
    contingent = {
        "faculties": [{"code": "FLF", "name": "Faults faculty"}],
        "departments": [{"code": "FLD", "faculty": "FLF", "name": "Faults department"}],
        "groups": [{"code": g, "department": "FLD", "course": 1, "subgroups": []} for g in groups],
        "students": [person(f"FLS{g[-1]}{i:02d}", f"Студент {i}", PW, group=g) for g in groups
                     for i in range(STUDENTS)],
        "staff": [person(f"FLT{g[-1]}", f"Мугалим {g}", PW, department="FLD", roles=[{"role": "teacher"}])
                  for g in groups],
    }
    r = stack.api("POST", "/api/v1/import/contingent", admin, json=contingent, timeout=120)
    assert r.status_code == 200, r.text
    load = {"disciplines": [{"code": "FLDIS", "name": "Ишенимдүүлүк", "control": "exam", "credits": 3}],
            "assignments": [{"teacher": f"FLT{g[-1]}", "discipline": "FLDIS", "group": g, "kind": kind}
                            for g in groups for kind in ("lecture", "practice")]}
    assert stack.api("POST", "/api/v1/import/load", admin, json=load).status_code == 200
    sessions = []
    for g in groups:
        sessions.append({"ref": f"{g}:w", "discipline": "FLDIS", "group": g, "kind": "practice",
                         "teacher": f"FLT{g[-1]}", "starts_at": at("07:00"), "minutes": 40})
        sessions += [{"ref": f"{g}:c:{k}", "discipline": "FLDIS", "group": g, "kind": "lecture",
                      "teacher": f"FLT{g[-1]}", "starts_at": at(minutes("08:00", 40 * k)), "minutes": 30}
                     for k in range(rounds)]
    body = {"term": {"code": "FL-2027", "starts": "2027-09-01", "ends": "2027-12-31"}, "sessions": sessions}
    r = eventually(lambda: (lambda r: r if r.status_code == 200 else None)(
        stack.api("POST", "/api/v1/import/timetable", admin, json=body)), timeout=60)
    ids = r.json()["sessions"]

    def token(login: str) -> str | None:
        r = stack.api("POST", "/api/v1/auth/login", json={"login": login, "password": PW})
        return r.json()["access_token"] if r.status_code == 200 else None

    codes = [f"FLT{g[-1]}" for g in groups] + [f"FLS{g[-1]}{i:02d}" for g in groups for i in range(STUDENTS)]
    tokens = {code: eventually(lambda code=code: token(code.lower()), timeout=30) for code in codes}
    return {"groups": groups, "ids": ids, "tokens": tokens, "rounds": rounds}


def inject(stack, fault: str) -> None:
    if fault == "rabbitmq":
        subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=120)
        time.sleep(2)
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
        subprocess.run(["rabbitmqctl", "await_startup"], check=True, capture_output=True, timeout=120)
    elif fault == "postgresql":
        version = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True,
                                 check=True).stdout.split()[0]
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True,
                       capture_output=True, timeout=120)
    else:
        pid = int(stack.ctl("pid", fault).split()[-1])
        os.kill(pid, signal.SIGKILL)  # the supervisor starts it again


class Load:
    """Students checking in (retrying until answered 2xx) and teachers rewriting their practice session."""

    def __init__(self, stack, world):
        self.stack, self.world = stack, world
        self.lock = threading.Lock()
        self.checkins: dict[tuple[int, str], list[int]] = defaultdict(list)  # key -> statuses answered
        self.writes: dict[int, list[tuple[str, int]]] = defaultdict(list)  # session -> (status, answer)
        self.stop = threading.Event()

    def call(self, method: str, path: str, token: str, **kwargs) -> requests.Response | None:
        try:
            return self.stack.api(method, path, token, timeout=15, **kwargs)
        except requests.RequestException:
            return None

    def code(self, session: int, teacher: str) -> str:
        while True:
            r = self.call("POST", f"/api/v1/sessions/{session}/checkin-codes", self.world["tokens"][teacher])
            if r is not None and r.status_code == 200:
                return r.json()["token"]
            time.sleep(0.5)

    def check_in(self, session: int, teacher: str, students: list[str], deadline: float) -> None:
        code = self.code(session, teacher)
        pending = list(students)
        while pending and time.monotonic() < deadline:
            retry = []
            for student in pending:
                r = self.call("POST", "/api/v1/checkin", self.world["tokens"][student], json={"token": code})
                status = r.status_code if r is not None else 0
                with self.lock:
                    self.checkins[(session, student)].append(status)
                if status == 410:
                    code = self.code(session, teacher)
                if not 200 <= status < 300:
                    retry.append(student)
                time.sleep(0.05)  # a class scanning over a few seconds: the fault lands in the middle
            pending = retry
            if pending:
                time.sleep(0.5)
        assert not pending, f"students never got a 2xx answer: {pending}"

    def rewrite(self, session: int, teacher: str, students: list[str]) -> None:
        n = 0
        while not self.stop.is_set():
            status = STATUSES[n % len(STATUSES)]
            n += 1
            r = self.call("PUT", f"/api/v1/sessions/{session}/attendance", self.world["tokens"][teacher],
                          json={"marks": [{"student": s, "status": status} for s in students]})
            with self.lock:
                self.writes[session].append((status, r.status_code if r is not None else 0))
            time.sleep(0.05)


def quiet(timeout: float = 180, ignore: tuple[str, ...] = ()) -> None:
    """Every outbox published and every queue of the stack drained (the management API counts messages); the
    test's own queues (`ignore`) are no backlog."""
    import base64
    import json
    import urllib.request

    vhost = os.environ["EJOURNAL_AMQP_VHOST"]
    request = urllib.request.Request(f"http://127.0.0.1:15672/api/queues/{vhost}?columns=name,messages,consumers",
                                     headers={"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})

    def busy() -> dict[str, object]:
        """What is still waiting: unpublished outbox rows per service, messages per queue."""
        out = {f"outbox {s}": admin_query(f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL")[0][0]
               for s in ("identity", "attendance", "grading", "makeup", "reports")}
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                # A killed gateway's reply queue keeps a late reply, with no consumer, until the queue's
                # x-expires removes it (nameko's RPC_REPLY_QUEUE_TTL): that reply's caller is gone, not backlog.
                out.update({q["name"]: q.get("messages") or 0 for q in json.loads(answer.read())
                            if not q["name"].startswith("ejournal.") and q["name"] not in ignore
                            and not (q["name"].startswith("rpc.reply-") and not q.get("consumers"))})
        except OSError as error:  # the broker restarting (the faults above, or another stack's tests)
            out["management API"] = str(error)
        return {k: v for k, v in out.items() if v}

    last: list[dict[str, object]] = [{}]

    def drained() -> bool:
        last[0] = busy()
        return not last[0]

    try:
        eventually(lambda: drained() and (time.sleep(2) or drained()), timeout=timeout, interval=1)
    except AssertionError:
        raise AssertionError(f"the stack did not drain within {timeout} s: {last[0]}") from None


@pytest.fixture
def public_tap(stack):
    """An outside consumer of the public feed: a durable queue, so it keeps what arrives across a broker restart."""
    tap = Tap("ejournal.public.v1", ("attendance.marks.recorded.v1",), name="faults.public-tap")
    tap.drain()
    tap.messages.clear()
    yield tap
    tap.reconnect()
    tap.close(delete=True)


def test_answered_writes_survive_killed_processes_and_restarted_broker_and_database(stack, world, public_tap):
    load = Load(stack, world)
    groups, ids = world["groups"], world["ids"]
    roster = {g: [f"FLS{g[-1]}{i:02d}" for i in range(STUDENTS)] for g in groups}
    writers = [threading.Thread(target=load.rewrite, args=(ids[f"{g}:w"], f"FLT{g[-1]}", roster[g]), daemon=True)
               for g in groups]
    stack.set_clock(at("07:59"))
    for w in writers:
        w.start()
    for k, fault in enumerate(faults()):
        stack.set_clock(at(minutes("08:00", 40 * k + 1)))
        deadline = time.monotonic() + 240
        threads = [threading.Thread(target=load.check_in, args=(ids[f"{g}:c:{k}"], f"FLT{g[-1]}", roster[g],
                                                                deadline)) for g in groups]
        for t in threads:
            t.start()
        time.sleep(0.5)
        inject(stack, fault)
        for t in threads:
            t.join()
        stack.wait_ready(timeout=180)
        print(f"  fault {k + 1}/{len(faults())}: {fault} survived")
    time.sleep(1)
    load.stop.set()
    for w in writers:
        w.join(timeout=30)
    quiet(ignore=(public_tap.queue,))

    # check-ins: every key answered 2xx is stored once, with one audit entry and one event
    answered = {key for key, statuses in load.checkins.items() if any(200 <= s < 300 for s in statuses)}
    sessions = sorted({s for s, _ in answered})
    stored = set(admin_query("SELECT session, student FROM attendance.checkin WHERE session = ANY(%s)", (sessions,)))
    audited = admin_query("SELECT entity_id, count(*) FROM attendance.audit_log WHERE entity = 'mark' AND "
                          "action = 'checkin' AND split_part(entity_id, ':', 1)::int = ANY(%s) GROUP BY 1",
                          (sessions,))
    events = admin_query("""SELECT (o.envelope->'payload'->>'session')::int, c->>'student', count(*)
                            FROM attendance.outbox o, jsonb_array_elements(o.envelope->'payload'->'changes') c
                            WHERE o.type = 'marks.recorded' AND o.envelope->'payload'->>'source' = 'checkin'
                              AND (o.envelope->'payload'->>'session')::int = ANY(%s) GROUP BY 1, 2""", (sessions,))
    lost = answered - stored
    duplicated = [e for e in audited if e[1] > 1] + [e for e in events if e[2] > 1]
    errors = Counter(s for statuses in load.checkins.values() for s in statuses if not 200 <= s < 300)

    # teacher writes: one write's marks, never half of one
    torn = []
    for g in groups:
        session = ids[f"{g}:w"]
        marks = dict(admin_query("SELECT student, status FROM attendance.mark WHERE session = %s", (session,)))
        history = load.writes[session]
        last_ok = max((i for i, (_, code) in enumerate(history) if 200 <= code < 300), default=-1)
        allowed = {status for i, (status, code) in enumerate(history) if i == last_ok or i > last_ok and
                   not 200 <= code < 300}
        if set(marks) != set(roster[g]) or len(set(marks.values())) != 1 or set(marks.values()) - allowed:
            torn.append((g, sorted(set(marks.values())), sorted(allowed)))

    # read models hold the attendance service's marks, no more, no less
    every = sorted(ids.values())
    source = set(admin_query("SELECT session, student, status FROM attendance.mark WHERE session = ANY(%s)",
                             (every,)))
    disagree = {}
    for schema in ("reports", "grading", "makeup"):
        copy = set(admin_query(f"SELECT session, student, status FROM {schema}.mark WHERE session = ANY(%s)",
                               (every,)))
        if copy != source:
            disagree[schema] = (len(copy - source), len(source - copy))

    # the public feed: every marks event of these sessions at least once; a repeat carries the same message_id
    outbox = {str(r[0]) for r in admin_query(
        "SELECT event_id FROM attendance.outbox WHERE type = 'marks.recorded'"
        " AND (envelope->'payload'->>'session')::int = ANY(%s)", (every,))}
    public_tap.reconnect()
    feed_missing: list[set[str]] = [set()]

    def on_the_feed() -> bool:
        feed_missing[0] = outbox - {props.message_id for _, props, _ in public_tap.drain()}
        return not feed_missing[0]

    try:
        eventually(on_the_feed, timeout=180, interval=1)
    except AssertionError:
        pass  # reported and asserted below
    on_feed = Counter(props.message_id for _, props, _ in public_tap.drain() if props.message_id in outbox)
    mismatched = [body["event_id"] for _, props, body in public_tap.drain() if props.message_id != body["event_id"]]

    verify = stack.api("GET", "/api/v1/audit/verify", stack.admin(), timeout=120).json()
    writes = sum(len(v) for v in load.writes.values())
    writes_ok = sum(1 for v in load.writes.values() for _, code in v if 200 <= code < 300)
    print(f"\nfaults injected: {', '.join(faults())}")
    print(f"check-ins accepted (2xx) {len(answered)}, stored {len(stored & answered)}, lost {len(lost)}, "
          f"duplicated {len(duplicated)}; error answers, retried: {dict(errors) or 'none'}")
    answers = Counter(code for v in load.writes.values() for _, code in v)
    print(f"teacher writes {writes}, answered 2xx {writes_ok}, torn {len(torn)}; answers {dict(answers)}")
    print(f"read models disagreeing: {disagree or 'none'}; audit verified: {verify['ok']} "
          f"({verify['entries']} entries)")
    print(f"public feed: marks events {len(outbox)}, arrived {len(on_feed)}, lost {len(feed_missing[0])}, "
          f"repeated (same message_id) {sum(n - 1 for n in on_feed.values())}")
    assert len(answered) == len(groups) * STUDENTS * world["rounds"]
    assert not lost and not duplicated
    assert not torn, torn
    assert not disagree, disagree
    assert verify["ok"], verify
    assert not feed_missing[0] and not mismatched, (len(feed_missing[0]), mismatched[:5])
