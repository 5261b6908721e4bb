"""Indexes for the insight reports at 100,000 owners: last visits, attendees, their visits, open lots

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COUNTED = sa.text("status <> 'refunded'")
OPEN = sa.text("remaining > 0")


def upgrade():
    with op.batch_alter_table("service_visits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_visits_vehicle_counted",
            ["vehicle_id", "visited_on"],
            unique=False,
            postgresql_where=COUNTED,
            sqlite_where=COUNTED,
        )
        batch_op.create_index(
            "ix_service_visits_member_counted",
            ["member_id", "visited_on", "dealer_id", "amount_fen", "category"],
            unique=False,
            postgresql_where=COUNTED,
            sqlite_where=COUNTED,
        )

    with op.batch_alter_table("event_registrations", schema=None) as batch_op:
        batch_op.drop_index("ix_event_registrations_event_status")
        batch_op.create_index(
            "ix_event_registrations_event_status",
            ["event_id", "status", "id", "member_id"],
            unique=False,
        )

    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_points_entries_open_lots",
            ["expires_on", "account_id", "remaining"],
            unique=False,
            postgresql_where=OPEN,
            sqlite_where=OPEN,
        )


def downgrade():
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_points_entries_open_lots")

    with op.batch_alter_table("event_registrations", schema=None) as batch_op:
        batch_op.drop_index("ix_event_registrations_event_status")
        batch_op.create_index(
            "ix_event_registrations_event_status", ["event_id", "status", "id"], unique=False
        )

    with op.batch_alter_table("service_visits", schema=None) as batch_op:
        batch_op.drop_index("ix_service_visits_member_counted")
        batch_op.drop_index("ix_service_visits_vehicle_counted")
