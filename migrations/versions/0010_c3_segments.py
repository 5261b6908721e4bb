"""C3 segment thresholds (campaigns, seed 000)

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 17:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "c3_thresholds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_months", sa.Integer(), nullable=False),
        sa.Column("maintenance_visits", sa.Integer(), nullable=False),
        sa.Column("spend_fen", sa.Integer(), nullable=False),
        sa.Column("repair_ratio_pct", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "period_months BETWEEN 1 AND 36", name=op.f("ck_c3_thresholds_period_range")
        ),
        sa.CheckConstraint(
            "maintenance_visits >= 1", name=op.f("ck_c3_thresholds_visits_positive")
        ),
        sa.CheckConstraint("spend_fen >= 1", name=op.f("ck_c3_thresholds_spend_positive")),
        sa.CheckConstraint(
            "repair_ratio_pct BETWEEN 1 AND 100", name=op.f("ck_c3_thresholds_ratio_range")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_c3_thresholds_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_c3_thresholds")),
    )


def downgrade():
    op.drop_table("c3_thresholds")
