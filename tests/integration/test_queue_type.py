"""EJOURNAL_QUEUE_TYPE (deploy.ops.provision): one machine declares classic queues exactly as before; a cluster's
quorum setting declares quorum queues, and is refused where the broker would make the services' own declarations
another type. Each case provisions a vhost of its own on the real RabbitMQ."""

from __future__ import annotations

import json
import os
import subprocess

import pika
import pytest

from deploy.ops import provision
from kernel.commands import COMMAND_QUEUES
from kernel.config import settings
from kernel.feed import FEED_QUEUE

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(os.geteuid() != 0, reason="rabbitmqctl adds and deletes vhosts as root")]


def rabbitmqctl(*args: str) -> str:
    result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def vhost(monkeypatch, request):
    """A fresh vhost (its default queue type from the test's parameter) that settings() points at."""
    name = f"{settings().db_name}_qt_{request.param or 'none'}"
    if name in rabbitmqctl("list_vhosts", "name").split():
        rabbitmqctl("delete_vhost", name)
    rabbitmqctl("add_vhost", name, *(["--default-queue-type", request.param] if request.param else []))
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    monkeypatch.setenv("EJOURNAL_AMQP_URI", f"amqp://guest:guest@127.0.0.1:5672/{name}")
    settings.cache_clear()
    yield name
    rabbitmqctl("delete_vhost", name)
    monkeypatch.undo()
    settings.cache_clear()


def queues(vhost: str) -> dict[str, dict]:
    rows = json.loads(rabbitmqctl("list_queues", "-p", vhost, "name", "type", "arguments", "--formatter", "json"))
    return {row["name"]: row for row in rows}


def arguments(row: dict) -> dict:
    # rabbitmqctl's JSON gives arguments as [name, type, value] triples, or {} when there are none
    return {name: value for name, _, value in row["arguments"]} if row["arguments"] else {}


@pytest.mark.parametrize("vhost", [None], indirect=True)
def test_by_default_every_queue_is_classic_and_declared_without_a_type(vhost, monkeypatch):
    monkeypatch.delenv("EJOURNAL_QUEUE_TYPE", raising=False)
    settings.cache_clear()
    provision.declare_broker()
    found = queues(vhost)
    assert len(found) == len(provision.broker_topology()) + sum(
        1 for _, spec in provision.broker_topology() if "retry_ms" in spec) + 2 + len(COMMAND_QUEUES) + 1
    assert FEED_QUEUE in found  # the public feed's own queue (kernel.feed)
    assert {row["type"] for row in found.values()} == {"classic"}
    assert not any("x-queue-type" in arguments(row) for row in found.values())
    retry = next(row for name, row in found.items() if name.endswith(".retry"))
    assert set(arguments(retry)) == {"x-message-ttl", "x-dead-letter-exchange", "x-dead-letter-routing-key"}


@pytest.mark.parametrize("vhost", ["quorum"], indirect=True)
def test_quorum_declares_quorum_queues_that_the_services_undeclared_type_agrees_with(vhost, monkeypatch):
    monkeypatch.setenv("EJOURNAL_QUEUE_TYPE", "quorum")
    settings.cache_clear()
    provision.declare_broker()
    found = queues(vhost)
    assert {row["type"] for row in found.values()} == {"quorum"}
    retry = next(row for name, row in found.items() if name.endswith(".retry"))
    assert arguments(retry)["x-queue-type"] == "quorum" and "x-message-ttl" in arguments(retry)
    # what nameko does at start: the RPC queue declared again with no type argument
    conn = pika.BlockingConnection(pika.URLParameters(settings().amqp_uri))
    conn.channel().queue_declare("rpc-attendance", durable=True)
    conn.close()
    provision.declare_broker()  # provisioning again changes nothing


@pytest.mark.parametrize("vhost", [None], indirect=True)
def test_quorum_is_refused_where_the_brokers_default_would_make_the_services_queues_classic(vhost, monkeypatch):
    monkeypatch.setenv("EJOURNAL_QUEUE_TYPE", "quorum")
    settings.cache_clear()
    with pytest.raises(RuntimeError, match="default queue type"):
        provision.declare_broker()


def test_an_unknown_queue_type_is_refused(monkeypatch):
    monkeypatch.setenv("EJOURNAL_QUEUE_TYPE", "stream")
    settings.cache_clear()
    try:
        with pytest.raises(ValueError, match="classic, quorum"):
            provision.queue_arguments()
    finally:
        monkeypatch.undo()
        settings.cache_clear()
