"""Tables of the identity service (schema `identity`): the institution's structure and its people."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kernel.tables import schema_base

SCHEMA = "identity"
Base = schema_base(SCHEMA)
metadata = Base.metadata


class Institution(Base):
    __tablename__ = "institution"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    preset: Mapped[str] = mapped_column(String(32))


class OrgUnit(Base):
    """A faculty (or institute) or a department; a department's parent is its faculty."""

    __tablename__ = "org_unit"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    parent: Mapped[str | None] = mapped_column(String(64))


class Group(Base):
    __tablename__ = "study_group"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    department: Mapped[str] = mapped_column(ForeignKey("identity.org_unit.code"))
    course: Mapped[int] = mapped_column(Integer)
    subgroups: Mapped[list[str]] = mapped_column(JSONB, default=list)


class Person(Base):
    __tablename__ = "person"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # student | staff | parent
    full_name: Mapped[str] = mapped_column(String(300))
    department: Mapped[str | None] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)


class Account(Base):
    __tablename__ = "account"
    person: Mapped[str] = mapped_column(ForeignKey("identity.person.code"), primary_key=True)
    login: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RoleGrant(Base):
    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("person", "role", "scope", name="role_grant_unique"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person: Mapped[str] = mapped_column(ForeignKey("identity.person.code"))
    role: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str | None] = mapped_column(String(64))


class ParentLink(Base):
    __tablename__ = "parent_link"
    parent: Mapped[str] = mapped_column(ForeignKey("identity.person.code"), primary_key=True)
    child: Mapped[str] = mapped_column(ForeignKey("identity.person.code"), primary_key=True)


class Enrolment(Base):
    """A student's membership of a group over a date range, as the orders made it (RULES.md §2)."""

    __tablename__ = "enrolment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    student: Mapped[str] = mapped_column(ForeignKey("identity.person.code"), index=True)
    group: Mapped[str] = mapped_column(ForeignKey("identity.study_group.code"))
    subgroup: Mapped[str | None] = mapped_column(String(16))
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date | None] = mapped_column(Date)  # exclusive; None = current
    basis: Mapped[str | None] = mapped_column(String(64))  # the order number, or "import"


class Discipline(Base):
    __tablename__ = "discipline"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    control: Mapped[str] = mapped_column(String(16))  # exam | credit
    credits: Mapped[int] = mapped_column(Integer)


class Assignment(Base):
    """Teaching load: teacher × discipline × group × session kind (× subgroup)."""

    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("teacher", "discipline", "group", "kind", "subgroup",
                                       name="assignment_unique", postgresql_nulls_not_distinct=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    teacher: Mapped[str] = mapped_column(ForeignKey("identity.person.code"))
    discipline: Mapped[str] = mapped_column(ForeignKey("identity.discipline.code"))
    group: Mapped[str] = mapped_column(ForeignKey("identity.study_group.code"))
    kind: Mapped[str] = mapped_column(String(16))
    subgroup: Mapped[str | None] = mapped_column(String(16))


class Substitution(Base):
    __tablename__ = "substitution"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    teacher: Mapped[str] = mapped_column(ForeignKey("identity.person.code"))
    substitute: Mapped[str] = mapped_column(ForeignKey("identity.person.code"))
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)  # inclusive
    discipline: Mapped[str | None] = mapped_column(String(64))
    group: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Order(Base):
    __tablename__ = "enrolment_order"
    __table_args__ = (UniqueConstraint("number", "student", "kind", name="order_unique"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # admit | transfer | expel
    student: Mapped[str] = mapped_column(ForeignKey("identity.person.code"))
    group: Mapped[str | None] = mapped_column(String(64))
    subgroup: Mapped[str | None] = mapped_column(String(16))
    date: Mapped[date] = mapped_column(Date)
    number: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(64))


class ApiToken(Base):
    """An integration token of a faculty system (API.md "Integration tokens"). Only the SHA-256 of the token is
    kept (the token is 256 random bits, so a fast hash is enough; the gateway mints it and shows it once)."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    faculty: Mapped[str] = mapped_column(ForeignKey("identity.org_unit.code"))
    scopes: Mapped[list[str]] = mapped_column(JSONB)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # the token's first characters, to tell tokens apart in a list
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
