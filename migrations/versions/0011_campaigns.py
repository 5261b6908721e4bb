"""Campaigns (seed 000): target groups, invitation lists, calls, satisfaction callbacks, incentives

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:12:22.828562

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft", "launched", "closed", name="campaignstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("offer", sa.Text(), nullable=False),
        sa.Column("reward_id", sa.Integer(), nullable=True),
        sa.Column("call_script", sa.Text(), nullable=False),
        sa.Column("second_round_days", sa.Integer(), nullable=False),
        sa.Column("goal_visits", sa.Integer(), nullable=True),
        sa.Column("goal_revenue_fen", sa.Integer(), nullable=True),
        sa.Column("goal_success_rate_pct", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("launched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_campaigns_window_order")),
        sa.CheckConstraint(
            "goal_revenue_fen IS NULL OR goal_revenue_fen >= 1",
            name=op.f("ck_campaigns_goal_revenue_positive"),
        ),
        sa.CheckConstraint(
            "goal_success_rate_pct IS NULL OR goal_success_rate_pct BETWEEN 1 AND 100",
            name=op.f("ck_campaigns_goal_rate_range"),
        ),
        sa.CheckConstraint(
            "goal_visits IS NULL OR goal_visits >= 1",
            name=op.f("ck_campaigns_goal_visits_positive"),
        ),
        sa.CheckConstraint(
            "second_round_days BETWEEN 1 AND 90", name=op.f("ck_campaigns_second_round_range")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_campaigns_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_campaigns_dealer_id_dealers")
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["rewards.id"], name=op.f("fk_campaigns_reward_id_rewards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_dealer_id"), ["dealer_id"], unique=False)

    op.create_table(
        "campaign_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("goal_success_rate_pct", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "goal_success_rate_pct IS NULL OR goal_success_rate_pct BETWEEN 1 AND 100",
            name=op.f("ck_campaign_groups_goal_rate_range"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_groups_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_groups")),
        sa.UniqueConstraint("campaign_id", "position", name="uq_campaign_groups_position"),
    )
    op.create_table(
        "campaign_incentive_tiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("from_rate_bp", sa.Integer(), nullable=False),
        sa.Column("per_participant_fen", sa.Integer(), nullable=False),
        sa.Column("bonus_fen", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "from_rate_bp BETWEEN 0 AND 10000", name=op.f("ck_campaign_incentive_tiers_rate_range")
        ),
        sa.CheckConstraint(
            "per_participant_fen >= 0",
            name=op.f("ck_campaign_incentive_tiers_per_participant_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_incentive_tiers_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["campaign_groups.id"],
            name=op.f("fk_campaign_incentive_tiers_group_id_campaign_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_incentive_tiers")),
    )
    with op.batch_alter_table("campaign_incentive_tiers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_incentive_tiers_campaign_id"), ["campaign_id"], unique=False
        )

    op.create_table(
        "campaign_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.Column("vin", sa.String(length=17), nullable=False),
        sa.Column("segment", sa.String(length=24), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("age_years", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "not_reached",
                "interested",
                "booked",
                "declined",
                "wrong_number",
                name="calloutcome",
                native_enum=False,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("second_round_on", sa.Date(), nullable=True),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("round IN (1, 2)", name=op.f("ck_campaign_targets_round_range")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_campaign_targets_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_targets_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["campaign_groups.id"],
            name=op.f("fk_campaign_targets_group_id_campaign_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_campaign_targets_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicles.id"], name=op.f("fk_campaign_targets_vehicle_id_vehicles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_targets")),
        sa.UniqueConstraint("campaign_id", "vehicle_id", name="uq_campaign_targets_vehicle"),
    )
    with op.batch_alter_table("campaign_targets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_targets_agent", ["agent_id", "campaign_id"], unique=False
        )
        batch_op.create_index("ix_campaign_targets_group", ["group_id"], unique=False)
        batch_op.create_index("ix_campaign_targets_member", ["member_id"], unique=False)

    op.create_table(
        "campaign_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "not_reached",
                "interested",
                "booked",
                "declined",
                "wrong_number",
                name="calloutcome",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_campaign_calls_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["campaign_targets.id"],
            name=op.f("fk_campaign_calls_target_id_campaign_targets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_calls")),
    )
    with op.batch_alter_table("campaign_calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_calls_target_id"), ["target_id"], unique=False
        )

    op.create_table(
        "campaign_survey_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_campaign_survey_calls_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["campaign_targets.id"],
            name=op.f("fk_campaign_survey_calls_target_id_campaign_targets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_survey_calls")),
    )
    with op.batch_alter_table("campaign_survey_calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_survey_calls_target_id"), ["target_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("campaign_survey_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_survey_calls_target_id"))

    op.drop_table("campaign_survey_calls")
    with op.batch_alter_table("campaign_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_calls_target_id"))

    op.drop_table("campaign_calls")
    with op.batch_alter_table("campaign_targets", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_targets_member")
        batch_op.drop_index("ix_campaign_targets_group")
        batch_op.drop_index("ix_campaign_targets_agent")

    op.drop_table("campaign_targets")
    with op.batch_alter_table("campaign_incentive_tiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_incentive_tiers_campaign_id"))

    op.drop_table("campaign_incentive_tiers")
    op.drop_table("campaign_groups")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_dealer_id"))

    op.drop_table("campaigns")
