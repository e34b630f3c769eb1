"""Integration tokens (API.md "Integration tokens", issue 7 item 2): the rules without a broker."""

from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import ValidationError

from contracts.identity import TOKEN_SCOPES, TokenRequestSchema
from gateway import auth
from identity import domain

NOW = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def test_a_token_is_told_apart_from_a_jwt_and_only_its_hash_is_kept():
    token, token_hash, hint = auth.new_api_token()
    assert auth.is_api_token(token) and token.startswith("ejt_") and len(token) > 40
    assert not auth.is_api_token(auth.issue_access_token("T01", "s" * 64, NOW, 900))  # a JWT starts with eyJ
    assert token_hash == auth.hash_api_token(token) and len(token_hash) == 64 and token not in token_hash
    assert token.startswith(hint) and len(hint) == 8
    assert auth.new_api_token()[0] != token


def test_reads_are_open_to_every_token_and_a_write_needs_the_scope_of_its_area():
    read_only = ["read"]
    assert auth.token_may("GET", "/api/v1/reports/attendance", read_only)
    assert auth.token_may("HEAD", "/api/v1/sessions/5", read_only)
    assert not auth.token_may("POST", "/api/v1/excuses", read_only)
    assert not auth.token_may("PUT", "/api/v1/sessions/5/attendance", read_only)
    attendance = ["read", "write:attendance"]
    assert auth.token_may("POST", "/api/v1/excuses", attendance)
    assert auth.token_may("POST", "/api/v1/excuses/3/decision", attendance)
    assert not auth.token_may("POST", "/api/v1/assessments", attendance)
    assert not auth.token_may("POST", "/api/v1/tokens", attendance + ["write:grades", "write:orders"])
    assert not auth.token_may("POST", "/api/v1/auth/password", list(TOKEN_SCOPES))


def test_the_write_scopes_are_the_ones_identity_accepts_and_each_opens_declared_write_routes():
    import gateway.service  # noqa: F401 - declares the routes
    from gateway.http import ROUTES

    assert set(TOKEN_SCOPES) == {"read", *auth.WRITE_AREAS}
    writes = [r.path.split("<")[0] for r in ROUTES if r.method != "GET"]
    for scope, prefixes in auth.WRITE_AREAS.items():
        for prefix in prefixes:
            assert any(p.startswith(prefix) for p in writes), f"{scope}: no write route under {prefix}"


def test_a_revoked_or_expired_token_is_not_usable():
    assert auth.token_usable(True, None, NOW)
    assert auth.token_usable(True, NOW + timedelta(seconds=1), NOW)
    assert not auth.token_usable(True, NOW, NOW)
    assert not auth.token_usable(False, None, NOW)


def test_a_token_request_names_a_known_faculty_known_scopes_and_a_future_expiry():
    schema = TokenRequestSchema()
    body = schema.load({"name": "Деканат ФИТ", "faculty": "FIT"})
    assert body["scopes"] == ["read"] and body["expires"] is None
    assert not domain.check_token(body, {"FIT"}, NOW)
    assert domain.check_token(body, {"FEC"}, NOW).by_field.keys() == {"faculty"}
    late = schema.load({"name": "x", "faculty": "FIT", "expires": "2026-10-05T14:00:00+06:00"})
    assert "expires" in domain.check_token(late, {"FIT"}, NOW).by_field
    repeated = schema.load({"name": "x", "faculty": "FIT", "scopes": ["read", "read"]})
    assert "scopes" in domain.check_token(repeated, {"FIT"}, NOW).by_field
    for bad in ({"name": "x", "faculty": "FIT", "scopes": ["admin"]}, {"name": "", "faculty": "FIT"},
                {"name": "x", "faculty": "FIT", "scopes": []},
                {"name": "x", "faculty": "FIT", "expires": "2027-01-01T00:00:00"}):  # no offset
        with pytest.raises(ValidationError):
            schema.load(bad)
