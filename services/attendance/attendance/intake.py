"""The check-in intake: consumes the check-in command queue (kernel.commands.CHECKIN) in batches and records
each batch in one transaction (attendance.checkins). Plain pika and SQLAlchemy, no eventlet: one process per
replica, any number of replicas (the queue hands each message to one; unique keys absorb redeliveries).

A batch closes when it holds `batch` requests or its first request has waited `linger` seconds
(EJOURNAL_INTAKE_LINGER_S, default 1). The student has the answer already, once the broker confirmed the request,
and the teacher's live roster refreshes every 3 s; but every batch costs each reader of `marks.recorded` (grading,
make-up, reports, the public feed) one event per session in it, and at the start of a pair, when the students of
fifty rooms scan at once, a batch of a fifth of a second held about one check-in per session: an event per
check-in, which cost the stack three times the CPU of the check-in itself. The broker's
messages are acked only after the commit, so a crash anywhere loses nothing and redelivers the batch, which
then finds its check-ins stored. A message that is not a check-in request is parked in the dead-letter queue
with the reason (`python -m kernel.deadletters list`); a database failure retries the batch with backoff.

    python -m attendance.intake
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
from pika.exceptions import AMQPError
from prometheus_client import Counter, Histogram, start_http_server
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from attendance import checkins, domain
from kernel import logs
from kernel.brokerloop import BrokerLoop
from kernel.commands import CHECKIN, COMMANDS_EXCHANGE
from kernel.config import settings
from kernel.consumer import DEAD_LETTER_QUEUE
from kernel.db import UnitOfWork, make_engine
from kernel.wire import policy

log = logging.getLogger("attendance.intake")

OUTCOMES = Counter("ejournal_checkin_intake_total", "Check-in requests recorded, by outcome", ["outcome"])
BATCH = Histogram("ejournal_checkin_intake_batch_size", "Check-in requests per committed batch",
                  buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500))
LAG = Histogram("ejournal_checkin_intake_lag_seconds", "From the scan to its commit",
                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
ERRORS = Counter("ejournal_checkin_intake_errors_total", "Batches retried (database or broker failure)")
METRICS_PORT_OFFSET = 106  # beside the relays' EJOURNAL_PORT + 101..105


class Intake(BrokerLoop):
    name = "intake"
    retry_on = (AMQPError, SQLAlchemyError, OSError)

    def __init__(self, *, batch: int = 500, linger: float = 1.0):
        super().__init__(log, ERRORS)
        self.batch = batch
        self.linger = linger
        self.prefetch = batch * 2
        self.factory: sessionmaker | None = None

    def prepare(self) -> None:
        policy()  # the preset is parsed and validated here, not in the first check-in's batch
        if self.factory is None:
            engine = make_engine(settings().service_url("attendance"), pool_size=1)
            with engine.connect() as conn:  # fail here, not at the first check-in; the pool keeps it open
                conn.execute(text("SELECT 1"))
            self.factory = sessionmaker(bind=engine, expire_on_commit=False)

    def declare(self, channel: Any) -> None:
        # confirms (the loop's channel) matter here for parking a bad message: it is stored before it is acked
        channel.exchange_declare(COMMANDS_EXCHANGE, exchange_type="direct", durable=True)
        channel.queue_declare(CHECKIN.queue, durable=True)
        channel.queue_bind(CHECKIN.queue, COMMANDS_EXCHANGE, routing_key=CHECKIN.routing_key)
        channel.queue_declare(DEAD_LETTER_QUEUE, durable=True)

    def consume(self) -> None:
        pending: list[tuple[int, bytes]] = []
        first_at = 0.0
        for method, _props, body in self.channel.consume(CHECKIN.queue, inactivity_timeout=self.linger / 2):
            if method is not None:
                if not pending:
                    first_at = time.monotonic()
                pending.append((method.delivery_tag, body))
            if pending and (len(pending) >= self.batch or time.monotonic() - first_at >= self.linger
                            or method is None):
                self.flush(pending)
                pending = []
            if not self.running:
                break
        self.channel.cancel()

    def flush(self, pending: list[tuple[int, bytes]]) -> None:
        requests = []
        last = 0  # the last well-formed request's delivery tag
        for tag, body in pending:
            try:
                requests.append(domain.CheckinRequest.from_wire(json.loads(body)))
                last = tag
            except ValueError as bad:
                self.park(body, str(bad))
                self.channel.basic_ack(tag)  # parked first: a crash in between parks it twice, never loses it
                OUTCOMES.labels("malformed").inc()
                continue
        if requests:
            assert self.factory is not None
            uow = UnitOfWork(self.factory, "attendance")
            try:
                verdicts = checkins.record(uow, policy(), requests)
                uow.commit()
            finally:
                uow.close()
            done = time.time()
            for v in verdicts:
                OUTCOMES.labels(v.outcome).inc()
                LAG.observe(max(0.0, done - v.request.at.timestamp()))
                if v.outcome == "refused":
                    log.info("check-in refused: session %s student %s: %s", v.request.session, v.request.student,
                             v.reason)
            BATCH.observe(len(requests))
            self.channel.basic_ack(last, multiple=True)

    def park(self, body: bytes, reason: str) -> None:
        log.warning("intake: parking a message that is not a check-in request: %s", reason)
        self.channel.basic_publish("", DEAD_LETTER_QUEUE, body, pika.BasicProperties(
            delivery_mode=2, headers={"x-ejournal-queue": CHECKIN.queue, "x-ejournal-error": reason}),
            mandatory=True)


def main() -> int:
    logs.configure("intake-attendance")
    intake = Intake(linger=float(os.environ.get("EJOURNAL_INTAKE_LINGER_S") or 1.0))
    port = os.environ.get("EJOURNAL_INTAKE_METRICS_PORT")
    if port is None and os.environ.get("EJOURNAL_PORT"):
        port = str(int(os.environ["EJOURNAL_PORT"]) + METRICS_PORT_OFFSET)
    if port:
        start_http_server(int(port), addr="127.0.0.1")

    def stop(*_: Any) -> None:
        intake.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("check-in intake started")
    intake.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
