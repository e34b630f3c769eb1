"""Small shapes every service's entrypoints share: the institution's preset, times in its zone, ids from the
wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kernel.config import settings
from kernel.errors import NotFound
from kernel.policy import Policy, load_preset


def policy() -> Policy:
    return load_preset(settings().preset)


def iso(pol: Policy, value: datetime | None) -> str | None:
    """An instant as the API shows it: ISO 8601 in the institution's time zone."""
    return pol.local(value).isoformat() if value is not None else None


def as_id(value: Any, what: str) -> int:
    """An object's id from the wire; anything else is an object that does not exist."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound(f"no {what} {value!r}") from None
