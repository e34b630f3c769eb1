"""The attendance report's rollup (issue 6, university scale): marks per group × discipline × teacher and status
(`tally_rollup`), sessions with marks per group × discipline × teacher (`marked_rollup`), and whether a session
has marks (`session.marked`, with a partial index over the sessions without). Filled from `tally` and `session`
as they stand, so an existing database answers the same report at once. Frozen: written out column by column."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

SCHEMA = "reports"

# The baseline creates `session` from the models of the day, so on a fresh database the column is there already.
SESSION_MARKED = """
ALTER TABLE reports.session ADD COLUMN IF NOT EXISTS marked boolean NOT NULL DEFAULT false;
UPDATE reports.session s SET marked = true
 WHERE NOT marked AND EXISTS (SELECT 1 FROM reports.tally t WHERE t.session = s.id AND t.n > 0);
CREATE INDEX IF NOT EXISTS session_unmarked ON reports.session (starts_at) WHERE NOT marked;
"""

FILL = """
INSERT INTO reports.tally_rollup ("group", discipline, teacher, status, n)
  SELECT s."group", s.discipline, s.teacher, t.status, sum(t.n)
    FROM reports.tally t JOIN reports.session s ON s.id = t.session GROUP BY 1, 2, 3, 4;
INSERT INTO reports.marked_rollup ("group", discipline, teacher, sessions)
  SELECT "group", discipline, teacher, count(*) FROM reports.session WHERE marked GROUP BY 1, 2, 3;
"""


def upgrade() -> None:
    op.get_bind().exec_driver_sql(SESSION_MARKED)
    op.create_table(
        "tally_rollup",
        sa.Column("group", sa.String(64), primary_key=True),
        sa.Column("discipline", sa.String(64), primary_key=True),
        sa.Column("teacher", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(32), primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
        schema=SCHEMA)
    op.create_table(
        "marked_rollup",
        sa.Column("group", sa.String(64), primary_key=True),
        sa.Column("discipline", sa.String(64), primary_key=True),
        sa.Column("teacher", sa.String(64), primary_key=True),
        sa.Column("sessions", sa.Integer, nullable=False),
        schema=SCHEMA)
    op.get_bind().exec_driver_sql(FILL)
