"""The access matrix (issue 8 item 2; RULES.md §1, API.md): generated from the gateway's route table.

- Every route that declares its roles is called by every persona holding none of them: 403, whatever the object.
- Every route open to any authenticated caller is scoped at object level: it must have a rule below, with the
  personas that see the own faculty's object, and those that get 404 for it (the object of another faculty, a
  classmate, another parent's child). A route without a rule fails the test.
- Without a token every route but the public ones answers 401.
The counts are printed.
"""

from __future__ import annotations

import re

import pytest

from gateway.http import ROUTES
from gateway.service import GatewayService  # noqa: F401 - declares the routes
from support import eventually, person

pytestmark = pytest.mark.e2e
PW = "matrix-password-1"

PERSONAS = {  # persona: (login, roles)
    "student": ("amsa1", {"student"}), "classmate": ("amsa2", {"student"}), "other_student": ("amsb1", {"student"}),
    "parent": ("ampa", {"parent"}), "other_parent": ("ampb", {"parent"}),
    "teacher": ("amta", {"teacher", "curator"}), "other_teacher": ("amtb", {"teacher"}),
    "head": ("amha", {"department_head"}), "dean": ("amda", {"directorate"}), "other_dean": ("amdb", {"directorate"}),
    "office": ("amo", {"academic_office"}), "admin": (None, {"it_admin"}),
    "integration": (None, {"integration", "directorate"}),  # a read-only API token of faculty A (API.md)
}

# Routes any authenticated caller may call, scoped by what they ask for: no object, or their own.
UNSCOPED = {
    "me": "the caller's own account", "policy": "the institution's preset, the same for everyone",
    "password": "the caller's own password",
}

# Object-scoped routes: path ({a} for a faculty-A object), who sees it (200), whose role never reads it (403),
# and the rest, who get 404 (the object of another faculty, a classmate's, another parent's child); a report
# filtered to the caller's own answers 200 with no rows instead (EMPTY).
SEES_GROUP_A = {"teacher", "head", "dean", "office", "admin", "integration"}
STUDENTS = {"student", "classmate", "parent", "other_student", "other_parent"}
OUTSIDERS = {"other_student", "other_parent", "other_teacher", "other_dean"}
OBJECT_RULES = {
    "get_session": ("/api/v1/sessions/{session}", SEES_GROUP_A | {"student", "classmate", "parent"}, set()),
    "live_roster": ("/api/v1/sessions/{session}/roster", SEES_GROUP_A, set()),
    "get_assessment": ("/api/v1/assessments/{assessment}", SEES_GROUP_A | {"student", "classmate", "parent"}, set()),
    "gradebook": ("/api/v1/gradebook?group=AM-A&discipline=AMDIS", SEES_GROUP_A | {"student", "classmate", "parent"},
                  set()),
    "get_statement": ("/api/v1/statements/{statement}", SEES_GROUP_A, set()),  # an office document
    "attendance_report": ("/api/v1/reports/attendance?group=AM-A", SEES_GROUP_A, STUDENTS),
    "at_risk_report": ("/api/v1/reports/at-risk?group=AM-A", SEES_GROUP_A, STUDENTS | {"other_teacher"}),
    # the student, the parent and the offices of the student's units (the curator, who calls parents, included)
    "student_record": ("/api/v1/students/AMSA1/record", {"student", "parent"} | SEES_GROUP_A, set()),
    "teacher_journal": ("/api/v1/journal/AMTA/AM-2027", {"head", "dean", "office", "admin", "integration"}, set()),
    # the portal files (issue 7.1) are read as the statement and the gradebook are: a student reads own rows
    "export_statement": ("/api/v1/export/statements/{statement}.xlsx?portal=avn", SEES_GROUP_A, set()),
    "export_attendance": ("/api/v1/export/attendance?group=AM-A&discipline=AMDIS&format=csv&portal=avn",
                          SEES_GROUP_A | {"student", "classmate", "parent"}, set()),
}
EMPTY = {("attendance_report", "other_teacher"): "rows"}  # a teacher's report holds their own sessions only
LISTS = {  # route name: (path listing faculty A's objects, a row's key, the object expected, whose rule applies)
    "list_sessions": ("/api/v1/sessions?group=AM-A", "id", "{session}", "get_session"),
    "list_assessments": ("/api/v1/assessments?group=AM-A&discipline=AMDIS", "id", "{assessment}", "get_assessment"),
    "list_statements": ("/api/v1/statements?group=AM-A&discipline=AMDIS", "id", "{statement}", "get_statement"),
}
# Lists of work in progress (corrections, make-ups, appeals, scheduled reports): filtered to the caller's own
# or their units'; their scoping is exercised where those objects are made (test_grading, test_appeals_and_makeup,
# test_reports). An appeal decision is checked against the commission's membership there too.
FILTERED_ELSEWHERE = {
    "list_corrections": "test_grading", "list_makeups": "test_appeals_and_makeup",
    "makeup_register": "test_appeals_and_makeup", "list_appeals": "test_appeals_and_makeup",
    "decide_appeal": "test_appeals_and_makeup", "scheduled_reports": "test_reports", "scheduled_report": "test_reports",
}


