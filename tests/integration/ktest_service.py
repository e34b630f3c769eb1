"""A minimal service for the kernel's delivery tests: it consumes its own events through the real
relay and broker, and records each effect in a table without a unique key, so a duplicate shows."""

from sqlalchemy import text

from kernel.consumer import handles
from kernel.db import Database
from kernel.events import Envelope
from kernel.service import ServiceBase


class KTestService(ServiceBase):
    name = "ktest"
    db = Database()

    @handles("ktest", "thing.happened", max_attempts=3, retry_delay_ms=300)
    def on_thing(self, event: Envelope) -> None:
        failing = self.db.execute(text("SELECT failing FROM ktest.switch")).scalar()
        if event.payload.get("fail") and failing:
            raise RuntimeError("failing on purpose")
        self.db.execute(text("INSERT INTO ktest.received (event_id, seq) VALUES (:e, :s)"),
                        {"e": event.event_id, "s": event.payload["seq"]})
