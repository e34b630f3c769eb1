"""ARCHITECTURE.md delivery: events are delivered at least once and, after a restart, not always in order (a
redelivered `marks.recorded` can arrive after a newer one). The read models of marks keep the newest status: an
older event delivered late changes nothing (grading's was missing this guard; seen in the fault test as 25 marks
of grading's read model disagreeing with attendance's)."""

from __future__ import annotations

import json
import uuid

import pika
import pytest

from support import admin_query, eventually

pytestmark = pytest.mark.integration
SESSION = 990_001  # no real session: the event brings what the read models need
SESSIONS = {"grading": "session", "makeup": "session_info"}  # each consumer's table of sessions


def envelope(at: str, status: str) -> dict:
    return {"event_id": str(uuid.uuid4()), "type": "marks.recorded", "version": 1, "occurred_at": at,
            "source": "attendance", "actor": "T-ORDER",
            "payload": {"session": SESSION, "group": "ORD-1", "discipline": "ORD", "term": "ORD-T", "kind": "lecture",
                        "teacher": "T-ORDER", "starts_at": "2026-10-05T09:00:00+06:00",
                        "changes": [{"student": "ORD1", "old": None, "new": status}]}}


@pytest.mark.parametrize("consumer", ["grading", "makeup"])
def test_an_older_marks_event_delivered_late_does_not_overwrite_a_newer_status(stack, consumer):
    from kernel.config import settings

    queue = f"evt-attendance-marks.recorded--{consumer}.on_marks_recorded"
    connection = pika.BlockingConnection(pika.URLParameters(settings().amqp_uri))
    channel = connection.channel()
    newer, older = envelope("2026-10-05T10:05:00+06:00", "present"), envelope("2026-10-05T10:00:00+06:00", "absent")
    for event in (newer, older):
        channel.basic_publish("", queue, json.dumps(event).encode(),
                              pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                                   message_id=event["event_id"], type="marks.recorded"))
    connection.close()

    def status(student):
        rows = admin_query(f"SELECT status FROM {consumer}.mark WHERE session = %s AND student = %s",
                           (SESSION, student))
        return rows[0][0] if rows else None

    ids = [newer["event_id"], older["event_id"]]  # a service's workers may take the two at once: wait for both
    try:
        eventually(lambda: admin_query(f"SELECT count(*) FROM {consumer}.processed_event WHERE event_id = "
                                       "ANY(%s::uuid[]) AND handler NOT LIKE 'projection:%%'", (ids,))[0][0] == 2,
                   timeout=30)
        assert status("ORD1") == "present", "the older event, delivered last, left the newer status"
    finally:
        # Published by hand, not by attendance, so no replay knows them: the rows they made are taken back, or a
        # later rebuild --compare of the service finds them.
        admin_query(f"DELETE FROM {consumer}.mark WHERE session = %s", (SESSION,))
        admin_query(f"DELETE FROM {consumer}.{SESSIONS[consumer]} WHERE id = %s", (SESSION,))
