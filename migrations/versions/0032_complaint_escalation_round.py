"""A complaint is escalated once per round: the round (times reopened) its last escalation
belongs to, so a reopened case overdue again goes to the dealer's admins again (issue 20)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 13:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("complaint_cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalated_round", sa.Integer(), nullable=True))
    # Escalations made before this revision count for the case's current round: nothing is
    # escalated a second time by the upgrade itself.
    op.execute(
        "UPDATE complaint_cases SET escalated_round = reopened_count"
        " WHERE escalated_at IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("complaint_cases", schema=None) as batch_op:
        batch_op.drop_column("escalated_round")
