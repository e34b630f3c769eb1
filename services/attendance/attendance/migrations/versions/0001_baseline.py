"""Baseline: the attendance schema's tables."""

from alembic import op

from attendance.models import SCHEMA, metadata
from kernel.migrate import create_baseline

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_baseline(op, metadata, SCHEMA)
