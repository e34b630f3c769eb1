"""Baseline: the attendance schema's tables (the timetable, marks, check-ins, excuses, and the read models fed
by identity's events). Frozen: a table added later comes with its own migration."""

from alembic import op

from attendance.models import SCHEMA, metadata
from kernel.migrate import create_baseline

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_baseline(op, metadata, SCHEMA, tables=[
        "term", "session", "mark", "checkin", "excuse", "group_unit", "enrolment", "assignment", "discipline"])
