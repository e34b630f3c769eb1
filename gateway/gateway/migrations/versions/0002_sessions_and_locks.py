"""The gateway's read model of timetable sessions and of posted statements (windows and locks)."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "session",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("term", sa.String(64), nullable=False),
        sa.Column("discipline", sa.String(64), nullable=False),
        sa.Column("group", sa.String(64), nullable=False, index=True),
        sa.Column("subgroup", sa.String(16)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("teacher", sa.String(64), nullable=False, index=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("first_entry_at", sa.DateTime(timezone=True)),
        schema="gateway",
    )
    op.create_table(
        "statement_lock",
        sa.Column("statement", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("group", sa.String(64), nullable=False, index=True),
        sa.Column("discipline", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("covers_until", sa.DateTime(timezone=True)),
        schema="gateway",
    )
