"""Tables of the reports service (schema `reports`): read models only, each fed by other services' events
(ARCHITECTURE.md: reports owns no fact; it never reads another service's tables).

`tally` is the report's hot path: the number of marks of each status per session, kept by the
`marks.recorded` handler as marks change, so the attendance report sums a few rows per session instead of
counting millions of marks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.tables import schema_base

SCHEMA = "reports"
Base = schema_base(SCHEMA)
metadata = Base.metadata


class OrgUnit(Base):
    """identity `org.changed`: group → department → faculty."""

    __tablename__ = "org_unit"
    __table_args__ = (Index("org_unit_parent", "parent"),)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # faculty | department | group
    name: Mapped[str] = mapped_column(String(300))
    parent: Mapped[str | None] = mapped_column(String(64))


class Person(Base):
    """identity `person.changed` (applied only when its revision is not older than the stored one)."""

    __tablename__ = "person"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # student | staff | parent
    full_name: Mapped[str] = mapped_column(String(300))
    department: Mapped[str | None] = mapped_column(String(64))
    group: Mapped[str | None] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=0)


class Discipline(Base):
    """identity `discipline.changed`."""

    __tablename__ = "discipline"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    control: Mapped[str | None] = mapped_column(String(16))


class Session(Base):
    """attendance `session.scheduled` (and the session fields every `marks.recorded` repeats)."""

    __tablename__ = "session"
    __table_args__ = (
        Index("session_group", "group", "starts_at"),
        Index("session_teacher", "teacher", "starts_at"),
        Index("session_discipline", "discipline", "starts_at"),
        Index("session_starts", "starts_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    term: Mapped[str | None] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(64))
    subgroup: Mapped[str | None] = mapped_column(String(16))
    discipline: Mapped[str] = mapped_column(String(64))
    teacher: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Mark(Base):
    """attendance `marks.recorded`: the latest status of a student at a session (by the event's time)."""

    __tablename__ = "mark"
    __table_args__ = (Index("mark_student", "student"),)
    session: Mapped[int] = mapped_column(Integer, primary_key=True)
    student: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # occurred_at of the event that set it


class Tally(Base):
    """Marks per session and status, kept with `mark` in the same transaction."""

    __tablename__ = "tally"
    session: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class Statement(Base):
    """grading `statement.created/posted/closed`: which statements exist and their state (the rows are not in
    the event; the gateway passes the statement from grading when a document is rendered)."""

    __tablename__ = "statement"
    __table_args__ = (Index("statement_group", "group", "discipline"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    group: Mapped[str] = mapped_column(String(64))
    discipline: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    covers_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # occurred_at of the last event applied


TABLES = ["org_unit", "person", "discipline", "session", "mark", "tally", "statement"]
