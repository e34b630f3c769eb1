"""Identity rules as plain Python (RULES.md §1, §2; API.md "Loading the year", "Integration tokens").

An import batch is checked whole against what is already stored before anything is written:
a bad row rejects the batch and the error names the row (`students[3].group`). Then the rules here say
which rows an import creates or changes, what an order does to a student's enrolments, and how a person,
an order, a substitution and a token look on the wire. No database, no nameko: rows arrive as plain
objects with the attributes named by the protocols below (the tables of identity.models have them).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from kernel.errors import Forbidden, NotFound, Unauthenticated, ValidationFailed
from kernel.policy import Policy
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


def enrolled_on(periods: list[Period], day: date) -> Period | None:
    return next((p for p in periods if p.starts <= day and (p.ends is None or day < p.ends)), None)


# -- accounts -----------------------------------------------------------------------------------------------------


class AccountLike(Protocol):
    person: str
    login: str
    password_hash: str
    must_change_password: bool
    active: bool


MIN_PASSWORD = 8


def login_answer(account: AccountLike | None, password_ok: bool) -> dict[str, Any]:
    """A login succeeds only with the right password of an existing, active account; every failure reads the same
    (it does not tell which logins exist)."""
    if not password_ok or account is None or not account.active:
        raise Unauthenticated("wrong login or password")
    return {"code": account.person, "must_change_password": account.must_change_password}


def check_password_change(account: AccountLike | None, old_ok: bool, old_password: str, new_password: str) -> None:
    """Changing one's password needs the old one; the new one has at least 8 characters and differs from it."""
    if account is None or not old_ok:
        raise Forbidden("the old password is wrong")
    if len(new_password) < MIN_PASSWORD or new_password == old_password:
        message = f"at least {MIN_PASSWORD} characters, different from the old one"
        raise ValidationFailed(f"new_password: {message}", {"new_password": [message]})


# -- a person's state, as `person.changed` carries it ---------------------------------------------------------------


class PersonLike(Protocol):
    code: str
    kind: str
    full_name: str
    department: str | None
    revision: int


class EnrolmentLike(Protocol):
    group: str
    subgroup: str | None
    starts: date
    ends: date | None
    basis: str | None


# A student's and a parent's role follow from the person's kind, never from a grant (they are not imported as roles).
KIND_ROLES = {"student": "student", "parent": "parent"}


def person_state(person: PersonLike, account: AccountLike | None, grants: Iterable[tuple[str, str | None]],
                 children: Iterable[str], current: EnrolmentLike | None) -> dict[str, Any]:
    """The whole state of one person (consumers upsert it, newer revisions win); `grants` ordered by role, scope."""
    roles: list[dict[str, Any]] = [{"role": r, "scope": sc} for r, sc in grants]
    if person.kind in KIND_ROLES:
        roles.append({"role": KIND_ROLES[person.kind], "scope": None})
    return {
        "code": person.code, "kind": person.kind, "full_name": person.full_name, "department": person.department,
        "login": account.login if account else None, "active": bool(account and account.active),
        "roles": roles, "revision": person.revision,
        "children": sorted(children),
        "group": current.group if current else None, "subgroup": current.subgroup if current else None,
    }


def periods_view(rows: Iterable[EnrolmentLike]) -> list[dict[str, Any]]:
    """A student's enrolment periods as `enrolment.changed` carries them (`rows` ordered by start; `ends` exclusive)."""
    return [{"group": e.group, "subgroup": e.subgroup, "starts": e.starts.isoformat(),
             "ends": e.ends.isoformat() if e.ends else None, "basis": e.basis} for e in rows]


def enrolment_event(student: str, rows: Iterable[EnrolmentLike]) -> dict[str, Any]:
    return {"student": student, "periods": periods_view(rows)}


# -- the contingent and load imports: what changes -------------------------------------------------------------------


@dataclass
class ImportResult:
    """An import's answer: per section how many rows it created and updated, how many it found unchanged, and
    (contingent only) the one-time passwords of the accounts it created without one."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    initial_passwords: list[dict[str, str]] | None = None

    def count(self, outcome: str, section: str) -> None:
        """`outcome` is created, updated or unchanged."""
        if outcome == "unchanged":
            self.unchanged += 1
            return
        counts = self.created if outcome == "created" else self.updated
        counts[section] = counts.get(section, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def summary(self) -> dict[str, Any]:
        """The counts (the audit entry's `new`: never the passwords)."""
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}

    def answer(self) -> dict[str, Any]:
        result = self.summary()
        if self.initial_passwords is not None:
            result["initial_passwords"] = self.initial_passwords
        return result


def changed_fields(row: object | None, values: Mapping[str, Any]) -> dict[str, Any] | None:
    """What an upsert changes: None for a row to create, else the values that differ from the stored row's."""
    if row is None:
        return None
    return {k: v for k, v in values.items() if getattr(row, k) != v}


