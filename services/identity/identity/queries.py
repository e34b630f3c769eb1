"""Identity's reads: each takes `tx` (the unit of work's SQLAlchemy Session) and loads rows. No decisions: what
the rows mean is domain.py's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

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
)
from kernel.paging import page_by_id


def lock_imports(tx: Session) -> None:
    """One import at a time (held to the end of the transaction)."""
    tx.execute(text("SELECT pg_advisory_xact_lock(hashtext('identity.import'))"))


def known(tx: Session) -> domain.Known:
    """What a batch's references are checked against."""
    k = domain.Known()
    for unit in tx.scalars(select(OrgUnit)):
        if unit.kind == "faculty":
            k.faculties.add(unit.code)
        else:
            k.departments[unit.code] = unit.parent or ""
    k.groups = {g.code: list(g.subgroups) for g in tx.scalars(select(Group))}
    k.persons = dict(tx.execute(select(Person.code, Person.kind)).tuples().all())
    k.logins = dict(tx.execute(select(Account.login, Account.person)).tuples().all())
    k.current_group = dict(tx.execute(select(Enrolment.student, Enrolment.group)
                                      .where(Enrolment.ends.is_(None))).tuples().all())
    k.teachers = set(tx.scalars(select(RoleGrant.person).where(RoleGrant.role == "teacher")))
    k.disciplines = set(tx.scalars(select(Discipline.code)))
    return k


# -- people and accounts ----------------------------------------------------------------------------------------


def person(tx: Session, code: str) -> Person | None:
    return tx.get(Person, code)


def account(tx: Session, code: str) -> Account | None:
    return tx.get(Account, code)


def account_by_login(tx: Session, login: str) -> Account | None:
    return tx.scalars(select(Account).where(Account.login == login)).first()


def grants(tx: Session, code: str) -> list[tuple[str, str | None]]:
    """A person's role grants, ordered by role and scope."""
    rows = tx.execute(select(RoleGrant.role, RoleGrant.scope).where(RoleGrant.person == code)
                      .order_by(RoleGrant.role, RoleGrant.scope)).tuples().all()
    return list(rows)


def grant_rows(tx: Session, code: str) -> list[RoleGrant]:
    return list(tx.scalars(select(RoleGrant).where(RoleGrant.person == code)))


def children(tx: Session, parent: str) -> list[str]:
    return list(tx.scalars(select(ParentLink.child).where(ParentLink.parent == parent)))


def current_enrolment(tx: Session, student: str) -> Enrolment | None:
    return tx.scalars(select(Enrolment).where(Enrolment.student == student, Enrolment.ends.is_(None))).first()


def enrolments(tx: Session, student: str) -> list[Enrolment]:
    """A student's enrolment rows, by start."""
    return list(tx.scalars(select(Enrolment).where(Enrolment.student == student).order_by(Enrolment.starts)))


def enrolments_for_update(tx: Session, student: str) -> list[Enrolment]:
    """A student's enrolment rows, locked: an order rewrites them."""
    return list(tx.scalars(select(Enrolment).where(Enrolment.student == student).with_for_update()))


def department_of(tx: Session, code: str) -> str | None:
    row = tx.get(Person, code)
    return row.department if row else None


# -- structure and load -------------------------------------------------------------------------------------------


def org_unit(tx: Session, code: str) -> OrgUnit | None:
    return tx.get(OrgUnit, code)


def group(tx: Session, code: str) -> Group | None:
    return tx.get(Group, code)


def discipline(tx: Session, code: str) -> Discipline | None:
    return tx.get(Discipline, code)


def assignment_exists(tx: Session, a: dict[str, Any]) -> bool:
    return tx.scalars(select(Assignment).where(
        Assignment.teacher == a["teacher"], Assignment.discipline == a["discipline"],
        Assignment.group == a["group"], Assignment.kind == a["kind"],
        Assignment.subgroup.is_(None) if a["subgroup"] is None else Assignment.subgroup == a["subgroup"],
    )).first() is not None


def institution(tx: Session) -> Institution | None:
    return tx.scalars(select(Institution)).first()


# -- orders and tokens ----------------------------------------------------------------------------------------------


def order(tx: Session, number: str, student: str, kind: str) -> Order | None:
    return tx.scalars(select(Order).where(Order.number == number, Order.student == student,
                                          Order.kind == kind)).first()


def token(tx: Session, token_id: int, lock: bool = False) -> ApiToken | None:
    return tx.get(ApiToken, token_id, with_for_update=lock or None)


def token_page(tx: Session, limit: Any, cursor: Any, view: Callable[[ApiToken], dict[str, Any]]) -> dict[str, Any]:
    return page_by_id(tx, select(ApiToken), ApiToken.id, limit, cursor, view)
