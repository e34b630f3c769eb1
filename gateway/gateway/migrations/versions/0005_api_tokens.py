"""Integration tokens as authentication needs them (from identity's `token.changed`), and their use counts."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("faculty", sa.String(64), nullable=False),
        sa.Column("scopes", JSONB, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        schema="gateway",
    )
    op.create_table(
        "api_token_use",
        sa.Column("token", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("uses", sa.BigInteger, nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        schema="gateway",
    )
