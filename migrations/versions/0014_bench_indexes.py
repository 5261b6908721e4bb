"""The monthly settlement reads a month's entries, and a campaign's results a window's service
visits, from an index alone

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
    with op.batch_alter_table("service_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_visits_visited_on"))
        batch_op.create_index(
            "ix_service_visits_day",
            ["visited_on", "dealer_id", "vehicle_id", "member_id", "amount_fen", "status"],
            unique=False,
        )
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_points_entries_created_dealer")
        batch_op.create_index(
            "ix_points_entries_settlement",
            ["created_at", "dealer_id", "account_id", "kind", "delta"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("service_visits", schema=None) as batch_op:
        batch_op.drop_index("ix_service_visits_day")
        batch_op.create_index(
            batch_op.f("ix_service_visits_visited_on"), ["visited_on"], unique=False
        )
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_points_entries_settlement")
        batch_op.create_index(
            "ix_points_entries_created_dealer", ["created_at", "dealer_id"], unique=False
        )
