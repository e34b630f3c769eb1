"""Outbox relay: publishes a service's stored events to RabbitMQ, and never loses one.

Plain pika (no eventlet), one process per service, any number of replicas (rows are claimed with
FOR UPDATE SKIP LOCKED). A row is marked published only after the broker confirmed it; a crash
anywhere before that leaves it unpublished and it goes again, which idempotent consumers absorb.
Publishing is `mandatory`: an event no queue is bound for is parked in `ejournal.unrouted`
instead of being dropped by the broker.

    python -m kernel.relay identity
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import sys
import time
from typing import Any

import pika
import psycopg2
import psycopg2.extensions
from pika.exceptions import AMQPError, UnroutableError
from prometheus_client import Counter, Gauge, start_http_server

from kernel import logs
from kernel.config import settings
from kernel.events import UNROUTED_QUEUE, exchange_name

log = logging.getLogger("kernel.relay")

BACKLOG = Gauge("ejournal_outbox_backlog", "Outbox rows not yet confirmed by the broker", ["service"])
OLDEST = Gauge("ejournal_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["service"])
PUBLISHED = Counter("ejournal_outbox_published_total", "Events confirmed by the broker", ["service"])
UNROUTED = Counter("ejournal_outbox_unrouted_total", "Events no queue was bound for", ["service"])
ERRORS = Counter("ejournal_relay_errors_total", "Relay failures (connection lost, etc.)", ["service"])


class Relay:
    def __init__(self, service: str, *, batch: int = 200, idle_wait: float = 1.0):
        self.service = service
        self.batch = batch
        self.idle_wait = idle_wait
        self.running = True
        self.measured_at = 0.0
        self.coalesce = 0.01
        self.db: Any = None
        self.listener: Any = None
        self.amqp: pika.BlockingConnection | None = None
        self.channel: Any = None

    # connections -------------------------------------------------------------------------
    def connect(self) -> None:
        cfg = settings()
        if self.db is None or self.db.closed:
            self.db = psycopg2.connect(cfg.service_dsn(self.service), connect_timeout=5)
            self.listener = psycopg2.connect(cfg.service_dsn(self.service), connect_timeout=5)
            self.listener.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
            self.listener.cursor().execute(f"LISTEN outbox_{self.service}")
        if self.amqp is None or self.amqp.is_closed:
            params = pika.URLParameters(cfg.amqp_uri)
            params.heartbeat = 30
            params.blocked_connection_timeout = 30
            params.socket_timeout = 10
            self.amqp = pika.BlockingConnection(params)
            self.channel = self.amqp.channel()
            self.channel.confirm_delivery()
            self.channel.exchange_declare(exchange_name(self.service), exchange_type="topic", durable=True)
            self.channel.queue_declare(UNROUTED_QUEUE, durable=True)

    def close(self) -> None:
        for conn in (self.db, self.listener):
            try:
                if conn is not None:
                    conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self.db = self.listener = None
        try:
            if self.amqp is not None and self.amqp.is_open:
                self.amqp.close()
        except Exception:  # noqa: BLE001
            pass
        self.amqp = self.channel = None

    # work --------------------------------------------------------------------------------
    def publish_batch(self) -> int:
        """Publish up to `batch` rows; returns how many were confirmed and marked."""
        schema = self.service
        with self.db.cursor() as cur:
            cur.execute(
                f"SELECT id, event_id, type, envelope FROM {schema}.outbox WHERE published_at IS NULL"
                " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                (self.batch,),
            )
            rows = cur.fetchall()
            if not rows:
                self.db.rollback()
                return 0
            done = []
            for row_id, event_id, event_type, envelope in rows:
                self._publish(str(event_id), event_type, envelope)
                done.append(row_id)
            cur.execute(
                f"UPDATE {schema}.outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY(%s)",
                (done,),
            )
        self.db.commit()
        PUBLISHED.labels(self.service).inc(len(done))
        return len(done)

    def _publish(self, event_id: str, event_type: str, envelope: dict[str, Any]) -> None:
        body = json.dumps(envelope, ensure_ascii=False).encode()
        headers = {}
        if envelope.get("request_id"):
            headers["nameko.request_id"] = envelope["request_id"]
        props = pika.BasicProperties(
            content_type="application/json", content_encoding="utf-8", delivery_mode=2,
            message_id=event_id, type=event_type, headers=headers,
        )
        try:
            self.channel.basic_publish(exchange_name(self.service), event_type, body, props, mandatory=True)
        except UnroutableError:
            UNROUTED.labels(self.service).inc()
            props.headers = {**headers, "x-ejournal-exchange": exchange_name(self.service),
                             "x-ejournal-routing-key": event_type}
            self.channel.basic_publish("", UNROUTED_QUEUE, body, props, mandatory=True)

    def measure(self) -> None:
        with self.db.cursor() as cur:
            cur.execute(
                f"SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)"
                f" FROM {self.service}.outbox WHERE published_at IS NULL"
            )
            count, age = cur.fetchone()
        self.db.rollback()
        BACKLOG.labels(self.service).set(count)
        OLDEST.labels(self.service).set(float(age))

    def wait_for_work(self) -> None:
        ready, _, _ = select.select([self.listener], [], [], self.idle_wait)
        if ready:
            time.sleep(self.coalesce)  # let a burst of commits gather into one batch
            self.listener.poll()
            self.listener.notifies.clear()
        if self.amqp is not None:
            self.amqp.process_data_events(0)  # heartbeats while idle

    def run(self) -> None:
        backoff = 0.5
        while self.running:
            try:
                self.connect()
                published = self.publish_batch()
                backoff = 0.5
                if published < self.batch:
                    if time.monotonic() - self.measured_at >= 1.0:  # a metric, not worth a query per event
                        self.measure()
                        self.measured_at = time.monotonic()
                    self.wait_for_work()
            except (AMQPError, psycopg2.Error, OSError) as exc:
                ERRORS.labels(self.service).inc()
                log.warning("relay %s: %s: %s; retrying in %.1fs", self.service, type(exc).__name__, exc,
                            backoff)
                self.close()
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
        self.close()


def main(argv: list[str]) -> int:
    logs.configure(f"relay-{argv[1]}" if len(argv) == 2 else "relay")
    if len(argv) != 2:
        print("usage: python -m kernel.relay SERVICE", file=sys.stderr)
        return 2
    service = argv[1]
    relay = Relay(service)
    port = os.environ.get("EJOURNAL_RELAY_METRICS_PORT")
    if port is None and os.environ.get("EJOURNAL_PORT"):
        port = str(int(os.environ["EJOURNAL_PORT"]) + 100 + RELAY_PORT_OFFSETS.get(service, 0))
    if port:
        start_http_server(int(port), addr="127.0.0.1")

    def stop(*_: Any) -> None:
        relay.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("relay %s started", service)
    relay.run()
    return 0


RELAY_PORT_OFFSETS = {"identity": 1, "attendance": 2, "grading": 3, "makeup": 4, "reports": 5}

if __name__ == "__main__":
    sys.exit(main(sys.argv))
