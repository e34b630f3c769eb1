"""The gateway's own tables (schema `gateway`): the access read model, fed only by identity's
events, and the security state of the HTTP edge (login failures, refresh tokens)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kernel.tables import schema_base

SCHEMA = "gateway"
Base = schema_base(SCHEMA)
metadata = Base.metadata


class Principal(Base):
    """A person who can log in, with what they may do: one row, replaced by newer `person.changed`."""

    __tablename__ = "principal"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str | None] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    full_name: Mapped[str] = mapped_column(String(300))
    department: Mapped[str | None] = mapped_column(String(64))
    group: Mapped[str | None] = mapped_column(String(64))
    subgroup: Mapped[str | None] = mapped_column(String(16))
    roles: Mapped[list[dict]] = mapped_column(JSONB, default=list)
    children: Mapped[list[str]] = mapped_column(JSONB, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    revision: Mapped[int] = mapped_column(Integer)


class OrgUnit(Base):
    __tablename__ = "org_unit"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # faculty | department | group
    name: Mapped[str] = mapped_column(String(300))
    parent: Mapped[str | None] = mapped_column(String(64))


class Assignment(Base):
    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("teacher", "discipline", "group", "kind", "subgroup",
                                       name="assignment_unique", postgresql_nulls_not_distinct=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    teacher: Mapped[str] = mapped_column(String(64), index=True)
    discipline: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    subgroup: Mapped[str | None] = mapped_column(String(16))


class Substitution(Base):
    __tablename__ = "substitution"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # identity's id
    teacher: Mapped[str] = mapped_column(String(64))
    substitute: Mapped[str] = mapped_column(String(64), index=True)
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)
    discipline: Mapped[str | None] = mapped_column(String(64))
    group: Mapped[str | None] = mapped_column(String(64))


class LoginFailure(Base):
    __tablename__ = "login_failure"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(128), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class RefreshToken(Base):
    """Rotating refresh tokens, stored as hashes. Reusing a rotated token revokes its whole family."""

    __tablename__ = "refresh_token"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family: Mapped[str] = mapped_column(String(36), index=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Session(Base):
    """A timetable session as the access and window checks need it, from attendance's `session.scheduled`."""

    __tablename__ = "session"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    term: Mapped[str] = mapped_column(String(64))
    discipline: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(64), index=True)
    subgroup: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    teacher: Mapped[str] = mapped_column(String(64), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    minutes: Mapped[int] = mapped_column(Integer)
    first_entry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StatementLock(Base):
    """A posted (or closed) statement: the journal data of its group and discipline is locked (RULES.md §5)."""

    __tablename__ = "statement_lock"
    statement: Mapped[int] = mapped_column(Integer, primary_key=True)
    group: Mapped[str] = mapped_column(String(64), index=True)
    discipline: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # posted | closed
    covers_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ClosedYear(Base):
    """An archived academic year (RULES.md §9, 003 §7.4): everything dated inside it is read-only."""

    __tablename__ = "closed_year"
    year: Mapped[str] = mapped_column(String(16), primary_key=True)
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)


class CommissionMember(Base):
    """Appeal commission membership, from makeup's `commission.created`: members act with role `commission`."""

    __tablename__ = "commission_member"
    commission: Mapped[int] = mapped_column(Integer, primary_key=True)
    member: Mapped[str] = mapped_column(String(64), primary_key=True)
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)


class ApiToken(Base):
    """An integration token as authentication needs it, from identity's `token.changed` (newer revisions win):
    the hash of the token, its faculty and scopes. Authenticating a token reads this row, no RPC."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # identity's id
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    faculty: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSONB)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean)
    revision: Mapped[int] = mapped_column(Integer)


class ApiTokenUse(Base):
    """How often and when last a token was used: the edge's own record, added to in batches (token_routes.py)."""

    __tablename__ = "api_token_use"
    token: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    uses: Mapped[int] = mapped_column(BigInteger)
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
