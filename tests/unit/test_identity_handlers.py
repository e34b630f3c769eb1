"""Identity's use-cases against a fake unit of work (issue 16): each handler loads through `queries` (replaced here by
an in-memory store), lets the domain decide and records through the unit of work. The tests read back the rows
added and deleted, the events emitted (checked against identity.schemas), the audit entries and the errors raised
(API.md "Loading the year", "Integration tokens"; RULES.md §1, §2)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fakes import FakeTx, FakeUnitOfWork

from contracts import identity as schemas
from identity import domain, handlers, passwords, queries
from identity.models import (
    Account,
    ApiToken,
    Assignment,
    Discipline,
    Enrolment,
    Group,
    Institution,
    Order,
    OrgUnit,
    ParentLink,
    Person,
    RoleGrant,
)
from kernel import clock
from kernel.errors import Forbidden, NotFound, Unauthenticated, ValidationFailed
from kernel.policy import load_preset

OSHTU = load_preset("oshtu")
NOW = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


class Tx(FakeTx):
    """FakeTx that also fills the column defaults a flush would (a new person's revision 1, an account active)."""

    def flush(self) -> None:
        super().flush()
        for row in self.added:
            for col in type(row).__table__.columns:
                if getattr(row, col.key, None) is None and col.default is not None and col.default.is_scalar:
                    setattr(row, col.key, col.default.arg)


class Store:
    """The rows the queries would find: those given, then those the handler added, less those it deleted."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.rows: list[Any] = []
        self.locked: list[str] = []

    def add(self, *rows: Any) -> None:
        self.rows.extend(rows)

    def of(self, model: type) -> list[Any]:
        gone = {id(r) for r in self.uow.tx.deleted}
        return [r for r in [*self.rows, *self.uow.tx.added] if isinstance(r, model) and id(r) not in gone]

    def one(self, model: type, **key: Any) -> Any:
        return next((r for r in self.of(model) if all(getattr(r, k) == v for k, v in key.items())), None)

    def known(self) -> domain.Known:
        k = domain.Known()
        for u in self.of(OrgUnit):
            if u.kind == "faculty":
                k.faculties.add(u.code)
            else:
                k.departments[u.code] = u.parent or ""
        k.groups = {g.code: list(g.subgroups) for g in self.of(Group)}
        k.persons = {p.code: p.kind for p in self.of(Person)}
        k.logins = {a.login: a.person for a in self.of(Account)}
        k.current_group = {e.student: e.group for e in self.of(Enrolment) if e.ends is None}
        k.teachers = {g.person for g in self.of(RoleGrant) if g.role == "teacher"}
        k.disciplines = {d.code for d in self.of(Discipline)}
        return k

    def install(self, mp: pytest.MonkeyPatch) -> None:
        q = queries
        mp.setattr(q, "lock_imports", lambda tx: self.locked.append("identity.import"))
        mp.setattr(q, "known", lambda tx: self.known())
        mp.setattr(q, "person", lambda tx, c: self.one(Person, code=c))
        mp.setattr(q, "account", lambda tx, c: self.one(Account, person=c))
        mp.setattr(q, "account_by_login", lambda tx, login: self.one(Account, login=login))
        mp.setattr(q, "grants", lambda tx, c: sorted(((g.role, g.scope) for g in self.of(RoleGrant) if g.person == c),
                                                     key=lambda g: (g[0], g[1] or "")))
        mp.setattr(q, "grant_rows", lambda tx, c: [g for g in self.of(RoleGrant) if g.person == c])
        mp.setattr(q, "children", lambda tx, c: [p.child for p in self.of(ParentLink) if p.parent == c])
        mp.setattr(q, "current_enrolment", lambda tx, c: self.one(Enrolment, student=c, ends=None))
        mp.setattr(q, "enrolments", lambda tx, c: sorted((e for e in self.of(Enrolment) if e.student == c),
                                                         key=lambda e: e.starts))
        mp.setattr(q, "enrolments_for_update", lambda tx, c: [e for e in self.of(Enrolment) if e.student == c])
        mp.setattr(q, "department_of", lambda tx, c: getattr(self.one(Person, code=c), "department", None))
        mp.setattr(q, "org_unit", lambda tx, c: self.one(OrgUnit, code=c))
        mp.setattr(q, "group", lambda tx, c: self.one(Group, code=c))
        mp.setattr(q, "discipline", lambda tx, c: self.one(Discipline, code=c))
        mp.setattr(q, "assignment_exists", lambda tx, a: self.one(Assignment, **a) is not None)
        mp.setattr(q, "institution", lambda tx: next(iter(self.of(Institution)), None))
        mp.setattr(q, "order", lambda tx, n, s, k: self.one(Order, number=n, student=s, kind=k))
        mp.setattr(q, "token", lambda tx, i, lock=False: self.one(ApiToken, id=i))
        mp.setattr(q, "token_page", lambda tx, limit, cursor, view: {
            "items": [view(t) for t in sorted(self.of(ApiToken), key=lambda t: t.id)], "next_cursor": None})


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(clock=NOW, service="identity", tx=Tx())


@pytest.fixture
def store(uow: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch) -> Store:
    s = Store(uow)
    s.install(monkeypatch)
    # argon2 is slow on purpose; the rules do not need it
    monkeypatch.setattr(passwords, "hash_password", lambda pw: f"hashed:{pw}")
    monkeypatch.setattr(passwords, "hash_all", lambda pws: [f"hashed:{pw}" for pw in pws])
    monkeypatch.setattr(passwords, "verify_password", lambda stored, pw: stored == f"hashed:{pw}")
    monkeypatch.setattr(clock, "real_now", lambda: NOW)
    return s


def valid(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload, after checking it against its wire schema."""
    assert schemas.EVENTS[event_type]().validate(payload) == {}, (event_type, payload)
    return payload


def events(uow: FakeUnitOfWork, event_type: str) -> list[dict[str, Any]]:
    return [valid(e.type, e.payload) for e in uow.emitted if e.type == event_type]


def contingent(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "faculties": [{"code": "F1", "name": "Engineering"}],
        "departments": [{"code": "D1", "faculty": "F1", "name": "Software"}],
        "groups": [{"code": "G1", "department": "D1", "course": 1, "subgroups": ["1", "2"]}],
        "students": [{"code": "S1", "full_name": "Асанов Бакыт", "group": "G1", "subgroup": "1", "login": "s1"}],
        "staff": [{"code": "T1", "full_name": "Өмүрбеков Нурлан", "login": "t1", "password": "given-password",
                   "roles": [{"role": "teacher"}, {"role": "department_head", "scope": "D1"}]}],
        "parents": [{"code": "P1", "full_name": "Асанова Гүлнара", "login": "p1", "children": ["S1"]}],
    }
    body.update(overrides)
    return body


def imported(uow: FakeUnitOfWork, store: Store) -> None:
    """A first contingent, stored: the rows the handler added become the store's, the unit of work starts over."""
    handlers.import_contingent(uow, contingent(), "office")
    uow.tx.flush()
    store.add(*uow.tx.added)
    uow.tx = Tx()  # new ids start at 1 again
    uow.emitted.clear()
    uow.audited.clear()


# -- the contingent import ---------------------------------------------------------------------------------------


def test_a_first_contingent_creates_everything_announces_it_and_audits_the_counts(uow, store):
    result = handlers.import_contingent(uow, contingent(), "office")

    assert store.locked == ["identity.import"]
    assert result["created"] == {"faculties": 1, "departments": 1, "groups": 1, "students": 1, "staff": 1,
                                 "parents": 1}
    assert result["updated"] == {} and result["unchanged"] == 0
    # the two accounts imported without a password get a one-time one, shown once; the given one is not echoed
    assert [(p["code"], p["login"]) for p in result["initial_passwords"]] == [("S1", "s1"), ("P1", "p1")]
    assert all(len(p["password"]) == 12 for p in result["initial_passwords"])
    accounts = {a.person: a for a in store.of(Account)}
    assert accounts["T1"].password_hash == "hashed:given-password" and not accounts["T1"].must_change_password
    assert accounts["S1"].must_change_password
    assert accounts["S1"].password_hash == f"hashed:{result['initial_passwords'][0]['password']}"

    assert uow.types() == ["org.changed"] * 3 + ["person.changed", "person.changed", "enrolment.changed",
                                                 "person.changed"]
    assert [e["code"] for e in events(uow, "org.changed")] == ["F1", "D1", "G1"]
    assert events(uow, "org.changed")[2] == {"kind": "group", "code": "G1", "parent": "D1", "course": 1,
                                             "subgroups": ["1", "2"], "name": "G1"}
    people = {p["code"]: p for p in events(uow, "person.changed")}
    assert sorted(people) == ["P1", "S1", "T1"]
    assert people["S1"]["roles"] == [{"role": "student", "scope": None}]
    assert people["S1"]["group"] == "G1" and people["S1"]["subgroup"] == "1" and people["S1"]["revision"] == 1
    assert people["P1"]["children"] == ["S1"] and people["P1"]["roles"] == [{"role": "parent", "scope": None}]
    # a staff row without department: the department its head role names
    assert people["T1"]["department"] == "D1"
    assert people["T1"]["roles"] == [{"role": "department_head", "scope": "D1"}, {"role": "teacher", "scope": None}]
    assert events(uow, "enrolment.changed") == [{"student": "S1", "periods": [
        {"group": "G1", "subgroup": "1", "starts": "0001-01-01", "ends": None, "basis": "import"}]}]
    assert all(e.actor == "office" for e in uow.emitted)
    assert uow.audited == [{"entity": "import", "entity_id": "contingent", "action": "imported", "actor": "office",
                            "new": {"created": result["created"], "updated": {}, "unchanged": 0}, "at": NOW}]


def test_importing_the_same_contingent_again_changes_nothing_and_audits_nothing(uow, store):
    imported(uow, store)
    result = handlers.import_contingent(uow, contingent(), "office")
    assert result == {"created": {}, "updated": {}, "unchanged": 6, "initial_passwords": []}
    assert uow.emitted == [] and uow.audited == [] and uow.tx.added == [] and uow.tx.deleted == []


def test_a_renamed_login_a_new_subgroup_and_a_changed_role_list_reannounce_those_people_with_a_newer_revision(
        uow, store):
    imported(uow, store)
    body = contingent()
    body["students"][0].update(login="s1-new", subgroup="2")
    body["staff"][0]["roles"] = [{"role": "teacher"}]
    result = handlers.import_contingent(uow, body, "office")

    # T1's department came from the head role the batch no longer grants (API.md's staff row has none)
    assert result["created"] == {} and result["updated"] == {"staff": 1} and result["initial_passwords"] == []
    assert store.one(Account, person="S1").login == "s1-new"
    assert store.one(Enrolment, student="S1").subgroup == "2"
    assert [(g.role, g.scope) for g in uow.tx.deleted] == [("department_head", "D1")]
    people = {p["code"]: p for p in events(uow, "person.changed")}
    assert sorted(people) == ["S1", "T1"]
    assert people["S1"]["login"] == "s1-new" and people["S1"]["subgroup"] == "2" and people["S1"]["revision"] == 2
    assert people["T1"]["roles"] == [{"role": "teacher", "scope": None}] and people["T1"]["revision"] == 2
    assert people["T1"]["department"] is None
    assert events(uow, "enrolment.changed")[0]["periods"][0]["subgroup"] == "2"
    assert [a["entity_id"] for a in uow.audited] == ["contingent"]


def test_a_changed_name_is_counted_as_updated(uow, store):
    imported(uow, store)
    result = handlers.import_contingent(uow, contingent(faculties=[{"code": "F1", "name": "Engineering II"}]),
                                        "office")
    assert result["updated"] == {"faculties": 1} and result["unchanged"] == 5
    assert store.one(OrgUnit, code="F1").name == "Engineering II"
    assert uow.types() == ["org.changed"]


def test_a_batch_with_a_bad_row_is_refused_whole_naming_the_row(uow, store):
    body = contingent(students=[
        {"code": "S1", "full_name": "A", "group": "G1", "login": "s1"},
        {"code": "S2", "full_name": "B", "group": "NOPE", "login": "s2"}])
    with pytest.raises(ValidationFailed) as refused:
        handlers.import_contingent(uow, body, "office")
    assert "students[1].group" in refused.value.errors
    assert uow.tx.added == [] and uow.emitted == [] and uow.audited == []


def test_moving_a_student_to_another_group_by_import_needs_a_transfer_order(uow, store):
    imported(uow, store)
    body = contingent(groups=[{"code": "G1", "department": "D1", "course": 1, "subgroups": ["1", "2"]},
                              {"code": "G2", "department": "D1", "course": 1}])
    body["students"][0]["group"] = "G2"
    with pytest.raises(ValidationFailed, match="transfer order"):
        handlers.import_contingent(uow, body, "office")
    assert uow.emitted == []


# -- the load import ------------------------------------------------------------------------------------------------


LOAD = {"disciplines": [{"code": "HIS", "name": "History", "control": "exam", "credits": 5}],
        "assignments": [{"teacher": "T1", "discipline": "HIS", "group": "G1", "kind": "lecture"}]}


def test_the_load_creates_disciplines_and_assignments_and_importing_it_again_changes_nothing(uow, store):
    imported(uow, store)
    result = handlers.import_load(uow, LOAD, "office")
    assert result == {"created": {"disciplines": 1, "assignments": 1}, "updated": {}, "unchanged": 0}
    assert events(uow, "discipline.changed") == [LOAD["disciplines"][0]]
    assert events(uow, "assignment.changed") == [{"teacher": "T1", "discipline": "HIS", "group": "G1",
                                                  "kind": "lecture", "subgroup": None, "active": True}]
    assert uow.audited[0]["entity_id"] == "load" and uow.audited[0]["new"] == result

    store.add(*uow.tx.added)
    uow.tx.added.clear()
    uow.emitted.clear()
    uow.audited.clear()
    again = handlers.import_load(uow, {**LOAD, "disciplines": [{**LOAD["disciplines"][0], "credits": 6}]}, "office")
    assert again == {"created": {}, "updated": {"disciplines": 1}, "unchanged": 1}
    assert uow.types() == ["discipline.changed"] and store.one(Discipline, code="HIS").credits == 6


def test_the_load_names_an_assignment_of_someone_who_is_not_a_teacher(uow, store):
    imported(uow, store)
    with pytest.raises(ValidationFailed) as refused:
        handlers.import_load(uow, {**LOAD, "assignments": [{**LOAD["assignments"][0], "teacher": "S1"}]}, "office")
    assert "assignments[0].teacher" in refused.value.errors
    assert uow.emitted == [] and uow.audited == []


# -- orders and substitutions ---------------------------------------------------------------------------------------


def test_a_transfer_order_rewrites_the_enrolments_and_announces_the_order_the_periods_and_the_person(uow, store):
    imported(uow, store)
    store.add(Group(code="G2", department="D1", course=1, subgroups=[]))
    order = {"kind": "transfer", "student": "S1", "group": "G2", "date": "2026-10-15", "number": "17-к"}
    view = handlers.issue_order(uow, order, "dean")

    stored = store.one(Order, number="17-к")
    assert stored.issued_by == "dean"
    assert view == {"id": stored.id, "kind": "transfer", "student": "S1", "group": "G2", "subgroup": None,
                    "date": "2026-10-15", "number": "17-к"}
    assert [e.basis for e in uow.tx.deleted] == ["import"]
    assert events(uow, "order.issued") == [view]
    assert events(uow, "enrolment.changed") == [{"student": "S1", "periods": [
        {"group": "G1", "subgroup": "1", "starts": "0001-01-01", "ends": "2026-10-15", "basis": "import"},
        {"group": "G2", "subgroup": None, "starts": "2026-10-15", "ends": None, "basis": "17-к"}]}]
    person = events(uow, "person.changed")[0]
    assert person["group"] == "G2" and person["revision"] == 2
    assert uow.types() == ["order.issued", "enrolment.changed", "person.changed"]
    assert uow.audited == [{"entity": "order", "entity_id": str(stored.id), "action": "transfer", "actor": "dean",
                            "student": "S1", "new": view, "at": NOW}]


def test_the_same_order_again_answers_it_and_changes_nothing(uow, store):
    imported(uow, store)
    store.add(Order(id=7, kind="expel", student="S1", group=None, subgroup=None, date=date(2026, 11, 1),
                    number="20-к", issued_by="dean"))
    view = handlers.issue_order(uow, {"kind": "expel", "student": "S1", "date": "2026-11-01", "number": "20-к"},
                                "dean")
    assert view["id"] == 7 and uow.emitted == [] and uow.audited == [] and uow.tx.deleted == []


def test_admitting_an_enrolled_student_is_refused(uow, store):
    imported(uow, store)
    with pytest.raises(ValidationFailed, match="use a transfer order"):
        handlers.issue_order(uow, {"kind": "admit", "student": "S1", "group": "G1", "date": "2026-10-15",
                                   "number": "1"}, "dean")
    assert uow.emitted == [] and uow.tx.deleted == []


def test_a_substitution_is_stored_announced_and_audited_and_no_one_substitutes_for_themselves(uow, store):
    imported(uow, store)
    store.add(Person(code="T2", kind="staff", full_name="X", department="D1", revision=1),
              RoleGrant(person="T2", role="teacher", scope=None))
    with pytest.raises(ValidationFailed) as refused:
        handlers.create_substitution(uow, {"teacher": "T1", "substitute": "T1", "from": "2026-10-05",
                                           "to": "2026-10-09"}, "head")
    assert "substitute" in refused.value.errors and uow.emitted == []

    view = handlers.create_substitution(uow, {"teacher": "T1", "substitute": "T2", "from": "2026-10-05",
                                              "to": "2026-10-09", "group": "G1"}, "head")
    assert view == {"id": 1, "teacher": "T1", "substitute": "T2", "from": "2026-10-05", "to": "2026-10-09",
                    "discipline": None, "group": "G1"}
    assert events(uow, "substitution.created") == [view]
    assert uow.audited == [{"entity": "substitution", "entity_id": "1", "action": "created", "actor": "head",
                            "new": view, "at": NOW}]


# -- accounts ---------------------------------------------------------------------------------------------------------


def test_a_login_needs_the_right_password_of_an_active_account(uow, store):
    store.add(Account(person="T1", login="t1", password_hash="hashed:secret-pw", must_change_password=True,
                      active=True),
              Account(person="T2", login="t2", password_hash="hashed:secret-pw", must_change_password=False,
                      active=False))
    answer = handlers.authenticate(uow, "t1", "secret-pw")
    assert answer == {"code": "T1", "must_change_password": True}
    assert schemas.LoginAnswerSchema().validate(answer) == {}
    for login, password in (("t1", "wrong"), ("t2", "secret-pw"), ("nobody", "secret-pw")):
        with pytest.raises(Unauthenticated, match="wrong login or password"):
            handlers.authenticate(uow, login, password)


def test_a_password_change_needs_the_old_password_and_a_new_one_of_eight_characters(uow, store):
    account = Account(person="T1", login="t1", password_hash="hashed:old-password", must_change_password=True,
                      active=True)
    store.add(account)
    with pytest.raises(Forbidden):
        handlers.change_password(uow, "T1", "not-it", "new-password")
    with pytest.raises(Forbidden):
        handlers.change_password(uow, "NOBODY", "old-password", "new-password")
    for new in ("short", "old-password"):
        with pytest.raises(ValidationFailed) as refused:
            handlers.change_password(uow, "T1", "old-password", new)
        assert refused.value.errors == {"new_password": ["at least 8 characters, different from the old one"]}
    assert uow.audited == [] and account.password_hash == "hashed:old-password"

    assert handlers.change_password(uow, "T1", "old-password", "new-password") == {"changed": True}
    assert account.password_hash == "hashed:new-password" and not account.must_change_password
    assert account.password_changed_at == NOW
    assert uow.audited == [{"entity": "account", "entity_id": "T1", "action": "password_changed", "actor": "T1",
                            "at": NOW}]


def test_the_person_rpc_answers_the_state_and_404s_an_unknown_code(uow, store):
    imported(uow, store)
    state = handlers.person(uow, "P1")
    assert schemas.PersonStateSchema().validate(state) == {}
    assert state["login"] == "p1" and state["active"] and state["children"] == ["S1"]
    with pytest.raises(NotFound):
        handlers.person(uow, "NOBODY")
    assert handlers.department_of(uow, "T1") == "D1" and handlers.department_of(uow, "NOBODY") is None


def test_the_institution_answers_its_preset_or_404(uow, store):
    with pytest.raises(NotFound):
        handlers.institution(uow)
    store.add(Institution(code="oshtu", name="ОшТУ", preset="oshtu"))
    assert handlers.institution(uow) == {"code": "oshtu", "name": "ОшТУ", "preset": "oshtu"}


# -- integration tokens -----------------------------------------------------------------------------------------------


def token_request(**overrides: Any) -> dict[str, Any]:
    return {"name": "dean's office", "faculty": "F1", "scopes": ["read", "write:orders"], **overrides}


def test_a_token_names_an_existing_faculty_and_keeps_only_the_hash_and_a_short_hint(uow, store):
    imported(uow, store)
    with pytest.raises(ValidationFailed) as refused:
        handlers.create_token(uow, OSHTU, token_request(faculty="D1"), "a" * 64, "ejt_abcd", "admin")
    assert "faculty" in refused.value.errors and uow.emitted == []

    state = handlers.create_token(uow, OSHTU, token_request(), "a" * 64, "ejt_" + "x" * 30, "admin")
    assert state["token_hash"] == "a" * 64 and state["hint"] == "ejt_" + "x" * 12 and state["active"]
    assert state["created_at"] == "2026-10-05T15:00:00+06:00" and state["revision"] == 1
    assert events(uow, "token.changed") == [state]
    audit = uow.audited[0]
    assert (audit["entity"], audit["entity_id"], audit["action"]) == ("api_token", "1", "created")
    assert "token_hash" not in audit["new"] and schemas.TokenViewSchema().validate(audit["new"]) == {}


def test_an_expiry_in_the_past_is_refused(uow, store):
    imported(uow, store)
    with pytest.raises(ValidationFailed) as refused:
        handlers.create_token(uow, OSHTU, token_request(expires=(NOW - timedelta(days=1)).isoformat()),
                              "b" * 64, "ejt_b", "admin")
    assert refused.value.errors == {"expires": ["already past"]}


def test_a_revoked_token_is_announced_once_and_revoking_it_again_changes_nothing(uow, store):
    imported(uow, store)
    handlers.create_token(uow, OSHTU, token_request(), "c" * 64, "ejt_c", "admin")
    uow.emitted.clear()
    uow.audited.clear()

    state = handlers.revoke_token(uow, OSHTU, "1", "admin")
    assert not state["active"] and state["revoked_at"] == "2026-10-05T15:00:00+06:00" and state["revision"] == 2
    assert events(uow, "token.changed") == [state]
    audit = uow.audited[0]
    assert audit["action"] == "revoked" and audit["old"]["active"] and not audit["new"]["active"]

    assert handlers.revoke_token(uow, OSHTU, 1, "someone else") == state
    assert len(uow.emitted) == 1 and len(uow.audited) == 1
    assert store.one(ApiToken, id=1).revoked_by == "admin"


def test_a_token_is_read_without_its_hash_and_an_unknown_or_malformed_id_is_404(uow, store):
    imported(uow, store)
    handlers.create_token(uow, OSHTU, token_request(), "d" * 64, "ejt_d", "admin")
    view = handlers.get_token(uow, OSHTU, 1)
    assert "token_hash" not in view and view["name"] == "dean's office"
    page = handlers.list_tokens(uow, OSHTU)
    assert page == {"items": [view], "next_cursor": None} and schemas.TokenPageSchema().validate(page) == {}
    for token_id in (2, "abc", None):
        with pytest.raises(NotFound):
            handlers.get_token(uow, OSHTU, token_id)
        with pytest.raises(NotFound):
            handlers.revoke_token(uow, OSHTU, token_id, "admin")


# -- the domain's import decisions, directly ---------------------------------------------------------------------


def test_an_upsert_creates_updates_only_what_differs_or_leaves_the_row():
    row = OrgUnit(code="F1", kind="faculty", name="Old", parent=None)
    values = {"code": "F1", "kind": "faculty", "name": "New", "parent": None}
    assert domain.upsert_outcome(None, values) == ("created", values)
    assert domain.upsert_outcome(row, values) == ("updated", {"name": "New"})
    assert domain.upsert_outcome(row, {**values, "name": "Old"}) == ("unchanged", {})


def test_an_import_result_counts_per_section_and_never_audits_passwords():
    result = domain.ImportResult(initial_passwords=[])
    for outcome, section in (("created", "groups"), ("created", "groups"), ("updated", "staff"),
                             ("unchanged", "staff")):
        result.count(outcome, section)
    result.initial_passwords = [{"code": "S1", "login": "s1", "password": "p"}]
    assert result.summary() == {"created": {"groups": 2}, "updated": {"staff": 1}, "unchanged": 1}
    assert result.answer()["initial_passwords"] == [{"code": "S1", "login": "s1", "password": "p"}]
    assert "initial_passwords" not in domain.ImportResult().answer()


def test_the_role_list_of_an_import_is_the_whole_list_and_children_are_only_added():
    add, remove = domain.grant_changes([{"role": "teacher", "scope": None}, {"role": "curator", "scope": "G1"}],
                                       [("teacher", None), ("directorate", "F1")])
    assert add == [("curator", "G1")] and remove == [("directorate", "F1")]
    assert domain.new_children(["S2", "S1"], ["S1", "S3"]) == ["S2"]


def test_an_order_starts_its_period_with_its_number_and_a_shortened_period_keeps_its_basis():
    rows = [Enrolment(student="S1", group="G1", subgroup=None, starts=date(2026, 9, 1), ends=None, basis="5-к")]
    order = {"kind": "expel", "student": "S1", "group": None, "subgroup": None, "date": date(2026, 11, 1),
             "number": "20-к"}
    after = domain.apply_order([domain.as_period(e) for e in rows], "expel", None, None, order["date"])
    assert domain.rebuilt_enrolments(rows, after, order) == [
        {"student": "S1", "group": "G1", "subgroup": None, "starts": date(2026, 9, 1), "ends": date(2026, 11, 1),
         "basis": "5-к"}]


def test_accounts_without_a_password_get_a_one_time_one_that_must_be_changed():
    rows = domain.person_rows(schemas.ContingentSchema().load(contingent()))
    assert [(r.code, r.password) for r in rows] == [("S1", None), ("T1", "given-password"), ("P1", None)]
    made = iter(["one-time-1", "one-time-2"])
    accounts = domain.new_accounts(rows, lambda: next(made))
    assert [(a.code, a.password, a.generated) for a in accounts] == [
        ("S1", "one-time-1", True), ("T1", "given-password", False), ("P1", "one-time-2", True)]
    assert domain.initial_passwords(accounts) == [{"code": "S1", "login": "s1", "password": "one-time-1"},
                                                  {"code": "P1", "login": "p1", "password": "one-time-2"}]

