"""The demo semester: a realistic fortnight of the demo university, driven through the public API of a running
journal started with `deploy/up --simulation` (the test clock walks the days). Run it with `deploy/demo-semester`.

Day by day, session by session: the teacher enters the planned topic, shows the rotating QR code and most of the
class checks in from their phones; the teacher marks the rest and records the topic. Students who were ill hand in
a document and the dean's office approves it; absent students request make-ups, which teachers assign and
complete. At the end teachers grade a module, post its statement, a student appeals, the academic office forms a
commission and closes the statement, the commission decides. Then the reports are written into a folder and a
summary printed. Everything goes through HTTP as the portals and people would; nothing touches a database.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

import demo_data
import requests

TASK_KIND = {"lecture": "summary_oral", "practice": "practical_task", "lab": "redo_lab", "srs": "essay"}  # 003 §5.1
TOPICS = ["Киришүү", "Негизги түшүнүктөр", "Практикалык колдонуу", "Талдоо", "Кайталоо", "Бекемдөө"]


class Journal:
    """The API as the demo's people use it: one login per person, kept; problems counted, not fatal."""

    def __init__(self, url: str, password: str, admin_password: str):
        self.url = url.rstrip("/")
        self.password = password
        self.admin_password = admin_password
        self.tokens: dict[str, str] = {}
        self.local = threading.local()
        self.lock = threading.Lock()
        self.problems: Counter[str] = Counter()
        self.calls = 0

    def http(self) -> requests.Session:
        if getattr(self.local, "session", None) is None:
            self.local.session = requests.Session()
        return self.local.session

    def token(self, login: str) -> str:
        if login not in self.tokens:
            password = self.admin_password if login == "admin" else self.password
            r = self.http().post(f"{self.url}/api/v1/auth/login", json={"login": login, "password": password},
                                 timeout=60)
            if r.status_code != 200:
                raise SystemExit(f"login as {login}: HTTP {r.status_code}: {r.text[:300]}")
            with self.lock:
                self.tokens[login] = r.json()["access_token"]
        return self.tokens[login]

    def call(self, login: str, method: str, path: str, body: dict | None = None, what: str = "",
             expect: tuple[int, ...] = (200, 201)) -> requests.Response:
        for attempt in range(2):
            r = self.http().request(method, f"{self.url}{path}", json=body, timeout=120,
                                    headers={"Authorization": f"Bearer {self.token(login)}"})
            if r.status_code == 401 and attempt == 0:  # the access token expired during the run
                self.tokens.pop(login, None)
                continue
            break
        with self.lock:
            self.calls += 1
            if r.status_code not in expect:
                code = r.json().get("code", r.status_code) if r.headers.get("Content-Type", "").endswith(
                    "json") else r.status_code
                self.problems[f"{what or method + ' ' + path.split('?')[0]}: {code}"] += 1
        return r

    def clock(self, when: datetime) -> None:
        r = self.call("admin", "PUT", "/api/v1/_clock", {"now": when.isoformat()}, "set the clock")
        if r.status_code != 200:
            raise SystemExit("the demo semester needs the test clock: start the journal with deploy/up --simulation")


def progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done * 100 // max(total, 1):3d}% {label:<40}")
    sys.stderr.flush()


