"""Tables of the grading service (schema `grading`): assessments, grades, statements, corrections and archived
years it owns, and the read models it keeps from identity's and attendance's events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kernel.tables import schema_base

SCHEMA = "grading"
Base = schema_base(SCHEMA)
metadata = Base.metadata


# -- owned --------------------------------------------------------------------------------------------------


class Assessment(Base):
    __tablename__ = "assessment"
    __table_args__ = (Index("assessment_group_discipline", "group", "discipline", "date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group: Mapped[str] = mapped_column(String(64))
    discipline: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # current | module1 | module2 | final
    title: Mapped[str] = mapped_column(String(300))
    date: Mapped[date] = mapped_column(Date)
    max: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Grade(Base):
    __tablename__ = "grade"
    assessment: Mapped[int] = mapped_column(ForeignKey("grading.assessment.id"), primary_key=True)
    student: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    first_entry_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    set_by: Mapped[str] = mapped_column(String(64))


class Statement(Base):
    __tablename__ = "statement"
    __table_args__ = (Index("statement_group_discipline", "group", "discipline", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group: Mapped[str] = mapped_column(String(64))
    discipline: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # module1 | module2 | final
    state: Mapped[str] = mapped_column(String(16))  # open | posted | closed
    control: Mapped[str] = mapped_column(String(16))
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    covers_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    posted_by: Mapped[str | None] = mapped_column(String(64))
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Correction(Base):
    __tablename__ = "correction"
    __table_args__ = (Index("correction_state", "state", "next_role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target: Mapped[dict[str, Any]] = mapped_column(JSONB)
    value: Mapped[Any] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # pending | executed | rejected
    next_action: Mapped[str | None] = mapped_column(String(16))
    next_role: Mapped[str | None] = mapped_column(String(32))
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    requested_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # the target's group: an approver's queue holds its own units' corrections (migration 0003)
    group: Mapped[str | None] = mapped_column(String(64))


class ClosedYear(Base):
    __tablename__ = "closed_year"
    year: Mapped[str] = mapped_column(String(9), primary_key=True)  # 2026-2027
    closed_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- read models, from events ---------------------------------------------------------------------------------


class Discipline(Base):
    __tablename__ = "discipline"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    control: Mapped[str] = mapped_column(String(16))  # exam | credit
    credits: Mapped[float | None] = mapped_column(Float)


class Enrolment(Base):
    __tablename__ = "enrolment"
    __table_args__ = (Index("enrolment_student", "student"), Index("enrolment_group", "group"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    student: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(64))
    subgroup: Mapped[str | None] = mapped_column(String(16))
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date | None] = mapped_column(Date)  # exclusive


class Session(Base):
    """A timetable session (from attendance's `session.scheduled` / `marks.recorded`)."""

    __tablename__ = "session"
    __table_args__ = (Index("session_group_discipline", "group", "discipline", "starts_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    term: Mapped[str | None] = mapped_column(String(64))
    discipline: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(64))
    subgroup: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Mark(Base):
    """The current attendance status of one student at one session; `at` = the occurred_at of the event that set
    it (a late, older event never overwrites a newer status: redelivery after a restart reorders events)."""

    __tablename__ = "mark"
    session: Mapped[int] = mapped_column(Integer, primary_key=True)
    student: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # NULL: stored before migration 0005


TABLES = ["assessment", "grade", "statement", "correction", "closed_year", "discipline", "enrolment", "session",
          "mark"]


class MakeupResult(Base):
    """A completed make-up's result (RULES.md §6, 003 §5: the result counts in the rating), from makeup's events."""

    __tablename__ = "makeup_result"
    makeup: Mapped[int] = mapped_column(Integer, primary_key=True)
    session: Mapped[int] = mapped_column(Integer)
    student: Mapped[str] = mapped_column(String(64), index=True)
    group: Mapped[str] = mapped_column(String(64))
    discipline: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(String(2000))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
