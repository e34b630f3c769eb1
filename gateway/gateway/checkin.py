"""Rotating QR check-in codes: short-lived tokens signed by the gateway (HMAC-SHA256), so issuing and
checking a code needs no database and no other service. A code is shown for `token_ttl_seconds`; a
scanned code stays usable `grace_seconds` longer, so a student can log in on the page it opens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime

from kernel.errors import TokenExpired, ValidationFailed


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"ejournal-checkin\0" + secret.encode()).digest()  # not the JWT key itself


def issue(secret: str, session: int, now: datetime, ttl_s: int) -> tuple[str, int]:
    """A token for `session`, and its expiry as a Unix time."""
    expires = int(now.timestamp()) + ttl_s
    body = _b64(json.dumps({"s": session, "e": expires, "n": secrets.token_hex(4)}, separators=(",", ":")).encode())
    sig = _b64(hmac.new(_key(secret), body.encode(), hashlib.sha256).digest()[:16])
    return f"{body}.{sig}", expires


def read(secret: str, token: str, now: datetime, grace_s: int) -> int:
    """The session a valid token is for; 410 once it is older than its TTL plus the grace time."""
    try:
        body, sig = token.split(".")
        expected = _b64(hmac.new(_key(secret), body.encode(), hashlib.sha256).digest()[:16])
        if not hmac.compare_digest(sig, expected):
            raise ValueError("bad signature")
        claims = json.loads(_unb64(body))
        session, expires = int(claims["s"]), int(claims["e"])
    except (ValueError, KeyError, TypeError):
        raise ValidationFailed("token: not a check-in code", {"token": ["not a check-in code"]}) from None
    if now.timestamp() > expires + grace_s:
        raise TokenExpired("this check-in code has expired; scan the code on the screen again")
    return session

