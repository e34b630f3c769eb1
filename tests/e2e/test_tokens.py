"""Issue 7 item 2, tried as a faculty system would: an integration token created by the IT admin, used as a
Bearer token, counted, scoped to its faculty (404 for another faculty's group), read-only unless granted a write
scope, revoked (401 at once), and stored only as a hash (API.md "Integration tokens")."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from functools import partial

import psycopg2
import pytest

import support
from support import eventually, until_status

pytestmark = pytest.mark.e2e
PW = "tokens-pw-1"
GA, GB = "ИН-1-26", "ЭК-1-26"  # groups of faculty FTA and FTB

person = partial(support.person, password=PW)


@pytest.fixture(scope="module")
def faculties(stack):
    admin = stack.admin()
    r = stack.api("POST", "/api/v1/import/contingent", admin, json={
        "faculties": [{"code": "FTA", "name": "Интеграция факультети"}, {"code": "FTB", "name": "Экономика"}],
        "departments": [{"code": "DTA", "faculty": "FTA", "name": "Маалымат системалары"},
                        {"code": "DTB", "faculty": "FTB", "name": "Эсеп"}],
        "groups": [{"code": GA, "department": "DTA", "course": 1, "subgroups": []},
                   {"code": GB, "department": "DTB", "course": 1, "subgroups": []}],
        "students": [person("SA1", "Асанова Айпери", group=GA), person("SA2", "Бакиров Нурбек", group=GA),
                     person("SB1", "Токтосунов Эрмек", group=GB)],
        "staff": [person("TKA", "Жумабаева Гүлзат", department="DTA", roles=[{"role": "teacher"}]),
                  person("TKB", "Осмонов Бакыт", department="DTB", roles=[{"role": "teacher"}])]})
    assert r.status_code == 200, r.text
    eventually(lambda: stack.api("POST", "/api/v1/auth/login", json={"login": "tkb", "password": PW}).ok)
    r = stack.api("POST", "/api/v1/import/load", admin, json={
        "disciplines": [{"code": "INT", "name": "Интеграция", "control": "credit", "credits": 3}],
        "assignments": [{"teacher": "TKA", "discipline": "INT", "group": GA, "kind": "lecture"},
                        {"teacher": "TKB", "discipline": "INT", "group": GB, "kind": "lecture"}]})
    assert r.status_code == 200, r.text
    timetable = {"term": {"code": "2027-2028-1", "starts": "2027-09-01", "ends": "2027-12-31"},
                 "sessions": [{"ref": ref, "discipline": "INT", "group": group, "kind": "lecture", "teacher": teacher,
                               "starts_at": "2027-11-01T09:00:00+06:00", "minutes": 80}
                              for ref, group, teacher in (("TA", GA, "TKA"), ("TB", GB, "TKB"))]}
    sessions = until_status(lambda: stack.api("POST", "/api/v1/import/timetable", admin, json=timetable),
                            200).json()["sessions"]
    eventually(lambda: stack.api("GET", f"/api/v1/sessions/{sessions['TA']}", stack.login("tka", PW)).ok)
    stack.set_clock("2027-11-01T10:00:00+06:00")  # a year no other test archives
    for login, session, students in (("tka", sessions["TA"], ("SA1", "SA2")), ("tkb", sessions["TB"], ("SB1",))):
        r = stack.api("PUT", f"/api/v1/sessions/{session}/attendance", stack.login(login, PW),
                      json={"marks": [{"student": s, "status": "absent" if s == "SA2" else "present"}
                                      for s in students]})
        assert r.status_code == 200, r.text
    return sessions


def create(stack, **body):
    return stack.api("POST", "/api/v1/tokens", stack.admin(), json={"name": "Деканат", "faculty": "FTA", **body})


def listed(stack, token_id):
    r = stack.api("GET", "/api/v1/tokens", stack.admin())
    assert r.status_code == 200, r.text
    return next(t for t in r.json()["items"] if t["id"] == token_id)


def db_value(sql: str, *params):
    from kernel.config import settings

    cfg = settings()
    conn = psycopg2.connect(host=cfg.pg_host, port=cfg.pg_port, dbname=cfg.db_name, user=cfg.admin_role,
                            password=cfg.pg_admin_password)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_a_read_token_reads_its_faculty_404_elsewhere_counted_then_revoked(stack, faculties):
    r = create(stack)
    assert r.status_code == 201, r.text
    created = r.json()
    token, token_id = created["token"], created["id"]
    assert token.startswith("ejt_") and created["scopes"] == ["read"] and created["active"]
    assert created["use_count"] == 0 and created["last_used_at"] is None

    me = stack.api("GET", "/api/v1/me", token)
    assert me.status_code == 200, me.text
    assert me.json()["roles"] == [{"role": "integration", "scope": "FTA"}] and me.json()["scopes"] == ["read"]
    rows = eventually(lambda: [row for row in stack.api("GET", f"/api/v1/reports/attendance?group={GA}", token)
                               .json()["rows"] if row["discipline"] == "INT" and row["total"] >= 2])
    assert rows[0]["marks"]["present"] == 1 and rows[0]["marks"]["absent"] == 1

    before = listed(stack, token_id)["use_count"]
    answers = {
        f"/api/v1/reports/attendance?group={GA}": 200,
        "/api/v1/reports/attendance?faculty=FTA": 200,
        "/api/v1/reports/attendance": 200,  # its own faculty
        f"/api/v1/reports/attendance?group={GB}": 404,  # another faculty's group is not there for it
        "/api/v1/reports/attendance?faculty=FTB": 404,
        f"/api/v1/sessions/{faculties['TA']}": 200,
        f"/api/v1/sessions/{faculties['TB']}": 404,
        f"/api/v1/gradebook?group={GB}&discipline=INT": 404,
    }
    for path, status in answers.items():
        r = stack.api("GET", path, token)
        assert r.status_code == status, f"{path}: {r.status_code} {r.text[:300]}"
    report = stack.api("GET", "/api/v1/reports/attendance", token).json()
    assert {row["group"] for row in report["rows"]} == {GA}, "its faculty's groups only"
    uses = len(answers) + 1
    after = listed(stack, token_id)
    assert after["use_count"] == before + uses, "every use is counted"
    assert after["last_used_at"] is not None and after["active"] and "token" not in after

    r = stack.api("DELETE", f"/api/v1/tokens/{token_id}", stack.admin())
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["revoked_at"], r.text
    refused = stack.api("GET", "/api/v1/reports/attendance", token)
    assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"
    assert stack.api("DELETE", f"/api/v1/tokens/{token_id}", stack.admin()).status_code == 200, "revoking twice"
    assert stack.api("DELETE", "/api/v1/tokens/999999", stack.admin()).status_code == 404


def test_a_write_needs_a_write_scope_and_stays_inside_the_faculty(stack, faculties):
    read_only = create(stack).json()["token"]
    writer = create(stack, name="Деканат: справки", scopes=["read", "write:attendance"]).json()["token"]
    excuse = {"student": "SA1", "from": "2027-11-01", "to": "2027-11-02", "kind": "sick", "document": "№ 12"}
    r = stack.api("POST", "/api/v1/excuses", read_only, json=excuse)
    assert r.status_code == 403 and r.json()["code"] == "forbidden", "read-only unless granted"
    assert stack.api("POST", "/api/v1/auth/password", writer,
                     json={"old_password": "x" * 8, "new_password": "y" * 8}).status_code == 403
    r = stack.api("POST", "/api/v1/excuses", writer, json=excuse)
    assert r.status_code == 201, r.text
    assert r.json()["student"] == "SA1"
    r = stack.api("POST", "/api/v1/excuses", writer, json={**excuse, "student": "SB1"})
    assert r.status_code == 404, "a student of another faculty is not there for it"
    assert stack.api("POST", "/api/v1/tokens", writer, json={"name": "x", "faculty": "FTA"}).status_code == 403


def test_only_the_it_admin_manages_tokens_and_bad_input_stores_nothing(stack, faculties):
    count = len(stack.api("GET", "/api/v1/tokens?limit=500", stack.admin()).json()["items"])
    teacher = stack.login("tka", PW)
    assert stack.api("POST", "/api/v1/tokens", teacher, json={"name": "x", "faculty": "FTA"}).status_code == 403
    assert stack.api("GET", "/api/v1/tokens", teacher).status_code == 403
    for bad, field in (({"faculty": "NOPE"}, "faculty"), ({"faculty": GA}, "faculty"), ({"scopes": ["admin"]},
                       "scopes[0]"), ({"scopes": []}, "scopes"), ({"expires": "2020-01-01T00:00:00+06:00"}, "expires"),
                       ({"name": ""}, "name")):
        r = create(stack, **bad)
        assert r.status_code == 422 and field in r.json()["errors"], (bad, r.text)
    assert len(stack.api("GET", "/api/v1/tokens?limit=500", stack.admin()).json()["items"]) == count
    assert stack.api("GET", "/api/v1/me", "ejt_" + "x" * 43).status_code == 401
    assert stack.api("GET", "/api/v1/tokens?cursor=abc", stack.admin()).status_code == 422


def test_a_token_expires(stack, faculties):
    expires = datetime.now(UTC) + timedelta(seconds=3)
    r = create(stack, expires=expires.isoformat())
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert stack.api("GET", "/api/v1/me", token).status_code == 200
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.5)
    assert stack.api("GET", "/api/v1/me", token).status_code == 401
    assert listed(stack, r.json()["id"])["active"] is False


def test_a_token_is_stored_only_as_its_hash(stack, faculties):
    created = create(stack, name="Хэш").json()
    token, token_id = created["token"], created["id"]
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert db_value("SELECT token_hash FROM identity.api_token WHERE id = %s", token_id) == digest
    eventually(lambda: db_value("SELECT token_hash FROM gateway.api_token WHERE id = %s", token_id) == digest)
    for table in ("identity.api_token", "identity.outbox", "identity.audit_log", "gateway.api_token"):
        found = db_value(f"SELECT count(*) FROM {table} t WHERE strpos(row_to_json(t)::text, %s) > 0", token)
        assert found == 0, f"the token itself is in {table}"
    assert all("token" not in t for t in stack.api("GET", "/api/v1/tokens", stack.admin()).json()["items"])
