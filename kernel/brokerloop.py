"""The life cycle a long-running pika consumer process shares (the check-in intake, the public feed): one
blocking connection with a confirm-mode channel, its queues declared by the process, and a run loop that
reconnects with back-off. Unacked messages go back to their queue when the connection drops, so a retry after a
failure loses nothing; what a process does with a message is its own `consume`."""

from __future__ import annotations

import logging
import time
from typing import Any

import pika
from pika.exceptions import AMQPError
from prometheus_client import Counter

from kernel.config import settings


class BrokerLoop:
    """Subclasses set `name`, implement `declare(channel)` and `consume()`, and may widen `retry_on` (with the
    database's errors, say) and override `prepare()` for what must be open before the broker (a database)."""

    name = "consumer"
    retry_on: tuple[type[BaseException], ...] = (AMQPError, OSError)
    prefetch = 100

    def __init__(self, log: logging.Logger, failures: Counter | None = None):
        self.log = log
        self.failures = failures  # counted once per retried failure
        self.running = True
        self.amqp: pika.BlockingConnection | None = None
        self.channel: Any = None

    def prepare(self) -> None:
        """What must be ready before the broker (called before every connection attempt)."""

    def declare(self, channel: Any) -> None:
        raise NotImplementedError

    def consume(self) -> None:
        raise NotImplementedError

    def connect(self) -> None:
        self.prepare()
        if self.amqp is not None and self.amqp.is_open:
            return
        params = pika.URLParameters(settings().amqp_uri)
        params.heartbeat = 30
        params.blocked_connection_timeout = 30
        params.socket_timeout = 10
        self.amqp = pika.BlockingConnection(params)
        self.channel = self.amqp.channel()
        self.channel.confirm_delivery()  # every basic_publish returns once the broker has confirmed it
        self.declare(self.channel)
        self.channel.basic_qos(prefetch_count=self.prefetch)

    def close(self) -> None:
        try:
            if self.amqp is not None and self.amqp.is_open:
                self.amqp.close()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass
        self.amqp = self.channel = None

    def run(self) -> None:
        backoff = 0.5
        while self.running:
            try:
                self.connect()
                self.consume()
                backoff = 0.5
            except self.retry_on as exc:
                if self.failures is not None:
                    self.failures.inc()
                self.log.warning("%s: %s: %s; retrying in %.1fs", self.name, type(exc).__name__, exc, backoff)
                self.close()  # unacked messages go back to the queue and come again
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
        self.close()
