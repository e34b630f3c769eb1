"""The benchmark scripts import, parse their command lines, build consistent import bodies and render a results
table, without a stack (bench/all itself is run by hand: it measures, it is not a test)."""

from __future__ import annotations

import importlib
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
MODULES = ("common", "university", "marking", "gradebook", "all", "checkin_burst")


@pytest.fixture
def bench(monkeypatch):
    """The bench folder importable for the test only (its `reports.py` would shadow the reports package)."""
    monkeypatch.syspath_prepend(str(BENCH))
    yield {name: importlib.import_module(name) for name in MODULES}
    for name in MODULES:
        sys.modules.pop(name, None)


def test_bench_all_parses_its_sizes(bench):
    args, size = bench["all"].arguments(["--quick", "--groups", "7", "--skip", "reports", "--port", "23999"])
    assert args.quick and args.port == 23999 and args.skip == ["reports"]
    assert size["groups"] == 7 and size["weeks"] == bench["all"].QUICK["weeks"]
    _, full = bench["all"].arguments([])
    assert full["groups"] * full["per_group"] == 30000
    with pytest.raises(SystemExit):
        bench["all"].arguments(["--skip", "nothing"])


def test_checkin_burst_answers_help(bench, capsys):
    with pytest.raises(SystemExit) as done:
        bench["checkin_burst"].main(["--help"])
    assert done.value.code == 0 and "--prefix" in capsys.readouterr().out


def test_the_university_imports_every_student_once_and_its_marked_sessions_are_in_the_entry_window(bench):
    uni = bench["university"].University(groups=40, per_group=30, weeks=2, per_week=10)
    chunks = [uni.contingent(f) for f in range(bench["university"].FACULTIES)]
    students = [s["code"] for chunk in chunks for s in chunk["students"]]
    assert len(students) == len(set(students)) == 1200
    groups = {g["code"] for chunk in chunks for g in chunk["groups"]}
    departments = {d["code"] for chunk in chunks for d in chunk["departments"]}
    assert {g["department"] for chunk in chunks for g in chunk["groups"]} <= departments and len(groups) == 40
    rows = uni.timetable_rows()
    assert len(rows) == uni.sessions == 800 and len({r["ref"] for r in rows}) == 800
    assignments = {(a["teacher"], a["discipline"], a["group"]) for a in uni.load()["assignments"]}
    assert all((r["teacher"], r["discipline"], r["group"]) in assignments for r in rows)
    term = uni.term()
    local = timedelta(hours=6)
    assert all(term["starts"] <= (datetime.fromisoformat(r["starts_at"]) + local).date().isoformat() <= term["ends"]
               for r in rows)
    now = datetime.now(UTC)
    for k in (0, 5):  # marked by the marking benchmark: started, inside oshtu's 24 hours
        assert timedelta(0) < now - uni.session_start(k) < timedelta(hours=24)


def test_the_table_renders_from_figures(bench):
    common, render = bench["common"], bench["all"].render
    timing = common.summary([0.01, 0.02, 0.03], 0.5, statuses={200: 3})
    copy = {"n": 3, "elapsed": 0.01, "rate": 300.0}
    results = {
        "size": bench["all"].QUICK, "quick": True, "when": "now", "command": "bench/all --quick", "elapsed": 60.0,
        "machine": {"cpu": "2 cores"}, "loads": {"stack": "1.00 1.00 1.00"},
        "bare": timing, "pika1": timing, "pika8": timing, "argon2": copy,
        "import": {"students": 600, "groups": 20, "sessions": 400, "contingent": 10.0, "load": 1.0,
                   "timetable": 2.0, "timetable_requests": 1, "total": 13.0, "applied": 5.0},
        "import_copy": {"people": copy, "sessions": copy},
        "marking": {"sessions": 3, "concurrency": 2, "burst": timing, "in_journal": 0.1, "in_report": 0.5,
                    "report_sample": 3, "stored": 90, "lost": 0, "duplicated": 0},
        "marking_copy": copy,
        "gradebook": {"groups": 3, "concurrency": 2, "create": timing, "write": timing, "read": timing,
                      "stored": 90, "lost": 0, "duplicated": 0},
        "gradebook_copy": copy,
        "checkin1": {"students": 3, "sessions": 1, "concurrency": 2, "burst": timing, "repeat": timing,
                     "recorded_after": 0.2, "present": 3, "lost": 0, "duplicated": 0},
        "reports": {"ok": True, "students": 600, "marks": 1000, "p50": 10.0, "worst": 20.0, "raw": 30.0,
                    "ratio": 3.0},
    }
    text = render(results)
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 5 + 2 + 3 + 1 + 1  # header, import, marking, gradebook, check-in, report
    assert "lost 0, duplicated 0" in text and "bench/all --quick" in text and "load" in text.lower()
