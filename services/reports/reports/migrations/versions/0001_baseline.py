"""Baseline: the reports schema's read models (org units, people, disciplines, sessions, marks and their
per-session tally, statements). Frozen: a table added later comes with its own migration."""

from alembic import op

from kernel.migrate import create_baseline
from reports.models import SCHEMA, metadata

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_baseline(op, metadata, SCHEMA, tables=[
        "org_unit", "person", "discipline", "session", "mark", "tally", "statement"])
