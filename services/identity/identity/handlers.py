"""Identity's use-cases, one function per RPC: load through `queries`, let `domain` decide, add or change rows
through `uow.tx`, record the events (`uow.emit`) and the audit entries (`uow.audit`) in the same unit of work,
answer. Nothing here commits (the entrypoint does) or imports nameko; `uow` is the worker's unit of work
(kernel.db.UnitOfWork, or tests/unit/fakes.FakeUnitOfWork in the unit tests)."""

from __future__ import annotations

from typing import Any

from contracts.identity import ContingentSchema, LoadSchema, OrderSchema, SubstitutionSchema, TokenRequestSchema
from identity import domain, passwords, queries
from identity.models import (
    Account,
    ApiToken,
    Assignment,
    Discipline,
    Enrolment,
    Group,
    Order,
    OrgUnit,
    ParentLink,
    Person,
    RoleGrant,
    Substitution,
)
from kernel import clock
from kernel.errors import NotFound
from kernel.policy import Policy
from kernel.validation import load as _load
from kernel.validation import reject as _reject
from kernel.wire import as_id

UnitOfWork = Any  # kernel.db.UnitOfWork: `tx`, `now()`, `emit`, `audit`


def person_state(uow: UnitOfWork, code: str) -> dict[str, Any]:
    """The whole state of one person, as `person.changed` carries it (also used by identity.bootstrap)."""
    tx = uow.tx
    person = queries.person(tx, code)
    assert person is not None
    return domain.person_state(person, queries.account(tx, code), queries.grants(tx, code),
                               queries.children(tx, code), queries.current_enrolment(tx, code))


def _enrolment_event(uow: UnitOfWork, student: str) -> dict[str, Any]:
    return domain.enrolment_event(student, queries.enrolments(uow.tx, student))


# -- accounts -------------------------------------------------------------------------------------------------------


def authenticate(uow: UnitOfWork, login: str, password: str) -> dict[str, Any]:
    account = queries.account_by_login(uow.tx, login)
    ok = passwords.verify_password(account.password_hash if account else None, password)
    return domain.login_answer(account, ok)


def change_password(uow: UnitOfWork, code: str, old_password: str, new_password: str) -> dict[str, Any]:
    account = queries.account(uow.tx, code)
    old_ok = account is not None and passwords.verify_password(account.password_hash, old_password)
    domain.check_password_change(account, old_ok, old_password, new_password)
    assert account is not None
    account.password_hash = passwords.hash_password(new_password)
    account.must_change_password = False
    account.password_changed_at = uow.now()
    uow.audit(entity="account", entity_id=code, action="password_changed", actor=code)
    return {"changed": True}


def person(uow: UnitOfWork, code: str) -> dict[str, Any]:
    if queries.person(uow.tx, code) is None:
        raise NotFound(f"no person {code}")
    return person_state(uow, code)


def department_of(uow: UnitOfWork, code: str) -> str | None:
    return queries.department_of(uow.tx, code)


def institution(uow: UnitOfWork) -> dict[str, Any]:
    return domain.institution_view(queries.institution(uow.tx))


# -- imports (API.md "Loading the year") ---------------------------------------------------------------------------


def _upsert(uow: UnitOfWork, result: domain.ImportResult, model: Any, stored: Any, values: dict[str, Any],
            section: str) -> bool:
    """Create or change one row as the domain says; True when it did either."""
    outcome, changes = domain.upsert_outcome(stored, values)
    result.count(outcome, section)
    if outcome == "created":
        uow.tx.add(model(**changes))
    elif outcome == "updated":
        for k, v in changes.items():
            setattr(stored, k, v)
    return outcome != "unchanged"


