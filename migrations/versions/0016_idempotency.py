"""Every owner action once (R13): idempotency keys; amended repair orders

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 10:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_idempotency_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
    )

    op.create_table(
        "visit_amendments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("points_reversed", sa.Integer(), nullable=False),
        sa.Column("points_awarded", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("number > 0", name=op.f("ck_visit_amendments_number_positive")),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_visit_amendments_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["service_visits.id"],
            name=op.f("fk_visit_amendments_visit_id_service_visits"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_amendments")),
        sa.UniqueConstraint("visit_id", "number", name="uq_visit_amendments_visit_number"),
    )
    with op.batch_alter_table("visit_amendments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_visit_amendments_visit_id"), ["visit_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("visit_amendments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_amendments_visit_id"))
    op.drop_table("visit_amendments")
    op.drop_table("idempotency_keys")
