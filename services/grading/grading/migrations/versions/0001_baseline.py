"""Baseline: the grading schema's tables."""

from alembic import op

from grading.models import SCHEMA, TABLES, metadata
from kernel.migrate import create_baseline

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_baseline(op, metadata, SCHEMA, tables=TABLES)
