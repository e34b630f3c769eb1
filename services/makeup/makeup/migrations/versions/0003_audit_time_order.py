"""The audit list's order (time, then id), indexed: GET /api/v1/audit pages through it merged across services."""

from alembic import op

from kernel.migrate import add_audit_time_order

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    add_audit_time_order(op, "makeup")
