"""Metrics and the per-worker log line of every nameko service: one extension, `Metrics`, on `ServiceBase` (and
on the gateway).

For every worker it runs (an RPC call, an event, an HTTP request) it binds the worker's log context
(`kernel.logs`), writes one log line with the outcome and duration, and counts RPC calls and event handlers:

    ejournal_worker_duration_seconds{service,entrypoint="rpc"|"event",method}   rate and duration
    ejournal_worker_errors_total{service,entrypoint,method,code}                  failures by error code

At each scrape it measures, with the service's own database connection pool and one short AMQP connection:

    ejournal_outbox_backlog{service}, ejournal_outbox_oldest_age_seconds{service}
    ejournal_queue_messages{queue,kind}, ejournal_queue_consumers{queue,kind}
        kind: rpc (the service's RPC queue), event (a handler's queue: the consumer lag), retry (events waiting for
        their next attempt), command (a command queue the service owns, kernel.commands, e.g. the check-ins
        waiting for attendance's intake), dead_letter (`ejournal.dead-letter`), unrouted (`ejournal.unrouted`)
    the service's `domain_gauges` (counts by state; never a label per student)

A service's metrics are served at http://127.0.0.1:(EJOURNAL_PORT + offset)/metrics, offsets in `PORT_OFFSETS`
(EJOURNAL_METRICS_PORT overrides; EJOURNAL_METRICS_BIND sets the address). Beside them: the gateway's own
/metrics on EJOURNAL_PORT, the relays' at EJOURNAL_PORT + 101..105 (kernel/relay.py), the check-in intake's at
EJOURNAL_PORT + 106 (attendance/intake.py), the public feed's at EJOURNAL_PORT + 107 (kernel/feed.py), the
check-in bench's bare service at EJOURNAL_PORT + 50.
`deploy/prometheus.yml` scrapes all of them.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import eventlet
import eventlet.wsgi
from kombu import Connection
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from nameko.web.handlers import HttpRequestHandler
from prometheus_client import REGISTRY, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from werkzeug.wrappers import Response

from kernel import logs
from kernel.commands import COMMAND_QUEUES
from kernel.config import settings
from kernel.consumer import DEAD_LETTER_QUEUE, ReliableEventHandler
from kernel.db import Database
from kernel.errors import DomainError
from kernel.events import UNROUTED_QUEUE

log = logging.getLogger("kernel.worker")

# EJOURNAL_PORT + offset: clear of the bench's bare service (+50), the relays (+101..+105, kernel/relay.py), the
# check-in intake (+106, attendance/intake.py) and the public feed (+107, kernel/feed.py).
PORT_OFFSETS = {"identity": 121, "attendance": 122, "grading": 123, "makeup": 124, "reports": 125}

WORKER_DURATION = Histogram("ejournal_worker_duration_seconds", "RPC calls and event handlers: duration (count: rate)",
                            ["service", "entrypoint", "method"])
WORKER_ERRORS = Counter("ejournal_worker_errors_total", "RPC calls and event handlers that raised, by error code",
                        ["service", "entrypoint", "method", "code"])
COLLECT_ERRORS = Counter("ejournal_metrics_collect_errors_total", "Scrape-time measurements that failed",
                         ["service", "part"])


@dataclass(frozen=True)
class DomainGauge:
    """A gauge measured at scrape time by one query on the service's own schema: the last column is the value, the
    ones before it the label values (`labels`). Counts by state or kind, never a label per person."""

    name: str
    help: str
    sql: str
    labels: tuple[str, ...] = ()


def entrypoint_kind(entrypoint: Any) -> str:
    if isinstance(entrypoint, Rpc):
        return "rpc"
    if isinstance(entrypoint, EventHandler):
        return "event"
    if isinstance(entrypoint, HttpRequestHandler):
        return "http"
    return type(entrypoint).__name__.lower()


def outcome_of(result: Any, exc_info: Any) -> str:
    """`ok`, an event handler's `done`/`duplicate`, an HTTP status, or the error code of what was raised."""
    if exc_info is not None:
        exc = exc_info[1]
        return exc.code if isinstance(exc, DomainError) else "internal"
    if isinstance(result, Response):
        return str(result.status_code)
    if isinstance(result, str) and result in ("done", "duplicate"):
        return result
    return "ok"


