"""The owner's points history reads a page of entries in order from an index (issue 19): the
index of an account's entries by time gains the id that breaks ties, so a page needs no sort

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 09:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_points_entries_account_created")
        batch_op.create_index(
            "ix_points_entries_account_history", ["account_id", "created_at", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_points_entries_account_history")
        batch_op.create_index(
            "ix_points_entries_account_created", ["account_id", "created_at"], unique=False
        )
