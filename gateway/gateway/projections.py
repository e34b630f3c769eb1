"""The gateway's read models (kernel.projections): the access model from identity's events (principals, org
units, teaching load, substitutions, integration tokens), sessions from attendance's, statement locks and archived
years from grading's, commission members from makeup's. A principal and a token keep their newest revision."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from gateway.models import (
    ApiToken,
    Assignment,
    ClosedYear,
    CommissionMember,
    OrgUnit,
    Principal,
    Session,
    StatementLock,
    Substitution,
)
from kernel.events import Envelope
from kernel.projections import Change, Direct, Projection, Put
from kernel.projections.shared import ASSIGNMENT_KEY, assignment_changes

PRINCIPAL_FIELDS = ("login", "kind", "full_name", "revision", "roles", "active")


def principal_changes(event: Envelope) -> list[Change]:
    p = event.payload
    return [Put({"code": p["code"], **{k: p[k] for k in PRINCIPAL_FIELDS}, "department": p.get("department"),
                 "group": p.get("group"), "subgroup": p.get("subgroup"), "children": p.get("children", [])})]


def org_changes(event: Envelope) -> list[Change]:
    p = event.payload
    return [Put({"code": p["code"], "kind": p["kind"], "name": p.get("name") or p["code"], "parent": p.get("parent")})]


def substitution_changes(event: Envelope) -> list[Change]:
    p = event.payload
    return [Put({"id": p["id"]}, insert_only={"teacher": p["teacher"], "substitute": p["substitute"],
                                              "starts": p["from"], "ends": p["to"],
                                              "discipline": p.get("discipline"), "group": p.get("group")})]


def token_changes(state: dict[str, Any]) -> list[Change]:
    """A token's state, from `token.changed` or identity's answer to the route that changed it."""
    return [Put({"id": state["id"], "token_hash": state["token_hash"], "name": state["name"],
                 "faculty": state["faculty"], "scopes": list(state["scopes"]),
                 "expires_at": datetime.fromisoformat(state["expires"]) if state.get("expires") else None,
                 "active": state["active"], "revision": state["revision"]})]


def session_changes(event: Envelope) -> list[Change]:
    p = event.payload
    return [Put({"id": p["id"], "term": p["term"], "discipline": p["discipline"], "group": p["group"],
                 "subgroup": p.get("subgroup"), "kind": p["kind"], "teacher": p["teacher"],
                 "starts_at": datetime.fromisoformat(p["starts_at"]), "minutes": p["minutes"]})]


def lock_statement(uow: Any, event: Envelope) -> None:
    """A posted or closed statement locks its group's journal; a closed lock stays closed (RULES.md §5)."""
    p = event.payload
    covers = datetime.fromisoformat(p["covers_until"]) if p.get("covers_until") else None
    row = uow.tx.get(StatementLock, p["id"], with_for_update=True)
    if row is None:
        uow.tx.add(StatementLock(statement=p["id"], group=p["group"], discipline=p["discipline"], kind=p["kind"],
                                 state=p["state"], covers_until=covers))
    elif p["state"] == "closed" or row.state != "closed":
        row.state, row.covers_until = p["state"], covers


def closed_year_changes(event: Envelope) -> list[Change]:
    p = event.payload
    return [Put({"year": p["year"]}, insert_only={"starts": date.fromisoformat(p["starts"]),
                                                  "ends": date.fromisoformat(p["ends"])})]


def commission_changes(event: Envelope) -> list[Change]:
    p = event.payload
    dates = {"starts": date.fromisoformat(p["from"]), "ends": date.fromisoformat(p["to"])}
    return [Put({"commission": p["id"], "member": member}, insert_only=dates) for member in p["members"]]


TOKENS = Projection("gateway.tokens", ApiToken, ("id",),
                    {("identity", "token.changed"): lambda event: token_changes(event.payload)},
                    order_by=("revision",))
PROJECTIONS = [
    Projection("gateway.principals", Principal, ("code",), {("identity", "person.changed"): principal_changes},
               order_by=("revision",)),
    Projection("gateway.org_units", OrgUnit, ("code",), {("identity", "org.changed"): org_changes}),
    Projection("gateway.assignments", Assignment, ASSIGNMENT_KEY,
               {("identity", "assignment.changed"): assignment_changes}, ignore=("id",)),
    Projection("gateway.substitutions", Substitution, ("id",),
               {("identity", "substitution.created"): substitution_changes}),
    TOKENS,
    Projection("gateway.sessions", Session, ("id",), {("attendance", "session.scheduled"): session_changes},
               ignore=("first_entry_at",)),
    Projection("gateway.statement_locks", StatementLock, ("statement",),
               {("grading", "statement.posted"): Direct(lock_statement),
                ("grading", "statement.closed"): Direct(lock_statement)}),
    Projection("gateway.closed_years", ClosedYear, ("year",), {("grading", "year.closed"): closed_year_changes}),
    Projection("gateway.commission_members", CommissionMember, ("commission", "member"),
               {("makeup", "commission.created"): commission_changes}),
]
