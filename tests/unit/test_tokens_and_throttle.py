"""Gateway tokens (fixed algorithm, checked exp/iss/aud) and login throttling (issue 2)."""

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from gateway import auth
from kernel.errors import Unauthenticated

SECRET = "s" * 64
NOW = datetime.now(UTC)


def test_a_token_round_trips():
    token = auth.issue_access_token("T01", SECRET, NOW, 900)
    assert auth.read_access_token(token, SECRET)["sub"] == "T01"


def test_an_expired_token_is_refused():
    token = auth.issue_access_token("T01", SECRET, NOW - timedelta(hours=1), 60)
    with pytest.raises(Unauthenticated, match="expired"):
        auth.read_access_token(token, SECRET)


def test_a_tampered_token_is_refused():
    header, payload, signature = auth.issue_access_token("S0001", SECRET, NOW, 900).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated):
        auth.read_access_token(f"{header}.{forged}.{signature}", SECRET)


def test_alg_none_is_refused():
    claims = {"sub": "admin", "iss": auth.ISSUER, "aud": auth.AUDIENCE, "iat": int(NOW.timestamp()),
              "exp": int(NOW.timestamp()) + 600}
    token = jwt.encode(claims, key=None, algorithm="none")
    with pytest.raises(Unauthenticated):
        auth.read_access_token(token, SECRET)


def test_a_wrong_audience_or_issuer_is_refused():
    for claims in ({"aud": "other"}, {"iss": "other"}):
        base = {"sub": "T01", "iss": auth.ISSUER, "aud": auth.AUDIENCE, "iat": int(NOW.timestamp()),
                "exp": int(NOW.timestamp()) + 600, **claims}
        with pytest.raises(Unauthenticated):
            auth.read_access_token(jwt.encode(base, SECRET, algorithm="HS256"), SECRET)


def test_a_token_signed_with_another_key_is_refused():
    with pytest.raises(Unauthenticated):
        auth.read_access_token(auth.issue_access_token("T01", "k" * 64, NOW, 900), SECRET)


def test_refresh_tokens_are_stored_as_hashes():
    token, stored = auth.new_refresh_token()
    assert token not in stored and auth.hash_refresh_token(token) == stored


def test_fewer_failures_than_the_limit_do_not_throttle():
    failures = [NOW - timedelta(minutes=i) for i in range(9)]
    assert auth.throttled_until(failures, NOW, 10, 900) is None


def test_ten_failures_in_fifteen_minutes_throttle_until_the_oldest_ages_out():
    failures = [NOW - timedelta(minutes=i) for i in range(10)]
    until = auth.throttled_until(failures, NOW, 10, 900)
    assert until == NOW - timedelta(minutes=9) + timedelta(minutes=15)


def test_failures_older_than_the_window_do_not_count():
    failures = [NOW - timedelta(minutes=20 + i) for i in range(30)]
    assert auth.throttled_until(failures, NOW, 10, 900) is None
