"""A correction's group, so that each approver's queue holds its own units' corrections (API.md: an object the
caller may not see answers 404); filled in for the corrections stored before it from the assessment or session."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    # IF NOT EXISTS: a database created after this change has the column from the baseline (the model's tables)
    op.execute('ALTER TABLE grading.correction ADD COLUMN IF NOT EXISTS "group" varchar(64)')
    op.execute("""UPDATE grading.correction c SET "group" = a."group" FROM grading.assessment a
                  WHERE c."group" IS NULL AND c.target->>'kind' = 'grade'
                    AND a.id = (c.target->>'assessment')::int""")
    op.execute("""UPDATE grading.correction c SET "group" = s."group" FROM grading.session s
                  WHERE c."group" IS NULL AND c.target->>'kind' = 'attendance'
                    AND s.id = (c.target->>'session')::int""")
