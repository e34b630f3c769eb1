"""Tables of the makeup service (schema `makeup`): make-ups, disputes, commissions and appeals it owns, and the
read models it keeps from attendance's and grading's events (sessions, marks, statements, assessments, grades)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kernel.tables import schema_base

SCHEMA = "makeup"
Base = schema_base(SCHEMA)
metadata = Base.metadata


# -- owned --------------------------------------------------------------------------------------------------


class Makeup(Base):
    """One make-up per absence (003 §5): (session, student) is unique."""

    __tablename__ = "makeup"
    __table_args__ = (
        UniqueConstraint("session", "student", name="makeup_absence"),
        Index("makeup_group_discipline", "group", "discipline"),
        Index("makeup_student", "student"),
        Index("makeup_teacher", "teacher", "state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session: Mapped[int] = mapped_column(Integer)
    student: Mapped[str] = mapped_column(String(64))
    discipline: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(64))
    teacher: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # the session's kind
    absence_status: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # requested | assigned | completed (expired is derived)
    task_kind: Mapped[str | None] = mapped_column(String(32))
    topic: Mapped[str | None] = mapped_column(Text)
    due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[Any] = mapped_column(JSONB, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str] = mapped_column(String(64))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_by: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by: Mapped[str | None] = mapped_column(String(64))
    base_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # in force (extension applied)
    extension: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)  # steps {role,actor,at,until,reason}
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)  # what the student sees


class Dispute(Base):
    __tablename__ = "dispute"
    __table_args__ = (Index("dispute_student", "student"), Index("dispute_assessment", "assessment", "student"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assessment: Mapped[int] = mapped_column(Integer)
    student: Mapped[str] = mapped_column(String(64))
    group: Mapped[str | None] = mapped_column(String(64))
    discipline: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # open | resolved | escalated
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_by: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSONB, nullable=True)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)


class Commission(Base):
    """An appeal commission appointed by order (003 §6.3)."""

    __tablename__ = "commission"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order: Mapped[str] = mapped_column(String(100))
    members: Mapped[list[str]] = mapped_column(JSONB)
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Appeal(Base):
    __tablename__ = "appeal"
    __table_args__ = (Index("appeal_student", "student"), Index("appeal_state", "state", "id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    statement: Mapped[int | None] = mapped_column(Integer)
    assessment: Mapped[int | None] = mapped_column(Integer)
    student: Mapped[str] = mapped_column(String(64))
    group: Mapped[str | None] = mapped_column(String(64))
    discipline: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # filed | decided
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    filed_by: Mapped[str] = mapped_column(String(64))
    commission: Mapped[int | None] = mapped_column(Integer)
    upheld: Mapped[bool | None] = mapped_column(Boolean)
    protocol: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[Any] = mapped_column(JSONB, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)


# -- read models, fed by attendance's and grading's events -------------------------------------------------------


class SessionInfo(Base):
    __tablename__ = "session_info"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    term: Mapped[str | None] = mapped_column(String(64))
    discipline: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(64))
    subgroup: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    teacher: Mapped[str | None] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Mark(Base):
    """The current status per (session, student); `at` = the occurred_at of the event that set it (a late,
    older event never overwrites a newer status)."""

    __tablename__ = "mark"
    __table_args__ = (Index("mark_group_discipline", "group", "discipline"), Index("mark_student", "student"))
    session: Mapped[int] = mapped_column(Integer, primary_key=True)
    student: Mapped[str] = mapped_column(String(64), primary_key=True)
    group: Mapped[str] = mapped_column(String(64))
    discipline: Mapped[str] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))  # None: the mark was removed
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StatementInfo(Base):
    __tablename__ = "statement_info"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    group: Mapped[str] = mapped_column(String(64))
    discipline: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AssessmentInfo(Base):
    __tablename__ = "assessment_info"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    group: Mapped[str] = mapped_column(String(64))
    discipline: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(300))


class GradePub(Base):
    """When each student's current grade of an assessment became visible (grading's `grade.recorded`)."""

    __tablename__ = "grade_pub"
    assessment: Mapped[int] = mapped_column(Integer, primary_key=True)
    student: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONB, nullable=True)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
