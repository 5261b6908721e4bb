"""Announced rule changes told to every owner's inbox once, and their withdrawal (R2)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 14:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rule_announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_told_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_announcements")),
    )
    with op.batch_alter_table("rule_announcements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rule_announcements_version", ["kind", "version_id"], unique=False
        )
        batch_op.create_index(
            "ix_rule_announcements_told", ["told_at", "withdrawn_told_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("rule_announcements", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_announcements_told")
        batch_op.drop_index("ix_rule_announcements_version")
    op.drop_table("rule_announcements")
