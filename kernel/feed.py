"""The public event feed: forwards the public subset of the internal events to `ejournal.public.v1`, the topic
exchange outside consumers bind their own queues to (docs/events/README.md is their guide).

Plain pika, no eventlet, like the relays and the check-in intake. The bridge consumes its own durable queue,
`ejournal.feed.public.v1`, bound to each service's `<service>.events` exchange for exactly the internal event
types `kernel.publicevents.TRANSLATIONS` forwards (so `token.changed` and every other private event never even
reach it), translates each event, validates it against its schema, and publishes it persistent on a channel in
confirm mode with the internal event id as message_id. The internal message is acked only after the broker has
confirmed the public one: a crash anywhere loses nothing, and at worst publishes an event again after a restart,
with the same message_id (consumers drop repeats by it). An event the bridge cannot translate (an unknown version,
a payload its schema refuses) is parked in `ejournal.dead-letter` with the reason, never published half-right.
The queue has a single active consumer: a second replica waits and takes over when the first one's connection is
gone, so events leave in the order they arrived.

    python -m kernel.feed

Metrics on http://127.0.0.1:(EJOURNAL_PORT + 107)/metrics (EJOURNAL_FEED_METRICS_PORT overrides):
`ejournal_feed_forwarded_total{type}`, `ejournal_feed_failed_total{reason}` (parked: untranslatable events;
broker: publishes not confirmed, retried), `ejournal_feed_skipped_total` (private events that reached the queue),
`ejournal_feed_waiting` (the queue's depth: the feed's lag).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from typing import Any

import pika
from prometheus_client import Counter, Gauge, start_http_server

from kernel import logs
from kernel.brokerloop import BrokerLoop
from kernel.config import settings
from kernel.consumer import DEAD_LETTER_QUEUE
from kernel.events import Envelope, MalformedEvent, exchange_name
from kernel.publicevents import PUBLIC_EXCHANGE, TRANSLATIONS, Untranslatable, translate

log = logging.getLogger("kernel.feed")

FEED_QUEUE = "ejournal.feed.public.v1"  # the bridge's own queue: the internal events it forwards wait here
METRICS_PORT_OFFSET = 107  # beside the relays (+101..105) and the check-in intake (+106)

FORWARDED = Counter("ejournal_feed_forwarded_total", "Public events confirmed by the broker", ["type"])
FAILED = Counter(
    "ejournal_feed_failed_total",
    "Events not forwarded: parked (untranslatable, in the dead-letter queue) or broker (retried)",
    ["reason"],
)
SKIPPED = Counter("ejournal_feed_skipped_total", "Internal events in the feed's queue that are not public")
WAITING = Gauge("ejournal_feed_waiting", "Internal events waiting in the feed's queue (measured every few seconds)")


def bindings() -> list[tuple[str, str]]:
    """(exchange, routing key) of every internal event the feed forwards: its queue's bindings."""
    return [(exchange_name(t.source), t.type) for t in TRANSLATIONS]


class Feed(BrokerLoop):
    name = "feed"

    def __init__(self, *, prefetch: int = 200, idle_wait: float = 1.0):
        super().__init__(log, FAILED.labels("broker"))
        self.prefetch = prefetch
        self.idle_wait = idle_wait
        self.measure_every = 5.0

    def declare(self, channel: Any) -> None:
        declare(channel)

    def consume(self) -> None:
        measured_at = 0.0
        for method, props, body in self.channel.consume(FEED_QUEUE, inactivity_timeout=self.idle_wait):
            if method is not None:
                self.forward(method.delivery_tag, props, body)
            if time.monotonic() - measured_at >= self.measure_every:  # a metric, not worth a round trip per event
                WAITING.set(self.channel.queue_declare(FEED_QUEUE, passive=True).method.message_count)
                measured_at = time.monotonic()
            if not self.running:
                break
        self.channel.cancel()

    def forward(self, tag: int, props: Any, body: bytes) -> None:
        """Deliver one internal event, then ack it: a crash in between delivers it again, never loses it."""
        self.deliver(props, body)
        self.channel.basic_ack(tag)

    def deliver(self, props: Any, body: bytes) -> str:
        """Publish an internal event's public form and return once the broker has confirmed it (`forwarded`); park
        what cannot be translated (`parked`); let a private event go (`skipped`)."""
        try:
            translated = translate(Envelope.from_wire(json.loads(body)))
        except (ValueError, MalformedEvent, Untranslatable) as bad:  # json's errors are ValueErrors too
            return self.refuse(body, props, bad)
        except Exception as bug:  # noqa: BLE001 - a translation bug parks the event instead of a restart loop
            log.exception("feed: translating an event failed")
            return self.refuse(body, props, bug)
        if translated is None:
            SKIPPED.inc()
            return "skipped"
        public_type, public = translated
        self.channel.basic_publish(
            PUBLIC_EXCHANGE,
            public_type,
            json.dumps(public, ensure_ascii=False).encode(),
            pika.BasicProperties(
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=public["event_id"],
                type=public_type,
                app_id="ejournal",
            ),
        )
        FORWARDED.labels(public_type).inc()
        return "forwarded"

    def refuse(self, body: bytes, props: Any, why: Exception) -> str:
        self.park(body, props, f"{type(why).__name__}: {why}")
        FAILED.labels("parked").inc()
        return "parked"

    def park(self, body: bytes, props: Any, reason: str) -> None:
        log.error("feed: parking an event it cannot forward: %s", reason)
        headers = dict(getattr(props, "headers", None) or {})
        headers.update({"x-ejournal-queue": FEED_QUEUE, "x-ejournal-error": reason[:1000]})
        self.channel.basic_publish(
            "",
            DEAD_LETTER_QUEUE,
            body,
            pika.BasicProperties(
                content_type="application/json",
                delivery_mode=2,
                message_id=getattr(props, "message_id", None),
                type=getattr(props, "type", None),
                headers=headers,
            ),
            mandatory=True,
        )


def declare(channel: Any, arguments: dict[str, Any] | None = None) -> None:
    """The public exchange, the feed's queue and its bindings (deploy.ops.provision declares them too, so events wait
    for a bridge that has never run)."""
    channel.exchange_declare(PUBLIC_EXCHANGE, exchange_type="topic", durable=True)
    # one replica consumes at a time, another takes over when it is gone: the public order stays the internal one
    channel.queue_declare(FEED_QUEUE, durable=True, arguments={**(arguments or {}), "x-single-active-consumer": True})
    for exchange, routing_key in bindings():
        channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        channel.queue_bind(FEED_QUEUE, exchange, routing_key=routing_key)
    channel.queue_declare(DEAD_LETTER_QUEUE, durable=True, arguments=arguments)


def metrics_port() -> int | None:
    port = os.environ.get("EJOURNAL_FEED_METRICS_PORT")
    if port is None and os.environ.get("EJOURNAL_PORT"):
        port = str(int(os.environ["EJOURNAL_PORT"]) + METRICS_PORT_OFFSET)
    return int(port) if port else None


def main() -> int:
    logs.configure("feed-public")
    feed = Feed()
    port = metrics_port()
    if port:
        start_http_server(port, addr=settings().metrics_bind)

    def stop(*_: Any) -> None:
        feed.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("public event feed started: %s -> %s", FEED_QUEUE, PUBLIC_EXCHANGE)
    feed.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
