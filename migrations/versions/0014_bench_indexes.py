"""The monthly settlement reads a month's entries from an index alone

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 08:35:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_points_entries_created_dealer")
        batch_op.create_index(
            "ix_points_entries_settlement",
            ["created_at", "dealer_id", "account_id", "kind", "delta"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_points_entries_settlement")
        batch_op.create_index(
            "ix_points_entries_created_dealer", ["created_at", "dealer_id"], unique=False
        )
