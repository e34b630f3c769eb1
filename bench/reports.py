"""Reports at university scale (issue 6, item 8); run through `bench/reports`, which starts and stops a stack of
its own.

Generates a university straight into the reports' read models (30,000 students in groups of 25, a semester of
sessions, about ten million marks, each session's tally and the report's rollups as the `marks.recorded` handler
keeps them), then measures the faculty attendance report through the HTTP API beside a plain SQL aggregate over
the raw marks of the same faculty, in the same run, and checks that both count the same marks status by status
(and the report the faculty's sessions). Writing ten million marks through the
journal's API would take hours on this machine; the report reads only the read models, which are what is
generated here. Nothing asserts a time: it measures and prints.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import psycopg2

from kernel.config import settings
from reports.models import ROLLUP_REFILL

FACULTIES = 6
DEPARTMENTS_PER_FACULTY = 5
GROUP_SIZE = 25
DISCIPLINES_PER_GROUP = 8
SEMESTER_START = "2027-09-06"  # a Monday
WEEKS = 16
# status shares of the generated marks: present, absent, excused, sick, made_up (oshtu's classifier)
STATUS_SQL = """CASE WHEN r < 0.80 THEN 'present' WHEN r < 0.92 THEN 'absent' WHEN r < 0.95 THEN 'excused'
                     WHEN r < 0.98 THEN 'sick' ELSE 'made_up' END"""


def generate(conn: Any, students: int, sessions_per_week: int) -> dict[str, int]:
    groups = students // GROUP_SIZE
    departments = FACULTIES * DEPARTMENTS_PER_FACULTY
    with conn.cursor() as cur:
        cur.execute("SET statement_timeout = 0")
        for table in ("tally_rollup", "marked_rollup", "tally", "mark", "session", "person", "org_unit",
                      "discipline"):
            cur.execute(f"DELETE FROM reports.{table}")
        cur.execute("""INSERT INTO reports.org_unit (code, kind, name, parent)
            SELECT 'BF' || f, 'faculty', 'Bench faculty ' || f, NULL FROM generate_series(1, %(f)s) f
            UNION ALL SELECT 'BD' || d, 'department', 'Bench department ' || d, 'BF' || (1 + (d - 1) %% %(f)s)
              FROM generate_series(1, %(d)s) d
            UNION ALL SELECT 'BG' || g, 'group', 'Bench group ' || g, 'BD' || (1 + (g - 1) %% %(d)s)
              FROM generate_series(1, %(g)s) g""", {"f": FACULTIES, "d": departments, "g": groups})
        cur.execute("""INSERT INTO reports.discipline (code, name, control)
            SELECT 'BX' || x, 'Bench discipline ' || x, 'exam' FROM generate_series(1, %(n)s) x""",
                    {"n": DISCIPLINES_PER_GROUP})
        cur.execute("""INSERT INTO reports.person (code, kind, full_name, "group", revision, children)
            SELECT 'BS' || s, 'student', 'Bench student ' || s, 'BG' || (1 + (s - 1) / %(size)s), 0, '[]'
              FROM generate_series(1, %(n)s) s""", {"n": groups * GROUP_SIZE, "size": GROUP_SIZE})
        # each group: `sessions_per_week` sessions a week, Monday to Friday, its disciplines in turn
        cur.execute("""INSERT INTO reports.session (id, term, "group", discipline, teacher, kind, starts_at,
                                                   first_entry_at, late)
            SELECT (g - 1) * %(per)s + k, '2027-2028-1', 'BG' || g, 'BX' || (1 + k %% %(disc)s),
                   'BT' || (1 + ((g - 1) * %(disc)s + k %% %(disc)s) %% 1500), 'lecture',
                   %(start)s::timestamptz + ((k / %(pw)s) * 7 + (k %% %(pw)s) %% 5) * interval '1 day'
                     + (8 + (k %% %(pw)s) / 5 * 2) * interval '1 hour',
                   NULL, NULL
              FROM generate_series(1, %(groups)s) g, generate_series(0, %(per)s - 1) k""",
                    {"per": sessions_per_week * WEEKS, "pw": sessions_per_week, "disc": DISCIPLINES_PER_GROUP,
                     "start": f"{SEMESTER_START}T00:00:00+06:00", "groups": groups})
        # random() once per mark: in the subquery's select list, behind OFFSET 0 (a lateral `SELECT random()`
        # that names no outer column is evaluated once, and would give every mark the same status)
        cur.execute(f"""INSERT INTO reports.mark (session, student, status, at)
            SELECT id, student, {STATUS_SQL}, starts_at FROM (
              SELECT s.id, 'BS' || ((substr(s."group", 3)::int - 1) * %(size)s + i) AS student, s.starts_at,
                     random() AS r
                FROM reports.session s, generate_series(1, %(size)s) i
               WHERE s."group" LIKE 'BG%%' OFFSET 0) m""", {"size": GROUP_SIZE})
        marks = cur.rowcount
        cur.execute("""INSERT INTO reports.tally (session, status, n)
            SELECT session, status, count(*) FROM reports.mark GROUP BY 1, 2""")
        # the rollups (and `session.marked`) from the tallies, as the handler keeps them mark by mark
        cur.execute(ROLLUP_REFILL)
        cur.execute("SELECT count(*) FROM reports.session")
        sessions = cur.fetchone()[0]
    conn.commit()
    # as the tables' owner: the service's role may not vacuum them (PostgreSQL skips them with a warning)
    owner = psycopg2.connect(settings().admin_url().replace("postgresql+psycopg2://", "postgresql://", 1))
    owner.autocommit = True
    with owner.cursor() as cur:
        for table in ("org_unit", "session", "mark", "tally", "tally_rollup", "marked_rollup", "person"):
            cur.execute(f"VACUUM ANALYZE reports.{table}")
    owner.close()
    return {"groups": groups, "students": groups * GROUP_SIZE, "sessions": sessions, "marks": marks}


RAW_SQL = """
SELECT m.status, count(*) FROM reports.mark m JOIN reports.session s ON s.id = m.session
WHERE s."group" IN (SELECT g.code FROM reports.org_unit g JOIN reports.org_unit d ON d.code = g.parent
                    WHERE g.kind = 'group' AND d.parent = %(faculty)s)
