"""`python -m kernel.projections rebuild` on the running stack: the read models of every service that keeps them
(attendance, the gateway, grading, makeup, reports) replayed from the services' outboxes into fresh tables equal
the live ones; a row tampered with in a live table is named and the command exits 1; rebuilt in place, a service's
read models still equal the replay. Run after tests/e2e/test_reports.py in one session, it compares the read models
of that term's journal."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from support import ROOT, admin_query

pytestmark = pytest.mark.e2e
PATHS = [ROOT, ROOT / "gateway", *(ROOT / "services" / s for s in ("identity", "attendance", "grading", "makeup",
                                                                      "reports"))]


def projections(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, PATHS))}
    return subprocess.run([sys.executable, "-m", "kernel.projections", "rebuild", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("service", ["attendance", "gateway", "grading", "makeup", "reports"])
def test_the_replayed_read_models_equal_the_live_ones(stack, service):
    out = projections(service, "--compare")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rows differ" not in out.stdout and "the same" in out.stdout


def test_a_tampered_row_is_named_and_the_command_exits_1(stack):
    admin_query("INSERT INTO reports.org_unit (code, kind, name) VALUES ('TAMPERED-1', 'group', 'forged')")
    try:
        out = projections("reports", "org_units", "--compare")
    finally:
        admin_query("DELETE FROM reports.org_unit WHERE code = 'TAMPERED-1'")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "org_unit: 1 rows differ" in out.stdout and "live only: ('TAMPERED-1'" in out.stdout


def test_rebuilt_in_place_the_read_models_still_equal_the_replay(stack):
    out = projections("attendance")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "attendance rebuilt" in out.stdout and "identity:" in out.stdout
    again = projections("attendance", "--compare")
    assert again.returncode == 0, again.stdout + again.stderr