def path_of(route, ids: dict) -> str:
    """The route's path with every parameter filled (with faculty A's objects where they exist)."""
    def fill(match: re.Match) -> str:
        name = match.group(1).rpartition(":")[2]
        return str({"session_id": ids["session"], "assessment_id": ids["assessment"], "statement_id": ids["statement"],
                    "teacher": "AMTA", "term": "AM-2027", "code": "AMSA1", "year": "2027-2028"}.get(name, 1))
    return re.sub(r"<([^>]+)>", fill, route.path)


@pytest.fixture(scope="module")
def world(stack):
    admin = stack.admin()
    staff = [("AMTA", "amta", "AMDA", [{"role": "teacher"}, {"role": "curator", "scope": "AM-A"}]),
             ("AMTB", "amtb", "AMDB", [{"role": "teacher"}]),
             ("AMHA", "amha", "AMDA", [{"role": "department_head", "scope": "AMDA"}]),
             ("AMDA", "amda", None, [{"role": "directorate", "scope": "AMFA"}]),
             ("AMDB", "amdb", None, [{"role": "directorate", "scope": "AMFB"}]),
             ("AMO", "amo", None, [{"role": "academic_office"}])]
    contingent = {
        "faculties": [{"code": "AMFA", "name": "Факультет А"}, {"code": "AMFB", "name": "Факультет Б"}],
        "departments": [{"code": "AMDA", "faculty": "AMFA", "name": "Кафедра А"},
                        {"code": "AMDB", "faculty": "AMFB", "name": "Кафедра Б"}],
        "groups": [{"code": "AM-A", "department": "AMDA", "course": 1, "subgroups": []},
                   {"code": "AM-B", "department": "AMDB", "course": 1, "subgroups": []}],
        "students": [person("AMSA1", "Студент А1", PW, group="AM-A"), person("AMSA2", "Студент А2", PW, group="AM-A"),
                     person("AMSB1", "Студент Б1", PW, group="AM-B")],
        "staff": [{**person(code, f"Кызматкер {code}", PW, roles=roles), "login": login,
                   **({"department": dept} if dept else {})} for code, login, dept, roles in staff],
        "parents": [person("AMPA", "Ата-эне А", PW, children=["AMSA1"]),
                    person("AMPB", "Ата-эне Б", PW, children=["AMSB1"])],
    }
    r = stack.api("POST", "/api/v1/import/contingent", admin, json=contingent, timeout=120)
    assert r.status_code == 200, r.text
    load = {"disciplines": [{"code": "AMDIS", "name": "Матрица", "control": "exam", "credits": 3}],
            "assignments": [{"teacher": "AMTA", "discipline": "AMDIS", "group": "AM-A", "kind": "lecture"},
                            {"teacher": "AMTB", "discipline": "AMDIS", "group": "AM-B", "kind": "lecture"}]}
    assert stack.api("POST", "/api/v1/import/load", admin, json=load).status_code == 200
    body = {"term": {"code": "AM-2027", "starts": "2027-09-01", "ends": "2027-12-31"},
            "sessions": [{"ref": f"am:{g}", "discipline": "AMDIS", "group": g, "kind": "lecture", "teacher": t,
                          "starts_at": "2027-10-04T09:00:00+06:00", "minutes": 80}
                         for g, t in (("AM-A", "AMTA"), ("AM-B", "AMTB"))]}
    r = eventually(lambda: (lambda r: r if r.status_code == 200 else None)(
        stack.api("POST", "/api/v1/import/timetable", admin, json=body)), timeout=60)
    sessions = r.json()["sessions"]

    def token(login: str | None) -> str | None:
        if login is None:
            return admin
        r = stack.api("POST", "/api/v1/auth/login", json={"login": login, "password": PW})
        return r.json()["access_token"] if r.status_code == 200 else None

    tokens = {name: eventually(lambda login=login: token(login), timeout=30) for name, (login, _) in PERSONAS.items()
              if name != "integration"}
    made = stack.api("POST", "/api/v1/tokens", admin, json={"name": "matrix", "faculty": "AMFA", "scopes": ["read"]})
    assert made.status_code == 201, made.text
    tokens["integration"] = made.json()["token"]
    # the gateway's read model has the sessions and the parent links once these answer
    eventually(lambda: stack.api("GET", f"/api/v1/sessions/{sessions['am:AM-A']}", tokens["parent"]).status_code
               == 200, timeout=30)
    assessment = stack.api("POST", "/api/v1/assessments", tokens["teacher"], json={
        "group": "AM-A", "discipline": "AMDIS", "kind": "current", "title": "Иш 1", "date": "2027-10-04", "max": 10})
    assert assessment.status_code == 201, assessment.text
    statement = stack.api("POST", "/api/v1/statements", tokens["teacher"],
                          json={"group": "AM-A", "discipline": "AMDIS", "kind": "module1"})
    assert statement.status_code == 201, statement.text
    return {"tokens": tokens, "ids": {"session": sessions["am:AM-A"], "assessment": assessment.json()["id"],
                                      "statement": statement.json()["id"]}}


