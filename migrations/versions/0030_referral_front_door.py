"""The referral's front door (issue 21): owners' invite links and the pre-registrations made
through them, the duty manager's reports at the showroom, owners' disputes of a fraud outcome

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-22 08:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "referral_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("handle", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_referral_invites_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_invites")),
        sa.UniqueConstraint("handle", name=op.f("uq_referral_invites_handle")),
        sa.UniqueConstraint("member_id", name=op.f("uq_referral_invites_member_id")),
    )
    op.create_table(
        "referral_disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open", "upheld", "overturned", name="disputestatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recording_ref", sa.String(length=128), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_referral_disputes_dealer_id_dealers")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_referral_disputes_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_referral_disputes_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_disputes_referral_id_referrals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_disputes")),
        sa.UniqueConstraint("referral_id", name=op.f("uq_referral_disputes_referral_id")),
    )
    with op.batch_alter_table("referral_disputes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_referral_disputes_dealer_status", ["dealer_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_referral_disputes_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "referral_invite_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invite_id"],
            ["referral_invites.id"],
            name=op.f("fk_referral_invite_registrations_invite_id_referral_invites"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_invite_registrations_referral_id_referrals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_invite_registrations")),
        sa.UniqueConstraint(
            "referral_id", name=op.f("uq_referral_invite_registrations_referral_id")
        ),
    )
    with op.batch_alter_table("referral_invite_registrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_invite_registrations_invite_id"), ["invite_id"], unique=False
        )

    op.create_table(
        "showroom_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("named_referrer", sa.String(length=200), nullable=False),
        sa.Column("named_member_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "confirmed", "refused", name="reportstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("reported_by_id", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_showroom_reports_dealer_id_dealers")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_showroom_reports_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["named_member_id"],
            ["members.id"],
            name=op.f("fk_showroom_reports_named_member_id_members"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_showroom_reports_referral_id_referrals"),
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"], ["users.id"], name=op.f("fk_showroom_reports_reported_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["showroom_visits.id"],
            name=op.f("fk_showroom_reports_visit_id_showroom_visits"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_showroom_reports")),
        sa.UniqueConstraint("referral_id", name=op.f("uq_showroom_reports_referral_id")),
    )
    with op.batch_alter_table("showroom_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_showroom_reports_dealer_status", ["dealer_id", "status"], unique=False
        )


def downgrade():
    with op.batch_alter_table("showroom_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_showroom_reports_dealer_status")

    op.drop_table("showroom_reports")
    with op.batch_alter_table("referral_invite_registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_invite_registrations_invite_id"))

    op.drop_table("referral_invite_registrations")
    with op.batch_alter_table("referral_disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_disputes_member_id"))
        batch_op.drop_index("ix_referral_disputes_dealer_status")

    op.drop_table("referral_disputes")
    op.drop_table("referral_invites")
