"""Commands: work the HTTP edge hands to the service that owns it, through a durable queue instead of a
synchronous RPC. Used where a burst must not wait on a chain of hops (the QR check-in: hundreds of students
of a faculty within a minute). The edge checks what it can from its read model, publishes with publisher
confirms and `mandatory` (a confirmed message is on disk; an unroutable one is an error, never a silent
drop), and answers; the owner consumes the queue in batches, re-checks its invariants and records the
outcome. A command carries an id; the owner's natural unique keys make a redelivery a no-op.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

import amqp
import eventlet
from amqp.exceptions import AMQPError
from eventlet.event import Event
from eventlet.semaphore import Semaphore
from nameko.amqp.publish import UndeliverableMessage
from nameko.constants import AMQP_URI_CONFIG_KEY, PERSISTENT
from nameko.extensions import DependencyProvider

from kernel.errors import Unavailable

COMMANDS_EXCHANGE = "ejournal.commands"


@dataclass(frozen=True)
class CommandQueue:
    queue: str
    routing_key: str


CHECKIN = CommandQueue(queue="attendance.checkins", routing_key="attendance.checkin")

COMMAND_QUEUES = (CHECKIN,)


class ConfirmedChannel:
    """One AMQP connection in confirm mode, shared by a process's greenthreads. Each publish is written at
    once and waits for its own confirm; RabbitMQ confirms many at a time (`multiple`), so a burst pays one
    disk sync per group of messages, and no connection pool caps how many wait together. Anything but a
    confirm within the timeout (a nack, a return for want of a queue, a lost connection) is an error for the
    sender, and the connection is dropped and opened afresh by the next publish."""

    def __init__(self, uri: str):
        self.uri = uri
        self.connection: amqp.Connection | None = None
        self.channel: Any = None
        self.sequence = 0
        self.waiting: dict[int, tuple[Event, str]] = {}
        self.returned: set[str] = set()
        self.writing = Semaphore(1)

    def _open(self) -> None:
        url = urlparse(self.uri)
        connection = amqp.Connection(host=f"{url.hostname or 'localhost'}:{url.port or 5672}",
                                     userid=unquote(url.username or "guest"),
                                     password=unquote(url.password or "guest"),
                                     virtual_host=unquote(url.path[1:]) or "/", connect_timeout=5, heartbeat=0)
        connection.connect()
        channel = connection.channel()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._confirmed)
        channel.events["basic_nack"].add(self._refused)
        channel.events["basic_return"].add(self._returned)
        self.connection, self.channel, self.sequence = connection, channel, 0
        eventlet.spawn_n(self._read, connection)

    def _read(self, connection: amqp.Connection) -> None:
        """Dispatch the broker's confirms and returns until the connection ends."""
        try:
            while connection is self.connection:
                connection.drain_events()
        except Exception:  # noqa: BLE001 - whatever ended it, its senders hear of it
            self._drop(connection, "the broker connection was lost")

    def _settle(self, tag: int, multiple: bool, outcome: str) -> None:
        for t in [t for t in self.waiting if t <= tag] if multiple else [tag]:
            found = self.waiting.pop(t, None)
            if found is not None and not found[0].ready():
                found[0].send("returned" if outcome == "ok" and found[1] in self.returned else outcome)
                self.returned.discard(found[1])

    def _confirmed(self, tag: int, multiple: bool) -> None:
        self._settle(tag, multiple, "ok")

    def _refused(self, tag: int, multiple: bool) -> None:
        self._settle(tag, multiple, "the broker refused the message")

    def _returned(self, exc: Exception, exchange: str, routing_key: str, message: Any) -> None:
        self.returned.add(message.properties.get("message_id", ""))  # the ack for it follows

    def _drop(self, connection: amqp.Connection | None, why: str) -> None:
        if connection is not None and connection is self.connection:
            self.connection = self.channel = None
            waiting, self.waiting = self.waiting, {}
            for event, _ in waiting.values():
                if not event.ready():
                    event.send(why)
            try:
                connection.collect()
            except Exception:  # noqa: BLE001 - it is gone either way
                pass

    def publish(self, exchange: str, routing_key: str, body: bytes, message_id: str, timeout: float) -> None:
        event: Event = Event()
        with self.writing:  # a message's frames are written together, and tags follow the order of writing
            if self.connection is None:
                self._open()
            self.sequence += 1
            self.waiting[self.sequence] = (event, message_id)
            connection = self.connection
            self.channel.basic_publish(amqp.Message(body, delivery_mode=PERSISTENT, message_id=message_id,
                                                    content_type="application/json"),
                                       exchange=exchange, routing_key=routing_key, mandatory=True)
        try:
            with eventlet.Timeout(timeout):
                outcome = event.wait()
        except eventlet.Timeout:
            self._drop(connection, "no confirm in time")
            raise TimeoutError(f"no confirm within {timeout:g} s") from None
        if outcome == "returned":
            raise UndeliverableMessage()
        if outcome != "ok":
            raise ConnectionError(outcome)


class CommandSender(DependencyProvider):
    """`send = CommandSender(CHECKIN)` on a nameko service: `self.send(body, message_id)` publishes the command
    persistent, confirmed and `mandatory`, and returns once the broker has it; a broker that does not take it
    within `timeout` seconds, or no queue bound for it, is `Unavailable` (503): never a silent loss."""

    def __init__(self, command: CommandQueue, timeout: float = 5.0):
        self.command = command
        self.timeout = timeout
        self.channel: ConfirmedChannel | None = None

    def setup(self) -> None:
        self.channel = ConfirmedChannel(self.container.config[AMQP_URI_CONFIG_KEY])

    def stop(self) -> None:
        if self.channel is not None:
            self.channel._drop(self.channel.connection, "the service is stopping")

    def get_dependency(self, worker_ctx: Any) -> Any:
        channel, command, timeout = self.channel, self.command, self.timeout
        assert channel is not None

        def send(body: dict[str, Any], message_id: str) -> None:
            payload = json.dumps(body, ensure_ascii=False).encode()
            try:
                channel.publish(COMMANDS_EXCHANGE, command.routing_key, payload, message_id, timeout)
            except UndeliverableMessage:
                raise Unavailable(f"no queue takes {command.queue}: the stack is not provisioned") from None
            except (OSError, AMQPError, TimeoutError) as exc:
                raise Unavailable(f"the broker did not take the request ({exc})") from None

        return send