def upsert_outcome(row: object | None, values: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(created | updated | unchanged, the fields to set on the stored row)."""
    changes = changed_fields(row, values)
    if changes is None:
        return "created", dict(values)
    return ("updated" if changes else "unchanged"), changes


@dataclass(frozen=True)
class UnitRow:
    """A faculty, department or group of the contingent: the stored values, and the `org.changed` payload sent when
    they change."""

    section: str
    code: str
    values: dict[str, Any]
    event: dict[str, Any]


def unit_rows(batch: Mapping[str, Any]) -> list[UnitRow]:
    """The batch's faculties and departments (one table of org units; a department's parent is its faculty)."""
    rows = [UnitRow("faculties", f["code"], {"code": f["code"], "kind": "faculty", "name": f["name"], "parent": None},
                    {"kind": "faculty", "code": f["code"], "name": f["name"], "parent": None})
            for f in batch["faculties"]]
    rows += [UnitRow("departments", d["code"],
                     {"code": d["code"], "kind": "department", "name": d["name"], "parent": d["faculty"]},
                     {"kind": "department", "code": d["code"], "name": d["name"], "parent": d["faculty"]})
             for d in batch["departments"]]
    return rows


def group_rows(batch: Mapping[str, Any]) -> list[UnitRow]:
    """The batch's groups; a group's `org.changed` names its department as parent and the code as its name."""
    return [UnitRow("groups", g["code"], dict(g),
                    {"kind": "group", "code": g["code"], "parent": g["department"], "course": g["course"],
                     "subgroups": g["subgroups"], "name": g["code"]})
            for g in batch["groups"]]


PERSON_SECTIONS = (("students", "student"), ("staff", "staff"), ("parents", "parent"))


@dataclass(frozen=True)
class PersonRow:
    section: str
    code: str
    login: str
    password: str | None  # given in the batch; None = generate a one-time one
    values: dict[str, Any]


def headed_department(row: Mapping[str, Any]) -> str | None:
    """A staff row without `department` (API.md's staff row has none): the department its head role names."""
    return next((r["scope"] for r in row.get("roles") or [] if r["role"] == "department_head" and r["scope"]), None)


def person_rows(batch: Mapping[str, Any]) -> list[PersonRow]:
    """The batch's people, students first, then staff, then parents."""
    return [PersonRow(section, row["code"], row["login"], row["password"],
                      {"code": row["code"], "kind": kind, "full_name": row["full_name"],
                       "department": row.get("department") or headed_department(row)})
            for section, kind in PERSON_SECTIONS for row in batch[section]]


def account_change(account: AccountLike | None, login: str) -> str | None:
    """"create" (a person without an account gets one), "login" (the batch renames the login) or None."""
    if account is None:
        return "create"
    return "login" if account.login != login else None


@dataclass(frozen=True)
class NewAccount:
    code: str
    login: str
    password: str
    generated: bool  # a one-time password: the account must change it, the answer shows it once


def new_accounts(rows: Iterable[PersonRow], make_password: Callable[[], str] = initial_password) -> list[NewAccount]:
    """The accounts to create, each with the batch's password or a generated one-time one."""
    return [NewAccount(r.code, r.login, r.password, False) if r.password is not None
            else NewAccount(r.code, r.login, make_password(), True) for r in rows]


def initial_passwords(accounts: Iterable[NewAccount]) -> list[dict[str, str]]:
    return [{"code": a.code, "login": a.login, "password": a.password} for a in accounts if a.generated]


Grant = tuple[str, str | None]


def _grant_order(grant: Grant) -> tuple[str, str]:
    return grant[0], grant[1] or ""


def grant_changes(roles: Iterable[Mapping[str, Any]], have: Iterable[Grant]) -> tuple[list[Grant], list[Grant]]:
    """(grants to add, grants to remove): the import's role list is the staff member's whole list."""
    wanted = {(r["role"], r["scope"]) for r in roles}
    stored = set(have)
    return sorted(wanted - stored, key=_grant_order), sorted(stored - wanted, key=_grant_order)


def new_children(children: Iterable[str], have: Iterable[str]) -> list[str]:
    """The parent links to add: an import adds children, it never removes one."""
    return sorted(set(children) - set(have))


def enrolment_change(current: EnrolmentLike | None, student: Mapping[str, Any]) -> str | None:
    """"enrol" (no current membership: a member since before the records), "subgroup" (moved within the group) or
    None. A move between groups is refused earlier (check_contingent): it needs a transfer order."""
    if current is None:
        return "enrol"
    return "subgroup" if current.subgroup != student["subgroup"] else None


def imported_enrolment(student: Mapping[str, Any]) -> dict[str, Any]:
    """The contingent lists who is in a group, not since when: a member since before the journal's records."""
    return {"student": student["code"], "group": student["group"], "subgroup": student["subgroup"],
            "starts": BEFORE_RECORDS, "basis": "import"}


def bumps_revision(code: str, created: set[str]) -> bool:
    """A changed person's revision goes up (consumers apply a state only when it is newer); a new one starts at 1."""
    return code not in created


def announces_enrolment(state: Mapping[str, Any]) -> bool:
    """A changed person who is in a group also has their periods re-sent (`enrolment.changed`)."""
    return state["group"] is not None


def assignment_event(assignment: Mapping[str, Any]) -> dict[str, Any]:
    return {**assignment, "active": True}


# -- orders (RULES.md §2) -------------------------------------------------------------------------------------------


def as_period(row: EnrolmentLike) -> Period:
    return Period(row.group, row.subgroup, row.starts, row.ends)


def rebuilt_enrolments(rows: Sequence[EnrolmentLike], after: Iterable[Period],
                       order: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The student's enrolment rows after an order: a period the order starts has the order's number as basis; one
    it kept or shortened keeps its original basis."""
    rebuilt = []
    for p in after:
        original = next((e for e in rows if e.starts == p.starts and e.group == p.group), None)
        basis = order["number"] if p.starts == order["date"] else None
        rebuilt.append({"student": order["student"], "group": p.group, "subgroup": p.subgroup, "starts": p.starts,
                        "ends": p.ends, "basis": basis or (original.basis if original else None)})
    return rebuilt


def order_values(order: Mapping[str, Any], actor: str) -> dict[str, Any]:
    return {"kind": order["kind"], "student": order["student"], "group": order["group"],
            "subgroup": order["subgroup"], "date": order["date"], "number": order["number"], "issued_by": actor}


class OrderLike(Protocol):
    id: int
    kind: str
    student: str
    group: str | None
    subgroup: str | None
    date: date
    number: str


def order_view(row: OrderLike) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "student": row.student, "group": row.group,
            "subgroup": row.subgroup, "date": row.date.isoformat(), "number": row.number}


# -- substitutions ----------------------------------------------------------------------------------------------------


def substitution_values(sub: Mapping[str, Any], actor: str) -> dict[str, Any]:
    return {"teacher": sub["teacher"], "substitute": sub["substitute"], "starts": sub["from_"], "ends": sub["to"],
            "discipline": sub["discipline"], "group": sub["group"], "created_by": actor}


class SubstitutionLike(Protocol):
    id: int
    teacher: str
    substitute: str
    starts: date
    ends: date
    discipline: str | None
    group: str | None


def substitution_view(row: SubstitutionLike) -> dict[str, Any]:
    return {"id": row.id, "teacher": row.teacher, "substitute": row.substitute,
            "from": row.starts.isoformat(), "to": row.ends.isoformat(), "discipline": row.discipline,
            "group": row.group}


# -- integration tokens (API.md "Integration tokens") ----------------------------------------------------------------


class OrgUnitLike(Protocol):
    code: str
    kind: str


def faculties_named(unit: OrgUnitLike | None) -> set[str]:
    """The faculty a token request names, if it is one (a department's code is not)."""
    return {unit.code} if unit is not None and unit.kind == "faculty" else set()


HINT_LENGTH = 16  # the token's first characters kept, to tell tokens apart in a list


def token_values(data: Mapping[str, Any], token_hash: str, hint: str, actor: str, now: datetime) -> dict[str, Any]:
    return {"name": data["name"], "faculty": data["faculty"], "scopes": list(data["scopes"]),
            "token_hash": token_hash, "hint": hint[:HINT_LENGTH], "created_at": now, "created_by": actor,
            "expires_at": data["expires"], "revision": 1}


class TokenLike(Protocol):
    id: int
    name: str
    faculty: str
    scopes: list[str]
    hint: str
    token_hash: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    revision: int


def _iso(pol: Policy, value: datetime | None) -> str | None:
    return pol.local(value).isoformat() if value is not None else None


def token_state(pol: Policy, row: TokenLike) -> dict[str, Any]:
    """A token as `token.changed` carries it: with its hash (the gateway authenticates by it), never the token."""
    return {"id": row.id, "name": row.name, "faculty": row.faculty, "scopes": list(row.scopes), "hint": row.hint,
            "token_hash": row.token_hash, "created_at": _iso(pol, row.created_at), "created_by": row.created_by,
            "expires": _iso(pol, row.expires_at), "revoked_at": _iso(pol, row.revoked_at),
            "active": row.revoked_at is None, "revision": row.revision}


def token_view(pol: Policy, row: TokenLike) -> dict[str, Any]:
    """A token as the API shows it and the audit records it: without its hash."""
    view = token_state(pol, row)
    del view["token_hash"]
    return view


def revocable(row: TokenLike) -> bool:
    """Revoking a revoked token again changes nothing."""
    return row.revoked_at is None


# -- the institution --------------------------------------------------------------------------------------------------


class InstitutionLike(Protocol):
    code: str
    name: str
    preset: str


def institution_view(row: InstitutionLike | None) -> dict[str, Any]:
    if row is None:
        raise NotFound("no institution")
    return {"code": row.code, "name": row.name, "preset": row.preset}
