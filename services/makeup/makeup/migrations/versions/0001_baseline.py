"""Baseline: the makeup schema's tables (make-ups, disputes, commissions, appeals, and the read models fed by
attendance's and grading's events). Frozen: a table added later comes with its own migration."""

from alembic import op

from kernel.migrate import create_baseline
from makeup.models import SCHEMA, metadata

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_baseline(op, metadata, SCHEMA, tables=[
        "makeup", "dispute", "commission", "appeal", "session_info", "mark", "statement_info", "assessment_info",
        "grade_pub"])
