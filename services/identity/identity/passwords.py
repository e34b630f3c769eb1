"""argon2id password hashing, off the event loop: hashing is CPU work in C that releases the GIL,
so it runs in eventlet's thread pool and one login burst does not stall every other request."""

from __future__ import annotations

import eventlet
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): one lane per hash lets the thread
# pool hash on every core at once, which an import of a whole university needs.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_hasher = HASHER
# Verifying against this when the login is unknown keeps the answer time the same as a wrong password.
_DUMMY = _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return tpool.execute(_hasher.hash, password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return bool(tpool.execute(_hasher.verify, stored_hash or _DUMMY, password)) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def hash_all(passwords: list[str]) -> list[str]:
    """Hash several at once (an import's new accounts): eight in the thread pool at a time."""
    pool = eventlet.GreenPool(8)
    return list(pool.imap(hash_password, passwords))
