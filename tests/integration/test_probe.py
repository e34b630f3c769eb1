"""kernel/probe.py against the running test stack: a service's process is live while it holds its broker
connection, ready while the service answers a ping, and not ready once no replica consumes its queue."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support import ROOT

pytestmark = pytest.mark.integration


def probe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kernel.probe", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_live_and_ready_while_the_service_runs_and_not_ready_once_it_is_stopped(stack):
    attendance = stack.ctl("pid", "attendance").strip()
    grading = stack.ctl("pid", "grading").strip()
    relay = stack.ctl("pid", "relay-attendance").strip()
    for args in (("live", "attendance", "--pid", attendance), ("ready", "attendance", "--pid", attendance),
                 ("relay", "attendance", "--pid", relay)):
        result = probe(*args)
        assert result.returncode == 0 and result.stdout.strip() == f"{args[0]} attendance: ok", result.stderr
    stack.ctl("stop", "attendance")
    try:
        # another process still connected: live, but the service itself answers no ping
        assert probe("live", "attendance", "--pid", grading).returncode == 0
        result = probe("ready", "attendance", "--pid", grading, "--timeout", "2")
        assert result.returncode == 1 and "attendance did not answer a ping within 2 s" in result.stderr
        result = probe("live", "attendance", "--pid", attendance)
        assert result.returncode == 1 and f"no process {attendance}" in result.stderr
    finally:
        stack.ctl("start", "attendance")
    stack.wait_ready()
