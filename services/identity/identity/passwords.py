"""argon2id password hashing, off the event loop: hashing is CPU work in C that releases the GIL,
so it runs in eventlet's thread pool and one login burst does not stall every other request."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool

_hasher = PasswordHasher()  # argon2id, the library's RFC 9106 low-memory profile
# Verifying against this when the login is unknown keeps the answer time the same as a wrong password.
_DUMMY = _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return tpool.execute(_hasher.hash, password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return bool(tpool.execute(_hasher.verify, stored_hash or _DUMMY, password)) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
