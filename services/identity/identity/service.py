"""Identity: the only writer of the institution's structure, people, accounts, load and orders.
Thin entrypoints: load what the batch refers to, let `domain` decide, write state and events in one
commit, answer."""

from __future__ import annotations

from datetime import date
from typing import Any

import eventlet
from nameko.rpc import rpc
from sqlalchemy import select, text

from identity import domain
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
    Substitution,
)
from identity.passwords import hash_password, verify_password
from identity.schemas import ContingentSchema, LoadSchema, OrderSchema, SubstitutionSchema, TokenRequestSchema
from kernel import clock
from kernel.db import Database, UnitOfWork
from kernel.errors import Forbidden, NotFound, Unauthenticated, ValidationFailed
from kernel.metrics import DomainGauge
from kernel.paging import page_by_id
from kernel.service import ServiceBase
from kernel.validation import load as _load
from kernel.validation import reject as _reject
from kernel.wire import as_id, iso, policy


def known(uow: UnitOfWork) -> domain.Known:
    s = uow.session
    k = domain.Known()
    for unit in s.scalars(select(OrgUnit)):
        if unit.kind == "faculty":
            k.faculties.add(unit.code)
        else:
            k.departments[unit.code] = unit.parent or ""
    k.groups = {g.code: list(g.subgroups) for g in s.scalars(select(Group))}
    k.persons = dict(s.execute(select(Person.code, Person.kind)).tuples().all())
    k.logins = dict(s.execute(select(Account.login, Account.person)).tuples().all())
    k.current_group = dict(s.execute(select(Enrolment.student, Enrolment.group)
                                     .where(Enrolment.ends.is_(None))).tuples().all())
    k.teachers = set(s.scalars(select(RoleGrant.person).where(RoleGrant.role == "teacher")))
    k.disciplines = set(s.scalars(select(Discipline.code)))
    return k


def person_state(uow: UnitOfWork, code: str) -> dict[str, Any]:
    """The whole state of one person, as `person.changed` carries it (consumers upsert it)."""
    s = uow.session
    person = s.get(Person, code)
    assert person is not None
    account = s.get(Account, code)
    grants = s.execute(select(RoleGrant.role, RoleGrant.scope).where(RoleGrant.person == code)
                       .order_by(RoleGrant.role, RoleGrant.scope)).all()
    roles = [{"role": r, "scope": sc} for r, sc in grants]
    if person.kind == "student":
        roles.append({"role": "student", "scope": None})
    if person.kind == "parent":
        roles.append({"role": "parent", "scope": None})
    current = s.scalars(select(Enrolment).where(Enrolment.student == code, Enrolment.ends.is_(None))).first()
    return {
        "code": code, "kind": person.kind, "full_name": person.full_name, "department": person.department,
        "login": account.login if account else None, "active": bool(account and account.active),
        "roles": roles, "revision": person.revision,
        "children": sorted(s.scalars(select(ParentLink.child).where(ParentLink.parent == code))),
        "group": current.group if current else None, "subgroup": current.subgroup if current else None,
    }


def _hash_all(passwords: list[str]) -> list[str]:
    pool = eventlet.GreenPool(8)
    return list(pool.imap(hash_password, passwords))


def token_state(row: ApiToken) -> dict[str, Any]:
    """A token as `token.changed` carries it: with its hash (the gateway authenticates by it), never the token."""
    pol = policy()
    return {"id": row.id, "name": row.name, "faculty": row.faculty, "scopes": list(row.scopes), "hint": row.hint,
            "token_hash": row.token_hash, "created_at": iso(pol, row.created_at), "created_by": row.created_by,
            "expires": iso(pol, row.expires_at), "revoked_at": iso(pol, row.revoked_at),
            "active": row.revoked_at is None, "revision": row.revision}


def token_view(row: ApiToken) -> dict[str, Any]:
    view = token_state(row)
    del view["token_hash"]
    return view



