"""HQ operations: dealer regions, member join dates, two-sided chapter transfers, and the
dealer each points entry is settled with

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 07:40:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# A side's decision: a plain VARCHAR(16) (no native enum); ck_..._side_status_values holds
# the values. Only the request as a whole can be cancelled.
_SIDE = sa.Enum(
    "pending",
    "approved",
    "rejected",
    name="transferstatus",
    native_enum=False,
    length=16,
)

# Where each existing entry was earned, granted or redeemed (first match wins); a reversal or
# refund follows the entry it undoes; anything else is the member's chapter.
_BACKFILL = (
    "UPDATE points_entries SET dealer_id = (SELECT v.dealer_id FROM service_visits v "
    "WHERE v.entry_id = points_entries.id) "
    "WHERE dealer_id IS NULL AND id IN (SELECT entry_id FROM service_visits "
    "WHERE entry_id IS NOT NULL)",
    "UPDATE points_entries SET dealer_id = (SELECT a.dealer_id FROM points_adjustments a "
    "WHERE a.entry_id = points_entries.id) "
    "WHERE dealer_id IS NULL AND id IN (SELECT entry_id FROM points_adjustments "
    "WHERE entry_id IS NOT NULL)",
    "UPDATE points_entries SET dealer_id = (SELECT MIN(v.dealer_id) FROM vouchers v "
    "WHERE v.debit_entry_id = points_entries.id) "
    "WHERE dealer_id IS NULL AND id IN (SELECT debit_entry_id FROM vouchers "
    "WHERE debit_entry_id IS NOT NULL)",
    # The keys are cut from the entry's side ("R42" → 42, "ticket:<uuid>" → <uuid>) so the
    # referral's primary key and the registration's unique ticket index find the row: matching
    # 'R' || r.id = reference instead scans every referral for every entry.
    "UPDATE points_entries SET dealer_id = (SELECT r.dealer_id FROM referrals r "
    "WHERE r.id = CAST(substr(points_entries.reference, 2) AS INTEGER)) "
    "WHERE dealer_id IS NULL AND source = 'referral' AND reverses_id IS NULL "
    "AND reference LIKE 'R_%'",
    "UPDATE points_entries SET dealer_id = (SELECT e.dealer_id FROM event_registrations r "
    "JOIN events e ON e.id = r.event_id "
    "WHERE r.ticket_uuid = CASE WHEN points_entries.idempotency_key LIKE 'ticket:%' "
    "THEN substr(points_entries.idempotency_key, 8) "
    "ELSE substr(points_entries.idempotency_key, 9) END) "
    "WHERE dealer_id IS NULL AND source IN ('event', 'event_deposit') AND reverses_id IS NULL "
    "AND (idempotency_key LIKE 'ticket:%' OR idempotency_key LIKE 'deposit:%')",
    "UPDATE points_entries SET dealer_id = (SELECT o.dealer_id FROM points_entries o "
    "WHERE o.id = points_entries.reverses_id) "
    "WHERE dealer_id IS NULL AND reverses_id IS NOT NULL",
    "UPDATE points_entries SET dealer_id = (SELECT m.dealer_id FROM points_accounts a "
    "JOIN members m ON m.id = a.member_id WHERE a.id = points_entries.account_id) "
    "WHERE dealer_id IS NULL",
)


def upgrade():
    with op.batch_alter_table("dealers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("region", sa.String(length=32), server_default="", nullable=False)
        )

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True))
    # Owners who hold a password have joined; the day they did is not known before this
    # revision, so it is taken as the day they were enrolled.
    op.execute(
        "UPDATE members SET joined_at = created_at WHERE user_id IN "
        "(SELECT id FROM users WHERE password_hash <> '!')"
    )

    with op.batch_alter_table("chapter_transfers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("from_status", _SIDE, server_default="pending", nullable=False)
        )
        batch_op.add_column(sa.Column("from_decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("from_decided_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("to_status", _SIDE, server_default="pending", nullable=False))
        batch_op.add_column(sa.Column("to_decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("to_decided_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_chapter_transfers_from_decided_by_id_users"),
            "users",
            ["from_decided_by_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_chapter_transfers_to_decided_by_id_users"),
            "users",
            ["to_decided_by_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_chapter_transfers_side_status_values"),
            "from_status IN ('pending', 'approved', 'rejected') "
            "AND to_status IN ('pending', 'approved', 'rejected')",
        )
    # Requests HQ decided alone before this revision: both sides took HQ's decision.
    for side in ("from", "to"):
        op.execute(
            f"UPDATE chapter_transfers SET {side}_status = status, "
            f"{side}_decided_at = decided_at, {side}_decided_by_id = decided_by_id "
            "WHERE status IN ('approved', 'rejected')"
        )

    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dealer_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_points_entries_dealer_id_dealers"), "dealers", ["dealer_id"], ["id"]
        )
        batch_op.create_index(
            "ix_points_entries_created_dealer", ["created_at", "dealer_id"], unique=False
        )
    for statement in _BACKFILL:
        op.execute(statement)


def downgrade():
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_points_entries_created_dealer")
        batch_op.drop_constraint(
            batch_op.f("fk_points_entries_dealer_id_dealers"), type_="foreignkey"
        )
        batch_op.drop_column("dealer_id")

    with op.batch_alter_table("chapter_transfers", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_chapter_transfers_side_status_values"), type_="check"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_chapter_transfers_to_decided_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_chapter_transfers_from_decided_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("to_decided_by_id")
        batch_op.drop_column("to_decided_at")
        batch_op.drop_column("to_status")
        batch_op.drop_column("from_decided_by_id")
        batch_op.drop_column("from_decided_at")
        batch_op.drop_column("from_status")

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("joined_at")

    with op.batch_alter_table("dealers", schema=None) as batch_op:
        batch_op.drop_column("region")
