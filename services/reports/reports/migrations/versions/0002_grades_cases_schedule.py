"""Grades and assessments, the student's excuses, make-ups, disputes and appeals, the session's entry and topic,
parents' children, the event time every upsert is guarded by, and the scheduled reports. Frozen: written out
column by column, so later changes to the models come with their own migration."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"

SCHEMA = "reports"
TZ = sa.DateTime(timezone=True)


# New columns of the baseline's tables. The baseline creates its tables from the models of the day, so on a
# fresh database they exist already: IF NOT EXISTS.
COLUMNS = """
ALTER TABLE reports.org_unit ADD COLUMN IF NOT EXISTS "at" timestamptz;
ALTER TABLE reports.discipline ADD COLUMN IF NOT EXISTS "at" timestamptz;
ALTER TABLE reports.person ADD COLUMN IF NOT EXISTS children jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE reports.session ADD COLUMN IF NOT EXISTS scheduled_at timestamptz;
ALTER TABLE reports.session ADD COLUMN IF NOT EXISTS first_entry_at timestamptz;
ALTER TABLE reports.session ADD COLUMN IF NOT EXISTS late boolean;
ALTER TABLE reports.session ADD COLUMN IF NOT EXISTS planned_topic text;
ALTER TABLE reports.session ADD COLUMN IF NOT EXISTS topic text;
ALTER TABLE reports.session ADD COLUMN IF NOT EXISTS work_kind varchar(64);
ALTER TABLE reports.session ADD COLUMN IF NOT EXISTS topic_at timestamptz;
CREATE INDEX IF NOT EXISTS session_term_teacher ON reports.session (term, teacher);
"""


def upgrade() -> None:
    op.get_bind().exec_driver_sql(COLUMNS)

    op.create_table(
        "assessment",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("group", sa.String(64), nullable=False),
        sa.Column("discipline", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(300)),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("max", sa.Float, nullable=False),
        sa.Column("created_by", sa.String(64)),
        schema=SCHEMA)
    op.create_index("assessment_group", "assessment", ["group", "discipline"], schema=SCHEMA)

    op.create_table(
        "grade",
        sa.Column("assessment", sa.Integer, primary_key=True),
        sa.Column("student", sa.String(64), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("first_at", TZ, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("role", sa.String(32)),
        sa.Column("reason", sa.Text),
        sa.Column("approval", sa.Text),
        sa.Column("changes", sa.Integer, nullable=False, server_default=sa.text("1")),
        schema=SCHEMA)
    op.create_index("grade_student", "grade", ["student"], schema=SCHEMA)

    op.create_table(
        "student_case",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("student", sa.String(64), nullable=False),
        sa.Column("state", sa.String(32)),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("versions", JSONB, nullable=False),
        sa.Column("at", TZ, nullable=False),
        schema=SCHEMA)
    op.create_index("student_case_student", "student_case", ["student"], schema=SCHEMA)

    op.create_table(
        "scheduled_report",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("report", sa.String(32), nullable=False),
        sa.Column("cadence", sa.String(16), nullable=False),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("scope_kind", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("generated_at", TZ, nullable=False),
        sa.Column("body", JSONB, nullable=False),
        sa.UniqueConstraint("report", "cadence", "period_start", "scope_kind", "scope",
                            name="scheduled_report_once"),
        schema=SCHEMA)
    op.create_index("scheduled_report_generated", "scheduled_report", ["generated_at"], schema=SCHEMA)
