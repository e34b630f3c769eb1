"""Provision the stack's database and broker; safe to run any number of times.

    python -m deploy.ops.provision

Database: one database, a schema per service owned by the admin role, and a login role per
service that can use only its own schema (plus reading the simulation clock); the audit log is
INSERT/SELECT only. Each service's migrations run, then grants are refreshed.
Broker: every service's RPC queue, every idempotent handler's queue with its retry queue and
binding, the command queues (kernel.commands), the public feed's exchange and queue with its bindings
(kernel.feed), the dead-letter and unrouted queues: all durable, so
no event or command is dropped because a consumer has never started. EJOURNAL_QUEUE_TYPE=quorum (a
RabbitMQ cluster) declares them as quorum queues and checks that the broker's default type is quorum
too, because the services re-declare their queues without naming a type; the default, classic, names
no type at all.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import sys

import pika
import psycopg2
from pika.exceptions import ChannelClosedByBroker
from psycopg2 import sql

from deploy.ops import migrate
from kernel.clock import CLOCK_DDL
from kernel.commands import COMMAND_QUEUES, COMMANDS_EXCHANGE
from kernel.config import SERVICES, settings
from kernel.consumer import DEAD_LETTER_QUEUE, ReliableEventHandler
from kernel.events import exchange_name
from kernel.feed import declare as declare_feed
from kernel.relay import UNROUTED_QUEUE

log = logging.getLogger("deploy.ops.provision")

SERVICE_CLASSES = {
    "identity": "identity.service:IdentityService",
    "attendance": "attendance.service:AttendanceService",
    "grading": "grading.service:GradingService",
    "makeup": "makeup.service:MakeupService",
    "reports": "reports.service:ReportsService",
    "gateway": "gateway.service:GatewayService",
}


def service_class(service: str) -> type:
    module, _, name = SERVICE_CLASSES[service].partition(":")
    return getattr(importlib.import_module(module), name)


def _admin_connect(database: str) -> psycopg2.extensions.connection:
    cfg = settings()
    conn = psycopg2.connect(host=cfg.pg_host, port=cfg.pg_port, dbname=database, user=cfg.admin_role,
                            password=cfg.pg_admin_password, connect_timeout=5)
    conn.autocommit = True
    return conn


def ensure_database() -> None:
    cfg = settings()
    conn = _admin_connect("postgres")
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (cfg.db_name,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg.db_name)))
            print(f"  database {cfg.db_name}: created")
    conn.close()


def ensure_roles_and_schemas() -> None:
    cfg = settings()
    conn = _admin_connect(cfg.db_name)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(cfg.db_name)))
        cur.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        for service in SERVICES:
            role = sql.Identifier(cfg.role(service))
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (cfg.role(service),))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            cur.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD %s").format(role), (cfg.db_password,))
            cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(cfg.db_name), role))
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(service)))
        cur.execute(CLOCK_DDL)
        for service in SERVICES:
            role = sql.Identifier(cfg.role(service))
            cur.execute(sql.SQL("GRANT USAGE ON SCHEMA kernel TO {}").format(role))
            cur.execute(sql.SQL("GRANT SELECT ON kernel.clock TO {}").format(role))
        cur.execute(sql.SQL("GRANT UPDATE ON kernel.clock TO {}").format(sql.Identifier(cfg.role("gateway"))))
    conn.close()


def grant_service_tables() -> None:
    cfg = settings()
    conn = _admin_connect(cfg.db_name)
    with conn.cursor() as cur:
        for service in SERVICES:
            schema, role = sql.Identifier(service), sql.Identifier(cfg.role(service))
            cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role))
            cur.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}")
                        .format(schema, role))
            cur.execute(sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}")
                        .format(schema, role))
            cur.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s"
                        " AND table_name = 'audit_log'", (service,))
            if cur.fetchone():
                cur.execute(sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {}.audit_log FROM {}")
                            .format(schema, role))
    conn.close()


def run_migrations() -> None:
    for service in SERVICES:
        migrate.upgrade(service)
        print(f"  migrations {service}: at head")


def broker_topology() -> list[tuple[str, dict]]:
    """(queue name, declaration) for every queue the services consume from."""
    queues: list[tuple[str, dict]] = []
    for service in SERVICES:
        cls = service_class(service)
        queues.append((f"rpc-{service}", {"exchange": "nameko-rpc", "routing_key": f"{service}.*"}))
        for attr_name, attr in inspect.getmembers(cls):
            for entrypoint in getattr(attr, "nameko_entrypoints", ()):
                if isinstance(entrypoint, ReliableEventHandler):
                    name = f"evt-{entrypoint.source_service}-{entrypoint.event_type}--{service}.{attr_name}"
                    queues.append((name, {"exchange": exchange_name(entrypoint.source_service),
                                          "routing_key": entrypoint.event_type,
                                          "retry_ms": entrypoint.retry_delay_ms}))
    return queues


QUEUE_TYPES = ("classic", "quorum")


def queue_arguments(arguments: dict | None = None) -> dict | None:
    """A queue's declaration arguments: x-queue-type only when the setting is not classic, so one machine
    declares exactly as before."""
    queue_type = settings().queue_type
    if queue_type not in QUEUE_TYPES:
        raise ValueError(f"EJOURNAL_QUEUE_TYPE={queue_type!r}: use one of {', '.join(QUEUE_TYPES)}")
    if queue_type == "classic":
        return arguments
    return {**(arguments or {}), "x-queue-type": queue_type}


def check_default_queue_type(conn: pika.BlockingConnection, queue: str) -> None:
    """Declare `queue` again without a type, as nameko and the relay do: the broker must resolve it to the
    provisioned type, or the services would fail to start with PRECONDITION_FAILED."""
    if settings().queue_type == "classic":
        return
    try:
        conn.channel().queue_declare(queue, durable=True)
    except ChannelClosedByBroker as exc:
        raise RuntimeError(
            f"queue {queue} is {settings().queue_type}, but a declaration without x-queue-type is not: make"
            f" {settings().queue_type} the broker's default queue type (rabbitmq.conf default_queue_type, or the"
            f" vhost's --default-queue-type) ({exc.reply_text})") from None


def declare_broker() -> None:
    conn = pika.BlockingConnection(pika.URLParameters(settings().amqp_uri))
    ch = conn.channel()
    ch.exchange_declare("nameko-rpc", exchange_type="topic", durable=True)
    for service in SERVICES:
        ch.exchange_declare(exchange_name(service), exchange_type="topic", durable=True)
    ch.queue_declare(DEAD_LETTER_QUEUE, durable=True, arguments=queue_arguments())
    ch.queue_declare(UNROUTED_QUEUE, durable=True, arguments=queue_arguments())
    ch.exchange_declare(COMMANDS_EXCHANGE, exchange_type="direct", durable=True)
    for command in COMMAND_QUEUES:
        ch.queue_declare(command.queue, durable=True, arguments=queue_arguments())
        ch.queue_bind(command.queue, COMMANDS_EXCHANGE, routing_key=command.routing_key)
    count = len(COMMAND_QUEUES)
    for name, spec in broker_topology():
        ch.queue_declare(name, durable=True, arguments=queue_arguments())
        ch.queue_bind(name, spec["exchange"], routing_key=spec["routing_key"])
        if "retry_ms" in spec:
            ch.queue_declare(f"{name}.retry", durable=True, arguments=queue_arguments({
                "x-message-ttl": spec["retry_ms"], "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": name}))
        count += 1
    declare_feed(ch, queue_arguments())  # the public feed's exchange and queue: events wait for its bridge
    count += 1
    check_default_queue_type(conn, DEAD_LETTER_QUEUE)
    conn.close()
    kind = "" if settings().queue_type == "classic" else f" {settings().queue_type}"
    print(f"  broker: {count} durable{kind} queues declared")


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    print("provisioning database and broker")
    ensure_database()
    ensure_roles_and_schemas()
    run_migrations()
    grant_service_tables()
    declare_broker()
    return 0


if __name__ == "__main__":
    sys.exit(main())