def sessions_between(j: Journal, first: date, last: date) -> list[dict]:
    items, cursor = [], None
    while True:
        path = f"/api/v1/sessions?from={first}&to={last}&limit=500" + (f"&cursor={cursor}" if cursor else "")
        page = j.call("admin", "GET", path, what="list sessions").json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--admin-password-file", required=True, type=Path)
    ap.add_argument("--preset", default="oshtu")
    ap.add_argument("--password", default=demo_data.DEFAULT_PASSWORD)
    ap.add_argument("--days", type=int, default=10, help="working days to play (default: a fortnight)")
    ap.add_argument("--out", type=Path, required=True, help="folder for the reports")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    j = Journal(args.url, args.password, args.admin_password_file.read_text().strip())
    uni = demo_data.contingent(args.preset, args.password)
    login_of = {p["code"]: p["login"] for p in uni["students"] + uni["staff"] + uni["parents"]}
    faculty_of_group = {g["code"]: {d["code"]: d["faculty"] for d in uni["departments"]}[g["department"]]
                        for g in uni["groups"]}
    dean_of = {r["scope"]: s["login"] for s in uni["staff"] for r in s["roles"] if r["role"] == "directorate"}
    office = next(s["login"] for s in uni["staff"] if any(r["role"] == "academic_office" for r in s["roles"]))
    started = time.monotonic()

    first = demo_data.DEFAULT_TERM_START
    sessions = sessions_between(j, first, first + timedelta(days=args.days * 2 + 6))
    days = sorted({s["starts_at"][:10] for s in sessions})[:args.days]
    sessions = sorted((s for s in sessions if s["starts_at"][:10] in days), key=lambda s: s["starts_at"])
    counts: Counter[str] = Counter()
    absent: list[tuple[dict, str]] = []
    pool = ThreadPoolExecutor(8)
    for n, s in enumerate(sessions):
        day = days.index(s["starts_at"][:10]) + 1
        progress(n, len(sessions), f"day {day}/{len(days)}, {s['group']} {s['discipline']} {s['kind']}")
        teacher, starts = login_of[s["teacher"]], datetime.fromisoformat(s["starts_at"])
        topic = f"{rng.choice(TOPICS)} ({s['discipline']})"
        j.clock(starts - timedelta(minutes=10))
        j.call(teacher, "PUT", f"/api/v1/sessions/{s['id']}/plan", {"planned_topic": topic}, "plan a topic")
        j.clock(starts + timedelta(minutes=2))
        code = j.call(teacher, "POST", f"/api/v1/sessions/{s['id']}/checkin-codes", what="QR code").json()["token"]
        roster = [r["student"] for r in j.call(teacher, "GET", f"/api/v1/sessions/{s['id']}/roster",
                                                what="live roster").json()["students"]]
        scanning = [st for st in roster if rng.random() < 0.85]
        answers = list(pool.map(lambda st, code=code: j.call(login_of[st], "POST", "/api/v1/checkin",
                                                             {"token": code}, "QR check-in").status_code, scanning))
        counts["check-ins"] += sum(1 for a in answers if a == 200)
        j.clock(starts + timedelta(minutes=25))
        deadline = time.monotonic() + 10  # the attendance service records the scans a moment after the answers
        while time.monotonic() < deadline:
            live = j.call(teacher, "GET", f"/api/v1/sessions/{s['id']}/roster", what="live roster").json()
            if sum(1 for r in live["students"] if r["checked_in_at"]) >= len(scanning):
                break
            time.sleep(0.1)
        rest = [st for st in roster if st not in scanning]
        marks = [{"student": st, "status": "present" if rng.random() < 0.15 else "absent"} for st in rest]
        if marks:
            j.call(teacher, "PUT", f"/api/v1/sessions/{s['id']}/attendance", {"marks": marks}, "mark the rest")
        absent += [(s, m["student"]) for m in marks if m["status"] == "absent"]
        j.call(teacher, "PUT", f"/api/v1/sessions/{s['id']}/topic", {"topic": topic, "work_kind": s["kind"]},
               "record the topic")
        counts["sessions filled"] += 1
    progress(len(sessions), len(sessions), "the fortnight is in the journal")
    sys.stderr.write("\n")

    # excuses: three students were ill on the second day; the dean's office approves their documents
    last = datetime.fromisoformat(sessions[-1]["starts_at"])
    ill = [(s, st) for s, st in absent if s["starts_at"][:10] == days[min(1, len(days) - 1)]][:3]
    j.clock(datetime.fromisoformat(ill[0][0]["starts_at"]) + timedelta(days=1) if ill else last)
    for s, st in ill:
        day = s["starts_at"][:10]
        document = f"Медициналык справка №{rng.randint(100, 999)}"
        r = j.call(login_of[st], "POST", "/api/v1/excuses",
                   {"student": st, "from": day, "to": day, "kind": "sick", "document": document}, "file an excuse")
        if r.status_code == 201:
            dean = dean_of[faculty_of_group[s["group"]]]
            if j.call(dean, "POST", f"/api/v1/excuses/{r.json()['id']}/decision",
                      {"approve": True, "note": "справка текшерилди"}, "approve an excuse").status_code == 200:
                counts["excuses approved"] += 1

    # make-ups: two absences of the last days are made up
    for s, st in [x for x in absent if x not in ill][-2:]:
        teacher = login_of[s["teacher"]]
        j.clock(last + timedelta(days=1, hours=2))
        r = j.call(login_of[st], "POST", "/api/v1/makeups", {"session": s["id"], "student": st}, "request a make-up")
        if r.status_code in (200, 201):
            due = (last + timedelta(days=7)).date().isoformat()
            j.call(teacher, "POST", f"/api/v1/makeups/{r.json()['id']}/assign",
                   {"task_kind": TASK_KIND[s["kind"]], "topic": "Өткөн теманы кайталоо", "due": due},
                   "assign a make-up")
            if j.call(teacher, "POST", f"/api/v1/makeups/{r.json()['id']}/complete",
                      {"result": 8, "comment": "жакшы"}, "complete a make-up").status_code == 200:
                counts["make-ups completed"] += 1

    # a module graded, its statement posted, appealed, closed, and the appeal decided by a commission
    lecture = next(s for s in reversed(sessions) if s["kind"] == "lecture")
    teacher, group, discipline = login_of[lecture["teacher"]], lecture["group"], lecture["discipline"]
    j.clock(last.replace(hour=16, minute=0))
    module = j.call(teacher, "POST", "/api/v1/assessments", {
        "group": group, "discipline": discipline, "kind": "module1", "title": "Модуль 1",
        "date": last.date().isoformat(), "max": 30}, "create a module").json()
    roster = [r["student"] for r in j.call(teacher, "GET", f"/api/v1/sessions/{lecture['id']}/roster").json()
              ["students"]]
    grades = [{"student": st, "value": rng.randint(14, 28)} for st in roster]
    j.call(teacher, "PUT", f"/api/v1/assessments/{module['id']}/grades", {"grades": grades}, "grade the module")
    statement = j.call(teacher, "POST", "/api/v1/statements",
                       {"group": group, "discipline": discipline, "kind": "module1"}, "create a statement").json()
    j.call(teacher, "POST", f"/api/v1/statements/{statement['id']}/post", what="post the statement")
    j.clock(last.replace(hour=17, minute=0))
    appellant = roster[0]
    appeal = j.call(login_of[appellant], "POST", "/api/v1/appeals",
                    {"statement": statement["id"], "reason": "Жоопторум толук эсептелген жок"}, "appeal").json()
    others = sorted({s["teacher"] for s in sessions if login_of[s["teacher"]] != teacher})[:2]
    j.call(office, "POST", "/api/v1/commissions",
           {"order": "№12-к", "members": others, "from": days[0], "to": (last + timedelta(days=60)).date().isoformat()},
           "form a commission")
    j.call(office, "POST", f"/api/v1/statements/{statement['id']}/close", what="close the statement")
    member = login_of[others[0]]
    deadline = time.monotonic() + 20  # the commission reaches the gateway's read model through events
    while time.monotonic() < deadline and not any(
            r["role"] == "commission" for r in j.call(member, "GET", "/api/v1/me").json()["roles"]):
        time.sleep(0.2)
    value = min(30, grades[0]["value"] + 2)
    if j.call(member, "POST", f"/api/v1/appeals/{appeal.get('id')}/decision",
              {"upheld": True, "protocol": "№1", "value": value}, "decide the appeal").status_code == 200:
        counts["appeals decided"] += 1

    # the reports, as the offices read them
    args.out.mkdir(parents=True, exist_ok=True)
    span = f"from={days[0]}&to={days[-1]}"
    faculty = faculty_of_group[group]
    dean = dean_of[faculty]
    files = {
        "attendance.pdf": (office, f"/api/v1/reports/attendance?faculty={faculty}&{span}&format=pdf&lang=ky"),
        "attendance.xlsx": (office, f"/api/v1/reports/attendance?faculty={faculty}&{span}&format=xlsx&lang=ru"),
        "attendance.csv": (office, f"/api/v1/reports/attendance?{span}&format=csv"),
        f"filling-{lecture['teacher']}.pdf": (office, f"/api/v1/reports/filling?teacher={lecture['teacher']}"
                                                      f"&term={lecture['term']}&format=pdf&lang=ky"),
        f"statement-{statement['id']}.pdf": (office, f"/api/v1/statements/{statement['id']}?format=pdf&lang=ky"),
        f"statement-{statement['id']}.xlsx": (office, f"/api/v1/statements/{statement['id']}?format=xlsx&lang=ru"),
        "at-risk.pdf": (dean, "/api/v1/reports/at-risk?format=pdf&lang=ky"),
        f"record-{appellant}.json": (login_of[appellant], f"/api/v1/students/{appellant}/record"),
    }
    written = []
    for name, (who, path) in files.items():
        r = j.call(who, "GET", path, what=f"report {name}")
        if r.status_code == 200:
            (args.out / name).write_bytes(r.content)
            written.append(name)
    report = j.call(office, "GET", f"/api/v1/reports/attendance?{span}", what="attendance totals").json()
    totals: Counter[str] = Counter()
    for row in report.get("rows", []):
        totals.update(row.get("marks", {}))
    verify = j.call("admin", "GET", "/api/v1/audit/verify", what="verify the audit chains").json()

    print(f"\nThe demo semester: {len(days)} working days ({days[0]} .. {days[-1]}), "
          f"{time.monotonic() - started:.0f} s, {j.calls} API calls")
    for key in ("sessions filled", "check-ins", "excuses approved", "make-ups completed", "appeals decided"):
        print(f"  {key:<20} {counts[key]}")
    print(f"  marks by status     {dict(sorted(totals.items()))}")
    verified = "verified" if verify.get("ok") else "NOT verified"
    print(f"  audit chains        {verified} ({verify.get('entries')} entries)")
    print(f"  reports in {args.out}: {', '.join(written)}")
    if j.problems:
        print("  answers that were not what a user expects:")
        for what, n in j.problems.most_common():
            print(f"    {n:>4} x {what}")
    return 0 if verify.get("ok") and counts["sessions filled"] == len(sessions) else 1


if __name__ == "__main__":
    sys.exit(main())
