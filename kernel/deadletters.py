"""List and replay the dead-letter queue.

    python -m kernel.deadletters list
    python -m kernel.deadletters replay [--all | MESSAGE_ID ...]

Replaying puts the event back on the handler queue it failed on, with its attempts reset; the
handler is idempotent, so replaying an event that did get through changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import pika

from kernel.config import settings
from kernel.consumer import ATTEMPTS_HEADER, DEAD_LETTER_QUEUE


def _channel() -> tuple[pika.BlockingConnection, Any]:
    conn = pika.BlockingConnection(pika.URLParameters(settings().amqp_uri))
    ch = conn.channel()
    ch.queue_declare(DEAD_LETTER_QUEUE, durable=True)
    return conn, ch


def list_dead_letters(limit: int = 1000) -> list[dict[str, Any]]:
    conn, ch = _channel()
    items = []
    try:
        for _ in range(limit):
            method, props, body = ch.basic_get(DEAD_LETTER_QUEUE, auto_ack=False)
            if method is None:
                break
            headers = props.headers or {}
            try:
                event = json.loads(body)
            except ValueError:
                event = {"raw": body.decode(errors="replace")}
            items.append({
                "event_id": event.get("event_id") if isinstance(event, dict) else None,
                "type": event.get("type") if isinstance(event, dict) else None,
                "queue": headers.get("x-ejournal-queue"),
                "error": headers.get("x-ejournal-error"),
                "attempts": headers.get(ATTEMPTS_HEADER),
                "event": event,
            })
    finally:
        conn.close()  # unacked messages go back to the queue untouched
    return items


def replay(event_ids: set[str] | None = None) -> int:
    """Move parked events back to their queues (all of them when `event_ids` is None)."""
    conn, ch = _channel()
    ch.confirm_delivery()
    moved = 0
    try:
        pending = ch.queue_declare(DEAD_LETTER_QUEUE, durable=True, passive=True).method.message_count
        for _ in range(pending):
            method, props, body = ch.basic_get(DEAD_LETTER_QUEUE, auto_ack=False)
            if method is None:
                break
            headers = dict(props.headers or {})
            event_id = None
            try:
                event_id = json.loads(body).get("event_id")
            except (ValueError, AttributeError):
                pass
            target = headers.get("x-ejournal-queue")
            if not target or (event_ids is not None and event_id not in event_ids):
                continue
            headers[ATTEMPTS_HEADER] = 0
            props.headers = headers
            ch.basic_publish("", target, body, props, mandatory=True)
            ch.basic_ack(method.delivery_tag)
            moved += 1
    finally:
        conn.close()
    return moved


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m kernel.deadletters")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    rp = sub.add_parser("replay")
    rp.add_argument("--all", action="store_true")
    rp.add_argument("event_ids", nargs="*")
    args = parser.parse_args(argv)
    if args.cmd == "list":
        for item in list_dead_letters():
            print(json.dumps(item, ensure_ascii=False))
        return 0
    if not args.all and not args.event_ids:
        parser.error("replay needs --all or event ids")
    print(f"replayed {replay(None if args.all else set(args.event_ids))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
