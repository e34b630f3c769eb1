"""Baseline: the reports schema's tables."""

from alembic import op

from kernel.migrate import create_baseline
from reports.models import SCHEMA, metadata

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_baseline(op, metadata, SCHEMA)
