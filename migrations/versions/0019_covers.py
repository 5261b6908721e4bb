"""Cover pictures of events, rewards and perks (issue 18): the stored picture's key and size

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-14 10:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0019"
# Re-pointed to "0018" when the branch that adds 0018 is merged.
down_revision = "0018"
branch_labels = None
depends_on = None

TABLES = ("events", "rewards", "perks")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("cover_key", sa.String(length=16), nullable=True))
            batch_op.add_column(sa.Column("cover_width", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("cover_height", sa.Integer(), nullable=True))
            batch_op.create_check_constraint(
                op.f(f"ck_{table}_cover_size"),
                "cover_key IS NULL OR (cover_width > 0 AND cover_height > 0)",
            )


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_cover_size"), type_="check")
            batch_op.drop_column("cover_height")
            batch_op.drop_column("cover_width")
            batch_op.drop_column("cover_key")
