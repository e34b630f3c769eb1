"""Baseline: the identity schema's tables."""

from alembic import op

from identity.models import SCHEMA, metadata
from kernel.migrate import create_baseline

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_baseline(op, metadata, SCHEMA, tables=[
        "institution", "org_unit", "study_group", "person", "account", "role_grant", "parent_link", "enrolment",
        "discipline", "assignment", "substitution", "enrolment_order"])
