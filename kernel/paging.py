"""Lists a page at a time (API.md "Lists take `limit` (≤ 500) and `cursor`, and answer `{"items", "next_cursor"}`").

A cursor is opaque to the client: the key of the last row of the page, JSON in URL-safe base64, decoded only by the
service that gave it. Pages are keyset pages (rows after the cursor's key in the list's order), so a row stored
while a client pages is neither skipped nor repeated. Plain functions: no nameko.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select

from kernel.validation import invalid

MAX_LIMIT = 500


def page_size(limit: Any, default: int = 100) -> int:
    """The page's size: a whole number from 1 to 500; anything else is a 422 naming `limit`."""
    if limit is None or limit == "":
        return default
    try:
        size = int(limit)
    except (TypeError, ValueError):
        size = 0
    if isinstance(limit, bool) or not 1 <= size <= MAX_LIMIT or str(size) != str(limit).strip():
        raise invalid("limit", f"a whole number from 1 to {MAX_LIMIT}")
    return size


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), default=str).encode()).decode()


def decode_cursor(cursor: Any, parts: int | None = None) -> list[Any]:
    """The key a cursor of `encode_cursor` holds (`parts` long when given); anything else is a 422 naming `cursor`."""
    try:
        key = json.loads(base64.urlsafe_b64decode(str(cursor).encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        key = None
    if not isinstance(key, list) or (parts is not None and len(key) != parts):
        raise invalid("cursor", "a next_cursor of an earlier page")
    return key


def after_id(cursor: Any) -> int | None:
    """The id a cursor of an id-ordered list points after; None for the first page."""
    if cursor is None or cursor == "":
        return None
    key = decode_cursor(cursor, 1)[0]
    if isinstance(key, bool) or not isinstance(key, int):
        raise invalid("cursor", "a next_cursor of an earlier page")
    return key


def page_by_id(session: Any, query: Select[Any], id_column: Any, limit: Any, cursor: Any,
               view: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """One page of `query`'s rows in `id_column` order after the cursor's id, each shown through `view`."""
    size = page_size(limit)
    after = after_id(cursor)
    if after is not None:
        query = query.where(id_column > after)
    rows = list(session.scalars(query.order_by(id_column).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return {"items": [view(r) for r in rows], "next_cursor": encode_cursor(rows[-1].id) if more else None}
