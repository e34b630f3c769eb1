"""Identity rules as plain Python (RULES.md §1, §2; API.md "Loading the year").

An import batch is checked whole against what is already stored before anything is written:
a bad row rejects the batch and the error names the row (`students[3].group`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from kernel.validation import Errors, flatten_marshmallow  # noqa: F401 - part of this module's interface

# Which kind of org unit each role's scope names (API.md "Roles"); None = no scope.
SCOPE_KIND: dict[str, str | None] = {
    "it_admin": None,
    "academic_office": None,
    "directorate": "faculty",
    "department_head": "department",
    "teacher": None,
    "curator": "group",
}
STAFF_ROLES = tuple(SCOPE_KIND)
# Start of an enrolment loaded by the contingent import: the portal's list says who is in a group, not since when.
BEFORE_RECORDS = date(1, 1, 1)


@dataclass
class Known:
    """What the database already holds, as far as a batch's references go."""

    faculties: set[str] = field(default_factory=set)
    departments: dict[str, str] = field(default_factory=dict)  # code -> faculty
    groups: dict[str, list[str]] = field(default_factory=dict)  # code -> subgroups
    persons: dict[str, str] = field(default_factory=dict)  # code -> kind
    logins: dict[str, str] = field(default_factory=dict)  # login -> person code
    current_group: dict[str, str] = field(default_factory=dict)  # student -> group
    teachers: set[str] = field(default_factory=set)
    disciplines: set[str] = field(default_factory=set)


def _duplicates(rows: Iterable[tuple[int, str]], section: str, key: str, errors: Errors) -> None:
    seen: dict[str, int] = {}
    for i, value in rows:
        if value in seen:
            errors.add(f"{section}[{i}].{key}", f"duplicate {key} {value!r} (also in row {seen[value]})")
        else:
            seen[value] = i


def check_contingent(batch: dict[str, Any], known: Known) -> Errors:
    errors = Errors()
    faculties = known.faculties | {f["code"] for f in batch["faculties"]}
    departments = dict(known.departments) | {d["code"]: d["faculty"] for d in batch["departments"]}
    groups = dict(known.groups) | {g["code"]: g["subgroups"] for g in batch["groups"]}

    for section in ("faculties", "departments", "groups"):
        _duplicates(enumerate(r["code"] for r in batch[section]), section, "code", errors)
    people = [(s, i, r) for s in ("students", "staff", "parents") for i, r in enumerate(batch[s])]
    _seen_code: dict[str, str] = {}
    _seen_login: dict[str, str] = {}
    kinds = {"students": "student", "staff": "staff", "parents": "parent"}
    for section, i, row in people:
        where = f"{section}[{i}]"
        if row["code"] in _seen_code:
            errors.add(f"{where}.code", f"duplicate code {row['code']!r} (also {_seen_code[row['code']]})")
        _seen_code[row["code"]] = where
        if row["login"] in _seen_login:
            errors.add(f"{where}.login", f"duplicate login {row['login']!r} (also {_seen_login[row['login']]})")
        _seen_login[row["login"]] = where
        owner = known.logins.get(row["login"])
        if owner is not None and owner != row["code"]:
            errors.add(f"{where}.login", f"login {row['login']!r} belongs to another person")
        stored_kind = known.persons.get(row["code"])
        if stored_kind is not None and stored_kind != kinds[section]:
            errors.add(f"{where}.code", f"{row['code']!r} is already a {stored_kind}")

    for i, d in enumerate(batch["departments"]):
        if d["faculty"] not in faculties:
            errors.add(f"departments[{i}].faculty", f"unknown faculty {d['faculty']!r}")
    for i, g in enumerate(batch["groups"]):
        if g["department"] not in departments:
            errors.add(f"groups[{i}].department", f"unknown department {g['department']!r}")
        if len(set(g["subgroups"])) != len(g["subgroups"]):
            errors.add(f"groups[{i}].subgroups", "subgroups repeat")
    for i, s in enumerate(batch["students"]):
        if s["group"] not in groups:
            errors.add(f"students[{i}].group", f"unknown group {s['group']!r}")
        elif s["subgroup"] is not None and s["subgroup"] not in groups[s["group"]]:
            errors.add(f"students[{i}].subgroup", f"group {s['group']!r} has no subgroup {s['subgroup']!r}")
        current = known.current_group.get(s["code"])
        if current is not None and current != s["group"]:
            errors.add(f"students[{i}].group",
                       f"student is in group {current!r}; a move between groups needs a transfer order")
    student_codes = {s["code"] for s in batch["students"]} | {c for c, k in known.persons.items() if k == "student"}
    for i, p in enumerate(batch["parents"]):
        for j, child in enumerate(p["children"]):
            if child not in student_codes:
                errors.add(f"parents[{i}].children[{j}]", f"unknown student {child!r}")
    scopes = {"faculty": faculties, "department": set(departments), "group": set(groups)}
    for i, st in enumerate(batch["staff"]):
        if st["department"] is not None and st["department"] not in departments:
            errors.add(f"staff[{i}].department", f"unknown department {st['department']!r}")
        for j, grant in enumerate(st["roles"]):
            role, scope = grant["role"], grant["scope"]
            if role not in SCOPE_KIND:
                errors.add(f"staff[{i}].roles[{j}].role", f"role {role!r} is not granted by import")
                continue
            kind = SCOPE_KIND[role]
            if kind is None and scope is not None:
                errors.add(f"staff[{i}].roles[{j}].scope", f"role {role} takes no scope")
            elif kind is not None and scope not in scopes[kind]:
                errors.add(f"staff[{i}].roles[{j}].scope", f"role {role} needs an existing {kind} as scope")
    return errors


