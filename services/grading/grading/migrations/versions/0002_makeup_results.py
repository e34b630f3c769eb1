"""Completed make-ups' results, from makeup's `makeup.completed`."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "makeup_result",
        sa.Column("makeup", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("session", sa.Integer, nullable=False),
        sa.Column("student", sa.String(64), nullable=False, index=True),
        sa.Column("group", sa.String(64), nullable=False),
        sa.Column("discipline", sa.String(64), nullable=False),
        sa.Column("result", sa.String(32), nullable=False),
        sa.Column("comment", sa.String(2000)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        schema="grading",
    )
