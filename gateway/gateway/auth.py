"""Tokens and login throttling: plain functions, no nameko.

Access tokens are JWTs signed with HS256 only (the algorithm is fixed on decode, so `alg: none`
and algorithm swaps are refused) and carry `iss`, `aud`, `exp`, `iat`, `sub`, `jti`, all required.

Integration tokens (API.md "Integration tokens") are 256 random bits behind the prefix `ejt_` (a JWT
starts with `eyJ`), kept only as their SHA-256. They read what their faculty's directorate reads; a
write needs the scope of its area (`WRITE_AREAS`).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm

from kernel.errors import Unauthenticated

ISSUER = "ejournal"
AUDIENCE = "ejournal-api"
ALGORITHM = "HS256"


class _SecretCheckedOnce(HMACAlgorithm):
    """HS256 that checks the shape of a key once per key: PyJWT's `prepare_key` refuses PEM, SSH and JWK-shaped
    secrets (an algorithm-confusion defence) by parsing the key on every sign and verify, which was a tenth of
    the gateway's CPU on the check-in path. The gateway's keys are its own secrets, so the verdict is kept."""

    @functools.lru_cache(maxsize=4)  # noqa: B019 - the one instance lives as long as the process
    def prepare_key(self, key: str | bytes) -> bytes:
        return super().prepare_key(key)


jwt.unregister_algorithm(ALGORITHM)
jwt.register_algorithm(ALGORITHM, _SecretCheckedOnce(HMACAlgorithm.SHA256))


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


# -- integration tokens --------------------------------------------------------------------------------
API_TOKEN_PREFIX = "ejt_"
# A token of a faculty system acts as its faculty's dean's office would, read-only unless a scope opens writes.
INTEGRATION_ACTS_AS = "directorate"
OFFICE = ("it_admin", "academic_office")  # the university-wide office roles: every unit's objects are theirs
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The paths whose writes each write scope opens (the route's own role and object checks still apply).
WRITE_AREAS: dict[str, tuple[str, ...]] = {
    "write:attendance": ("/api/v1/sessions/", "/api/v1/excuses"),
    "write:grades": ("/api/v1/assessments", "/api/v1/statements", "/api/v1/corrections"),
    "write:makeup": ("/api/v1/makeups", "/api/v1/disputes", "/api/v1/appeals"),
    "write:orders": ("/api/v1/orders",),
}


def new_api_token() -> tuple[str, str, str]:
    """(the token, shown once; its hash, stored; a hint that tells it apart in a list)."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_api_token(token), token[: len(API_TOKEN_PREFIX) + 4]


def is_api_token(bearer: str) -> bool:
    return bearer.startswith(API_TOKEN_PREFIX)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_usable(active: bool, expires_at: datetime | None, now: datetime) -> bool:
    return active and (expires_at is None or expires_at > now)


def token_may(method: str, path: str, scopes: Iterable[str]) -> bool:
    """Reads are open to every token; a write only to a token whose scopes open that path."""
    if method.upper() in READ_METHODS:
        return True
    return any(path.startswith(prefix) for scope in scopes for prefix in WRITE_AREAS.get(scope, ()))
