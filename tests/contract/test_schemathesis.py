"""The served OpenAPI document against the running code (issue 7 item 4): schemathesis generates requests for
every operation of `GET /api/v1/openapi.json`, valid ones and invalid ones, and sends them to the live gateway of
the test stack. Every answer must be no 5xx, a status code the document lists for that operation, the content type
it lists, and a body that conforms to the schema it documents (problem+json for the errors).

The requests carry the token of a person holding every staff role (`FUZZ_ROLES`), or of a student on the routes
only a student calls, so a body reaches validation and the handler on every route instead of stopping at the role
check; the route table's own role checks are the access matrix's business (tests/e2e/test_access_matrix.py). The
number of examples per operation is bounded (`EJOURNAL_FUZZ_EXAMPLES`, default 12) and the seed fixed, so a run is
repeatable and takes a few minutes on two cores. What fuzzing leaves behind that later tests would trip over (the
simulation clock, the failed logins that throttle 127.0.0.1) is put back at the end; the journal rows it may add
are ordinary data.
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.http import ROUTES, openapi
from gateway.service import GatewayService  # noqa: F401 - declares the routes
from support import admin_query, eventually, person

pytestmark = pytest.mark.e2e
PW = "fuzz-password-1"
EXAMPLES = int(os.environ.get("EJOURNAL_FUZZ_EXAMPLES", "12"))
FUZZ_ROLES = [{"role": "it_admin"}, {"role": "academic_office"}, {"role": "directorate", "scope": "FZF"},
              {"role": "department_head", "scope": "FZD"}, {"role": "teacher"}, {"role": "curator", "scope": "FZ-1"}]
STUDENT_ONLY = {(r.method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.path)) for r in ROUTES if r.roles == ("student",)}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]

CONFIG = schemathesis.Config.from_dict({
    "seed": 20261005,
    "generation": {"max-examples": EXAMPLES, "mode": "all", "with-security-parameters": False,
                   "database": "none"},  # the seed makes a run repeatable; no example database is kept
    "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}, "stateful": {"enabled": False}},
    "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large", "large_base_example"],
})
# The document exactly as the gateway serves it (test_the_served_document_is_the_route_table holds the two equal).
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(openapi())), config=CONFIG)
SEEN: dict[str, int] = {}  # requests per operation
ANSWERS: dict[int, int] = {}  # requests per status code


@pytest.fixture(scope="module")
def fuzzer(stack) -> dict[str, str]:
    """Tokens of a person holding every staff role and of a student (by login), in a faculty of their own; the
    clock and the login throttle are put back after."""
    started = time.monotonic()
    offset = admin_query("SELECT offset_seconds FROM kernel.clock WHERE id = 1")[0][0]
    contingent = {
        "faculties": [{"code": "FZF", "name": "Fuzz faculty"}],
        "departments": [{"code": "FZD", "faculty": "FZF", "name": "Fuzz department"}],
        "groups": [{"code": "FZ-1", "department": "FZD", "course": 1, "subgroups": ["1", "2"]}],
        "students": [person("FZS1", "Fuzz Student", PW, group="FZ-1", subgroup="1")],
        "staff": [person("FZ-EVERY-ROLE", "Fuzz Every Role", PW, department="FZD", roles=FUZZ_ROLES)],
    }
    r = stack.api("POST", "/api/v1/import/contingent", stack.admin(), json=contingent)
    assert r.status_code == 200, r.text
    tokens = {who: eventually(lambda who=who: (lambda r: r.status_code == 200 and r.json()["access_token"])(
        stack.api("POST", "/api/v1/auth/login", json={"login": who, "password": PW})))
        for who in ("fz-every-role", "fzs1")}
    for token in tokens.values():
        eventually(lambda token=token: stack.api("GET", "/api/v1/me", token).status_code == 200)
    yield tokens
    admin_query("UPDATE kernel.clock SET offset_seconds = %s WHERE id = 1", (offset,))
    admin_query("DELETE FROM gateway.login_failure")
    print(f"\nschemathesis: {len(SEEN)} operations, {sum(SEEN.values())} requests, "
          f"answers {dict(sorted(ANSWERS.items()))}, {time.monotonic() - started:.0f} s")


def test_the_served_document_is_the_route_table(stack):
    """Every route of the table is in the served document, with the schema of its answer (or the media type of the
    document it answers) and of its body or file, if it takes one."""
    served = stack.api("GET", "/api/v1/openapi.json")
    assert served.status_code == 200
    doc = served.json()
    assert doc == json.loads(json.dumps(openapi()))
    operations = {(method.upper(), path): op for path, ops in doc["paths"].items() for method, op in ops.items()}
    assert len(operations) == len(ROUTES)
    for r in ROUTES:
        op = operations[(r.method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.path))]
        assert op["responses"][str(r.status)].get("content"), f"{r.method} {r.path}: no answer documented"
        takes = r.body is not None or bool(r.uploads)  # a JSON body, or a file (the portal imports)
        assert takes == ("requestBody" in op), f"{r.method} {r.path}: body not documented"
        if r.uploads:
            assert set(r.uploads) <= set(op["requestBody"]["content"]), f"{r.method} {r.path}: file types"


@schema.parametrize()
def test_every_operation_answers_as_documented(case, stack, fuzzer):
    SEEN[case.operation.label] = SEEN.get(case.operation.label, 0) + 1
    who = "fzs1" if (case.operation.method.upper(), case.operation.path) in STUDENT_ONLY else "fz-every-role"
    response = case.call(base_url=stack.url, headers={"Authorization": f"Bearer {fuzzer[who]}"}, timeout=60)
    ANSWERS[response.status_code] = ANSWERS.get(response.status_code, 0) + 1
    case.validate_response(response, checks=CHECKS)
