#!/usr/bin/env python3
"""The stack's processes under supervisord (the `supervisor` package from PyPI), driven by `deploy/processes`.

    procs.py run [--daemon] [--processes FILE] [--state-dir DIR] [--only a,b] [--stop-timeout S]
    procs.py ctl status [--json] | pid NAME | stop NAME... | start NAME... | restart NAME... | shutdown | ping
    procs.py check [--processes FILE] [--only a,b]     # are the modules the processes run importable?
    procs.py cleanup [--state-dir DIR]                 # kill children left behind by a killed supervisord

`run` turns the process list (lines `name  command`, `#` comments) into STATE/supervisord.conf and starts
supervisord on it: every process runs from the repository root through `/bin/sh -c 'exec COMMAND'` (so its pid is
the program's own) in a process group of its own, with the caller's environment plus EJOURNAL_PROCESS_NAME, its
output appended to STATE/logs/NAME.log (rotated at 50 MB), and is started again when it exits unexpectedly
(supervisord's back-off: 1 s, 2 s, 3 s ... while it keeps failing within a second; FATAL after 100 tries, which
`ctl start NAME` clears). A process stopped with `stop NAME` stays stopped until `start NAME`. `shutdown` (or SIGTERM
to supervisord) sends SIGTERM to every process group, SIGKILL to those alive after the stop timeout (10 s), and exits.

Files in STATE (default $EJOURNAL_STATE_DIR, else REPO/.run/default): supervisord.conf, supervisor.pid,
supervisor.sock (supervisord's XML-RPC socket, the one `ctl` talks to), logs/supervisor.log, logs/NAME.log.
The process filter comes from --only or, when that is absent, from EJOURNAL_PROCESSES (comma-separated names).
`ctl` answers as the hand-written supervisor it replaced did (issue 16): the same table, JSON lines, exit codes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shlex
import signal
import socket
import sys
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROCESSES = ROOT / "deploy" / "processes"
STOP_TIMEOUT = 10.0
START_RETRIES = 100
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_SOCKET_PATH = 104
OWNER_VAR = "EJOURNAL_SUPERVISED_BY"  # in every child's environment: the state directory whose supervisord started it

# Exit codes of `ctl`.
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_RUNNING = 0, 1, 2, 3


class ConfigError(Exception):
    pass


class NotRunning(Exception):
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


def _conf_value(value: str) -> str:
    """supervisord expands %(name)s in its values: a literal % is written %%."""
    return value.replace("%", "%%")


def supervisord_conf(procs: list[tuple[str, str]], state_dir: Path, stop_timeout: float, daemon: bool) -> str:
    logs = state_dir / "logs"
    lines = [
        "; written by deploy/procs.py from deploy/processes at every start: edit that file, not this one",
        "[unix_http_server]", f"file={_conf_value(socket_path(state_dir))}", "chmod=0700", "",
        "[supervisord]", f"logfile={_conf_value(str(logs / 'supervisor.log'))}", "logfile_maxbytes=50MB",
        "logfile_backups=2", "loglevel=info", f"pidfile={_conf_value(str(state_dir / 'supervisor.pid'))}",
        f"childlogdir={_conf_value(str(logs))}", f"nodaemon={'false' if daemon else 'true'}",
        f"directory={_conf_value(str(ROOT))}", "silent=true", "",
        "[rpcinterface:supervisor]", "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "", "[supervisorctl]", f"serverurl=unix://{_conf_value(socket_path(state_dir))}", "",
    ]
    for name, command in procs:
        # a mark in the log at every (re)start, as a reader of NAME.log expects; then the program itself
        mark = f"echo \"--- $(date '+%Y-%m-%d %H:%M:%S') supervisor: starting {name}: {command}\"".replace("`", "")
        shell = f"{mark}; exec {command}"
        env = {"EJOURNAL_PROCESS_NAME": name, OWNER_VAR: str(state_dir), "PYTHONUNBUFFERED": "1"}
        lines += [
            f"[program:{name}]",
            f"command=/bin/sh -c {_conf_value(shlex.quote(shell))}",
            f"directory={_conf_value(str(ROOT))}",
            "environment=" + ",".join(f'{k}="{_conf_value(v)}"' for k, v in env.items()),
            f"stdout_logfile={_conf_value(str(logs / (name + '.log')))}",
            "stdout_logfile_maxbytes=50MB", "stdout_logfile_backups=1", "redirect_stderr=true",
            "autostart=true", "autorestart=true", "startsecs=1",
            f"startretries={START_RETRIES}", "stopsignal=TERM", f"stopwaitsecs={max(1, round(stop_timeout))}",
            "stopasgroup=true", "killasgroup=true", "",
        ]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ processes left behind


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


def children_of(state_dir: Path) -> list[int]:
    """Pids of the processes a supervisord of state_dir started (found by the variable it put in their environment)."""
    marker = f"{OWNER_VAR}={state_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def kill_leftovers(state_dir: Path, timeout: float = STOP_TIMEOUT) -> list[str]:
    """Stop the process groups of children left by a supervisord that did not clean up (it was killed)."""
    found = children_of(state_dir)
    for pid in found:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(pid) for pid in found):
        time.sleep(0.1)
    for pid in found:
        if pid_alive(pid):
            _signal_group(pid, signal.SIGKILL)
    return [f"pid {pid}" for pid in found]


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(os.getpgid(pid), sig)
    except (ProcessLookupError, PermissionError):
        pass


# ------------------------------------------------------------------------------------------ run


def cmd_run(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir).resolve() if args.state_dir else default_state_dir()
    try:
        procs = select_processes(parse_processes(Path(args.processes)), args.only)
        sock = socket_path(state_dir)
    except ConfigError as exc:
        print(f"supervisor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if _ping(state_dir) is not None:
        print(f"supervisor: already running for {state_dir} (socket {sock})", file=sys.stderr)
        return EXIT_ERROR
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    kill_leftovers(state_dir, args.stop_timeout)
    Path(sock).unlink(missing_ok=True)  # a killed supervisord's socket file refuses the next one
    conf = state_dir / "supervisord.conf"
    conf.write_text(supervisord_conf(procs, state_dir, args.stop_timeout, args.daemon), encoding="utf-8")
    command = [sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)]
    if not args.daemon:
        os.chdir(ROOT)
        os.execv(sys.executable, command)  # supervisord takes this pid: SIGTERM to it is a shutdown
    pid = os.fork()
    if pid == 0:  # supervisord daemonizes itself; its first process only waits for that
        os.chdir(ROOT)
        os.execv(sys.executable, command)
    _, status = os.waitpid(pid, 0)
    log_path = state_dir / "logs" / "supervisor.log"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        daemon_pid = _ping(state_dir)
        if daemon_pid is not None:
            print(f"supervisor started (pid {daemon_pid}); log: {log_path}", flush=True)
            return EXIT_OK
        if os.waitstatus_to_exitcode(status) != 0:
            break
        time.sleep(0.1)
    print(f"supervisor did not start; see {log_path}", file=sys.stderr, flush=True)
    return EXIT_ERROR


# ------------------------------------------------------------------------------------------ the client


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str, timeout: float):
        super().__init__()
        self.path, self.timeout = path, timeout

    def make_connection(self, host: Any) -> Any:
        import http.client

        path, timeout = self.path, self.timeout

        class Connection(http.client.HTTPConnection):
            def connect(self) -> None:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout)
                self.sock.connect(path)

        return Connection("localhost")


def server(state_dir: Path, timeout: float = 10.0) -> Any:
    return xmlrpc.client.ServerProxy("http://localhost", transport=_UnixTransport(socket_path(state_dir), timeout))


def _ping(state_dir: Path) -> int | None:
    try:
        return int(server(state_dir, 5).supervisor.getPID())
    except (OSError, xmlrpc.client.Error, ConfigError):
        return None


_EXIT_LINE = re.compile(r" (?:INFO|WARN|CRIT) (exited|stopped): (\S+) \((?:exit status (\d+)|terminated by (SIG\w+))")


def _exits(state_dir: Path) -> dict[str, tuple[int, int | None]]:
    """{name: (exits it was not asked for, last exit)} from supervisord's log since it last started: supervisord
    keeps no restart count, so it is read from what it logged (`exited:` is followed by a restart, `stopped:` was
    asked for)."""
    try:
        text = (state_dir / "logs" / "supervisor.log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    text = text[text.rfind("supervisord started with pid"):] if "supervisord started with pid" in text else text
    result: dict[str, tuple[int, int | None]] = {}
    for m in _EXIT_LINE.finditer(text):
        name = m.group(2)
        code = int(m.group(3)) if m.group(3) is not None else -int(getattr(signal, m.group(4), 0) or 0)
        count, _ = result.get(name, (0, None))
        result[name] = (count + (1 if m.group(1) == "exited" else 0), code)
    return result


def _listed_order(state_dir: Path) -> dict[str, int]:
    """The processes in the order of the process list (supervisord answers in its own, by name)."""
    try:
        conf = (state_dir / "supervisord.conf").read_text(encoding="utf-8")
    except OSError:
        return {}
    return {name: i for i, name in enumerate(re.findall(r"^\[program:([^\]]+)\]", conf, re.M))}


def status_lines(state_dir: Path, timeout: float = 10.0) -> list[dict[str, Any]]:
    try:
        infos = server(state_dir, timeout).supervisor.getAllProcessInfo()
    except (OSError, xmlrpc.client.Error) as exc:
        raise NotRunning(f"no supervisor is running for {state_dir}") from exc
    exits = _exits(state_dir)
    now = time.time()
    lines = []
    order = _listed_order(state_dir)
    for info in sorted(infos, key=lambda i: order.get(i["name"], len(order))):
        state = str(info["statename"]).lower()
        state = {"exited": "stopped", "starting": "running"}.get(state, state)
        running = info["pid"] != 0
        restarts, last_exit = exits.get(info["name"], (0, None))
        lines.append({
            "name": info["name"], "state": state, "pid": info["pid"] if running else None, "restarts": restarts,
            "uptime": round(float(now - info["start"]), 1) if running else None, "last_exit": last_exit,
            "next_start_in": None,
        })
    return lines


def request(state_dir: Path, command: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """One command to the supervisord of state_dir: what it answers, as JSON-able lines."""
    words = command.split()
    verb, names = (words[0], words[1:]) if words else ("", [])
    if verb == "status":
        return status_lines(state_dir, timeout)
    rpc = server(state_dir, timeout)
    try:
        if verb == "ping":
            return [{"ok": True, "pid": int(rpc.supervisor.getPID())}]
        if verb == "shutdown":
            rpc.supervisor.shutdown()
            return [{"ok": True, "message": "shutting down"}]
    except (OSError, xmlrpc.client.Error) as exc:
        raise NotRunning(f"no supervisor is running for {state_dir}") from exc
    if verb not in ("stop", "start", "restart"):
        return [{"ok": False, "error": f"unknown command {verb!r}"}]
    if len(names) != 1:
        return [{"ok": False, "error": f"usage: {verb} NAME"}]
    return [_control(state_dir, rpc, verb, names[0])]


def _control(state_dir: Path, rpc: Any, verb: str, name: str) -> dict[str, Any]:
    try:
        known = {line["name"]: line for line in status_lines(state_dir)}
        if name not in known:
            return {"ok": False, "error": f"no process {name!r} (known: {', '.join(known)})"}
        running = known[name]["pid"] is not None or known[name]["state"] == "backoff"
        if running and (verb in ("stop", "restart") or known[name]["state"] == "backoff"):
            rpc.supervisor.stopProcess(name, True)
        if verb == "stop":
            return {"ok": True, "message": f"{name} stopped"}
        if verb == "start" and known[name]["pid"] is not None:
            return {"ok": True, "message": f"{name} already running, pid {known[name]['pid']}"}
        rpc.supervisor.startProcess(name, True)
        pid = rpc.supervisor.getProcessInfo(name)["pid"]
        return {"ok": True, "message": f"{name} {'restarted' if verb == 'restart' else 'started'}, pid {pid}"}
    except xmlrpc.client.Fault as fault:
        if fault.faultString.startswith("NOT_RUNNING") and verb == "stop":
            return {"ok": True, "message": f"{name} stopped"}
        if fault.faultString.startswith("ALREADY_STARTED"):
            return {"ok": True, "message": f"{name} already running"}
        return {"ok": False, "error": f"{name}: {fault.faultString}; see its log"}
    except OSError as exc:
        raise NotRunning(f"no supervisor is running for {state_dir}") from exc


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
            lines = status_lines(state_dir)
            if "--json" in words[1:]:
                for line in lines:
                    print(json.dumps(line))
                return EXIT_OK
            print(f"{'NAME':<18} {'STATE':<15} {'PID':>7} {'RESTARTS':>8} {'UPTIME':>8}  LAST EXIT")
            for line in lines:
                pid = line["pid"] if line["pid"] is not None else "-"
                last = line["last_exit"] if line["last_exit"] is not None else "-"
                print(
                    f"{line['name']:<18} {line['state']:<15} {pid:>7} {line['restarts']:>8} "
                    f"{_format_uptime(line['uptime']):>8}  {last}"
                )
            return EXIT_OK
        if verb == "pid":
            if len(words) != 2:
                print("usage: ctl pid NAME", file=sys.stderr)
                return EXIT_USAGE
            for line in status_lines(state_dir):
                if line["name"] == words[1]:
                    if line["pid"] is None:
                        print(f"{words[1]} is {line['state']}", file=sys.stderr)
                        return EXIT_ERROR
                    print(line["pid"])
                    return EXIT_OK
            print(f"no process {words[1]!r}", file=sys.stderr)
            return EXIT_ERROR
        if verb == "ping":
            pong = request(state_dir, "ping", timeout=args.timeout)[0]
            print(f"supervisor running, pid {pong['pid']}")
            return EXIT_OK
        if verb == "shutdown":
            pid = _ping(state_dir)
            ok = _print_replies(request(state_dir, "shutdown", timeout=args.timeout))
            if pid is not None:
                deadline = time.monotonic() + max(15.0, args.timeout)
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


def _print_replies(replies: list[dict[str, Any]]) -> bool:
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
    pid = _ping(state_dir)
    if pid is not None:
        print(f"the supervisor (pid {pid}) is alive: use `ctl shutdown`", file=sys.stderr)
        return EXIT_ERROR
    stopped = kill_leftovers(state_dir, args.stop_timeout)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing left behind")
    for name in ("supervisor.pid", "supervisor.sock"):
        (state_dir / name).unlink(missing_ok=True)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="procs.py", description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="start the processes under supervisord")
    run.add_argument("--daemon", action="store_true", help="detach; return once supervisord answers")
    check = sub.add_parser("check", help="are the modules the processes run importable?")
    for p in (run, check):
        p.add_argument("--processes", default=str(DEFAULT_PROCESSES), help="the process list file")
        p.add_argument("--only", default=None, help="comma-separated names (default: $EJOURNAL_PROCESSES)")
    ctl = sub.add_parser("ctl", help="talk to a running supervisord")
    ctl.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for an answer")
    ctl.add_argument("words", nargs=argparse.REMAINDER)
    cleanup = sub.add_parser("cleanup", help="kill processes left behind by a killed supervisord")
    for p in (run, ctl, cleanup):
        p.add_argument("--state-dir", default=None, help="default: $EJOURNAL_STATE_DIR or REPO/.run/default")
    for p in (run, cleanup):
        p.add_argument("--stop-timeout", type=float, default=STOP_TIMEOUT, help="SIGTERM to SIGKILL, s")
    args = parser.parse_args(argv)
    handler = {"run": cmd_run, "ctl": cmd_ctl, "check": cmd_check, "cleanup": cmd_cleanup}[args.cmd]
    return int(handler(args))


if __name__ == "__main__":
    sys.exit(main())
