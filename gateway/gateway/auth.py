"""Tokens and login throttling: plain functions, no nameko.

Access tokens are JWTs signed with HS256 only (the algorithm is fixed on decode, so `alg: none`
and algorithm swaps are refused) and carry `iss`, `aud`, `exp`, `iat`, `sub`, `jti`, all required.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt

from kernel.errors import Unauthenticated

ISSUER = "ejournal"
AUDIENCE = "ejournal-api"
ALGORITHM = "HS256"


def issue_access_token(code: str, secret: str, now: datetime, lifetime_s: int,
                       student: dict[str, str | None] | None = None) -> str:
    """`student` ({"group", "subgroup"} at issue time) lets the check-in burst authorize from the token alone
    (GatewayService.authenticate_student); the attendance service re-checks the roster from the orders."""
    claims: dict[str, Any] = {"sub": code, "iss": ISSUER, "aud": AUDIENCE, "iat": int(now.timestamp()),
                              "exp": int((now + timedelta(seconds=lifetime_s)).timestamp()), "jti": uuid.uuid4().hex}
    if student is not None:
        claims["stu"] = student
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_access_token(token: str, secret: str) -> dict[str, Any]:
    try:
        return jwt.decode(token, secret, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                          options={"require": ["exp", "iat", "sub", "iss", "aud"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the access token has expired") from None
    except jwt.PyJWTError:
        raise Unauthenticated("the access token is not valid") from None


def new_refresh_token() -> tuple[str, str]:
    """(token given to the client, hash stored)."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def throttled_until(failures: list[datetime], now: datetime, limit: int, window_s: int) -> datetime | None:
    """When `limit` failures fall inside the last `window_s`, logins wait until enough of them age out.

    Returns the end of the cool-down, or None when a login may be tried."""
    window = timedelta(seconds=window_s)
    recent = sorted(t for t in failures if now - t < window)
    if len(recent) < limit:
        return None
    # the attempt is allowed again once fewer than `limit` failures remain inside the window
    return recent[len(recent) - limit] + window
