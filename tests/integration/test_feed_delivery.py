"""Issue 7 item 3, the bridge's delivery on the real RabbitMQ (a vhost of its own): events that arrive while the
bridge is down wait for it; a bridge killed after the broker confirmed a public event but before its ack publishes
that event again with the same message_id and loses none; a private event never reaches the public exchange; an
event whose version the feed does not know is parked in the dead-letter queue with the reason, not published."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import uuid

import pika
import pytest

from deploy.ops import provision
from kernel.config import settings
from kernel.consumer import DEAD_LETTER_QUEUE
from kernel.events import exchange_name
from kernel.feed import FEED_QUEUE, Feed
from kernel.publicevents import PUBLIC_EXCHANGE
from support import eventually

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="rabbitmqctl adds and deletes vhosts as root"),
]


def rabbitmqctl(*args: str) -> str:
    result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def vhost(monkeypatch):
    """A fresh vhost, provisioned as `deploy.ops.provision` does it (the feed's queue and bindings included)."""
    name = f"{settings().db_name}_feed"
    if name in rabbitmqctl("list_vhosts", "name").split():
        rabbitmqctl("delete_vhost", name)
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    monkeypatch.setenv("EJOURNAL_AMQP_URI", f"amqp://guest:guest@127.0.0.1:5672/{name}")
    monkeypatch.delenv("EJOURNAL_QUEUE_TYPE", raising=False)
    settings.cache_clear()
    provision.declare_broker()
    yield name
    rabbitmqctl("delete_vhost", name)
    monkeypatch.undo()
    settings.cache_clear()


def connect() -> pika.BlockingConnection:
    params = pika.URLParameters(settings().amqp_uri)
    params.heartbeat = 0
    return pika.BlockingConnection(params)


def internal_event(source: str, event_type: str, payload: dict, version: int = 1) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "type": event_type,
        "version": version,
        "source": source,
        "occurred_at": "2026-10-19T09:10:00+06:00",
        "payload": payload,
        "actor": "TA1",
        "institution": "oshtu",
    }


def marks(session: int, student: str) -> dict:
    return internal_event(
        "attendance",
        "marks.recorded",
        {
            "session": session,
            "term": "2026-2027-1",
            "discipline": "PHY",
            "group": "G-1",
            "subgroup": None,
            "kind": "lecture",
            "teacher": "TA1",
            "starts_at": "2026-10-19T09:00:00+06:00",
            "changes": [{"student": student, "old": None, "new": "present"}],
            "late": False,
            "first_entry_at": None,
            "source": "checkin",
            "actor": student,
            "on_behalf_of": None,
            "reason": None,
            "approval": None,
        },
    )


def publish(channel, event: dict) -> None:
    """As the relay publishes an internal event: persistent, message_id = event id, routing key = type."""
    channel.basic_publish(
        exchange_name(event["source"]),
        event["type"],
        json.dumps(event).encode(),
        pika.BasicProperties(delivery_mode=2, message_id=event["event_id"], content_type="application/json"),
    )


def run_until(feed: Feed, done) -> None:
    """Run the bridge in a thread until `done()` holds (checked by the test's `eventually`), then stop it."""
    thread = threading.Thread(target=feed.run, daemon=True)
    thread.start()
    try:
        eventually(done, timeout=30)
    finally:
        feed.running = False
        thread.join(timeout=15)
    assert not thread.is_alive(), "the bridge did not stop"


def test_a_bridge_killed_before_its_ack_publishes_again_with_the_same_id_and_loses_nothing(vhost):
    conn = connect()
    ch = conn.channel()
    ch.confirm_delivery()
    tap = ch.queue_declare("", exclusive=True).method.queue  # an outside consumer
    ch.queue_bind(tap, PUBLIC_EXCHANGE, routing_key="#")
    events = [marks(1, "S1"), marks(1, "S2"), marks(2, "S3")]
    token = internal_event("identity", "token.changed", {"id": 1, "token_hash": "ab" * 32, "name": "AVN"})
    newer = internal_event("attendance", "marks.recorded", {"session": 3}, version=2)
    publish(ch, events[0])
    publish(ch, events[1])
    # identity's event has no queue here but the services' own (none in this vhost): unroutable, never the feed's
    ch.queue_declare("witness-identity", exclusive=True)
    ch.queue_bind("witness-identity", exchange_name("identity"), routing_key="#")
    publish(ch, token)
    publish(ch, newer)
    publish(ch, events[2])
    assert ch.queue_declare(FEED_QUEUE, passive=True).method.message_count == 4, "waiting for a bridge never run"

    # the first bridge publishes the first event, the broker confirms it, and the process dies before its ack
    first = Feed()
    first.connect()
    method, props, body = first.channel.basic_get(FEED_QUEUE, auto_ack=False)
    assert json.loads(body)["event_id"] == events[0]["event_id"]
    assert first.deliver(props, body) == "forwarded"
    first.close()  # gone without its ack (killed or closed: either way the broker takes the event back)

    def received() -> list:
        got = []
        while (message := ch.basic_get(tap, auto_ack=True))[0] is not None:
            got.append(message)
        received.all += got
        return received.all

    received.all = []
    second = Feed()
    run_until(second, lambda: len(received()) >= 4)
    ids = [props.message_id for _, props, _ in received.all]
    assert ids == [events[0]["event_id"], events[0]["event_id"], events[1]["event_id"], events[2]["event_id"]]
    bodies = [json.loads(body) for _, _, body in received.all]
    assert bodies[0] == bodies[1], "the repeat is the same event, byte for byte in meaning"
    assert [b["data"]["marks"][0]["student"] for b in bodies] == ["S1", "S1", "S2", "S3"]
    assert all(b["type"] == "attendance.marks.recorded.v1" for b in bodies)
    assert ch.queue_declare(FEED_QUEUE, passive=True).method.message_count == 0

    parked = []
    while (message := ch.basic_get(DEAD_LETTER_QUEUE, auto_ack=True))[0] is not None:
        parked.append(message)
    assert [json.loads(body)["event_id"] for _, _, body in parked] == [newer["event_id"]]
    headers = parked[0][1].headers
    assert headers["x-ejournal-queue"] == FEED_QUEUE and "version 2" in headers["x-ejournal-error"]
    assert ch.queue_declare("witness-identity", passive=True).method.message_count == 1, "identity's event went out"
    conn.close()