def _headed_department(row: dict[str, Any]) -> str | None:
    """A staff row without `department` (API.md's staff row has none): the department its head role names."""
    return next((r["scope"] for r in row.get("roles") or [] if r["role"] == "department_head" and r["scope"]), None)


class IdentityService(ServiceBase):
    name = "identity"
    db = Database()
    domain_gauges = (
        DomainGauge("ejournal_people", "People by kind", "SELECT kind, count(*) FROM identity.person GROUP BY kind",
                    ("kind",)),
        DomainGauge("ejournal_accounts", "Accounts, active or not",
                    "SELECT active, count(*) FROM identity.account GROUP BY active", ("active",)),
        DomainGauge("ejournal_api_tokens", "Integration tokens by state",
                    "SELECT CASE WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN expires_at <= now() THEN 'expired'"
                    " ELSE 'active' END, count(*) FROM identity.api_token GROUP BY 1", ("state",)),
    )

    # -- accounts ---------------------------------------------------------------------------
    @rpc
    def authenticate(self, login: str, password: str) -> dict[str, Any]:
        account = self.db.session.scalars(select(Account).where(Account.login == login)).first()
        ok = verify_password(account.password_hash if account else None, password)
        if not ok or account is None or not account.active:
            raise Unauthenticated("wrong login or password")
        return {"code": account.person, "must_change_password": account.must_change_password}

    @rpc
    def change_password(self, code: str, old_password: str, new_password: str) -> dict[str, Any]:
        account = self.db.session.get(Account, code)
        if account is None or not verify_password(account.password_hash, old_password):
            raise Forbidden("the old password is wrong")
        if len(new_password) < 8 or new_password == old_password:
            raise ValidationFailed("new_password: at least 8 characters, different from the old one",
                                   {"new_password": ["at least 8 characters, different from the old one"]})
        account.password_hash = hash_password(new_password)
        account.must_change_password = False
        account.password_changed_at = self.db.now()
        self.db.audit(entity="account", entity_id=code, action="password_changed", actor=code)
        self.db.commit()
        return {"changed": True}

    @rpc
    def person(self, code: str) -> dict[str, Any]:
        if self.db.session.get(Person, code) is None:
            raise NotFound(f"no person {code}")
        return person_state(self.db, code)

    # -- imports ----------------------------------------------------------------------------
    @rpc
    def import_contingent(self, body: Any, actor: str) -> dict[str, Any]:
        batch = _load(ContingentSchema(), body)
        uow = self.db
        uow.execute(text("SELECT pg_advisory_xact_lock(hashtext('identity.import'))"))  # one import at a time
        _reject(domain.check_contingent(batch, known(uow)))
        s = uow.session
        result: dict[str, Any] = {"created": {}, "updated": {}, "unchanged": 0, "initial_passwords": []}

        def count(kind: str, section: str) -> None:
            result[kind][section] = result[kind].get(section, 0) + 1

        def upsert(model: Any, key: str, values: dict[str, Any], section: str) -> bool:
            row = s.get(model, key)
            if row is None:
                s.add(model(**values))
                count("created", section)
                return True
            changed = {k: v for k, v in values.items() if getattr(row, k) != v}
            if not changed:
                result["unchanged"] += 1
                return False
            for k, v in changed.items():
                setattr(row, k, v)
            count("updated", section)
            return True

        changed_units: list[dict[str, Any]] = []
        for f in batch["faculties"]:
            if upsert(OrgUnit, f["code"], {"code": f["code"], "kind": "faculty", "name": f["name"],
                                           "parent": None}, "faculties"):
                changed_units.append({"kind": "faculty", "code": f["code"], "name": f["name"], "parent": None})
        for d in batch["departments"]:
            if upsert(OrgUnit, d["code"], {"code": d["code"], "kind": "department", "name": d["name"],
                                           "parent": d["faculty"]}, "departments"):
                changed_units.append({"kind": "department", "code": d["code"], "name": d["name"],
                                      "parent": d["faculty"]})
        s.flush()
        for g in batch["groups"]:
            if upsert(Group, g["code"], dict(g), "groups"):
                changed_units.append({"kind": "group", "code": g["code"], "parent": g["department"],
                                      "course": g["course"], "subgroups": g["subgroups"], "name": g["code"]})
        s.flush()

        new_accounts: list[tuple[str, str, str | None]] = []  # (code, login, given password)
        changed_people: set[str] = set()
        sections = (("students", "student"), ("staff", "staff"), ("parents", "parent"))
        for section, kind in sections:
            for row in batch[section]:
                values = {"code": row["code"], "kind": kind, "full_name": row["full_name"],
                          "department": row.get("department") or _headed_department(row)}
                if upsert(Person, row["code"], values, section):
                    changed_people.add(row["code"])
                account = s.get(Account, row["code"])
                if account is None:
                    new_accounts.append((row["code"], row["login"], row["password"]))
                    changed_people.add(row["code"])
                elif account.login != row["login"]:
                    account.login = row["login"]
                    changed_people.add(row["code"])
        s.flush()

        # accounts: hash in the thread pool, several at once
        generated = {code: domain.initial_password() for code, _, given in new_accounts if given is None}
        plain = [given or generated[code] for code, _, given in new_accounts]
        for (code, login, given), hashed in zip(new_accounts, _hash_all(plain), strict=True):
            s.add(Account(person=code, login=login, password_hash=hashed, must_change_password=given is None))
            if given is None:
                result["initial_passwords"].append({"code": code, "login": login, "password": generated[code]})

        for st in batch["staff"]:
            wanted = {(r["role"], r["scope"]) for r in st["roles"]}
            have = {(g.role, g.scope): g for g in s.scalars(select(RoleGrant)
                                                             .where(RoleGrant.person == st["code"]))}
            for key in wanted - set(have):
                s.add(RoleGrant(person=st["code"], role=key[0], scope=key[1]))
            for key in set(have) - wanted:
                s.delete(have[key])
            if wanted != set(have):
                changed_people.add(st["code"])
        for p in batch["parents"]:
            have = set(s.scalars(select(ParentLink.child).where(ParentLink.parent == p["code"])))
            for child in set(p["children"]) - have:
                s.add(ParentLink(parent=p["code"], child=child))
            if set(p["children"]) - have:
                changed_people.add(p["code"])
        for st in batch["students"]:
            current = s.scalars(select(Enrolment).where(Enrolment.student == st["code"],
                                                        Enrolment.ends.is_(None))).first()
            if current is None:
                # the contingent lists who is in a group, not since when: a member since before the journal's records
                s.add(Enrolment(student=st["code"], group=st["group"], subgroup=st["subgroup"],
                                starts=domain.BEFORE_RECORDS, basis="import"))
                changed_people.add(st["code"])
            elif current.subgroup != st["subgroup"]:
                current.subgroup = st["subgroup"]
                changed_people.add(st["code"])
        s.flush()

        for unit in changed_units:
            uow.emit("org.changed", unit, actor=actor)
        created = {c for c, _, _ in new_accounts}
        for code in sorted(changed_people):
            person = s.get(Person, code)
            assert person is not None
            if code not in created:
                person.revision += 1  # consumers apply a person's state only when it is newer
            s.flush()
            state = person_state(uow, code)
            uow.emit("person.changed", state, actor=actor)
            if state["group"] is not None:
                uow.emit("enrolment.changed", {"student": code, "periods": self._periods(code)}, actor=actor)
        if changed_units or changed_people:
            uow.audit(entity="import", entity_id="contingent", action="imported", actor=actor,
                      new={k: v for k, v in result.items() if k != "initial_passwords"})
        uow.commit()
        return result

    def _periods(self, student: str) -> list[dict[str, Any]]:
        rows = self.db.session.scalars(select(Enrolment).where(Enrolment.student == student)
                                       .order_by(Enrolment.starts))
        return [{"group": e.group, "subgroup": e.subgroup, "starts": e.starts.isoformat(),
                 "ends": e.ends.isoformat() if e.ends else None, "basis": e.basis} for e in rows]

    @rpc
    def import_load(self, body: Any, actor: str) -> dict[str, Any]:
        batch = _load(LoadSchema(), body)
        uow = self.db
        uow.execute(text("SELECT pg_advisory_xact_lock(hashtext('identity.import'))"))
        _reject(domain.check_load(batch, known(uow)))
        s = uow.session
        result: dict[str, Any] = {"created": {}, "updated": {}, "unchanged": 0}
        for d in batch["disciplines"]:
            row = s.get(Discipline, d["code"])
            if row is None:
                s.add(Discipline(**d))
                result["created"]["disciplines"] = result["created"].get("disciplines", 0) + 1
            elif any(getattr(row, k) != v for k, v in d.items()):
                for k, v in d.items():
                    setattr(row, k, v)
                result["updated"]["disciplines"] = result["updated"].get("disciplines", 0) + 1
            else:
                result["unchanged"] += 1
                continue
            uow.emit("discipline.changed", d, actor=actor)
        s.flush()
        for a in batch["assignments"]:
            exists = s.scalars(select(Assignment).where(
                Assignment.teacher == a["teacher"], Assignment.discipline == a["discipline"],
                Assignment.group == a["group"], Assignment.kind == a["kind"],
                Assignment.subgroup.is_(None) if a["subgroup"] is None else Assignment.subgroup == a["subgroup"],
            )).first()
            if exists:
                result["unchanged"] += 1
                continue
            s.add(Assignment(**a))
            result["created"]["assignments"] = result["created"].get("assignments", 0) + 1
            uow.emit("assignment.changed", {**a, "active": True}, actor=actor)
        if result["created"] or result["updated"]:
            uow.audit(entity="import", entity_id="load", action="imported", actor=actor, new=result)
        uow.commit()
        return result

    # -- orders and substitutions -----------------------------------------------------------------
    @rpc
    def issue_order(self, body: Any, actor: str) -> dict[str, Any]:
        order = _load(OrderSchema(), body)
        uow = self.db
        s = uow.session
        existing = s.scalars(select(Order).where(Order.number == order["number"],
                                                 Order.student == order["student"],
                                                 Order.kind == order["kind"])).first()
        if existing is not None:  # the same order again changes nothing
            return self._order_view(existing)
        rows = list(s.scalars(select(Enrolment).where(Enrolment.student == order["student"])
                              .with_for_update()))
        periods = [domain.Period(e.group, e.subgroup, e.starts, e.ends) for e in rows]
        _reject(domain.check_order(order, known(uow), periods))
        after = domain.apply_order(periods, order["kind"], order["group"], order["subgroup"], order["date"])
        for e in rows:
            s.delete(e)
        s.flush()
        for p in after:
            basis = order["number"] if p.starts == order["date"] else None
            original = next((e for e in rows if e.starts == p.starts and e.group == p.group), None)
            s.add(Enrolment(student=order["student"], group=p.group, subgroup=p.subgroup, starts=p.starts,
                            ends=p.ends, basis=basis or (original.basis if original else None)))
        row = Order(kind=order["kind"], student=order["student"], group=order["group"],
                    subgroup=order["subgroup"], date=order["date"], number=order["number"], issued_by=actor)
        s.add(row)
        person = s.get(Person, order["student"])
        assert person is not None
        person.revision += 1
        s.flush()
        view = self._order_view(row)
        uow.emit("order.issued", view, actor=actor)
        uow.emit("enrolment.changed", {"student": order["student"], "periods": self._periods(order["student"])},
                 actor=actor)
        uow.emit("person.changed", person_state(uow, order["student"]), actor=actor)
        uow.audit(entity="order", entity_id=str(row.id), action=order["kind"], actor=actor,
                  student=order["student"], new=view)
        uow.commit()
        return view

    @staticmethod
    def _order_view(row: Order) -> dict[str, Any]:
        return {"id": row.id, "kind": row.kind, "student": row.student, "group": row.group,
                "subgroup": row.subgroup, "date": row.date.isoformat(), "number": row.number}

    @rpc
    def create_substitution(self, body: Any, actor: str) -> dict[str, Any]:
        sub = _load(SubstitutionSchema(), body)
        uow = self.db
        _reject(domain.check_substitution(sub, known(uow)))
        row = Substitution(teacher=sub["teacher"], substitute=sub["substitute"], starts=sub["from_"],
                           ends=sub["to"], discipline=sub["discipline"], group=sub["group"], created_by=actor)
        uow.session.add(row)
        uow.session.flush()
        view = self._substitution_view(row)
        uow.emit("substitution.created", view, actor=actor)
        uow.audit(entity="substitution", entity_id=str(row.id), action="created", actor=actor, new=view)
        uow.commit()
        return view

    @staticmethod
    def _substitution_view(row: Substitution) -> dict[str, Any]:
        return {"id": row.id, "teacher": row.teacher, "substitute": row.substitute,
                "from": row.starts.isoformat(), "to": row.ends.isoformat(), "discipline": row.discipline,
                "group": row.group}

    # -- integration tokens (API.md "Integration tokens") ---------------------------------------------
    @rpc
    def create_token(self, body: Any, token_hash: str, hint: str, actor: str) -> dict[str, Any]:
        """Store a token the gateway minted: only its hash arrives here. Answers its state, hash included."""
        data = _load(TokenRequestSchema(), body)
        uow = self.db
        s = uow.session
        unit = s.get(OrgUnit, data["faculty"])
        _reject(domain.check_token(data, {unit.code} if unit and unit.kind == "faculty" else set(),
                                   clock.real_now()))
        row = ApiToken(name=data["name"], faculty=data["faculty"], scopes=list(data["scopes"]),
                       token_hash=token_hash, hint=hint[:16], created_at=clock.real_now(), created_by=actor,
                       expires_at=data["expires"], revision=1)
        s.add(row)
        s.flush()
        uow.emit("token.changed", token_state(row), actor=actor)
        uow.audit(entity="api_token", entity_id=str(row.id), action="created", actor=actor, new=token_view(row))
        uow.commit()
        return token_state(row)

    @rpc
    def revoke_token(self, token_id: Any, actor: str) -> dict[str, Any]:
        """Revoke a token; revoking it again changes nothing. Answers its state, hash included."""
        uow = self.db
        row = uow.session.get(ApiToken, as_id(token_id, "token"), with_for_update=True)
        if row is None:
            raise NotFound(f"no token {token_id}")
        if row.revoked_at is None:
            old = token_view(row)
            row.revoked_at, row.revoked_by = clock.real_now(), actor
            row.revision += 1
            uow.session.flush()
            uow.emit("token.changed", token_state(row), actor=actor)
            uow.audit(entity="api_token", entity_id=str(row.id), action="revoked", actor=actor, old=old,
                      new=token_view(row))
            uow.commit()
        return token_state(row)

    @rpc
    def get_token(self, token_id: Any) -> dict[str, Any]:
        row = self.db.session.get(ApiToken, as_id(token_id, "token"))
        if row is None:
            raise NotFound(f"no token {token_id}")
        return token_view(row)

    @rpc
    def list_tokens(self, limit: int = 100, cursor: Any = None) -> dict[str, Any]:
        return page_by_id(self.db.session, select(ApiToken), ApiToken.id, limit, cursor, token_view)

    @rpc
    def department_of(self, code: str) -> str | None:
        person = self.db.session.get(Person, code)
        return person.department if person else None

    @rpc
    def institution(self) -> dict[str, Any]:
        row = self.db.session.scalars(select(Institution)).first()
        if row is None:
            raise NotFound("no institution")
        return {"code": row.code, "name": row.name, "preset": row.preset}


def enrolled_on(periods: list[domain.Period], day: date) -> domain.Period | None:
    return next((p for p in periods if p.starts <= day and (p.ends is None or day < p.ends)), None)
