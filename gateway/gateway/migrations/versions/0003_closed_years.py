"""Archived academic years, from grading's `year.closed`."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "closed_year",
        sa.Column("year", sa.String(16), primary_key=True),
        sa.Column("starts", sa.Date, nullable=False),
        sa.Column("ends", sa.Date, nullable=False),
        schema="gateway",
    )
