"""Care texts as versioned templates and broadcasts of greetings and weather warnings (issue 20)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-14 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "care_text_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=24), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("inherits", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "language IN ('zh', 'en')", name=op.f("ck_care_text_versions_language_values")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_care_text_versions_version_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_care_text_versions_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_care_text_versions_dealer_id_dealers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_text_versions")),
        sa.UniqueConstraint(
            "scope", "kind", "language", "version", name="uq_care_text_versions"
        ),
    )
    op.create_index("ix_care_text_versions_dealer", "care_text_versions", ["dealer_id"])

    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("title_zh", sa.String(length=200), nullable=False),
        sa.Column("body_zh", sa.Text(), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "scheduled",
                "sending",
                "sent",
                "cancelled",
                name="broadcaststatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_member_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("skipped_consent", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('holiday_greeting', 'weather_warning')",
            name=op.f("ck_broadcasts_kind_values"),
        ),
        sa.CheckConstraint(
            "audience >= 0 AND queued >= 0 AND skipped_consent >= 0",
            name=op.f("ck_broadcasts_counts_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_broadcasts_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_broadcasts_dealer_id_dealers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_index("ix_broadcasts_status_send_at", "broadcasts", ["status", "send_at"])
    op.create_index("ix_broadcasts_dealer_created", "broadcasts", ["dealer_id", "created_at"])


def downgrade():
    op.drop_index("ix_broadcasts_dealer_created", table_name="broadcasts")
    op.drop_index("ix_broadcasts_status_send_at", table_name="broadcasts")
    op.drop_table("broadcasts")
    op.drop_index("ix_care_text_versions_dealer", table_name="care_text_versions")
    op.drop_table("care_text_versions")