def import_contingent(uow: UnitOfWork, body: Any, actor: str) -> dict[str, Any]:
    batch = _load(ContingentSchema(), body)
    tx = uow.tx
    queries.lock_imports(tx)
    _reject(domain.check_contingent(batch, queries.known(tx)))
    result = domain.ImportResult(initial_passwords=[])

    changed_units: list[dict[str, Any]] = []
    for unit in domain.unit_rows(batch):
        if _upsert(uow, result, OrgUnit, queries.org_unit(tx, unit.code), unit.values, unit.section):
            changed_units.append(unit.event)
    tx.flush()
    for unit in domain.group_rows(batch):
        if _upsert(uow, result, Group, queries.group(tx, unit.code), unit.values, unit.section):
            changed_units.append(unit.event)
    tx.flush()

    without_account: list[domain.PersonRow] = []
    changed_people: set[str] = set()
    for row in domain.person_rows(batch):
        if _upsert(uow, result, Person, queries.person(tx, row.code), row.values, row.section):
            changed_people.add(row.code)
        account = queries.account(tx, row.code)
        change = domain.account_change(account, row.login)
        if change == "create":
            without_account.append(row)
        elif change == "login":
            assert account is not None
            account.login = row.login
        if change is not None:
            changed_people.add(row.code)
    tx.flush()

    accounts = domain.new_accounts(without_account)
    for new, hashed in zip(accounts, passwords.hash_all([a.password for a in accounts]), strict=True):
        tx.add(Account(person=new.code, login=new.login, password_hash=hashed, must_change_password=new.generated))
    result.initial_passwords = domain.initial_passwords(accounts)

    for st in batch["staff"]:
        have = {(g.role, g.scope): g for g in queries.grant_rows(tx, st["code"])}
        add, remove = domain.grant_changes(st["roles"], have)
        for role, scope in add:
            tx.add(RoleGrant(person=st["code"], role=role, scope=scope))
        for key in remove:
            tx.delete(have[key])
        if add or remove:
            changed_people.add(st["code"])
    for p in batch["parents"]:
        added = domain.new_children(p["children"], queries.children(tx, p["code"]))
        for child in added:
            tx.add(ParentLink(parent=p["code"], child=child))
        if added:
            changed_people.add(p["code"])
    for st in batch["students"]:
        current = queries.current_enrolment(tx, st["code"])
        change = domain.enrolment_change(current, st)
        if change == "enrol":
            tx.add(Enrolment(**domain.imported_enrolment(st)))
        elif change == "subgroup":
            assert current is not None
            current.subgroup = st["subgroup"]
        if change is not None:
            changed_people.add(st["code"])
    tx.flush()

    for event in changed_units:
        uow.emit("org.changed", event, actor=actor)
    created = {a.code for a in accounts}
    for code in sorted(changed_people):
        stored = queries.person(tx, code)
        assert stored is not None
        if domain.bumps_revision(code, created):
            stored.revision += 1
        tx.flush()
        state = person_state(uow, code)
        uow.emit("person.changed", state, actor=actor)
        if domain.announces_enrolment(state):
            uow.emit("enrolment.changed", _enrolment_event(uow, code), actor=actor)
    if changed_units or changed_people:
        uow.audit(entity="import", entity_id="contingent", action="imported", actor=actor, new=result.summary())
    return result.answer()


def import_load(uow: UnitOfWork, body: Any, actor: str) -> dict[str, Any]:
    batch = _load(LoadSchema(), body)
    tx = uow.tx
    queries.lock_imports(tx)
    _reject(domain.check_load(batch, queries.known(tx)))
    result = domain.ImportResult()
    for d in batch["disciplines"]:
        if _upsert(uow, result, Discipline, queries.discipline(tx, d["code"]), d, "disciplines"):
            uow.emit("discipline.changed", d, actor=actor)
    tx.flush()
    for a in batch["assignments"]:
        if queries.assignment_exists(tx, a):
            result.count("unchanged", "assignments")
            continue
        tx.add(Assignment(**a))
        result.count("created", "assignments")
        uow.emit("assignment.changed", domain.assignment_event(a), actor=actor)
    if result.changed:
        uow.audit(entity="import", entity_id="load", action="imported", actor=actor, new=result.summary())
    return result.answer()


# -- orders and substitutions ---------------------------------------------------------------------------------------