GROUP BY 1
"""


SESSIONS_SQL = """
SELECT count(*) FROM reports.session s
WHERE s."group" IN (SELECT g.code FROM reports.org_unit g JOIN reports.org_unit d ON d.code = g.parent
                    WHERE g.kind = 'group' AND d.parent = %(faculty)s)
"""


def faculty_sessions(conn: Any, faculty: str) -> int:
    """The faculty's sessions (all of them started and marked), for checking the report's `sessions`."""
    with conn.cursor() as cur:
        cur.execute(SESSIONS_SQL, {"faculty": faculty})
        n = int(cur.fetchone()[0])
    conn.rollback()
    return n


def raw_aggregate(conn: Any, faculty: str) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(RAW_SQL, {"faculty": faculty})
        counts = {status: int(n) for status, n in cur.fetchall()}
    conn.rollback()
    return time.perf_counter() - started, counts


def http_json(url: str, token: str | None = None, body: dict | None = None) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(req, timeout=300) as resp:
        return json.loads(resp.read())


def login(url: str, password: str) -> str:
    """The admin's token; a loaded machine may answer 503 (a deadline missed) for a while: try again."""
    for attempt in range(1, 13):
        try:
            return http_json(f"{url}/api/v1/auth/login", body={"login": "admin", "password": password})["access_token"]
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or attempt == 12:
                raise
            time.sleep(5)
    raise AssertionError("unreachable")


def report(url: str, token: str, faculty: str) -> tuple[float, dict[str, int], int]:
    """Time of one faculty report over HTTP, its totals' marks by status and its sessions."""
    started = time.perf_counter()
    answer = http_json(f"{url}/api/v1/reports/attendance?faculty={faculty}", token)
    elapsed = time.perf_counter() - started
    return elapsed, {k: n for k, n in answer["totals"]["marks"].items() if n}, answer["totals"]["sessions"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--students", type=int, default=30000)
    parser.add_argument("--sessions-per-week", type=int, default=21, help="per group (default 21: ~10M marks)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    conn = psycopg2.connect(settings().service_dsn("reports"))
    started = time.perf_counter()
    size = generate(conn, args.students, args.sessions_per_week)
    print(f"generated in {time.perf_counter() - started:.0f} s: {size['students']} students in {size['groups']}"
          f" groups, {size['sessions']} sessions, {size['marks']} marks (one semester, {WEEKS} weeks)")

    token = login(args.url, args.admin_password)  # after the generation, which outlasts a token
    faculties = [f"BF{f}" for f in range(1, FACULTIES + 1)]
    rows = []
    for faculty in faculties:
        report(args.url, token, faculty)  # warm: the first call of a process pays for its connections
        raw_aggregate(conn, faculty)
        ours = [report(args.url, token, faculty) for _ in range(args.repeat)]
        raw = [raw_aggregate(conn, faculty) for _ in range(args.repeat)]
        if any(o[1] != raw[0][1] for o in ours):
            print(f"MISMATCH for {faculty}: report {ours[0][1]} vs raw marks {raw[0][1]}")
            return 1
        sessions = faculty_sessions(conn, faculty)
        if any(o[2] != sessions for o in ours):
            print(f"MISMATCH for {faculty}: report {ours[0][2]} sessions vs {sessions} in the read model")
            return 1
        rows.append((faculty, sum(ours[0][1].values()), statistics.median(o[0] for o in ours),
                     max(o[0] for o in ours), statistics.median(t for t, _ in raw), [o[0] for o in ours]))
    print(f"report totals equal the raw aggregate status by status for all {len(rows)} faculties")
    print(f"\n{'faculty':8} {'marks':>10} {'report p50':>11} {'report max':>11} {'raw SQL p50':>12} {'ratio':>7}")
    for faculty, marks, p50, worst, raw, _ in rows:
        print(f"{faculty:8} {marks:>10} {p50 * 1000:>9.0f}ms {worst * 1000:>9.0f}ms {raw * 1000:>10.0f}ms"
              f" {raw / p50:>6.1f}x")
    calls = [t for r in rows for t in r[5]]
    q = statistics.quantiles(calls, n=100, method="inclusive")
    print(f"\nall {len(calls)} report calls over HTTP: p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms,"
          f" max {max(calls) * 1000:.0f} ms")
    p50 = statistics.median(r[2] for r in rows)
    raw = statistics.median(r[4] for r in rows)
    worst = max(r[3] for r in rows)
    print(f"\nfaculty attendance report over HTTP: p50 {p50 * 1000:.0f} ms, worst {worst * 1000:.0f} ms"
          f" (goal: under 1000 ms) -> {'met' if worst < 1.0 else 'NOT met'}")
    print(f"plain SQL aggregate over the raw marks: p50 {raw * 1000:.0f} ms; the report is {raw / p50:.1f}x faster"
          f" (goal: at least 10x) -> {'met' if raw / p50 >= 10 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
