"""Probes for the processes without an HTTP port (the nameko services and the outbox relays), for Kubernetes'
exec probes and compose's healthchecks. Exit code 0 when healthy, 1 with one line saying what is wrong.

    python -m kernel.probe live SERVICE [--pid N]     this process holds an established connection to the broker
    python -m kernel.probe ready SERVICE [--pid N]    that, and SERVICE answers an RPC ping (which queries its database)
    python -m kernel.probe relay SERVICE [--pid N]    this relay holds its connections to the broker and the database
    python -m kernel.probe live feed [--pid N]        the public feed's bridge (kernel.feed) holds its broker connection

An RPC ping alone is answered by whichever replica takes it from the service's shared queue, so it says nothing
about this pod; the connection check does. A service's connection carries the heartbeats of its event loop (a relay's,
those of its publishing loop): a hung loop stops them, the broker closes the connection within about two heartbeat
intervals, and the socket leaves ESTABLISHED. The process is PID 1 by default, the container's main process.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from kernel.config import SERVICES, settings

ESTABLISHED = "01"  # the state column of /proc/net/tcp


def socket_inodes(pid: int) -> set[int]:
    """The inodes of the sockets process `pid` has open."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:  # closed while we looked
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def established_ports(lines: Iterable[str]) -> dict[int, int]:
    """inode -> remote port of the ESTABLISHED connections in /proc/net/tcp{,6} lines."""
    found = {}
    for line in lines:
        fields = line.split()
        if len(fields) < 10 or fields[3] != ESTABLISHED:
            continue
        found[int(fields[9])] = int(fields[2].rsplit(":", 1)[1], 16)
    return found


def connected_to(pid: int, port: int) -> bool:
    """Does process `pid` hold an established TCP connection to a server on `port`?"""
    connections: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                connections.update(established_ports(f.readlines()[1:]))
        except FileNotFoundError:  # no IPv6 in this network namespace
            continue
    return any(connections.get(inode) == port for inode in socket_inodes(pid))


def amqp_port(uri: str) -> int:
    parts = urlsplit(uri)
    return parts.port or (5671 if parts.scheme == "amqps" else 5672)


def ping(service: str, timeout: float) -> str | None:
    """None when `service` answers its `ping` RPC within `timeout` seconds, else what went wrong."""
    from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
    from nameko.rpc import MethodProxy
    from nameko.standalone.rpc import ClusterRpcProxy

    try:
        with ClusterRpcProxy({"AMQP_URI": settings().amqp_uri}, timeout=timeout) as cluster:
            # the request expires with the deadline: pings of a stopped service do not pile up in its queue
            call = MethodProxy(cluster._worker_ctx, service, "ping", cluster._reply_listener, expiration=timeout)
            answer = call()
    except RpcTimeout:
        return f"{service} did not answer a ping within {timeout:g} s"
    except UnknownService:
        return f"{service} is not consuming its RPC queue (no replica running)"
    except RemoteError as exc:
        return f"{service} answered a ping with {exc.exc_type}"  # e.g. its database is down
    except Exception as exc:  # the broker unreachable, refused credentials: the probe reports, never crashes
        return f"ping {service}: {type(exc).__name__}: {exc}"
    if not (isinstance(answer, dict) and answer.get("ok")):
        return f"{service} answered a ping with {answer!r}"
    return None


BRIDGES = ("feed",)  # pika processes with no database and no RPC queue: the broker connection is all they hold


def check(kind: str, service: str, pid: int, timeout: float) -> str | None:
    cfg = settings()
    if service in BRIDGES and kind != "live":
        return f"{service} has only a live probe (no database, no RPC queue to ping)"
    if not os.path.isdir(f"/proc/{pid}"):
        return f"no process {pid}"
    broker = amqp_port(cfg.amqp_uri)
    if not connected_to(pid, broker):
        return f"process {pid} has no established connection to the broker (port {broker})"
    if kind == "relay" and not connected_to(pid, cfg.pg_port):
        return f"process {pid} has no established connection to PostgreSQL (port {cfg.pg_port})"
    if kind == "ready":
        return ping(service, timeout)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kernel.probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("live", "ready", "relay"))
    parser.add_argument("service", choices=[*(s for s in SERVICES if s != "gateway"), *BRIDGES])
    parser.add_argument("--pid", type=int, default=1, help="the process to check (default 1, the container's)")
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("EJOURNAL_PROBE_TIMEOUT", "3")),
                        help="seconds the RPC ping may take (default 3)")
    args = parser.parse_args(argv)

    def expired(*_: Any) -> None:
        raise TimeoutError

    signal.signal(signal.SIGALRM, expired)
    signal.alarm(int(args.timeout) + 5)  # whatever hangs (DNS, a connect), the probe answers before its own limit
    try:
        problem = check(args.kind, args.service, args.pid, args.timeout)
    except TimeoutError:
        problem = f"the {args.kind} probe itself did not finish within {int(args.timeout) + 5} s"
    except OSError as exc:
        problem = f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
    if problem:
        print(f"{args.kind} {args.service}: {problem}", file=sys.stderr)
        return 1
    print(f"{args.kind} {args.service}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
