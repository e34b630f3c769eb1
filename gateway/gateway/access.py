"""Who may see and write what, at the gateway (API.md "Roles and visibility"; RULES.md §1, §8): the typed caller of
a request and every visibility rule, read from the gateway's access read model (people, org units, teaching load,
substitutions, commissions: identity's and makeup's events). Routes ask here; none decides visibility itself.

The answers are the API's: an object outside the caller's reach is a 404 (it is not there for them), a visible one
the caller may not change is a 403."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session as Tx

from gateway.auth import OFFICE
from gateway.models import Assignment, CommissionMember, OrgUnit, Principal, Session, Substitution
from kernel.errors import Forbidden, NotFound
from kernel.policy import Policy


@dataclass(frozen=True)
class Caller:
    """The one who sends a request: a person (from the access token and the read model) or a faculty system's
    integration token. `roles` are (role, scope) pairs: the scope is the org unit a role is held in (a curator's
    group, a department head's department, a directorate's faculty), None for the university-wide roles."""

    code: str
    login: str | None
    full_name: str
    roles: tuple[tuple[str, str | None], ...]
    group: str | None  # a student's group
    children: tuple[str, ...]  # a parent's children
    institution: str  # the preset the stack runs (its code: oshtu, jagu, ...)
    subgroup: str | None = None
    token: int | None = None  # an integration token's id (API.md "Integration tokens")
    scopes: tuple[str, ...] = ()  # an integration token's write scopes

    def has(self, role: str, scope: str | None = None) -> bool:
        return any(r == role and (scope is None or s == scope) for r, s in self.roles)

    def has_any(self, roles: tuple[str, ...]) -> bool:
        return any(self.has(r) for r in roles)

    def scopes_of(self, role: str) -> set[str]:
        """The org units the caller holds `role` in."""
        return {s for r, s in self.roles if r == role and s}


class Teacher(Protocol):
    code: str
    department: str | None


def require_role(caller: Caller, roles: tuple[str, ...]) -> None:
    if not caller.has_any(roles):
        raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")


def report_scopes(caller: Caller) -> dict[str, list[str]] | None:
    """The org units whose scheduled reports the caller reads: None for everything (office roles)."""
    if caller.has_any(OFFICE):
        return None
    within = {"faculties": sorted(caller.scopes_of("directorate")),
              "departments": sorted(caller.scopes_of("department_head")),
              "groups": sorted(caller.scopes_of("curator"))}
    if not any(within.values()):
        raise Forbidden("scheduled reports are for office roles, the directorate, department heads and curators")
    return within


class Access:
    """The visibility rules over one request's read of the access read model (`tx`, the request's transaction)."""

    def __init__(self, tx: Tx, policy: Policy) -> None:
        self.tx = tx
        self.policy = policy

    # -- the org structure ------------------------------------------------------------------------------
    def department_of_group(self, group: str | None) -> str | None:
        unit = self.tx.get(OrgUnit, group) if group else None
        return unit.parent if unit else None

    def faculty_of_group(self, group: str | None) -> str | None:
        department = self.department_of_group(group)
        unit = self.tx.get(OrgUnit, department) if department else None
        return unit.parent if unit else None

    def student_faculty(self, student: str) -> str | None:
        row = self.tx.get(Principal, student)
        if row is None or row.kind != "student":
            raise NotFound(f"no student {student}")
        return self.faculty_of_group(row.group)

    def child_in(self, caller: Caller, group: str) -> str | None:
        """The caller's child who studies in `group`, if the caller is a parent and has one there."""
        for child in caller.children if caller.has("parent") else ():
            row = self.tx.get(Principal, child)
            if row is not None and row.group == group:
                return child
        return None

    # -- who teaches, who oversees -----------------------------------------------------------------------
    def teaching(self, caller: Caller, s: Session) -> tuple[bool, str | None]:
        """(may write, on whose behalf): the session's own teacher, or an active substitute (RULES.md §1)."""
        if not caller.has("teacher"):
            return False, None
        if s.teacher == caller.code:
            return True, None
        day = self.policy.local(s.starts_at).date()
        substitution = self.tx.scalars(select(Substitution).where(
            Substitution.substitute == caller.code, Substitution.teacher == s.teacher,
            Substitution.starts <= day, Substitution.ends >= day,
            or_(Substitution.discipline.is_(None), Substitution.discipline == s.discipline),
            or_(Substitution.group.is_(None), Substitution.group == s.group))).first()
        return (True, s.teacher) if substitution else (False, None)

    def teaches(self, caller: Caller, group: str, discipline: str) -> bool:
        """A teacher of this discipline in this group, by the teaching load."""
        return caller.has("teacher") and self.tx.scalars(select(Assignment).where(
            Assignment.teacher == caller.code, Assignment.group == group,
            Assignment.discipline == discipline)).first() is not None

    def oversees_group(self, caller: Caller, group: str) -> bool:
        """Office roles, the group's curator, its department's head, its faculty's directorate."""
        if caller.has_any(OFFICE) or caller.has("curator", group):
            return True
        faculty = self.faculty_of_group(group)
        department = self.department_of_group(group)
        return bool((faculty and caller.has("directorate", faculty))
                    or (department and caller.has("department_head", department)))

    def oversees_teacher(self, caller: Caller, teacher: Teacher, role: str, group: str | None = None) -> bool:
        """Whether the caller heads the teacher's department (role department_head) or runs its faculty (role
        directorate): the department the staff import named; for a teacher imported without one (API.md's staff
        row has none), the departments of the groups the substitution covers (`group`, else every group the
        teacher teaches), all of which must be the caller's."""
        scopes = {s for r, s in caller.roles if r == role}
        if teacher.department is not None:
            departments = {teacher.department}
        else:
            taught = set(self.tx.scalars(select(Assignment.group).where(Assignment.teacher == teacher.code)))
            departments = {self.department_of_group(g) for g in ({group} & taught if group else taught)}
        if role == "directorate":
            units = [self.tx.get(OrgUnit, d) if d else None for d in departments]
            departments = {u.parent if u is not None else None for u in units}
        return bool(departments) and departments <= scopes

    def inspects_teacher(self, caller: Caller, teacher: str) -> bool:
        """An authorised inspector of a teacher's journal (RULES.md §1, §8; 001 §5.3, §5.6): the academic office
        and IT, the head of the teacher's department, the directorate of its faculty."""
        if caller.has_any(OFFICE):
            return True
        row = self.tx.get(Principal, teacher)
        if row is None or row.kind != "staff" or row.department is None:
            return False
        department = self.tx.get(OrgUnit, row.department)
        faculty = department.parent if department else None
        return caller.has("department_head", row.department) or bool(faculty and caller.has("directorate", faculty))

    def groups_overseen(self, caller: Caller, role: str) -> list[str]:
        """The groups of the departments a department head heads, or of the faculties a directorate runs: what
        their queues hold (every other unit's objects answer 404 to them, API.md)."""
        units = caller.scopes_of(role)
        if role == "directorate":
            units = set(self.tx.scalars(select(OrgUnit.code).where(
                OrgUnit.kind == "department", OrgUnit.parent.in_(units))))
        return sorted(self.tx.scalars(select(OrgUnit.code).where(
            OrgUnit.kind == "group", OrgUnit.parent.in_(units))))

    def scoped_roles(self, caller: Caller, group: str) -> list[list[str | None]]:
        """The caller's roles that reach this group: the correction chain's step checks these, not a role held
        elsewhere."""
        faculty, department = self.faculty_of_group(group), self.department_of_group(group)
        return [[role, scope] for role, scope in caller.roles
                if role in OFFICE or role == "teacher" or (role == "department_head" and scope == department)
                or (role == "directorate" and scope == faculty)]

    def commissions_of(self, caller: Caller, today: date) -> list[int]:
        """The appeal commissions the caller sits on today."""
        return list(self.tx.scalars(select(CommissionMember.commission).where(
            CommissionMember.member == caller.code, CommissionMember.starts <= today, CommissionMember.ends >= today)))

    # -- what of an object the caller sees ------------------------------------------------------------
    def visible_student(self, caller: Caller, s: Session) -> str | None | bool:
        """A session's journal: False, not visible; None, the whole session; a code, only that student's row."""
        if self.teaching(caller, s)[0] or self.oversees_group(caller, s.group):
            return None
        if caller.has("student") and caller.group == s.group:
            return caller.code
        return self.child_in(caller, s.group) or False

    def gradebook_view(self, caller: Caller, group: str, discipline: str) -> str | None:
        """A group's gradebook in a discipline: None, the whole group; a code, only that student; NotFound
        otherwise."""
        if self.teaches(caller, group, discipline) or self.oversees_group(caller, group):
            return None
        if caller.has("student") and caller.group == group:
            return caller.code
        child = self.child_in(caller, group)
        if child is not None:
            return child
        raise NotFound(f"no gradebook for {group} / {discipline}")

    def gradebook_view_or_none(self, caller: Caller, group: str, discipline: str) -> str | None | bool:
        """As gradebook_view, with False for not visible."""
        try:
            return self.gradebook_view(caller, group, discipline)
        except NotFound:
            return False