def metrics_port(service: str) -> int | None:
    explicit = os.environ.get("EJOURNAL_METRICS_PORT")
    if explicit:
        return int(explicit)
    if service not in PORT_OFFSETS:
        return None
    return settings().port + PORT_OFFSETS[service]


class ServiceCollector(Collector):
    """What one service measures when it is scraped: its outbox, its queues, its domain gauges."""

    def __init__(self, service: str, engine: Any, amqp_uri: str, queues: list[tuple[str, str]],
                 gauges: Iterable[DomainGauge] = ()):
        self.service = service
        self.engine = engine
        self.amqp_uri = amqp_uri
        self.queues = queues
        self.gauges = tuple(gauges)

    def describe(self) -> Iterator[GaugeMetricFamily]:  # no measuring at registration
        *fixed, domain = self._families()
        yield from (*fixed, *domain)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        backlog, oldest, messages, consumers, domain = self._families()
        try:
            self._database(backlog, oldest, domain)
        except Exception:  # noqa: BLE001 - a scrape answers what it could measure
            COLLECT_ERRORS.labels(self.service, "database").inc()
            logging.getLogger("kernel.metrics").warning("metrics: the database did not answer", exc_info=True)
        try:
            self._broker(messages, consumers)
        except Exception:  # noqa: BLE001
            COLLECT_ERRORS.labels(self.service, "broker").inc()
            logging.getLogger("kernel.metrics").warning("metrics: the broker did not answer", exc_info=True)
        yield from (backlog, oldest, messages, consumers, *domain)

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily,
                                 list[GaugeMetricFamily]]:
        return (
            GaugeMetricFamily("ejournal_outbox_backlog", "Outbox rows not yet confirmed by the broker",
                              labels=["service"]),
            GaugeMetricFamily("ejournal_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row",
                              labels=["service"]),
            GaugeMetricFamily("ejournal_queue_messages", "Messages waiting in a queue (kind=event: consumer lag)",
                              labels=["queue", "kind"]),
            GaugeMetricFamily("ejournal_queue_consumers", "Consumers attached to a queue", labels=["queue", "kind"]),
            [GaugeMetricFamily(g.name, g.help, labels=list(g.labels)) for g in self.gauges],
        )

    def _database(self, backlog: GaugeMetricFamily, oldest: GaugeMetricFamily,
                  domain: list[GaugeMetricFamily]) -> None:
        # autocommit: each query on its own, so one failing gauge does not take the others with it
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            count, age = conn.execute(text(
                f"SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)"
                f" FROM {self.service}.outbox WHERE published_at IS NULL")).one()
            backlog.add_metric([self.service], int(count))
            oldest.add_metric([self.service], float(age))
            for gauge, family in zip(self.gauges, domain, strict=True):
                try:
                    rows = conn.execute(text(gauge.sql)).all()
                except Exception:  # noqa: BLE001 - the other gauges still answer
                    COLLECT_ERRORS.labels(self.service, gauge.name).inc()
                    logging.getLogger("kernel.metrics").warning("metrics: %s failed", gauge.name, exc_info=True)
                    continue
                for row in rows:
                    family.add_metric([str(v) for v in row[:-1]], float(row[-1] or 0))

    def _broker(self, messages: GaugeMetricFamily, consumers: GaugeMetricFamily) -> None:
        with Connection(self.amqp_uri, connect_timeout=2, transport_options={"max_retries": 1}) as conn:
            channel = conn.channel()
            for queue, kind in self.queues:
                try:
                    _, ready, attached = channel.queue_declare(queue=queue, passive=True)
                except conn.channel_errors:  # not declared (yet): the broker closed the channel
                    channel = conn.channel()
                    continue
                messages.add_metric([queue, kind], ready)
                consumers.add_metric([queue, kind], attached)


