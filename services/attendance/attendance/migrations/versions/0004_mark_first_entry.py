"""When a teacher's mark was first entered, so that a teacher's change of it is timed from its own entry (the
self-correction window); marks stored before take their last change as the nearest known."""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    # IF NOT EXISTS: a database created after this change has the column from the baseline (the model's tables)
    op.execute("ALTER TABLE attendance.mark ADD COLUMN IF NOT EXISTS first_entry_at timestamptz")
    op.execute("UPDATE attendance.mark SET first_entry_at = set_at WHERE first_entry_at IS NULL AND source = 'teacher'")
