"""Hostile input (issue 8 item 3), swept over the gateway's route table as the IT admin (who passes every role
check, so the bodies reach validation): malformed JSON, a JSON array, wrong types in every field, oversized
bodies, injection strings. Every answer is a 4xx problem+json without internals, nothing is stored (the row
counts of every service's tables, outbox and audit log are unchanged), and injection strings that are valid data
are stored and given back verbatim, as data. Tokens (tampered, expired, `alg: none`) and brute-force logins are in
test_foundation.py; the access matrix in test_access_matrix.py.
"""

from __future__ import annotations

import re

import pytest

from gateway.http import ROUTES
from gateway.service import GatewayService  # noqa: F401 - declares the routes
from support import admin_query, eventually

pytestmark = pytest.mark.e2e
SCHEMAS = ("identity", "attendance", "grading", "makeup", "reports", "gateway")
INJECTIONS = ["Robert'); DROP TABLE attendance.mark;--", "<script>alert('x')</script>", "${jndi:ldap://x/a}",
              "{{7*7}}", "../../etc/passwd", "\u202eотчёт", "ө ү ң қ ә ғ ұ і \x00"]
LEAKS = re.compile(r"Traceback|File \"|psycopg2|sqlalchemy|nameko|/work/|\.py\b", re.IGNORECASE)


def counts() -> dict[str, int]:
    rows = admin_query("SELECT schemaname || '.' || relname, n_live_tup + n_tup_ins FROM pg_stat_user_tables "
                       "WHERE schemaname = ANY(%s)", (list(SCHEMAS),))
    exact = {}
    for table, _ in rows:  # pg_stat lags; count exactly
        exact[table] = admin_query(f"SELECT count(*) FROM {table}")[0][0]
    return exact


def bad_bodies(route) -> list[tuple[str, bytes]]:
    """(what, raw body) for a route that takes a body."""
    fields = list(route.body().fields.values()) if route.body else []
    wrong_types = {(f.data_key or f.name): [1, 2] if f.__class__.__name__ != "List" else "not a list"
                   for f in fields}
    import json

    return [("malformed JSON", b'{"a": '), ("a JSON array", b"[1, 2]"), ("a JSON string", b'"x"'),
            ("wrong types in every field", json.dumps(wrong_types).encode()),
            ("nested far too deep", b'{"a":' * 5000 + b"1" + b"}" * 5000)]


def test_bad_bodies_answer_4xx_store_nothing_and_leak_nothing(stack):
    token = stack.admin()
    eventually(lambda: stack.api("GET", "/ready").status_code == 200, timeout=60)
    before = counts()
    answered: dict[int, int] = {}
    failures = []
    for route in ROUTES:
        if route.method == "GET" or route.public:
            continue
        path = re.sub(r"<(?:int:)?[^>]+>", "1", route.path)
        hostile = bad_bodies(route) if route.body else []  # a route without a body reads none
        for what, raw in hostile + [("11 MB", b"x" * (11 * 1024 * 1024))]:
            r = stack.api(route.method, path, token, data=raw, headers={"Content-Type": "application/json"},
                          timeout=60)
            answered[r.status_code] = answered.get(r.status_code, 0) + 1
            if not 400 <= r.status_code < 500 or LEAKS.search(r.text):
                failures.append(f"{route.method} {route.path} with {what}: {r.status_code} {r.text[:200]}")
            elif what == "11 MB" and r.status_code != 413 and (route.roles is None or "it_admin" in route.roles):
                failures.append(f"{route.method} {route.path} with {what}: {r.status_code}, not 413")
            elif r.headers.get("Content-Type") != "application/problem+json":
                failures.append(f"{route.method} {route.path} with {what}: {r.headers.get('Content-Type')}")
    after = counts()
    changed = {t: (before.get(t), n) for t, n in after.items() if before.get(t) != n}
    print(f"\nhostile bodies: {sum(answered.values())} requests, answers {dict(sorted(answered.items()))}, "
          f"tables changed: {len(changed)}")
    assert not failures, "\n".join(failures)
    # the gateway's own security state (login throttling) may move; the journal's data may not
    assert not {t: c for t, c in changed.items() if not t.startswith("gateway.login")}, changed


def test_injection_strings_are_data_stored_and_given_back_verbatim(stack):
    token = stack.admin()
    names = {f"HX{i}": text.replace("\x00", "") for i, text in enumerate(INJECTIONS)}
    body = {"faculties": [{"code": "HXF", "name": INJECTIONS[0]}],
            "departments": [{"code": "HXD", "faculty": "HXF", "name": INJECTIONS[1]}],
            "groups": [{"code": "HX-1", "department": "HXD", "course": 1, "subgroups": []}],
            "students": [{"code": code, "full_name": name, "group": "HX-1", "login": code.lower(),
                          "password": "hostile-password-1"} for code, name in names.items()]}
    with_nul = stack.api("POST", "/api/v1/import/contingent", token, json={
        **body, "students": [{**body["students"][0], "full_name": "a\x00b"}]})
    assert with_nul.status_code == 422, "a NUL character is refused, not stored"
    r = stack.api("POST", "/api/v1/import/contingent", token, json=body)
    assert r.status_code == 200, r.text
    assert admin_query("SELECT count(*) FROM attendance.mark")[0][0] >= 0, "the table is still there"
    for code, name in names.items():
        me = eventually(lambda code=code: (lambda r: r if r.status_code == 200 else None)(stack.api(
            "POST", "/api/v1/auth/login", json={"login": code.lower(), "password": "hostile-password-1"})))
        mine = stack.api("GET", "/api/v1/me", me.json()["access_token"]).json()
        assert mine["full_name"] == name, (mine["full_name"], name)
