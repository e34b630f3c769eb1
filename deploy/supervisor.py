#!/usr/bin/env python3
"""The stack's process manager: one small daemon, standard library only.

    supervisor.py run [--daemon] [--processes FILE] [--state-dir DIR] [--only a,b] [--stop-timeout S]
    supervisor.py ctl status [--json] | pid NAME | stop NAME | start NAME | restart NAME | shutdown | ping
    supervisor.py check [--processes FILE] [--only a,b]     # are the modules the processes run importable?
    supervisor.py cleanup [--state-dir DIR]                 # kill children left behind by a killed supervisor

`run` reads the process list (lines `name  command`, `#` comments; the command goes through
`/bin/sh -c 'exec COMMAND'`, so the pid reported is the program's own), starts every process with the
repository root as working directory, the supervisor's environment (plus EJOURNAL_PROCESS_NAME) and a new
process group, appends its stdout and stderr to STATE/logs/NAME.log, and restarts it when it exits
unexpectedly, after 1 s, 2 s, 4 s ... at most 30 s (the delay is reset once the process has run for 60 s).
A process stopped with `stop NAME` stays stopped until `start NAME`. `shutdown` (or SIGTERM/SIGINT to the
supervisor) sends SIGTERM to every process group, SIGKILL to those still alive after the stop timeout (10 s),
and exits.

Files in STATE (default $EJOURNAL_STATE_DIR, else REPO/.run/default): supervisor.pid, supervisor.sock (the
command socket: one command line in, JSON lines out), supervisor.lock, children.json, logs/.
The process filter comes from --only or, when that is absent, from EJOURNAL_PROCESSES (comma-separated names).
"""

from __future__ import annotations

import argparse
import fcntl
import importlib.util
import json
import os
import re
import selectors
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROCESSES = ROOT / "deploy" / "processes"
STOP_TIMEOUT = 10.0
BACKOFF_FIRST = 1.0
BACKOFF_CAP = 30.0
BACKOFF_RESET_AFTER = 60.0
LOG_ROTATE_BYTES = int(os.environ.get("EJOURNAL_LOG_MAX_BYTES", str(50 * 1024 * 1024)))
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_SOCKET_PATH = 104

# Exit codes of `ctl`.
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_RUNNING = 0, 1, 2, 3


class ConfigError(Exception):
    pass


# ------------------------------------------------------------------------------------------ configuration


