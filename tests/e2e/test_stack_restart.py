"""Issue 2: `deploy/up` twice is harmless; `deploy/down` then `deploy/up` keeps the data."""

from __future__ import annotations

import json

import pytest

from support import deploy, eventually

pytestmark = pytest.mark.e2e


def pids(stack) -> dict[str, int]:
    out = stack.ctl("status", "--json")
    rows = [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]
    return {r["name"]: r["pid"] for r in rows}


def test_up_twice_is_harmless_and_down_up_keeps_the_data(stack):
    token = stack.admin()
    r = stack.api("POST", "/api/v1/import/contingent", token, json={
        "faculties": [{"code": "FKEEP", "name": "Kept faculty"}],
        "departments": [{"code": "DKEEP", "faculty": "FKEEP", "name": "Kept department"}],
        "groups": [{"code": "KEEP-1", "department": "DKEEP", "course": 2, "subgroups": ["1"]}],
        "students": [{"code": "S7001", "full_name": "Сакталган Студент", "group": "KEEP-1", "login": "s7001",
                      "password": "kept-password-1"}]})
    assert r.status_code == 200, r.text
    eventually(lambda: stack.api("POST", "/api/v1/auth/login",
                                 json={"login": "s7001", "password": "kept-password-1"}).status_code == 200)

    before = pids(stack)
    again = deploy("up", "--no-demo", "--simulation")
    assert again.returncode == 0, again.stdout + again.stderr
    assert pids(stack) == before, "a second deploy/up leaves the running processes alone"

    down = deploy("down")
    assert down.returncode == 0, down.stdout + down.stderr
    up = deploy("up", "--no-demo", "--simulation")
    assert up.returncode == 0, up.stdout + up.stderr
    stack.wait_ready()
    r = stack.api("POST", "/api/v1/auth/login", json={"login": "s7001", "password": "kept-password-1"})
    assert r.status_code == 200
    assert stack.api("GET", "/api/v1/me", r.json()["access_token"]).json()["group"] == "KEEP-1"
