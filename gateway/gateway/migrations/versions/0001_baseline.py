"""Baseline: the gateway schema's tables."""

from alembic import op

from gateway.models import SCHEMA, metadata
from kernel.migrate import create_baseline

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_baseline(op, metadata, SCHEMA, tables=["principal", "org_unit", "assignment", "substitution",
                                                 "login_failure", "refresh_token"])