def test_every_route_refuses_the_roles_it_does_not_name_and_scopes_the_rest(stack, world):
    tokens, ids = world["tokens"], world["ids"]
    checked, failures = 0, []
    unruled = [r.name for r in ROUTES if r.roles is None and not r.public
               and r.name not in {**OBJECT_RULES, **LISTS, **UNSCOPED, **FILTERED_ELSEWHERE}]
    for route in ROUTES:
        path = path_of(route, ids)
        if not route.public:  # no token: 401 everywhere
            r = stack.api(route.method, path, json={} if route.method != "GET" else None)
            checked += 1
            if r.status_code != 401:
                failures.append(f"{route.method} {route.path} without a token: {r.status_code}")
        if route.roles is None:
            continue
        for name, (_, roles) in PERSONAS.items():
            if roles & set(route.roles):
                continue
            r = stack.api(route.method, path, tokens[name], json={} if route.method != "GET" else None)
            checked += 1
            if r.status_code != 403:
                failures.append(f"{route.method} {route.path} as {name}: {r.status_code}, not 403")
    for rule_name, (template, sees, refused) in OBJECT_RULES.items():
        path = template.format(**ids)
        for name in PERSONAS:
            r = stack.api("GET", path, tokens[name])
            checked += 1
            empty = EMPTY.get((rule_name, name))
            expected = 200 if name in sees or empty else 403 if name in refused else 404
            if r.status_code != expected or empty and r.json()[empty]:
                failures.append(f"{rule_name} GET {path} as {name}: {r.status_code}, not {expected}"
                                + (" with nothing in it" if empty else ""))
    for rule_name, (template, key, wanted, rule) in LISTS.items():
        path, wanted = template.format(**ids), int(wanted.format(**ids))
        for name in PERSONAS:
            r = stack.api("GET", path, tokens[name])
            checked += 1
            found = r.status_code == 200 and any(row.get(key) == wanted for row in r.json().get("items", []))
            if found != (name in OBJECT_RULES[rule][1]):
                failures.append(f"{rule_name} GET {path} as {name}: {r.status_code}, lists it: {found}")
    print(f"\naccess matrix: {len(ROUTES)} routes, {len(PERSONAS)} personas, {checked} calls checked, "
          f"{len(failures)} wrong")
    assert not unruled, f"routes open to any caller without an access rule in this test: {unruled}"
    assert not failures, "\n".join(failures)


def test_the_web_pages_are_public_static_files_and_the_window_state_is_the_teachers_only(stack, world):
    """The pages under /web/ (issue 9) are not routes of the table: static files, public, holding no data (the
    data comes through the API above). Only the files read at start are served; any other name is a 404.
    A session's `window` (what a journal write would meet now) is shown to the session's own teacher only."""
    from gateway.web_routes import FILES

    for name, (_, media) in FILES.items():
        r = stack.api("GET", f"/web/{name}")
        assert (r.status_code, r.headers["Content-Type"].split(";")[0]) == (200, media), name
    assert stack.api("GET", "/web/", allow_redirects=False).status_code == 200
    for name in ("nothing.html", "../web_routes.py", "%2e%2e/web_routes.py", "i18n/../../service.py"):
        r = stack.api("GET", f"/web/{name}")
        assert r.status_code == 404, (name, r.status_code)
    session = world["ids"]["session"]
    for name, token in world["tokens"].items():
        r = stack.api("GET", f"/api/v1/sessions/{session}", token)
        if r.status_code == 200:
            assert ("window" in r.json()) == (name == "teacher"), name
