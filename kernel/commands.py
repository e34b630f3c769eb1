"""Commands: work the HTTP edge hands to the service that owns it, through a durable queue instead of a
synchronous RPC. Used where a burst must not wait on a chain of hops (the QR check-in: hundreds of students
of a faculty within a minute). The edge checks what it can from its read model, publishes with publisher
confirms and `mandatory` (a confirmed message is on disk; an unroutable one is an error, never a silent
drop), and answers; the owner consumes the queue in batches, re-checks its invariants and records the
outcome. A command carries an id; the owner's natural unique keys make a redelivery a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amqp.exceptions import AMQPError as AmqpError
from kombu import Exchange, pools
from kombu.exceptions import KombuError
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.constants import AMQP_URI_CONFIG_KEY, PERSISTENT
from nameko.extensions import DependencyProvider

from kernel.errors import Unavailable

COMMANDS_EXCHANGE = "ejournal.commands"
SENDERS = 64  # publishes of a process waiting for their confirms at once (the gateway's burst concurrency)


@dataclass(frozen=True)
class CommandQueue:
    queue: str
    routing_key: str


CHECKIN = CommandQueue(queue="attendance.checkins", routing_key="attendance.checkin")

COMMAND_QUEUES = (CHECKIN,)


class CommandSender(DependencyProvider):
    """`send = CommandSender(CHECKIN)` on a nameko service: `self.send(body, message_id)` publishes the command
    persistent, confirmed and `mandatory`, and returns once the broker has it; a broker that does not take it
    within `timeout` seconds, or no queue bound for it, is `Unavailable` (503): never a silent loss."""

    def __init__(self, command: CommandQueue, timeout: float = 5.0):
        self.command = command
        self.timeout = timeout
        self.publisher: Publisher | None = None

    def setup(self) -> None:
        # kombu's pools hold 10 connections by default: with confirms, 10 publishes in flight at once at most
        pools.set_limit(max(pools.get_limit(), SENDERS))
        self.publisher = Publisher(self.container.config[AMQP_URI_CONFIG_KEY], serializer="json",
                                   use_confirms=True, mandatory=True, delivery_mode=PERSISTENT,
                                   exchange=Exchange(COMMANDS_EXCHANGE, type="direct", durable=True))

    def get_dependency(self, worker_ctx: Any) -> Any:
        publisher, command, timeout = self.publisher, self.command, self.timeout
        assert publisher is not None

        def send(body: dict[str, Any], message_id: str) -> None:
            try:
                publisher.publish(body, routing_key=command.routing_key, message_id=message_id, timeout=timeout,
                                  retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.5})
            except UndeliverableMessage:
                raise Unavailable(f"no queue takes {command.queue}: the stack is not provisioned") from None
            except (OSError, AmqpError, KombuError, TimeoutError) as exc:
                raise Unavailable(f"the broker did not take the request ({type(exc).__name__})") from None

        return send