def issue_order(uow: UnitOfWork, body: Any, actor: str) -> dict[str, Any]:
    order = _load(OrderSchema(), body)
    tx = uow.tx
    existing = queries.order(tx, order["number"], order["student"], order["kind"])
    if existing is not None:  # the same order again changes nothing
        return domain.order_view(existing)
    rows = queries.enrolments_for_update(tx, order["student"])
    periods = [domain.as_period(e) for e in rows]
    _reject(domain.check_order(order, queries.known(tx), periods))
    after = domain.apply_order(periods, order["kind"], order["group"], order["subgroup"], order["date"])
    for e in rows:
        tx.delete(e)
    tx.flush()
    for values in domain.rebuilt_enrolments(rows, after, order):
        tx.add(Enrolment(**values))
    row = Order(**domain.order_values(order, actor))
    tx.add(row)
    student = queries.person(tx, order["student"])
    assert student is not None
    student.revision += 1
    tx.flush()
    view = domain.order_view(row)
    uow.emit("order.issued", view, actor=actor)
    uow.emit("enrolment.changed", _enrolment_event(uow, order["student"]), actor=actor)
    uow.emit("person.changed", person_state(uow, order["student"]), actor=actor)
    uow.audit(entity="order", entity_id=str(row.id), action=order["kind"], actor=actor,
              student=order["student"], new=view)
    return view


def create_substitution(uow: UnitOfWork, body: Any, actor: str) -> dict[str, Any]:
    sub = _load(SubstitutionSchema(), body)
    _reject(domain.check_substitution(sub, queries.known(uow.tx)))
    row = Substitution(**domain.substitution_values(sub, actor))
    uow.tx.add(row)
    uow.tx.flush()
    view = domain.substitution_view(row)
    uow.emit("substitution.created", view, actor=actor)
    uow.audit(entity="substitution", entity_id=str(row.id), action="created", actor=actor, new=view)
    return view


# -- integration tokens (API.md "Integration tokens") ----------------------------------------------------------------


def create_token(uow: UnitOfWork, pol: Policy, body: Any, token_hash: str, hint: str, actor: str) -> dict[str, Any]:
    """Store a token the gateway minted: only its hash arrives here. Answers its state, hash included."""
    data = _load(TokenRequestSchema(), body)
    tx = uow.tx
    _reject(domain.check_token(data, domain.faculties_named(queries.org_unit(tx, data["faculty"])),
                               clock.real_now()))
    row = ApiToken(**domain.token_values(data, token_hash, hint, actor, clock.real_now()))
    tx.add(row)
    tx.flush()
    uow.emit("token.changed", domain.token_state(pol, row), actor=actor)
    uow.audit(entity="api_token", entity_id=str(row.id), action="created", actor=actor,
              new=domain.token_view(pol, row))
    return domain.token_state(pol, row)


def _token(uow: UnitOfWork, token_id: Any, lock: bool = False) -> ApiToken:
    row = queries.token(uow.tx, as_id(token_id, "token"), lock)
    if row is None:
        raise NotFound(f"no token {token_id}")
    return row


def revoke_token(uow: UnitOfWork, pol: Policy, token_id: Any, actor: str) -> dict[str, Any]:
    """Revoke a token; revoking it again changes nothing. Answers its state, hash included."""
    row = _token(uow, token_id, lock=True)
    if domain.revocable(row):
        old = domain.token_view(pol, row)
        row.revoked_at, row.revoked_by = clock.real_now(), actor
        row.revision += 1
        uow.tx.flush()
        uow.emit("token.changed", domain.token_state(pol, row), actor=actor)
        uow.audit(entity="api_token", entity_id=str(row.id), action="revoked", actor=actor, old=old,
                  new=domain.token_view(pol, row))
    return domain.token_state(pol, row)


def get_token(uow: UnitOfWork, pol: Policy, token_id: Any) -> dict[str, Any]:
    return domain.token_view(pol, _token(uow, token_id))


def list_tokens(uow: UnitOfWork, pol: Policy, limit: int = 100, cursor: Any = None) -> dict[str, Any]:
    return queries.token_page(uow.tx, limit, cursor, lambda row: domain.token_view(pol, row))
