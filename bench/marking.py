"""Bulk marking (issue 8, item 5b): teachers marking whole 30-student sessions with
PUT /api/v1/sessions/{id}/attendance through HTTP, many at once; then how soon the marks are in the journal
(GET /api/v1/sessions/{id}, the attendance service's own data) and in the attendance report (the reports
service's read model, filled from events), and whether each mark is stored exactly once.
"""

from __future__ import annotations

import time
from typing import Any

from common import Client, as_json, check, copy_rows, drive, until
from university import University


def statuses(uni: University, g: int) -> list[dict[str, str]]:
    return [{"student": uni.student(g, i), "status": "absent" if i % 10 == 0 else "present"}
            for i in range(uni.per_group)]


def mark(c: Client, uni: University, ids: dict[str, int], tokens: dict[str, str], admin: str, groups: list[int],
         k: int, concurrency: int) -> dict[str, Any]:
    """Every group of `groups` has its session `k` marked by its teacher, `concurrency` teachers at a time."""
    sessions = {g: ids[uni.session_ref(g, k)] for g in groups}
    requests = [("PUT", f"/api/v1/sessions/{sessions[g]}/attendance", as_json({"marks": statuses(uni, g)}),
                 tokens[uni.teacher(g).lower()]) for g in groups]
    sample = groups[-20:]  # the report's read model is watched for the last groups written
    marked_before = {g: report_marks(c, uni, admin, g) for g in sample}  # a second run adds to the first's
    answers: list = []
    burst = drive(c, requests, concurrency, answers)
    failures = [body for status, body in answers if status != 200][:3]

    def journal() -> tuple[int, int, int]:
        """(sessions with every mark, marks stored, duplicated marks) as the journal answers."""
        complete = stored = duplicated = 0
        for g in groups:
            view = check(*c.call("GET", f"/api/v1/sessions/{sessions[g]}", token=admin), "session")
            students = [m["student"] for m in view["marks"] if m.get("status")]
            stored += len(set(students))
            duplicated += len(students) - len(set(students))
            complete += len(set(students)) == uni.per_group
        return complete, stored, duplicated

    passes = []  # the PUT answers after its commit: the first read-through of the journal should find them all
    in_journal = until(lambda: passes.append(1) or journal()[0] == len(groups), 60)
    in_report = until(lambda: all(report_marks(c, uni, admin, g) >= marked_before[g] + uni.per_group
                                  for g in sample), 300, pause=0.2)
    complete, stored, duplicated = journal()
    expected = len(groups) * uni.per_group
    return {"sessions": len(groups), "marks": expected, "concurrency": concurrency, "burst": burst,
            "failures": failures, "in_journal": in_journal, "journal_reads": len(passes), "in_report": in_report,
            "report_sample": len(sample), "stored": stored, "lost": expected - stored, "duplicated": duplicated,
            "complete_sessions": complete}


def report_marks(c: Client, uni: University, admin: str, g: int) -> int:
    """Marks of group `g` the attendance report counts."""
    status, body = c.call("GET", f"/api/v1/reports/attendance?group={uni.group(g)}", token=admin)
    return sum((body.get("totals") or {}).get("marks", {}).values()) if status == 200 else -1


def copy_limit(uni: University, ids: dict[str, int], groups: list[int], k: int) -> dict[str, Any]:
    """COPY of the same marks (session, student, status, who, when)."""
    now = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())
    return copy_rows("marks", "session bigint, student text, status text, set_by text, at timestamptz",
                     ((ids[uni.session_ref(g, k)], m["student"], m["status"], uni.teacher(g), now)
                      for g in groups for m in statuses(uni, g)))
