"""The time of the event that set each mark of grading's read model, so that an older `marks.recorded` delivered
late (redelivered after a restart) never overwrites a newer status, as reports and makeup already guard."""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    # IF NOT EXISTS: a database created after this change has the column from the baseline (the model's tables)
    op.execute('ALTER TABLE grading.mark ADD COLUMN IF NOT EXISTS "at" timestamptz')
