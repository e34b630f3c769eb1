"""Hostile input (issue 8 item 3), swept over the gateway's route table.

The sweeps call every route as a person holding every role (`EVERY_ROLE`), so a body gets past the role check to
validation and the handler. Every answer is a 4xx problem+json without internals (no 5xx), and:
- malformed JSON, a JSON array or string, wrong types in every field, nesting past the recursion limit, control
  characters (NUL: PostgreSQL refuses it in text) in every text field, 11 MB: nothing is stored (the row counts of
  every service's tables, outbox and audit log are unchanged); the 11 MB body is a 413;
- injection strings (SQL, script, template, JNDI, path, bidi) in every text field of every body, query parameter
  and path segment: never a 5xx, and whatever is stored is stored verbatim, as data, and answered back as JSON;
- extra and read-only fields in bodies are ignored, never written;
- tokens with the wrong audience or issuer, another algorithm, another key or a missing claim answer 401, and a
  login tried against many accounts from one address is throttled (429).
Elsewhere: tampered, expired and `alg: none` tokens and the throttle of one account are in test_foundation.py
(test_tampered_expired_and_unsigned_tokens_answer_401, test_repeated_wrong_passwords_throttle_that_account_only),
a malformed and an 11 MB import in test_a_malformed_body_is_refused_without_a_5xx there, the access matrix in
test_access_matrix.py, generated requests against the OpenAPI document in tests/contract/test_schemathesis.py.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from marshmallow import fields

from gateway.http import ROUTES
from gateway.service import GatewayService  # noqa: F401 - declares the routes
from support import admin_query, eventually, person

pytestmark = pytest.mark.e2e
PW = "hostile-password-1"
SCHEMAS = ("identity", "attendance", "grading", "makeup", "reports", "gateway")
INJECTIONS = [
    "Robert'); DROP TABLE attendance.mark;--",
    "1' OR '1'='1",
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "${jndi:ldap://x/a}",
    "{{7*7}}",
    "../../etc/passwd",
    "\u202eотчёт",
    "ө ү ң қ ә ғ ұ і",
]
CONTROLS = ["a\x00b", "a\x1bb", "a\ud800b"]  # NUL, ESC, a lone surrogate
LEAKS = re.compile(r"Traceback|File \"|psycopg2|sqlalchemy|nameko|/work/|\.py\b|SELECT |INSERT ", re.IGNORECASE)
EVERY_ROLE = [
    {"role": "it_admin"},
    {"role": "academic_office"},
    {"role": "directorate", "scope": "HXF"},
    {"role": "department_head", "scope": "HXD"},
    {"role": "teacher"},
    {"role": "curator", "scope": "HX-1"},
]  # and, for the routes only a student calls, the student HXS (an import grants no staff member `student`)


def login(stack, name: str) -> str:
    r = eventually(lambda: (lambda r: r if r.status_code == 200 else None)(
        stack.api("POST", "/api/v1/auth/login", json={"login": name, "password": PW})), timeout=30)
    return r.json()["access_token"]


@pytest.fixture(scope="module")
def hx(stack):
    """A faculty of its own: a teacher with a session, a student, and a person holding every role."""
    admin = stack.admin()
    r = stack.api("POST", "/api/v1/import/contingent", admin, json={
        "faculties": [{"code": "HXF", "name": "Hostile faculty"}],
        "departments": [{"code": "HXD", "faculty": "HXF", "name": "Hostile department"}],
        "groups": [{"code": "HX-1", "department": "HXD", "course": 1, "subgroups": ["1"]}],
        "students": [person("HXS", "Hostile Student", PW, group="HX-1", subgroup="1")],
        "staff": [person("HXT", "Hostile Teacher", PW, department="HXD", roles=[{"role": "teacher"}]),
                  person("HX-EVERY", "Hostile Every Role", PW, department="HXD", roles=EVERY_ROLE)]})
    assert r.status_code == 200, r.text
    r = stack.api("POST", "/api/v1/import/load", admin, json={
        "disciplines": [{"code": "HXDIS", "name": "Hostile discipline", "control": "exam", "credits": 4}],
        "assignments": [{"teacher": "HXT", "discipline": "HXDIS", "group": "HX-1", "kind": "lecture"}]})
    assert r.status_code == 200, r.text
    timetable = {"term": {"code": "HX-2027", "starts": "2027-09-01", "ends": "2027-12-31"},
                 "sessions": [{"ref": "hx:1", "discipline": "HXDIS", "group": "HX-1", "kind": "lecture",
                               "teacher": "HXT", "starts_at": "2027-10-04T09:00:00+06:00", "minutes": 80}]}
    r = eventually(lambda: (lambda r: r if r.status_code == 200 else None)(
        stack.api("POST", "/api/v1/import/timetable", admin, json=timetable)), timeout=60)
    tokens = {"teacher": login(stack, "hxt"), "student": login(stack, "hxs"), "every": login(stack, "hx-every")}
    session = r.json()["sessions"]["hx:1"]
    eventually(lambda: stack.api("GET", f"/api/v1/sessions/{session}", tokens["teacher"]).status_code == 200)
    return {"tokens": tokens, "session": session}


# what the reports service writes on its own schedule (RULES.md §8), whatever the requests do
ON_SCHEDULE = {"reports.scheduled_report": "true", "reports.outbox": "type = 'report.ready'"}


def counts() -> dict[str, int]:
    tables = admin_query("SELECT schemaname || '.' || relname FROM pg_stat_user_tables WHERE schemaname = ANY(%s)",
                         (list(SCHEMAS),))
    return {t: admin_query(f"SELECT count(*) FROM {t} WHERE NOT ({ON_SCHEDULE.get(t, 'false')})")[0][0]
            for (t,) in tables}


NO_SUCH_ID = "999999999"  # no object is touched by a sweep, whatever the earlier tests made


def caller(hx, route) -> str:
    return hx["tokens"]["student" if route.roles == ("student",) else "every"]


def concrete(route) -> str:
    return re.sub(r"<(?:int:)?[^>]+>", NO_SUCH_ID, route.path)


def sample(schema, text: str) -> dict:
    """A body of `schema` with `text` in every text field and plausible values elsewhere."""

    def value(f):
        if isinstance(f, fields.Nested):
            return sample(f.nested if isinstance(f.nested, type) else type(f.nested), text)
        if isinstance(f, fields.List):
            return [value(f.inner)]
        if isinstance(f, fields.Boolean):
            return True
        if isinstance(f, fields.Integer | fields.Float | fields.Decimal):
            return int(NO_SUCH_ID)
        if isinstance(f, fields.AwareDateTime | fields.DateTime):
            return "2027-10-04T09:00:00+06:00"
        if isinstance(f, fields.Date):
            return "2027-10-04"
        if isinstance(f, fields.Dict):
            return {text: text}
        return text

    return {(f.data_key or name): value(f) for name, f in schema().fields.items()}


def bad_bodies(route) -> list[tuple[str, bytes]]:
    """(what, raw body) for a route that takes a body."""
    wrong_types = {(f.data_key or name): [1, 2] if not isinstance(f, fields.List) else "not a list"
                   for name, f in route.body().fields.items()}
    return [("malformed JSON", b'{"a": '), ("a JSON array", b"[1, 2]"), ("a JSON string", b'"x"'),
            ("wrong types in every field", json.dumps(wrong_types).encode()),
            ("nested far too deep", b'{"a":' * 5000 + b"1" + b"}" * 5000),
            *[(f"{c!r} in every text field", json.dumps(sample(route.body, c)).encode()) for c in CONTROLS
              if has_text(route.body)]]


def has_text(schema) -> bool:
    return "\\u0001" in json.dumps(sample(schema, "\x01"))


def judge(route, what: str, r, failures: list[str]) -> None:
    if r.status_code >= 500 or LEAKS.search(r.text):
        failures.append(f"{route.method} {route.path} with {what}: {r.status_code} {r.text[:300]}")
    elif r.status_code >= 400 and r.headers.get("Content-Type") != "application/problem+json":
        failures.append(f"{route.method} {route.path} with {what}: {r.status_code} as {r.headers.get('Content-Type')}")


def test_bad_bodies_answer_4xx_store_nothing_and_leak_nothing(stack, hx):
    before = counts()
    answered: dict[int, int] = {}
    failures: list[str] = []
    for route in ROUTES:
        if route.method == "GET" or route.public:
            continue
        hostile = bad_bodies(route) if route.body else []  # a route without a body reads none
        for what, raw in [*hostile, ("11 MB", b"x" * (11 * 1024 * 1024))]:
            r = stack.api(route.method, concrete(route), caller(hx, route), data=raw,
                          headers={"Content-Type": "application/json"}, timeout=60)
            answered[r.status_code] = answered.get(r.status_code, 0) + 1
            judge(route, what, r, failures)
            if not 400 <= r.status_code < 500:
                failures.append(f"{route.method} {route.path} with {what}: {r.status_code}, not a 4xx")
            elif what == "11 MB" and r.status_code != 413:
                failures.append(f"{route.method} {route.path} with {what}: {r.status_code}, not 413")
            elif what.endswith("in every text field") and r.status_code != 422:
                failures.append(f"{route.method} {route.path} with {what}: {r.status_code}, not 422")
    changed = {t: (before.get(t), n) for t, n in counts().items() if before.get(t) != n}
    print(f"\nhostile bodies: {sum(answered.values())} requests, answers {dict(sorted(answered.items()))}, "
          f"tables changed: {len(changed)}")
    assert not failures, "\n".join(failures)
    # the gateway's own security state (login throttling) may move; the journal's data may not
    assert not {t: c for t, c in changed.items() if not t.startswith("gateway.login")}, changed


def test_control_characters_in_the_query_path_and_login_are_422(stack, hx):
    token = hx["tokens"]["every"]
    for method, path in (("GET", "/api/v1/sessions?group=HX%00-1"), ("GET", "/api/v1/students/HX%00S/record"),
                         ("GET", "/api/v1/reports/at-risk?group=%1B"), ("GET", "/api/v1/audit?student=%00")):
        r = stack.api(method, path, token)
        assert r.status_code == 422 and r.json()["code"] == "validation_error", (path, r.status_code, r.text)
    r = stack.api("POST", "/api/v1/auth/login", json={"login": "hxs\x00", "password": PW})
    assert r.status_code == 422 and "login" in r.json()["errors"], r.text
    # a path no route can match (a line break in it; found by tests/contract) or a method none takes: problem+json
    for method, path in (("GET", "/api/v1/sessions/a%0Ab/roster"), ("POST", "/api/v1/%0D%0A"),
                         ("OPTIONS", "/api/v1/me")):
        r = stack.api(method, path, token)
        assert r.status_code == 404 and r.headers["Content-Type"] == "application/problem+json", (path, r.text)
        assert r.json()["code"] == "not_found"


def test_injection_strings_in_every_field_never_give_5xx_and_come_back_as_json(stack, hx):
    """Every text field of every body, every query parameter and every text path segment gets each injection
    string; what the journal keeps of it (a token's name, an import's names) is given back verbatim."""
    failures: list[str] = []
    calls = 0
    for route in ROUTES:
        if route.name == "set_clock":  # its one field is a time: a valid body would move the clock of later tests
            continue
        for text in INJECTIONS:
            path = re.sub(r"<int:[^>]+>", NO_SUCH_ID, route.path)
            path = re.sub(r"<[^>]+>", text.replace("/", "%2F").replace("?", "%3F"), path)
            params = {name: text for name in route.params}
            body = sample(route.body, text) if route.body else None
            r = stack.api(route.method, path, caller(hx, route), params=params, json=body, timeout=60)
            calls += 1
            judge(route, repr(text), r, failures)
            if 200 <= r.status_code < 300 and r.headers.get("Content-Type") == "application/json":
                if r.headers.get("X-Content-Type-Options") != "nosniff":
                    failures.append(f"{route.method} {route.path}: JSON without X-Content-Type-Options: nosniff")
                r.json()  # JSON, whatever it holds
    print(f"\ninjection strings: {calls} requests")
    assert not failures, "\n".join(failures)
    assert admin_query("SELECT to_regclass('attendance.mark') IS NOT NULL")[0][0], "the table is still there"


def test_injection_strings_are_data_stored_and_given_back_verbatim(stack, hx):
    admin, teacher = stack.admin(), hx["tokens"]["teacher"]
    names = {f"HXN{i}": text for i, text in enumerate(INJECTIONS)}
    body = {"faculties": [{"code": "HXF2", "name": INJECTIONS[0]}],
            "departments": [{"code": "HXD2", "faculty": "HXF2", "name": INJECTIONS[2]}],
            "groups": [{"code": "HX-2", "department": "HXD2", "course": 1, "subgroups": []}],
            "students": [person(code, name, PW, group="HX-2") for code, name in names.items()]}
    for control in CONTROLS:
        bad = {**body, "students": [{**body["students"][0], "full_name": control}]}
        r = stack.api("POST", "/api/v1/import/contingent", admin, json=bad)
        assert r.status_code == 422 and "students[0].full_name" in r.json()["errors"], (control, r.text)
    r = stack.api("POST", "/api/v1/import/contingent", admin, json=body)
    assert r.status_code == 200, r.text
    for code, name in names.items():
        mine = stack.api("GET", "/api/v1/me", login(stack, code.lower()))
        assert mine.headers["X-Content-Type-Options"] == "nosniff"
        assert mine.json()["full_name"] == name, (mine.json()["full_name"], name)
        assert json.dumps(name, ensure_ascii=False)[1:-1] in mine.text, "answered as a JSON string"
    session = hx["session"]
    for text in INJECTIONS:
        r = stack.api("PUT", f"/api/v1/sessions/{session}/plan", teacher, json={"planned_topic": text})
        assert r.status_code == 200 and r.json()["planned_topic"] == text, r.text
        assert stack.api("GET", f"/api/v1/sessions/{session}", teacher).json()["planned_topic"] == text
        r = stack.api("POST", "/api/v1/assessments", teacher, json={
            "group": "HX-1", "discipline": "HXDIS", "kind": "current", "title": text, "date": "2027-10-04", "max": 10})
        assert r.status_code == 201 and r.json()["title"] == text, r.text
        assert stack.api("GET", f"/api/v1/assessments/{r.json()['id']}", teacher).json()["title"] == text
        r = stack.api("POST", "/api/v1/tokens", admin, json={"name": text, "faculty": "HXF"})
        assert r.status_code == 201 and r.json()["name"] == text, r.text
        assert stack.api("GET", f"/api/v1/tokens/{r.json()['id']}", admin).json()["name"] == text
    assert admin_query("SELECT count(*) FROM attendance.mark")[0][0] >= 0, "the table is still there"


def test_extra_and_read_only_fields_are_ignored_never_written(stack, hx):
    admin = stack.admin()
    r = stack.api("POST", "/api/v1/import/contingent", admin, json={
        "students": [{**person("HXS3", "Extra Fields", PW, group="HX-1"), "roles": [{"role": "it_admin"}],
                      "kind": "staff", "active": False, "revision": 999, "id": 1, "is_admin": True}],
        "admins": [{"code": "HXA", "login": "hxa", "password": PW}]})
    assert r.status_code == 200, r.text
    me = stack.api("GET", "/api/v1/me", login(stack, "hxs3")).json()
    assert me["roles"] == [{"role": "student", "scope": None}] and me["group"] == "HX-1", me
    assert stack.api("POST", "/api/v1/auth/login", json={"login": "hxa", "password": PW}).status_code == 401
    r = stack.api("POST", "/api/v1/tokens", admin, json={
        "name": "extra", "faculty": "HXF", "id": 999999, "token": "ejt_chosen", "active": False, "use_count": 99,
        "created_by": "HXS", "revoked_at": "2020-01-01T00:00:00+00:00", "hint": "ejt_x"})
    made = r.json()
    assert r.status_code == 201 and made["id"] != 999999 and made["token"] != "ejt_chosen", made
    assert (made["active"], made["use_count"], made["revoked_at"]) == (True, 0, None), made
    assert made["created_by"] != "HXS" and made["hint"] == made["token"][:8], made
    r = stack.api("PUT", f"/api/v1/sessions/{hx['session']}/plan", hx["tokens"]["teacher"], json={
        "planned_topic": "Extra", "teacher": "HXS", "group": "HX-9", "id": 1, "marks": [{"student": "HXS"}]})
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["teacher"], r.json()["group"]) == (hx["session"], "HXT", "HX-1"), r.json()


def test_foreign_tokens_answer_401(stack, hx):
    """Beside test_foundation's tampered, expired and unsigned tokens: the wrong audience or issuer, another
    HMAC algorithm, another key, a missing claim, a token of no one."""
    secret = os.environ["EJOURNAL_JWT_SECRET"]
    now = datetime.now(UTC)
    claims = {"sub": "HXT", "iss": "ejournal", "aud": "ejournal-api", "iat": int(now.timestamp()),
              "exp": int((now + timedelta(hours=1)).timestamp())}
    assert stack.api("GET", "/api/v1/me", jwt.encode(claims, secret, algorithm="HS256")).status_code == 200
    foreign = {
        "wrong audience": jwt.encode({**claims, "aud": "another-api"}, secret, algorithm="HS256"),
        "no audience": jwt.encode({k: v for k, v in claims.items() if k != "aud"}, secret, algorithm="HS256"),
        "wrong issuer": jwt.encode({**claims, "iss": "someone"}, secret, algorithm="HS256"),
        "HS512": jwt.encode(claims, secret, algorithm="HS512"),
        "another key": jwt.encode(claims, "another-secret-of-32-bytes-or-more!", algorithm="HS256"),
        "no exp": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, secret, algorithm="HS256"),
        "not yet valid": jwt.encode({**claims, "nbf": int((now + timedelta(hours=1)).timestamp())}, secret,
                                    algorithm="HS256"),
        "a person who is not": jwt.encode({**claims, "sub": "NOBODY"}, secret, algorithm="HS256"),
        "an unknown API token": "ejt_" + "A" * 43,
    }
    for what, token in foreign.items():
        r = stack.api("GET", "/api/v1/me", token)
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated", (what, r.status_code, r.text)
        r = stack.api("PUT", f"/api/v1/sessions/{hx['session']}/plan", token, json={"planned_topic": what})
        assert r.status_code == 401, (what, r.status_code)
    for header in ("Bearer", "Basic aHh0OnBhc3M=", "Bearer a.b", "Token " + jwt.encode(claims, secret)):
        r = stack.api("GET", "/api/v1/me", headers={"Authorization": header})
        assert r.status_code == 401, (header, r.status_code)


def test_guessing_many_accounts_from_one_address_is_throttled(stack, hx):
    """The per-account throttle is test_foundation's; guessing across accounts meets the per-address one."""
    from kernel.config import settings

    limit = settings().address_max_failures
    try:
        answers = []
        for i in range(limit):  # earlier failures from this address inside the window count as well
            r = stack.api("POST", "/api/v1/auth/login", json={"login": f"nobody{i}", "password": "guess-123456"})
            answers.append(r.status_code)
            if r.status_code == 429:
                break
        assert set(answers) <= {401, 429} and answers.count(401) >= 1, answers
        r = stack.api("POST", "/api/v1/auth/login", json={"login": "hxs", "password": PW})
        assert r.status_code == 429 and r.json()["code"] == "rate_limited" and int(r.headers["Retry-After"]) > 0
    finally:  # later tests log in from this address too
        admin_query("DELETE FROM gateway.login_failure WHERE login LIKE 'nobody%%'")
    assert stack.api("POST", "/api/v1/auth/login", json={"login": "hxs", "password": PW}).status_code == 200
