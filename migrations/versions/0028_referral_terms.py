"""Referral terms as dated versions HQ announces; the staff match review and the staff identity
register (R6.6); how each flagged staff member handled the fraudulent referral (issue 21)

Revision ID: 0028
Revises: 0027
Create Date: 2027-01-04 08:00:00

"""

import datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

PROGRAMME_COLUMNS = (
    "referrer_points",
    "friend_points",
    "maintenance_reward_id",
    "fuel_reward_id",
    "yearly_cap",
)


def upgrade():
    op.create_table(
        "referral_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("referrer_points", sa.Integer(), nullable=False),
        sa.Column("friend_points", sa.Integer(), nullable=False),
        sa.Column("yearly_cap", sa.Integer(), nullable=False),
        sa.Column("referrer_reward_id", sa.Integer(), nullable=True),
        sa.Column("friend_reward_id", sa.Integer(), nullable=True),
        sa.Column("bonus_reward_id", sa.Integer(), nullable=True),
        sa.Column("bonus_min_tier", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "referrer_points >= 0 AND friend_points >= 0",
            name=op.f("ck_referral_terms_points_not_negative"),
        ),
        sa.CheckConstraint("yearly_cap >= 1", name=op.f("ck_referral_terms_cap_positive")),
        sa.ForeignKeyConstraint(
            ["bonus_reward_id"],
            ["rewards.id"],
            name=op.f("fk_referral_terms_bonus_reward_id_rewards"),
        ),
        sa.ForeignKeyConstraint(
            ["bonus_min_tier"], ["tiers.code"], name=op.f("fk_referral_terms_bonus_min_tier_tiers")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_referral_terms_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["friend_reward_id"],
            ["rewards.id"],
            name=op.f("fk_referral_terms_friend_reward_id_rewards"),
        ),
        sa.ForeignKeyConstraint(
            ["referrer_reward_id"],
            ["rewards.id"],
            name=op.f("fk_referral_terms_referrer_reward_id_rewards"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_terms")),
        sa.UniqueConstraint("effective_from", name=op.f("uq_referral_terms_effective_from")),
    )
    op.create_table(
        "staff_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("tail", sa.String(length=4), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_staff_identities_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_staff_identities_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_identities")),
        sa.UniqueConstraint("user_id", "kind", "value", name=op.f("uq_staff_identities_user_id")),
    )
    with op.batch_alter_table("staff_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_identities_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_identities_value"), ["value"], unique=False)

    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("terms_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("staff_match", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("staff_review", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("staff_reviewed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("staff_reviewed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("staff_review_note", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_referrals_terms_id_referral_terms"),
            "referral_terms",
            ["terms_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_referrals_staff_reviewed_by_id_users"),
            "users",
            ["staff_reviewed_by_id"],
            ["id"],
        )

    with op.batch_alter_table("staff_flags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handled", sa.JSON(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_staff_flags_user_id"), ["user_id", "referral_id"]
        )

    # Version 1 is the programme as it stood, in force since long before any referral; the
    # referrals already bought on were earned under it.
    bind = op.get_bind()
    programme = sa.table(
        "referral_programme", *(sa.column(c, sa.Integer) for c in PROGRAMME_COLUMNS)
    )
    row = bind.execute(sa.select(*programme.c)).mappings().first()
    terms = sa.table(
        "referral_terms",
        sa.column("id", sa.Integer),
        sa.column("effective_from", sa.Date),
        sa.column("referrer_points", sa.Integer),
        sa.column("friend_points", sa.Integer),
        sa.column("yearly_cap", sa.Integer),
        sa.column("referrer_reward_id", sa.Integer),
        sa.column("friend_reward_id", sa.Integer),
        sa.column("bonus_reward_id", sa.Integer),
        sa.column("bonus_min_tier", sa.String),
        sa.column("note", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        terms,
        [
            {
                "id": 1,
                "effective_from": datetime.date(2000, 1, 1),
                "referrer_points": row["referrer_points"] if row else 2000,
                "friend_points": row["friend_points"] if row else 1000,
                "yearly_cap": row["yearly_cap"] if row else 12,
                "referrer_reward_id": row["maintenance_reward_id"] if row else None,
                "friend_reward_id": row["maintenance_reward_id"] if row else None,
                "bonus_reward_id": row["fuel_reward_id"] if row else None,
                # Seed 002: 金卡客户推荐成功，加送100元93汽油 (the club's platinum and up).
                "bonus_min_tier": "platinum",
                "note": "",
                "created_at": datetime.datetime(2027, 1, 4, tzinfo=datetime.UTC),
            }
        ],
    )
    if bind.dialect.name == "postgresql":
        op.execute("SELECT setval('referral_terms_id_seq', 1)")
    referrals = sa.table(
        "referrals", sa.column("terms_id", sa.Integer), sa.column("purchased_at", sa.DateTime)
    )
    op.execute(referrals.update().where(referrals.c.purchased_at.is_not(None)).values(terms_id=1))
    op.drop_table("referral_programme")


def downgrade():
    op.create_table(
        "referral_programme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referrer_points", sa.Integer(), nullable=False),
        sa.Column("friend_points", sa.Integer(), nullable=False),
        sa.Column("maintenance_reward_id", sa.Integer(), nullable=True),
        sa.Column("fuel_reward_id", sa.Integer(), nullable=True),
        sa.Column("yearly_cap", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "referrer_points >= 0 AND friend_points >= 0",
            name=op.f("ck_referral_programme_points_not_negative"),
        ),
        sa.CheckConstraint("yearly_cap >= 1", name=op.f("ck_referral_programme_cap_positive")),
        sa.ForeignKeyConstraint(
            ["fuel_reward_id"],
            ["rewards.id"],
            name=op.f("fk_referral_programme_fuel_reward_id_rewards"),
        ),
        sa.ForeignKeyConstraint(
            ["maintenance_reward_id"],
            ["rewards.id"],
            name=op.f("fk_referral_programme_maintenance_reward_id_rewards"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_programme")),
    )
    # The single row the old code reads: the version in force today.
    bind = op.get_bind()
    terms = sa.table(
        "referral_terms",
        sa.column("effective_from", sa.Date),
        sa.column("referrer_points", sa.Integer),
        sa.column("friend_points", sa.Integer),
        sa.column("yearly_cap", sa.Integer),
        sa.column("referrer_reward_id", sa.Integer),
        sa.column("bonus_reward_id", sa.Integer),
    )
    row = (
        bind.execute(
            sa.select(*terms.c)
            .where(terms.c.effective_from <= datetime.date.today())
            .order_by(terms.c.effective_from.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is not None:
        op.bulk_insert(
            sa.table("referral_programme", *(sa.column(c, sa.Integer) for c in PROGRAMME_COLUMNS)),
            [
                {
                    "referrer_points": row["referrer_points"],
                    "friend_points": row["friend_points"],
                    "maintenance_reward_id": row["referrer_reward_id"],
                    "fuel_reward_id": row["bonus_reward_id"],
                    "yearly_cap": row["yearly_cap"],
                }
            ],
        )

    with op.batch_alter_table("staff_flags", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_staff_flags_user_id"), type_="unique")
        batch_op.drop_column("handled")

    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_referrals_staff_reviewed_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_referrals_terms_id_referral_terms"), type_="foreignkey"
        )
        batch_op.drop_column("staff_review_note")
        batch_op.drop_column("staff_reviewed_at")
        batch_op.drop_column("staff_reviewed_by_id")
        batch_op.drop_column("staff_review")
        batch_op.drop_column("staff_match")
        batch_op.drop_column("terms_id")

    with op.batch_alter_table("staff_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_identities_value"))
        batch_op.drop_index(batch_op.f("ix_staff_identities_user_id"))

    op.drop_table("staff_identities")
    op.drop_table("referral_terms")
