"""Tables of the attendance service (schema `attendance`): the timetable, marks, check-ins and excuses it
owns, and the read models it keeps from identity's events (groups, enrolments, load, disciplines)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kernel.tables import schema_base

SCHEMA = "attendance"
Base = schema_base(SCHEMA)
metadata = Base.metadata


# -- owned --------------------------------------------------------------------------------------------------


class Term(Base):
    __tablename__ = "term"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)  # inclusive


class Session(Base):
    """One class of the timetable (RULES.md §2: sessions come only from the timetable)."""

    __tablename__ = "session"
    __table_args__ = (
        Index("session_order", "starts_at", "id"),
        Index("session_group", "group", "starts_at"),
        Index("session_teacher", "teacher", "starts_at"),
        Index("session_discipline", "discipline", "starts_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(200), unique=True)
    term: Mapped[str] = mapped_column(ForeignKey("attendance.term.code"))
    discipline: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(64))
    subgroup: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # lecture | practice | lab | srs
    teacher: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    minutes: Mapped[int] = mapped_column(Integer)
    room: Mapped[str | None] = mapped_column(String(64))
    planned_topic: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(Text)
    work_kind: Mapped[str | None] = mapped_column(String(100))
    first_entry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    last_entry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Mark(Base):
    __tablename__ = "mark"
    __table_args__ = (Index("mark_student", "student"),)
    session: Mapped[int] = mapped_column(ForeignKey("attendance.session.id"), primary_key=True)
    student: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(32))  # a key of the preset's classifier
    source: Mapped[str] = mapped_column(String(16))  # teacher | checkin | excuse | makeup
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # when the teacher's value was first entered: a teacher's change is timed from it (self-correction window,
    # 003 §4.4.1; none at kostanay, 004 §4, §13); NULL for a check-in's, an excuse's or a make-up's mark
    first_entry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Checkin(Base):
    __tablename__ = "checkin"
    session: Mapped[int] = mapped_column(ForeignKey("attendance.session.id"), primary_key=True)
    student: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    address: Mapped[str | None] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(200))


class Excuse(Base):
    """A document-backed absence (003 §4.2.3-4.2.4): filed, then approved or rejected by the directorate."""

    __tablename__ = "excuse"
    __table_args__ = (Index("excuse_student", "student"), Index("excuse_state", "state", "id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    student: Mapped[str] = mapped_column(String(64))
    from_: Mapped[date] = mapped_column("from", Date)
    to: Mapped[date] = mapped_column(Date)  # inclusive
    kind: Mapped[str] = mapped_column(String(32))  # one of the preset's excuse_kinds
    document: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    late_filing: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | approved | rejected
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)


# -- read models, fed by identity's and grading's events ----------------------------------------------------


class ClosedYear(Base):
    """An academic year grading has archived (its `year.closed`): marks, topics, check-ins and excuses of the
    sessions dated inside it change only by an appeal decision (RULES.md §9)."""

    __tablename__ = "closed_year"
    year: Mapped[str] = mapped_column(String(9), primary_key=True)  # 2026-2027
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)  # inclusive
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class GroupUnit(Base):
    __tablename__ = "group_unit"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    department: Mapped[str | None] = mapped_column(String(64))
    subgroups: Mapped[list[str]] = mapped_column(JSONB, default=list)


class Enrolment(Base):
    """A student's membership of a group over [starts, ends) (identity's `enrolment.changed`)."""

    __tablename__ = "enrolment"
    __table_args__ = (Index("enrolment_student", "student"), Index("enrolment_group", "group"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    student: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(64))
    subgroup: Mapped[str | None] = mapped_column(String(16))
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date | None] = mapped_column(Date)  # exclusive; None = current


class Assignment(Base):
    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("teacher", "discipline", "group", "kind", "subgroup",
                                       name="assignment_unique", postgresql_nulls_not_distinct=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    teacher: Mapped[str] = mapped_column(String(64))
    discipline: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    subgroup: Mapped[str | None] = mapped_column(String(16))


class Discipline(Base):
    __tablename__ = "discipline"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    control: Mapped[str] = mapped_column(String(16))  # exam | credit
