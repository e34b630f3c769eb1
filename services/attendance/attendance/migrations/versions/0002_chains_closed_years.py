"""Per-stream audit chains (a chain per session, excuse, term), and the academic years grading has closed."""

from alembic import op

from attendance.models import SCHEMA, metadata
from kernel.migrate import add_audit_chains

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    add_audit_chains(op, SCHEMA)
    metadata.create_all(op.get_bind(), tables=[metadata.tables[f"{SCHEMA}.closed_year"]])
