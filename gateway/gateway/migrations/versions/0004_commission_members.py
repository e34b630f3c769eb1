"""Appeal commission members, from makeup's `commission.created`."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "commission_member",
        sa.Column("commission", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("member", sa.String(64), primary_key=True),
        sa.Column("starts", sa.Date, nullable=False),
        sa.Column("ends", sa.Date, nullable=False),
        schema="gateway",
    )
