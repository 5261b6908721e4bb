"""Card devices: a browser key certified to sign the member card's offline codes (issue 18)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-11 10:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "card_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.String(length=88), nullable=False),
        sa.Column("certified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_code_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_code_staff_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["card_id"], ["member_cards.id"], name=op.f("fk_card_devices_card_id_member_cards")
        ),
        sa.ForeignKeyConstraint(
            ["last_code_staff_id"],
            ["users.id"],
            name=op.f("fk_card_devices_last_code_staff_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_devices")),
    )
    with op.batch_alter_table("card_devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_devices_card_id"), ["card_id"], unique=False)


def downgrade():
    with op.batch_alter_table("card_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_devices_card_id"))
    op.drop_table("card_devices")