class Metrics(DependencyProvider):
    """`telemetry = Metrics()` on a service class (ServiceBase has it). `serve=False` where the service serves
    `/metrics` itself (the gateway, on its HTTP port)."""

    def __init__(self, serve: bool = True):
        self.serve = serve
        self.collector: ServiceCollector | None = None
        self.started: WeakKeyDictionary[Any, float] = WeakKeyDictionary()
        self.sock: Any = None
        self.server: Any = None

    def setup(self) -> None:
        logs.set_process(self.container.service_name)

    def start(self) -> None:  # every extension is set up by now: the handlers' queues are known
        self.collector = self._collector()
        if self.collector is not None:
            try:
                REGISTRY.register(self.collector)
            except ValueError:  # a second service container in one process: the first one's measures stand
                self.collector = None
        port = metrics_port(self.container.service_name) if self.serve else None
        if port is None:
            return
        try:
            self.sock = eventlet.listen((settings().metrics_bind, port))
        except OSError as exc:  # e.g. a second replica on the same machine: it runs, unscraped
            logging.getLogger("kernel.metrics").warning("metrics: cannot listen on port %s: %s", port, exc)
            return
        app = make_wsgi_app(REGISTRY)
        self.server = self.container.spawn_managed_thread(
            lambda: eventlet.wsgi.server(self.sock, app, log_output=False), identifier="metrics")
        logging.getLogger("kernel.metrics").info("metrics on http://%s:%s/metrics", settings().metrics_bind, port)

    def _collector(self) -> ServiceCollector | None:
        service = self.container.service_name
        database = next((d for d in self.container.dependencies if isinstance(d, Database)), None)
        if database is None:
            return None
        entrypoints = sorted(self.container.entrypoints, key=lambda e: e.method_name)
        queues = [(f"rpc-{service}", "rpc")] if any(isinstance(e, Rpc) for e in entrypoints) else []
        for e in entrypoints:
            if isinstance(e, ReliableEventHandler):
                queues += [(e.queue.name, "event"), (e.retry.name, "retry")]
        queues += [(c.queue, "command") for c in COMMAND_QUEUES if c.queue.startswith(f"{service}.")]
        queues += [(DEAD_LETTER_QUEUE, "dead_letter"), (UNROUTED_QUEUE, "unrouted")]
        return ServiceCollector(service, _EngineOf(database), self.container.config["AMQP_URI"], queues,
                                getattr(self.container.service_cls, "domain_gauges", ()))

    def stop(self) -> None:
        if self.server is not None:
            self.server.kill()
            self.server = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.collector is not None:
            REGISTRY.unregister(self.collector)
            self.collector = None

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> Metrics:
        return self

    # -- every worker ------------------------------------------------------------------------------
    def worker_setup(self, worker_ctx: Any) -> None:
        logs.bind_worker(worker_ctx)
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        started = self.started.pop(worker_ctx, None)
        elapsed = time.perf_counter() - started if started is not None else 0.0
        kind = entrypoint_kind(worker_ctx.entrypoint)
        method = worker_ctx.entrypoint.method_name
        outcome = outcome_of(result, exc_info)
        if kind in ("rpc", "event"):  # HTTP routes are counted per route by gateway/http.py
            WORKER_DURATION.labels(self.container.service_name, kind, method).observe(elapsed)
            if exc_info is not None:
                WORKER_ERRORS.labels(self.container.service_name, kind, method, outcome).inc()
        extra: dict[str, Any] = {"kind": kind, "outcome": outcome, "duration_ms": round(elapsed * 1000, 2)}
        if kind == "http" and worker_ctx.args:
            extra.update(http_method=worker_ctx.args[0].method, path=worker_ctx.args[0].path)
        level = logging.WARNING if outcome == "internal" or outcome.startswith("5") else logging.INFO
        log.log(level, "%s %s %s", kind, method, outcome, extra=extra)

    def worker_teardown(self, worker_ctx: Any) -> None:
        logs.unbind_worker()


class _EngineOf:
    """The service's own engine, looked up when a scrape needs it (the Database provider creates it in setup)."""

    def __init__(self, database: Database):
        self.database = database

    def connect(self) -> Any:
        if self.database.engine is None:
            raise RuntimeError("the database is not set up")
        return self.database.engine.connect()
