"""deploy/procs.py and the supervisord it drives, against `sleep` children in a temporary state directory (no broker,
no database)."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUPERVISOR = ROOT / "deploy" / "procs.py"
CTL = ROOT / "deploy" / "ctl"

_spec = importlib.util.spec_from_file_location("ejournal_procs", SUPERVISOR)
assert _spec is not None and _spec.loader is not None
sv = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = sv  # dataclasses look their module up there
_spec.loader.exec_module(sv)

PROCESSES = """\
# test processes
sleeper    sleep 1000
talker     sh -c 'echo hello from talker; echo to stderr >&2; exec sleep 1000'
stubborn   sh -c 'trap "" TERM; while true; do sleep 0.2; done'
"""


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def alive(pid: int) -> bool:
    return sv.pid_alive(pid)


class Stack:
    def __init__(self, tmp: Path, processes: str = PROCESSES, stop_timeout: float = 1.0):
        self.state = tmp / "state"
        self.procs_file = tmp / "processes"
        self.procs_file.write_text(processes)
        self.stop_timeout = stop_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    def start_foreground(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(SUPERVISOR),
                "run",
                "--processes",
                str(self.procs_file),
                "--state-dir",
                str(self.state),
                "--stop-timeout",
                str(self.stop_timeout),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.ping, what="the supervisor's socket")

    def ping(self) -> bool:
        try:
            return bool(self.request("ping"))
        except (sv.NotRunning, OSError):
            return False

    def request(self, command: str) -> list[dict[str, object]]:
        return sv.request(self.state, command, timeout=30)

    def status(self) -> dict[str, dict[str, object]]:
        return {str(line["name"]): line for line in self.request("status")}

    def pid(self, name: str) -> int:
        pid = self.status()[name]["pid"]
        assert isinstance(pid, int), f"{name} has no pid"
        return pid

    def all_running(self) -> bool:
        return all(line["state"] == "running" for line in self.status().values())

    def ctl(self, *words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SUPERVISOR), "ctl", "--state-dir", str(self.state), *words],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    def close(self) -> None:
        if self.ping():
            try:
                self.request("shutdown")
            except OSError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        sv.kill_leftovers(self.state, timeout=5)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path)
    s.start_foreground()
    wait_for(s.all_running, what="every process running")
    try:
        yield s
    finally:
        s.close()


def test_parse_processes(tmp_path: Path) -> None:
    f = tmp_path / "p"
    f.write_text("# comment\n\n  a   sleep 1 \nb  python -m kernel.relay identity  \n")
    assert sv.parse_processes(f) == [("a", "sleep 1"), ("b", "python -m kernel.relay identity")]
    f.write_text("a sleep 1\na sleep 2\n")
    with pytest.raises(sv.ConfigError, match="twice"):
        sv.parse_processes(f)
    f.write_text("lonely\n")
    with pytest.raises(sv.ConfigError, match="expected"):
        sv.parse_processes(f)


def test_the_project_process_list_parses_and_names_its_modules() -> None:
    procs = sv.parse_processes(ROOT / "deploy" / "processes")
    names = [name for name, _ in procs]
    assert "gateway" in names and "identity" in names
    assert sv.modules_of("nameko run --config deploy/nameko.yaml identity.service:IdentityService") == [
        "identity.service"
    ]
    assert sv.modules_of("python -m kernel.relay identity") == ["kernel.relay"]


def test_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    procs = [("a", "x"), ("b", "y"), ("c", "z")]
    assert sv.select_processes(procs, "c,a") == [("a", "x"), ("c", "z")]
    monkeypatch.setenv("EJOURNAL_PROCESSES", "b")
    assert sv.select_processes(procs, None) == [("b", "y")]
    with pytest.raises(sv.ConfigError, match="unknown"):
        sv.select_processes(procs, "a,nope")


def test_status_and_logs(stack: Stack) -> None:
    status = stack.status()
    assert list(status) == ["sleeper", "talker", "stubborn"]
    for line in status.values():
        assert line["state"] == "running"
        assert isinstance(line["pid"], int) and alive(line["pid"])
        assert line["restarts"] == 0
        assert isinstance(line["uptime"], float)
    assert (stack.state / "supervisor.pid").read_text().strip() == str(stack.proc.pid if stack.proc else "")
    log = stack.state / "logs" / "talker.log"
    wait_for(lambda: "to stderr" in log.read_text(), what="talker's output in its log")
    assert "hello from talker" in log.read_text()
    table = stack.ctl("status")
    assert table.returncode == 0 and "talker" in table.stdout and "running" in table.stdout


def test_stop_keeps_it_stopped_until_start(stack: Stack) -> None:
    pid = stack.pid("sleeper")
    done = stack.ctl("stop", "sleeper")
    assert done.returncode == 0, done.stderr
    assert not alive(pid)  # the reply comes once the process is gone
    assert stack.status()["sleeper"]["state"] == "stopped"
    time.sleep(2.5)  # longer than the first restart delay: a stopped process must not come back
    assert stack.status()["sleeper"]["state"] == "stopped"
    assert stack.status()["sleeper"]["pid"] is None
    started = stack.ctl("start", "sleeper")
    assert started.returncode == 0, started.stderr
    new_pid = stack.pid("sleeper")
    assert new_pid != pid and alive(new_pid)
    assert stack.status()["sleeper"]["restarts"] == 0


def test_stop_escalates_to_sigkill(stack: Stack) -> None:
    pid = stack.pid("stubborn")
    done = stack.ctl("stop", "stubborn")  # ignores SIGTERM; the stop timeout here is 1 s
    assert done.returncode == 0, done.stderr
    assert not alive(pid)
    assert stack.status()["stubborn"]["last_exit"] == -signal.SIGKILL


def test_restart_after_kill_9(stack: Stack) -> None:
    pid = stack.pid("talker")
    os.kill(pid, signal.SIGKILL)

    def restarted() -> bool:
        line = stack.status()["talker"]
        return line["state"] == "running" and line["pid"] not in (None, pid)

    wait_for(restarted, what="talker restarted with a new pid")
    line = stack.status()["talker"]
    assert line["restarts"] == 1
    assert line["last_exit"] == -signal.SIGKILL
    assert not alive(pid)


def test_restart_command(stack: Stack) -> None:
    pid = stack.pid("sleeper")
    done = stack.ctl("restart", "sleeper")
    assert done.returncode == 0, done.stderr
    new_pid = stack.pid("sleeper")
    assert new_pid != pid and not alive(pid) and alive(new_pid)


def test_unknown_names_and_commands(stack: Stack) -> None:
    bad = stack.ctl("stop", "nope")
    assert bad.returncode == 1 and "no process 'nope'" in bad.stderr
    assert stack.ctl("frobnicate").returncode == 2
    assert stack.request("frobnicate")[0]["ok"] is False
    pid = stack.ctl("pid", "sleeper")
    assert pid.returncode == 0 and int(pid.stdout) == stack.pid("sleeper")


def test_second_supervisor_is_refused(stack: Stack) -> None:
    again = subprocess.run(
        [sys.executable, str(SUPERVISOR), "run", "--processes", str(stack.procs_file), "--state-dir", str(stack.state)],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert again.returncode == 1 and "already running" in again.stderr
    assert stack.all_running()


def test_crashing_process_backs_off(tmp_path: Path) -> None:
    s = Stack(tmp_path, "crasher  sh -c 'exit 3'\n")
    s.start_foreground()
    try:
        line = wait_for(lambda: (x := s.status()["crasher"])["restarts"] >= 2 and x, what="two restarts")
        assert isinstance(line, dict)
        assert line["last_exit"] == 3
        # supervisord backs off 1 s, 2 s, 3 s ...: in this time it has tried a few times, never busy-looping.
        status = s.status()["crasher"]
        restarts = status["restarts"]
        assert isinstance(restarts, int) and restarts <= 3
        stop = s.ctl("stop", "crasher")
        assert stop.returncode == 0
        assert s.status()["crasher"]["state"] == "stopped"
    finally:
        s.close()


def test_shutdown_stops_every_child(stack: Stack) -> None:
    pids = [stack.pid(name) for name in ("sleeper", "talker", "stubborn")]
    done = stack.ctl("shutdown")
    assert done.returncode == 0, done.stderr
    assert stack.proc is not None
    assert stack.proc.wait(timeout=30) == 0
    for pid in pids:
        wait_for(lambda pid=pid: not alive(pid), timeout=10, what=f"pid {pid} gone")
    assert not (stack.state / "supervisor.sock").exists()
    assert not (stack.state / "supervisor.pid").exists()
    assert stack.ctl("status").returncode == 3


def test_sigterm_to_supervisor_is_shutdown(stack: Stack) -> None:
    pids = [stack.pid(name) for name in ("sleeper", "talker", "stubborn")]
    assert stack.proc is not None
    stack.proc.send_signal(signal.SIGTERM)
    assert stack.proc.wait(timeout=30) == 0
    for pid in pids:
        wait_for(lambda pid=pid: not alive(pid), timeout=10, what=f"pid {pid} gone")


def test_daemon_mode_through_deploy_ctl(tmp_path: Path) -> None:
    s = Stack(tmp_path, "sleeper  sleep 1000\n")
    env = {**os.environ, "EJOURNAL_STATE_DIR": str(s.state)}
    started = subprocess.run(
        [
            sys.executable,
            str(SUPERVISOR),
            "run",
            "--daemon",
            "--processes",
            str(s.procs_file),
            "--state-dir",
            str(s.state),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )  # returns (its pipes closed) although the daemon keeps running
    try:
        assert started.returncode == 0, started.stderr
        daemon_pid = int((s.state / "supervisor.pid").read_text())
        assert alive(daemon_pid)
        status = subprocess.run(
            [str(CTL), "status", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert status.returncode == 0, status.stderr
        assert '"name": "sleeper"' in status.stdout
        child = s.pid("sleeper")
        down = subprocess.run(
            [str(CTL), "shutdown"], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
        assert down.returncode == 0, down.stderr
        assert not alive(daemon_pid)
        wait_for(lambda: not alive(child), timeout=10, what="the child gone")
        assert "stopped: sleeper" in (s.state / "logs" / "supervisor.log").read_text()  # supervisord logged the stop
    finally:
        s.close()


def test_leftover_children_of_a_killed_supervisor_are_cleaned_up(tmp_path: Path) -> None:
    s = Stack(tmp_path, "sleeper  sleep 1000\n")
    s.start_foreground()
    try:
        child = s.pid("sleeper")
        assert s.proc is not None
        s.proc.kill()  # SIGKILL: no chance to stop its children
        s.proc.wait(timeout=10)
        assert alive(child)
        s.start_foreground()  # a new supervisor stops what the old one left behind
        wait_for(lambda: not alive(child), timeout=15, what="the orphan gone")
        wait_for(s.all_running, what="a fresh child")
        assert s.pid("sleeper") != child
    finally:
        s.close()
