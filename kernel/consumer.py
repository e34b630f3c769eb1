"""Idempotent event consumers with bounded, delayed retry and a dead-letter queue.

nameko's `event_handler` acks an event whose handler raised, and the event is gone. Here a failed
event goes to `<queue>.retry`, which holds it for the retry delay and then dead-letters it back to
the handler's queue; after the last attempt it is parked in `ejournal.dead-letter` with the error,
where `python -m kernel.deadletters list|replay` can see and replay it. Nothing is acked before it
is either handled or safely republished.

The handler itself records the event id in the same transaction as its effect (`UnitOfWork.claim`),
so a redelivered or replayed event changes nothing.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler
from prometheus_client import Counter

from kernel.events import Envelope, MalformedEvent

log = logging.getLogger("kernel.consumer")

DEAD_LETTER_QUEUE = "ejournal.dead-letter"
ATTEMPTS_HEADER = "x-ejournal-attempts"
DEFAULT_ATTEMPTS = int(os.environ.get("EJOURNAL_HANDLER_ATTEMPTS", "5"))
DEFAULT_DELAY_MS = int(os.environ.get("EJOURNAL_HANDLER_RETRY_MS", "2000"))

HANDLED = Counter("ejournal_events_handled_total", "Events handled", ["handler", "outcome"])

default_exchange = Exchange("", type="direct")


def retry_queue(queue_name: str, delay_ms: int) -> Queue:
    return Queue(
        f"{queue_name}.retry", exchange=default_exchange, routing_key=f"{queue_name}.retry", durable=True,
        queue_arguments={"x-message-ttl": delay_ms, "x-dead-letter-exchange": "",
                         "x-dead-letter-routing-key": queue_name},
    )


def dead_letter_queue() -> Queue:
    return Queue(DEAD_LETTER_QUEUE, exchange=default_exchange, routing_key=DEAD_LETTER_QUEUE, durable=True)


class ReliableEventHandler(EventHandler):
    def __init__(self, source_service: str, event_type: str, *, max_attempts: int = DEFAULT_ATTEMPTS,
                 retry_delay_ms: int = DEFAULT_DELAY_MS, **kwargs: Any):
        self.max_attempts = max_attempts
        self.retry_delay_ms = retry_delay_ms
        super().__init__(source_service, event_type, requeue_on_error=True, **kwargs)

    def setup(self) -> None:
        super().setup()
        self.retry = retry_queue(self.queue.name, self.retry_delay_ms)
        self.parking = dead_letter_queue()
        self.publisher = Publisher(self.container.config["AMQP_URI"], declare=[self.retry, self.parking],
                                   serializer="json")

    def handle_message_processed(self, message: Any, result: Any = None, exc_info: Any = None) -> None:
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        exc = exc_info[1]
        headers = dict(message.headers or {})
        attempts = int(headers.get(ATTEMPTS_HEADER, 0)) + 1
        final = attempts >= self.max_attempts or isinstance(exc, MalformedEvent)
        headers[ATTEMPTS_HEADER] = attempts
        try:
            if final:
                headers.update({"x-ejournal-queue": self.queue.name,
                                "x-ejournal-error": f"{type(exc).__name__}: {exc}"[:1000]})
                self.publisher.publish(message.payload, routing_key=DEAD_LETTER_QUEUE, headers=headers,
                                       mandatory=True)
                HANDLED.labels(self.method_name, "dead_lettered").inc()
                log.error("event parked in %s after %d attempts: %s", DEAD_LETTER_QUEUE, attempts, exc)
            else:
                self.publisher.publish(message.payload, routing_key=self.retry.name, headers=headers,
                                       mandatory=True)
                HANDLED.labels(self.method_name, "retried").inc()
                log.warning("event retry %d/%d in %d ms: %s", attempts, self.max_attempts,
                            self.retry_delay_ms, exc)
        except Exception:  # noqa: BLE001 - could not republish: give it back to the queue instead
            log.exception("could not republish a failed event; requeueing it")
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)


def handles(source: str, event_type: str, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare an idempotent handler: `fn(self, event: Envelope)` runs in `self.db`'s transaction
    together with the record of the event id, and is skipped for an event it has already processed."""

    def decorate(fn: Callable[..., Any]) -> Any:
        handler_name = f"{fn.__module__}.{fn.__qualname__}"

        @functools.wraps(fn)
        def wrapper(self: Any, body: Any) -> str:
            event = Envelope.from_wire(body)
            uow = self.db
            if not uow.claim(event.event_id, handler_name):
                uow.rollback()
                HANDLED.labels(fn.__name__, "duplicate").inc()
                return "duplicate"
            fn(self, event)
            uow.commit()
            HANDLED.labels(fn.__name__, "done").inc()
            return "done"

        return ReliableEventHandler.decorator(source, event_type, **options)(wrapper)

    return decorate
