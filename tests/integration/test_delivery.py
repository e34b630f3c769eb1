"""ARCHITECTURE.md delivery guarantees, with the real PostgreSQL and RabbitMQ: every outbox row is
delivered exactly once to an idempotent consumer while the relay is killed and the broker restarted;
a handler that raises is retried with a delay and then parked in the dead-letter queue, from which
it can be listed and replayed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pika
import psycopg2
import pytest
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, create_engine
from sqlalchemy.orm import sessionmaker

from support import ROOT, eventually

pytestmark = pytest.mark.integration
SCHEMA = "ktest"


def admin_conn():
    from kernel.config import settings

    cfg = settings()
    conn = psycopg2.connect(host=cfg.pg_host, port=cfg.pg_port, dbname=cfg.db_name, user=cfg.admin_role,
                            password=cfg.pg_admin_password)
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def ktest(stack):
    from kernel.config import settings
    from kernel.migrate import create_baseline
    from kernel.tables import add_kernel_tables

    cfg = settings()
    role = cfg.role(SCHEMA)
    conn = admin_conn()
    with conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        cur.execute(f"CREATE SCHEMA {SCHEMA}")
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        verb = "ALTER" if cur.fetchone() else "CREATE"
        cur.execute(f'{verb} ROLE "{role}" LOGIN PASSWORD %s', (cfg.db_password,))
        cur.execute(f'GRANT CONNECT ON DATABASE "{cfg.db_name}" TO "{role}"')
    metadata = MetaData(schema=SCHEMA)
    add_kernel_tables(metadata)
    Table("received", metadata, Column("id", Integer, primary_key=True), Column("event_id", String(36)),
          Column("seq", Integer))
    Table("switch", metadata, Column("failing", Boolean))
    engine = create_engine(cfg.admin_url())

    class Op:
        @staticmethod
        def get_bind():
            return bind

    with engine.begin() as bind:
        create_baseline(Op, metadata, SCHEMA)
        bind.exec_driver_sql(f"INSERT INTO {SCHEMA}.switch VALUES (false)")
    with conn.cursor() as cur:
        cur.execute(f'GRANT USAGE ON SCHEMA {SCHEMA}, kernel TO "{role}"')
        cur.execute(f'GRANT SELECT ON kernel.clock TO "{role}"')
        cur.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {SCHEMA} TO "{role}"')
        cur.execute(f'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO "{role}"')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(Path(__file__).parent)]),
           "EJOURNAL_RELAY_METRICS_PORT": "0"}
    logs = Path(os.environ["EJOURNAL_STATE_DIR"]) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen] = []  # every process started, so teardown stops each of them

    def start(name: str, args: list[str]) -> subprocess.Popen:
        out = open(logs / f"ktest-{name}.log", "a")  # noqa: SIM115 - closed with the process
        procs.append(subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True))
        return procs[-1]

    nameko = str(Path(sys.executable).parent / "nameko")
    start("service", [nameko, "run", "--config", "deploy/nameko.yaml", "ktest_service:KTestService"])
    wait_for_queue("evt-ktest-thing.happened--ktest.on_thing")

    class Harness:
        engine = create_engine(cfg.admin_url())
        start_relay = staticmethod(lambda: start("relay", [sys.executable, "-m", "kernel.relay", SCHEMA]))

        @staticmethod
        def count(sql: str) -> int:
            with Harness.engine.connect() as c:
                return c.exec_driver_sql(sql).scalar()

        @staticmethod
        def emit(n: int, offset: int = 0, **payload) -> list[str]:
            from kernel.db import UnitOfWork

            uow = UnitOfWork(sessionmaker(bind=create_engine(cfg.service_url(SCHEMA))), SCHEMA)
            ids = [uow.emit("thing.happened", {"seq": offset + i, **payload}).event_id for i in range(n)]
            uow.commit()
            uow.close()
            return ids

    yield Harness
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def wait_for_queue(name: str, timeout: float = 60) -> None:
    from kernel.config import settings

    def exists() -> bool:
        try:
            conn = pika.BlockingConnection(pika.URLParameters(settings().amqp_uri))
        except pika.exceptions.AMQPError:
            return False
        try:
            conn.channel().queue_declare(name, passive=True)
            return True
        except pika.exceptions.ChannelClosedByBroker:
            return False
        finally:
            if conn.is_open:
                conn.close()

    eventually(exists, timeout=timeout, interval=0.5)


def restart_broker() -> None:
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=120)
    subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
    subprocess.run(["rabbitmqctl", "await_startup"], check=True, capture_output=True, timeout=120)


def test_every_outbox_row_is_delivered_once_through_relay_kill_and_broker_restart(ktest):
    total = 600
    relay = ktest.start_relay()
    ktest.emit(200)
    eventually(lambda: ktest.count(f"SELECT count(*) FROM {SCHEMA}.received") >= 50, timeout=60)
    os.killpg(relay.pid, signal.SIGKILL)  # mid-flow, possibly between publish and marking
    relay.wait()
    ktest.emit(200, offset=200)
    relay = ktest.start_relay()
    eventually(lambda: ktest.count(f"SELECT count(*) FROM {SCHEMA}.received") >= 300, timeout=60)
    ktest.emit(200, offset=400)
    restart_broker()  # while events flow
    eventually(lambda: ktest.count(f"SELECT count(*) FROM {SCHEMA}.outbox WHERE published_at IS NULL") == 0,
               timeout=120)
    eventually(lambda: ktest.count(f"SELECT count(*) FROM {SCHEMA}.received") >= total, timeout=120)
    time.sleep(2)  # let any redelivered duplicate arrive before counting
    received = ktest.count(f"SELECT count(*) FROM {SCHEMA}.received")
    distinct = ktest.count(f"SELECT count(DISTINCT event_id) FROM {SCHEMA}.received")
    processed = ktest.count(f"SELECT count(*) FROM {SCHEMA}.processed_event")
    print(f"\n  outbox rows {total}, effects {received}, distinct {distinct}, processed ids {processed}")
    assert (received, distinct, processed) == (total, total, total)


def test_a_failing_handler_is_retried_then_dead_lettered_and_can_be_replayed(ktest):
    from kernel.consumer import ATTEMPTS_HEADER
    from kernel.deadletters import list_dead_letters, replay

    ktest.start_relay()
    with ktest.engine.begin() as c:
        c.exec_driver_sql(f"UPDATE {SCHEMA}.switch SET failing = true")
    (event_id,) = ktest.emit(1, offset=10_000, fail=True)

    parked = eventually(lambda: [d for d in list_dead_letters() if d["event_id"] == event_id], timeout=60)
    assert parked[0]["attempts"] == 3 and "failing on purpose" in parked[0]["error"]
    assert ktest.count(f"SELECT count(*) FROM {SCHEMA}.received WHERE seq = 10000") == 0

    with ktest.engine.begin() as c:
        c.exec_driver_sql(f"UPDATE {SCHEMA}.switch SET failing = false")
    assert replay({event_id}) == 1
    eventually(lambda: ktest.count(f"SELECT count(*) FROM {SCHEMA}.received WHERE seq = 10000") == 1)
    assert not [d for d in list_dead_letters() if d["event_id"] == event_id]

    # the same event delivered again (a replay of something that had got through) changes nothing
    from kernel.config import settings

    conn = pika.BlockingConnection(pika.URLParameters(settings().amqp_uri))
    with ktest.engine.connect() as c:
        envelope = c.exec_driver_sql(f"SELECT envelope FROM {SCHEMA}.outbox WHERE event_id = '{event_id}'").scalar()
    import json

    conn.channel().basic_publish("", "evt-ktest-thing.happened--ktest.on_thing", json.dumps(envelope).encode(),
                                 pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                                      headers={ATTEMPTS_HEADER: 0}))
    conn.close()
    time.sleep(2)
    assert ktest.count(f"SELECT count(*) FROM {SCHEMA}.received WHERE seq = 10000") == 1