def check_load(batch: dict[str, Any], known: Known) -> Errors:
    errors = Errors()
    _duplicates(enumerate(d["code"] for d in batch["disciplines"]), "disciplines", "code", errors)
    disciplines = known.disciplines | {d["code"] for d in batch["disciplines"]}
    seen: dict[tuple, int] = {}
    for i, a in enumerate(batch["assignments"]):
        where = f"assignments[{i}]"
        if a["teacher"] not in known.teachers:
            errors.add(f"{where}.teacher", f"{a['teacher']!r} is not a teacher")
        if a["discipline"] not in disciplines:
            errors.add(f"{where}.discipline", f"unknown discipline {a['discipline']!r}")
        if a["group"] not in known.groups:
            errors.add(f"{where}.group", f"unknown group {a['group']!r}")
        elif a["subgroup"] is not None and a["subgroup"] not in known.groups[a["group"]]:
            errors.add(f"{where}.subgroup", f"group {a['group']!r} has no subgroup {a['subgroup']!r}")
        key = (a["teacher"], a["discipline"], a["group"], a["kind"], a["subgroup"])
        if key in seen:
            errors.add(where, f"same assignment as row {seen[key]}")
        seen[key] = i
    return errors


@dataclass(frozen=True)
class Period:
    group: str
    subgroup: str | None
    starts: date
    ends: date | None  # exclusive


def apply_order(periods: list[Period], kind: str, group: str | None, subgroup: str | None,
                effective: date) -> list[Period]:
    """The student's enrolment periods after an order (RULES.md §2: the list is built from orders).

    admit: starts membership of `group`; transfer: ends the current one the day before and starts
    `group`; expel: ends the current one. An order effective in the past rewrites what follows it."""
    current = [p for p in periods if p.ends is None or p.ends > effective]
    kept = [p for p in periods if p not in current]
    for p in current:
        if p.starts < effective:
            kept.append(Period(p.group, p.subgroup, p.starts, effective))
    if kind in ("admit", "transfer"):
        assert group is not None
        kept.append(Period(group, subgroup, effective, None))
    return sorted(kept, key=lambda p: p.starts)


def check_order(order: dict[str, Any], known: Known, periods: list[Period]) -> Errors:
    errors = Errors()
    kind = order["kind"]
    if order["student"] not in known.persons or known.persons[order["student"]] != "student":
        errors.add("student", f"unknown student {order['student']!r}")
    if kind in ("admit", "transfer"):
        if order["group"] is None:
            errors.add("group", f"a {kind} order names the group")
        elif order["group"] not in known.groups:
            errors.add("group", f"unknown group {order['group']!r}")
        elif order["subgroup"] is not None and order["subgroup"] not in known.groups[order["group"]]:
            errors.add("subgroup", f"group {order['group']!r} has no subgroup {order['subgroup']!r}")
    active = [p for p in periods if p.ends is None or p.ends > order["date"]]
    if kind == "admit" and active:
        errors.add("kind", "the student is already enrolled on that date; use a transfer order")
    if kind in ("transfer", "expel") and not active:
        errors.add("kind", "the student is not enrolled on that date")
    return errors


def check_substitution(body: dict[str, Any], known: Known) -> Errors:
    errors = Errors()
    for key in ("teacher", "substitute"):
        if body[key] not in known.teachers:
            errors.add(key, f"{body[key]!r} is not a teacher")
    if body["teacher"] == body["substitute"]:
        errors.add("substitute", "a teacher cannot substitute for themselves")
    if body["to"] < body["from_"]:
        errors.add("to", "ends before it starts")
    elif body["to"] - body["from_"] > timedelta(days=366):
        errors.add("to", "a substitution lasts at most a year")
    if body["group"] is not None and body["group"] not in known.groups:
        errors.add("group", f"unknown group {body['group']!r}")
    if body["discipline"] is not None and body["discipline"] not in known.disciplines:
        errors.add("discipline", f"unknown discipline {body['discipline']!r}")
    return errors


ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def initial_password() -> str:
    """A one-time password for an account imported without one: 12 unambiguous characters."""
    return "".join(secrets.choice(ALPHABET) for _ in range(12))


def check_token(body: dict[str, Any], faculties: set[str], now: datetime) -> Errors:
    """An integration token names an existing faculty and, when it expires, a moment still ahead (API.md
    "Integration tokens")."""
    errors = Errors()
    if body["faculty"] not in faculties:
        errors.add("faculty", f"unknown faculty {body['faculty']!r}")
    if body.get("expires") is not None and body["expires"] <= now:
        errors.add("expires", "already past")
    if len(set(body["scopes"])) != len(body["scopes"]):
        errors.add("scopes", "scopes repeat")
    return errors
