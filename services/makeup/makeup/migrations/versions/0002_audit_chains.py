"""Audit entries link per stream (a make-up, an appeal, a commission) instead of one chain for the schema."""

from alembic import op

from kernel.migrate import add_audit_chains

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    add_audit_chains(op, "makeup")