def parse_processes(path: Path) -> list[tuple[str, str]]:
    """[(name, command)] from a process list file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the process list {path}: {exc.strerror}") from exc
    result: list[tuple[str, str]] = []
    seen: set[str] = set()
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2:
            raise ConfigError(f"{path}:{lineno}: expected 'name  command', got {line!r}")
        name, command = parts
        if not NAME_RE.match(name):
            raise ConfigError(f"{path}:{lineno}: bad process name {name!r}")
        if name in seen:
            raise ConfigError(f"{path}:{lineno}: process {name!r} listed twice")
        seen.add(name)
        result.append((name, command.strip()))
    if not result:
        raise ConfigError(f"{path}: no processes listed")
    return result


def select_processes(procs: list[tuple[str, str]], only: str | None) -> list[tuple[str, str]]:
    if only is None:
        only = os.environ.get("EJOURNAL_PROCESSES") or None
    if not only:
        return procs
    wanted = [n.strip() for n in only.split(",") if n.strip()]
    known = {name for name, _ in procs}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ConfigError(f"unknown process name(s) in the filter: {', '.join(unknown)}")
    return [(name, cmd) for name, cmd in procs if name in wanted]


def default_state_dir() -> Path:
    return Path(os.environ.get("EJOURNAL_STATE_DIR") or ROOT / ".run" / "default").resolve()


def socket_path(state_dir: Path) -> str:
    path = str(state_dir / "supervisor.sock")
    if len(path.encode()) > MAX_SOCKET_PATH:
        raise ConfigError(f"the socket path is too long for a unix socket ({len(path)} bytes): {path}")
    return path


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} supervisor[{os.getpid()}] {message}", flush=True)


def pid_alive(pid: int) -> bool:
    """True when pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def proc_start_time(pid: int) -> str | None:
    """The kernel's start time of pid (clock ticks since boot), to recognise a pid that was reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def kill_leftovers(state_dir: Path, timeout: float = STOP_TIMEOUT) -> list[str]:
    """Stop process groups recorded in children.json by a supervisor that did not clean up (it was killed)."""
    record = state_dir / "children.json"
    try:
        children = json.loads(record.read_text())
    except (OSError, ValueError):
        return []
    found: list[tuple[str, int]] = []
    for name, entry in children.items():
        pid, start = int(entry["pid"]), entry.get("start")
        if start is not None and proc_start_time(pid) == start and pid_alive(pid):
            found.append((name, pid))
    for _, pid in found:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(pid) for _, pid in found):
        time.sleep(0.1)
    for _, pid in found:
        if pid_alive(pid):
            _signal_group(pid, signal.SIGKILL)
    record.unlink(missing_ok=True)
    return [f"{name} (pid {pid})" for name, pid in found]


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# ------------------------------------------------------------------------------------------ the daemon


@dataclass
class Proc:
    name: str
    command: str
    state: str = "stopped"  # running | stopping | stopped | backoff
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    delay: float = BACKOFF_FIRST
    next_start: float | None = None
    kill_at: float | None = None
    last_exit: int | None = None
    restart_after_stop: bool = False
    waiters: list[socket.socket] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def status(self, now: float) -> dict[str, object]:
        return {
            "name": self.name,
            "state": self.state,
            "pid": self.pid,
            "restarts": self.restarts,
            "uptime": round(now - self.started_at, 1) if self.popen is not None else None,
            "last_exit": self.last_exit,
            "next_start_in": round(max(0.0, self.next_start - now), 1) if self.next_start else None,
        }


class Supervisor:
    def __init__(self, procs: list[tuple[str, str]], state_dir: Path, stop_timeout: float = STOP_TIMEOUT):
        self.procs = {name: Proc(name, command) for name, command in procs}
        self.state_dir = state_dir
        self.log_dir = state_dir / "logs"
        self.stop_timeout = stop_timeout
        self.sel = selectors.DefaultSelector()
        self.buffers: dict[socket.socket, bytes] = {}
        self.stop_requested = False
        self.shutting_down = False
        self.shutdown_waiters: list[socket.socket] = []
        self.listener: socket.socket | None = None

    # --- lifecycle

    def listen(self) -> None:
        path = socket_path(self.state_dir)
        if os.path.exists(path):
            os.unlink(path)  # we hold the lock: whoever made it is gone
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o077)
        try:
            listener.bind(path)
        finally:
            os.umask(old_umask)
        listener.listen(16)
        listener.setblocking(False)
        self.sel.register(listener, selectors.EVENT_READ, self._accept)
        self.listener = listener

    def run(self) -> None:
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
        self.sel.register(wake_r, selectors.EVENT_READ, self._drain)
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

        for proc in self.procs.values():
            self._start(proc)
        while True:
            for key, _ in self.sel.select(self._timeout()):
                key.data(key.fileobj)
            if self.stop_requested and not self.shutting_down:
                log("SIGTERM/SIGINT received: shutting down")
                self._begin_shutdown()
            self._reap()
            self._tick()
            if self.shutting_down and all(p.popen is None for p in self.procs.values()):
                break
        log("every process has stopped; exiting")
        for conn in self.shutdown_waiters:
            self._reply(conn, {"ok": True, "message": "shut down"})
        self._close_listener()
        (self.state_dir / "children.json").unlink(missing_ok=True)

    def _close_listener(self) -> None:
        if self.listener is not None:
            self.sel.unregister(self.listener)
            self.listener.close()
            self.listener = None
            try:
                os.unlink(socket_path(self.state_dir))
            except OSError:
                pass

    def _on_stop_signal(self, signum: int, frame: object) -> None:
        self.stop_requested = True

    @staticmethod
    def _drain(sock: socket.socket) -> None:
        try:
            while sock.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _timeout(self) -> float:
        now = time.monotonic()
        deadlines = [p.next_start for p in self.procs.values() if p.next_start is not None]
        deadlines += [p.kill_at for p in self.procs.values() if p.kill_at is not None]
        timeout = 1.0
        for deadline in deadlines:
            timeout = min(timeout, max(0.0, deadline - now))
        return timeout

    # --- processes

    def _open_log(self, name: str):
        path = self.log_dir / f"{name}.log"
        try:
            if path.stat().st_size > LOG_ROTATE_BYTES:
                path.replace(path.with_suffix(".log.1"))
        except OSError:
            pass
        return open(path, "ab", buffering=0)

    def _start(self, proc: Proc) -> bool:
        env = dict(os.environ)
        env["EJOURNAL_PROCESS_NAME"] = proc.name
        env.setdefault("PYTHONUNBUFFERED", "1")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        proc.next_start = None
        proc.kill_at = None
        try:
            with self._open_log(proc.name) as out:
                out.write(f"--- {stamp} supervisor: starting {proc.name}: {proc.command}\n".encode())
                proc.popen = subprocess.Popen(
                    ["/bin/sh", "-c", f"exec {proc.command}"],
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except OSError as exc:
            log(f"{proc.name}: cannot start: {exc}")
            proc.popen = None
            self._schedule_restart(proc, 0.0)
            return False
        proc.state = "running"
        proc.started_at = time.monotonic()
        log(f"{proc.name}: started, pid {proc.popen.pid}")
        self._record_children()
        return True

    def _record_children(self) -> None:
        children = {
            p.name: {"pid": p.pid, "start": proc_start_time(p.pid)} for p in self.procs.values() if p.pid is not None
        }
        tmp = self.state_dir / "children.json.tmp"
        tmp.write_text(json.dumps(children))
        tmp.replace(self.state_dir / "children.json")

    def _schedule_restart(self, proc: Proc, uptime: float) -> None:
        if uptime >= BACKOFF_RESET_AFTER:
            proc.delay = BACKOFF_FIRST
        proc.state = "backoff"
        proc.next_start = time.monotonic() + proc.delay
        log(f"{proc.name}: restarting in {proc.delay:g} s")
        proc.delay = min(proc.delay * 2, BACKOFF_CAP)

    def _stop(self, proc: Proc) -> None:
        """Begin stopping proc (SIGTERM to its group); _reap finishes it."""
        proc.next_start = None
        if proc.popen is None:
            proc.state = "stopped"
            return
        if proc.state != "stopping":
            proc.state = "stopping"
            proc.kill_at = time.monotonic() + self.stop_timeout
            log(f"{proc.name}: stopping pid {proc.pid} (SIGTERM)")
            _signal_group(proc.popen.pid, signal.SIGTERM)

    def _reap(self) -> None:
        for proc in self.procs.values():
            if proc.popen is None:
                continue
            code = proc.popen.poll()
            if code is None:
                continue
            pid = proc.popen.pid
            uptime = time.monotonic() - proc.started_at
            _signal_group(pid, signal.SIGKILL)  # whatever the program left behind in its group
            proc.popen = None
            proc.kill_at = None
            proc.last_exit = code
            how = f"signal {-code}" if code < 0 else f"code {code}"
            with self._open_log(proc.name) as out:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S")
                out.write(f"--- {stamp} supervisor: {proc.name} (pid {pid}) exited with {how}\n".encode())
            if proc.state == "stopping" or self.shutting_down:
                log(f"{proc.name}: stopped (pid {pid}, {how})")
                proc.state = "stopped"
                self._finish_stop(proc)
            else:
                log(f"{proc.name}: pid {pid} exited unexpectedly with {how} after {uptime:.1f} s")
                self._schedule_restart(proc, uptime)
            self._record_children()

    def _finish_stop(self, proc: Proc) -> None:
        waiters, proc.waiters = proc.waiters, []
        if proc.restart_after_stop and not self.shutting_down:
            proc.restart_after_stop = False
            proc.delay = BACKOFF_FIRST
            if self._start(proc):
                reply: dict[str, object] = {"ok": True, "message": f"{proc.name} restarted, pid {proc.pid}"}
            else:
                reply = {"ok": False, "error": f"{proc.name} did not start; see its log"}
        else:
            proc.restart_after_stop = False
            reply = {"ok": True, "message": f"{proc.name} stopped"}
        for conn in waiters:
            self._reply(conn, reply)

    def _tick(self) -> None:
        now = time.monotonic()
        for proc in self.procs.values():
            if proc.state == "backoff" and proc.next_start is not None and now >= proc.next_start:
                if self._start(proc):
                    proc.restarts += 1
            if proc.kill_at is not None and now >= proc.kill_at and proc.popen is not None:
                log(f"{proc.name}: still alive {self.stop_timeout:g} s after SIGTERM: SIGKILL")
                _signal_group(proc.popen.pid, signal.SIGKILL)
                proc.kill_at = None

    def _begin_shutdown(self) -> None:
        self.shutting_down = True
        for proc in self.procs.values():
            self._stop(proc)

    # --- the command socket

    def _accept(self, listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return
        conn.setblocking(False)
        self.buffers[conn] = b""
        self.sel.register(conn, selectors.EVENT_READ, self._read)

    def _read(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        buf = self.buffers.get(conn, b"") + data
        if b"\n" not in buf and data and len(buf) < 4096:
            self.buffers[conn] = buf
            return
        self.sel.unregister(conn)
        self.buffers.pop(conn, None)
        line = buf.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        if not line:
            conn.close()
            return
        try:
            self._command(conn, line.split())
        except Exception as exc:  # a bad command must never take the supervisor down
            log(f"command {line!r} failed: {exc!r}")
            self._reply(conn, {"ok": False, "error": f"internal error: {exc}"})

    def _reply(self, conn: socket.socket, *messages: dict[str, object]) -> None:
        try:
            conn.setblocking(True)
            conn.settimeout(5)
            conn.sendall(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
        except OSError:
            pass
        finally:
            conn.close()

    def _command(self, conn: socket.socket, words: list[str]) -> None:
        verb, args = words[0], words[1:]
        if verb == "ping":
            return self._reply(conn, {"ok": True, "pid": os.getpid()})
        if verb == "status":
            now = time.monotonic()
            return self._reply(conn, *(p.status(now) for p in self.procs.values()))
        if verb == "shutdown":
            if not self.shutting_down:
                log("shutdown requested")
                self._begin_shutdown()
            self.shutdown_waiters.append(conn)
            return None
        if verb not in ("stop", "start", "restart"):
            return self._reply(conn, {"ok": False, "error": f"unknown command {verb!r}"})
        if len(args) != 1:
            return self._reply(conn, {"ok": False, "error": f"usage: {verb} NAME"})
        proc = self.procs.get(args[0])
        if proc is None:
            names = ", ".join(self.procs)
            return self._reply(conn, {"ok": False, "error": f"no process {args[0]!r} (known: {names})"})
        if self.shutting_down:
            return self._reply(conn, {"ok": False, "error": "the supervisor is shutting down"})
        if verb == "stop":
            if proc.popen is None:
                self._stop(proc)
                return self._reply(conn, {"ok": True, "message": f"{proc.name} stopped"})
            log(f"{proc.name}: stop requested")
            proc.restart_after_stop = False
            self._stop(proc)
            proc.waiters.append(conn)
            return None
        if verb == "start" and proc.popen is not None:
            if proc.state == "stopping":
                return self._reply(conn, {"ok": False, "error": f"{proc.name} is stopping; try again"})
            return self._reply(conn, {"ok": True, "message": f"{proc.name} already running, pid {proc.pid}"})
        if proc.popen is not None:  # restart of a live process
            log(f"{proc.name}: restart requested")
            proc.restart_after_stop = True
            self._stop(proc)
            proc.waiters.append(conn)
            return None
        log(f"{proc.name}: {verb} requested")
        proc.delay = BACKOFF_FIRST
        if self._start(proc):
            return self._reply(conn, {"ok": True, "message": f"{proc.name} started, pid {proc.pid}"})
        return self._reply(conn, {"ok": False, "error": f"{proc.name} did not start; see its log"})


def _daemonize(log_path: Path, keep_fds: set[int]) -> int:
    """Double fork. The original process waits for the daemon's 'ready' word and exits 0 (or 1 on failure);
    the daemon gets back the write end of the pipe to send it. The daemon keeps no other inherited file
    descriptor than keep_fds (so it holds no caller's pipe or lock open)."""
    read_fd, write_fd = os.pipe()
    first = os.fork()
    if first > 0:
        os.close(write_fd)
        os.waitpid(first, 0)
        message = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = selectors.DefaultSelector()
            ready.register(read_fd, selectors.EVENT_READ)
            if not ready.select(max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(read_fd, 4096)
            if not chunk:
                break
            message += chunk
        text = message.decode(errors="replace").strip()
        if text.startswith("ready"):
            print(f"supervisor started (pid {text.split()[1]}); log: {log_path}", flush=True)
            os._exit(0)
        print(f"supervisor did not start: {text or 'no answer'}; see {log_path}", file=sys.stderr, flush=True)
        os._exit(1)
    os.close(read_fd)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    keep = sorted(keep_fds | {write_fd})
    low = 3
    for fd in [*keep, 65536]:
        os.closerange(low, min(fd, 65536))
        low = fd + 1
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    out = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    return write_fd


def cmd_run(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir).resolve() if args.state_dir else default_state_dir()
    try:
        procs = select_processes(parse_processes(Path(args.processes)), args.only)
        sock = socket_path(state_dir)
    except ConfigError as exc:
        print(f"supervisor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    lock = open(state_dir / "supervisor.lock", "a")  # held (never closed) for the daemon's lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"supervisor: already running for {state_dir} (socket {sock})", file=sys.stderr)
        return EXIT_ERROR
    ready_fd = _daemonize(state_dir / "logs" / "supervisor.log", {lock.fileno()}) if args.daemon else None
    pid_file = state_dir / "supervisor.pid"
    try:
        log(f"starting for {state_dir}: {', '.join(name for name, _ in procs)}")
        leftovers = kill_leftovers(state_dir, args.stop_timeout)
        if leftovers:
            log(f"stopped processes left by an earlier supervisor: {', '.join(leftovers)}")
        supervisor = Supervisor(procs, state_dir, args.stop_timeout)
        supervisor.listen()
        pid_file.write_text(f"{os.getpid()}\n")
    except Exception as exc:
        log(f"cannot start: {exc!r}")
        if ready_fd is not None:
            os.write(ready_fd, f"error: {exc}".encode())
        return EXIT_ERROR
    if ready_fd is not None:
        os.write(ready_fd, f"ready {os.getpid()}\n".encode())
        os.close(ready_fd)
    try:
        supervisor.run()
    finally:
        try:
            if pid_file.read_text().strip() == str(os.getpid()):
                pid_file.unlink()
        except OSError:
            pass
    log("exited")
    return EXIT_OK


# ------------------------------------------------------------------------------------------ the client


class NotRunning(Exception):
    pass


def request(state_dir: Path, command: str, timeout: float = 10.0) -> list[dict[str, object]]:
    """Send one command to the supervisor of state_dir; the JSON lines it answers."""
    path = socket_path(state_dir)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        sock.close()
        raise NotRunning(f"no supervisor is running for {state_dir}") from exc
    with sock:
        sock.sendall(command.encode() + b"\n")
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def _format_uptime(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def cmd_ctl(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir).resolve() if args.state_dir else default_state_dir()
    words = args.words
    if not words or words[0] in ("-h", "--help", "help"):
        print(
            "usage: ctl status [--json] | pid NAME | stop NAME... | start NAME... | restart NAME... | shutdown | ping"
        )
        return EXIT_OK if words else EXIT_USAGE
    verb = words[0]
    try:
        if verb == "status":
            lines = request(state_dir, "status")
            if "--json" in words[1:]:
                for line in lines:
                    print(json.dumps(line))
                return EXIT_OK
            print(f"{'NAME':<18} {'STATE':<15} {'PID':>7} {'RESTARTS':>8} {'UPTIME':>8}  LAST EXIT")
            for line in lines:
                pid = line["pid"] if line["pid"] is not None else "-"
                state = str(line["state"])
                if line.get("next_start_in") is not None:
                    state += f" ({line['next_start_in']}s)"
                last = line["last_exit"] if line["last_exit"] is not None else "-"
                print(
                    f"{line['name']:<18} {state:<15} {pid:>7} {line['restarts']:>8} "
                    f"{_format_uptime(line['uptime']):>8}  {last}"
                )
            return EXIT_OK
        if verb == "pid":
            if len(words) != 2:
                print("usage: ctl pid NAME", file=sys.stderr)
                return EXIT_USAGE
            for line in request(state_dir, "status"):
                if line["name"] == words[1]:
                    if line["pid"] is None:
                        print(f"{words[1]} is {line['state']}", file=sys.stderr)
                        return EXIT_ERROR
                    print(line["pid"])
                    return EXIT_OK
            print(f"no process {words[1]!r}", file=sys.stderr)
            return EXIT_ERROR
        if verb == "ping":
            pong = request(state_dir, "ping")[0]
            print(f"supervisor running, pid {pong['pid']}")
            return EXIT_OK
        if verb == "shutdown":
            pid = _read_pid(state_dir)
            ok = _print_replies(request(state_dir, "shutdown", timeout=args.timeout))
            if pid is not None:
                deadline = time.monotonic() + 15
                while pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if pid_alive(pid):
                    print(f"supervisor pid {pid} is still alive", file=sys.stderr)
                    return EXIT_ERROR
            return EXIT_OK if ok else EXIT_ERROR
        if verb in ("stop", "start", "restart"):
            if len(words) < 2:
                print(f"usage: ctl {verb} NAME...", file=sys.stderr)
                return EXIT_USAGE
            ok = True
            for name in words[1:]:
                ok = _print_replies(request(state_dir, f"{verb} {name}", timeout=args.timeout)) and ok
            return EXIT_OK if ok else EXIT_ERROR
        print(f"unknown command {verb!r}; try: ctl help", file=sys.stderr)
        return EXIT_USAGE
    except NotRunning as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_NOT_RUNNING
    except (ConfigError, OSError, ValueError) as exc:
        print(f"ctl: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _print_replies(replies: list[dict[str, object]]) -> bool:
    if not replies:
        print("no answer from the supervisor", file=sys.stderr)
        return False
    ok = True
    for reply in replies:
        if reply.get("ok"):
            print(reply.get("message", "ok"))
        else:
            ok = False
            print(f"error: {reply.get('error')}", file=sys.stderr)
    return ok


def _read_pid(state_dir: Path) -> int | None:
    try:
        return int((state_dir / "supervisor.pid").read_text().strip())
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------------------------------ checks


def modules_of(command: str) -> list[str]:
    """The Python modules a command line runs: `python -m MOD` and nameko's `module:Class` targets."""
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    found = []
    for i, word in enumerate(words):
        if word == "-m" and i + 1 < len(words) and Path(words[0]).name.startswith("python"):
            found.append(words[i + 1])
        elif re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", word):
            found.append(word.split(":", 1)[0])
    return found


def cmd_check(args: argparse.Namespace) -> int:
    try:
        procs = select_processes(parse_processes(Path(args.processes)), args.only)
    except ConfigError as exc:
        print(f"check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    missing = []
    for name, command in procs:
        for module in modules_of(command):
            try:
                spec = importlib.util.find_spec(module)
            except Exception as exc:  # a parent package that fails to import
                missing.append(f"{name}: {module} ({type(exc).__name__}: {exc})")
                continue
            if spec is None:
                missing.append(f"{name}: {module} (not found)")
    if missing:
        print("these processes cannot start, their module is missing:", file=sys.stderr)
        for line in missing:
            print(f"  {line}", file=sys.stderr)
        return EXIT_ERROR
    print(f"all {len(procs)} processes have their modules")
    return EXIT_OK


def cmd_cleanup(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir).resolve() if args.state_dir else default_state_dir()
    pid = _read_pid(state_dir)
    if pid is not None and pid_alive(pid):
        print(f"the supervisor (pid {pid}) is alive: use `ctl shutdown`", file=sys.stderr)
        return EXIT_ERROR
    stopped = kill_leftovers(state_dir, args.stop_timeout)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing left behind")
    for name in ("supervisor.pid", "supervisor.sock"):
        (state_dir / name).unlink(missing_ok=True)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supervisor.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="start the processes and supervise them")
    run.add_argument("--daemon", action="store_true", help="detach; return once the command socket is up")
    check = sub.add_parser("check", help="are the modules the processes run importable?")
    for p in (run, check):
        p.add_argument("--processes", default=str(DEFAULT_PROCESSES), help="the process list file")
        p.add_argument("--only", default=None, help="comma-separated names (default: $EJOURNAL_PROCESSES)")
    ctl = sub.add_parser("ctl", help="talk to a running supervisor")
    ctl.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for an answer")
    ctl.add_argument("words", nargs=argparse.REMAINDER)
    cleanup = sub.add_parser("cleanup", help="kill processes left behind by a killed supervisor")
    for p in (run, ctl, cleanup):
        p.add_argument("--state-dir", default=None, help="default: $EJOURNAL_STATE_DIR or REPO/.run/default")
    for p in (run, cleanup):
        p.add_argument("--stop-timeout", type=float, default=STOP_TIMEOUT, help="SIGTERM to SIGKILL, s")
    args = parser.parse_args(argv)
    handler = {"run": cmd_run, "ctl": cmd_ctl, "check": cmd_check, "cleanup": cmd_cleanup}[args.cmd]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
