"""The event envelope of ARCHITECTURE.md: every event carries event_id, type, version, occurred_at,
actor, institution and its payload. Consumers key idempotency on event_id."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

# where the relay parks an event no queue was bound for (published `mandatory`, so it is never dropped)
UNROUTED_QUEUE = "ejournal.unrouted"
REQUIRED = ("event_id", "type", "version", "occurred_at", "source", "payload")


class MalformedEvent(ValueError):
    pass


@dataclass(frozen=True)
class Envelope:
    event_id: str
    type: str
    version: int
    occurred_at: str
    source: str
    payload: dict[str, Any]
    actor: str | None = None
    institution: str | None = None
    request_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        body = asdict(self)
        body.pop("extra")
        body.update(self.extra)
        return body

    @classmethod
    def from_wire(cls, body: Any) -> Envelope:
        if not isinstance(body, dict):
            raise MalformedEvent(f"event body must be an object, got {type(body).__name__}")
        missing = [k for k in REQUIRED if k not in body]
        if missing:
            raise MalformedEvent(f"event lacks {', '.join(missing)}")
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        return cls(
            **{k: body.get(k) for k in known},  # type: ignore[arg-type]
            extra={k: v for k, v in body.items() if k not in known},
        )


def new_event(
    source: str,
    type: str,
    payload: dict[str, Any],
    occurred_at: datetime,
    *,
    actor: str | None = None,
    institution: str | None = None,
    request_id: str | None = None,
    version: int = 1,
) -> Envelope:
    return Envelope(
        event_id=str(uuid.uuid4()),
        type=type,
        version=version,
        occurred_at=occurred_at.isoformat(),
        source=source,
        payload=payload,
        actor=actor,
        institution=institution,
        request_id=request_id,
    )


def exchange_name(source: str) -> str:
    """nameko's convention: a topic exchange `<service>.events`, routing key = event type."""
    return f"{source}.events"
