"""Staff book for owners: who booked an appointment, and the spend a kept booking's reward
takes (issue 20 item 6; seed 002: 整体消费满100送20工时卷)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 08:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("booked_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_appointments_booked_by_id_users"), "users", ["booked_by_id"], ["id"]
        )
    with op.batch_alter_table("appointment_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reward_min_spend_fen", sa.Integer(), server_default="10000", nullable=False
            )
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_appointment_settings_min_spend_not_negative"),
            "reward_min_spend_fen >= 0",
        )


def downgrade():
    with op.batch_alter_table("appointment_settings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_appointment_settings_min_spend_not_negative"), type_="check"
        )
        batch_op.drop_column("reward_min_spend_fen")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_appointments_booked_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("booked_by_id")
