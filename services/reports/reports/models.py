"""Tables of the reports service (schema `reports`): read models only, each fed by other services' events
(ARCHITECTURE.md: reports owns no fact; it never reads another service's tables).

`tally` holds the number of marks of each status per session, kept by the `marks.recorded` handler as marks
change. The attendance report's hot path is one step further: `tally_rollup` sums the tallies by the report's
row (group × discipline × teacher) and `marked_rollup` counts the sessions with marks per row, kept in the same
transaction as `tally` (and moved along when a session's group, discipline or teacher changes), so a faculty's
report reads a few thousand rows instead of every session of the semester (issue 6, university scale).

Every row remembers the time of the event that set it (`at`, or a field's own `*_at`) and an event older than
that changes nothing: the handlers give the same tables whatever order the events come in, which is what lets
`python -m reports.rebuild` replay the event logs while live events keep arriving (see reports/rebuild.py).

`scheduled_report` is not a read model: it holds the reports generated at the preset's cadence (documents of
their period, kept as generated), so a rebuild leaves it alone."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
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
    at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the event that set it


class Person(Base):
    """identity `person.changed` (applied only when its revision is not older than the stored one)."""

    __tablename__ = "person"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # student | staff | parent
    full_name: Mapped[str] = mapped_column(String(300))
    department: Mapped[str | None] = mapped_column(String(64))
    group: Mapped[str | None] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=0)
    # a parent's linked students
    children: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))


class Discipline(Base):
    """identity `discipline.changed`."""

    __tablename__ = "discipline"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    control: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Session(Base):
    """attendance `session.scheduled` (and the session fields every `marks.recorded` repeats); the teacher's
    first entry and whether it was late (from `marks.recorded`, set once); the planned and recorded topic
    (`topic.recorded`)."""

    __tablename__ = "session"
    __table_args__ = (
        Index("session_group", "group", "starts_at"),
        Index("session_teacher", "teacher", "starts_at"),
        Index("session_discipline", "discipline", "starts_at"),
        Index("session_starts", "starts_at"),
        Index("session_term_teacher", "term", "teacher"),
        # the few sessions without marks that already started, for the report's `sessions`
        Index("session_unmarked", "starts_at", postgresql_where=text("NOT marked")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    term: Mapped[str | None] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(64))
    subgroup: Mapped[str | None] = mapped_column(String(16))
    discipline: Mapped[str] = mapped_column(String(64))
    teacher: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # event that set the fields above
    first_entry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    late: Mapped[bool | None] = mapped_column(Boolean)  # None until the first entry is known
    planned_topic: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(Text)
    work_kind: Mapped[str | None] = mapped_column(String(64))
    topic_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # has at least one mark: counted in `marked_rollup`; the report counts the other sessions once they started
    marked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


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


class TallyRollup(Base):
    """Marks per group × discipline × teacher (the attendance report's row) and status: the sum of `tally` over
    the row's sessions, moved by the same handler in the same transaction (reports/service.py `_roll`)."""

    __tablename__ = "tally_rollup"
    group: Mapped[str] = mapped_column(String(64), primary_key=True)
    discipline: Mapped[str] = mapped_column(String(64), primary_key=True)
    teacher: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class MarkedRollup(Base):
    """Sessions with at least one mark (`session.marked`) per group × discipline × teacher."""

    __tablename__ = "marked_rollup"
    group: Mapped[str] = mapped_column(String(64), primary_key=True)
    discipline: Mapped[str] = mapped_column(String(64), primary_key=True)
    teacher: Mapped[str] = mapped_column(String(64), primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer)


# Both rollups from `tally` and `session` at once, as the handlers would have kept them: for a bulk load that
# fills `mark` and `tally` without the handlers (bench/reports). The migration that added them keeps its own copy.
ROLLUP_REFILL = """
UPDATE reports.session s SET marked = EXISTS (SELECT 1 FROM reports.tally t WHERE t.session = s.id AND t.n > 0)
 WHERE marked IS DISTINCT FROM EXISTS (SELECT 1 FROM reports.tally t WHERE t.session = s.id AND t.n > 0);
DELETE FROM reports.tally_rollup;
INSERT INTO reports.tally_rollup ("group", discipline, teacher, status, n)
  SELECT s."group", s.discipline, s.teacher, t.status, sum(t.n)
    FROM reports.tally t JOIN reports.session s ON s.id = t.session GROUP BY 1, 2, 3, 4;
DELETE FROM reports.marked_rollup;
INSERT INTO reports.marked_rollup ("group", discipline, teacher, sessions)
  SELECT "group", discipline, teacher, count(*) FROM reports.session WHERE marked GROUP BY 1, 2, 3;
"""


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


class Assessment(Base):
    """grading `assessment.created` (and the fields every `grade.recorded` repeats)."""

    __tablename__ = "assessment"
    __table_args__ = (Index("assessment_group", "group", "discipline"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    group: Mapped[str] = mapped_column(String(64))
    discipline: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(300))
    day: Mapped[date] = mapped_column(Date)  # the work's date ("date" on the wire)
    max: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str | None] = mapped_column(String(64))


class Grade(Base):
    """grading `grade.recorded`: a student's current value (by the event's time), whether its first entry was
    late (never unset), and the last change's role, reason and approval (a correction or an appeal)."""

    __tablename__ = "grade"
    __table_args__ = (Index("grade_student", "student"),)
    assessment: Mapped[int] = mapped_column(Integer, primary_key=True)
    student: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    role: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    approval: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[int] = mapped_column(Integer, default=1)  # events that set it: more than one = corrected


class Case(Base):
    """A student's excuse (attendance), make-up, dispute or appeal (makeup): the events' payloads merged field by
    field, each field from the newest event that carried it (`versions`: field -> that event's time)."""

    __tablename__ = "student_case"
    __table_args__ = (Index("student_case_student", "student"),)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # excuse | makeup | dispute | appeal
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    student: Mapped[str] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    versions: Mapped[dict[str, str]] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the newest event applied


class ScheduledReport(Base):
    """A report generated unattended at the preset's cadence for one finished period and scope (a faculty, a
    department, a group); at most one per report, cadence, period and scope."""

    __tablename__ = "scheduled_report"
    __table_args__ = (UniqueConstraint("report", "cadence", "period_start", "scope_kind", "scope",
                                       name="scheduled_report_once"),
                      Index("scheduled_report_generated", "generated_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report: Mapped[str] = mapped_column(String(32))
    cadence: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(32))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # inclusive
    scope_kind: Mapped[str] = mapped_column(String(16))  # faculty | department | group
    scope: Mapped[str] = mapped_column(String(64))
    generated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)


# the read models: what a rebuild empties and fills again from the events
TABLES = ["org_unit", "person", "discipline", "session", "mark", "tally", "tally_rollup", "marked_rollup",
          "statement", "assessment", "grade", "student_case"]
