"""Tier configuration, points accounts and the append-only points ledger."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import string_enum
from app.core.states import StateMachine
from app.extensions import db


class Tier(db.Model):
    """A membership tier: reached at ``threshold_points`` qualifying points in 12 months."""

    __tablename__ = "tiers"
    __table_args__ = (
        CheckConstraint("threshold_points >= 0", name="threshold_not_negative"),
        CheckConstraint(
            "multiplier_pct >= 100 AND multiplier_pct <= 1000", name="multiplier_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    rank: Mapped[int] = mapped_column(unique=True)
    threshold_points: Mapped[int]
    # Earning multiplier in percent: 125 means ×1.25.
    multiplier_pct: Mapped[int]


class PointsAccount(db.Model):
    """A member's spendable balance, qualifying points and current tier."""

    __tablename__ = "points_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("qualifying_points >= 0", name="qualifying_not_negative"),
        CheckConstraint("debt >= 0", name="debt_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    balance: Mapped[int] = mapped_column(default=0)
    qualifying_points: Mapped[int] = mapped_column(default=0)
    tier_code: Mapped[str] = mapped_column(ForeignKey("tiers.code"), default="gold")
    # Points a reversal could not take back because they were already spent; future
    # earnings settle it first, so a refund never leaves the owner the points.
    debt: Mapped[int] = mapped_column(default=0, server_default="0")
    # The member's annual review: the only day a tier can go down (by one at most).
    review_on: Mapped[date | None]


class EntryKind(StrEnum):
    """Why a ledger entry changed the balance."""

    EARN = "earn"
    REDEEM = "redeem"
    EXPIRE = "expire"
    REVERSE = "reverse"
    ADJUST = "adjust"


# Every source a ledger entry may have, as the owner reads it in the points history. The ledger
# refuses any other source, so a new way of earning or spending cannot show a raw code.
ENTRY_SOURCES = {
    "service_visit": _l("Service visit"),
    "referral": _l("Referral reward"),
    "event": _l("Event attendance"),
    "event_deposit": _l("Event deposit"),
    "reward": _l("Reward redeemed"),
    "goodwill": _l("Goodwill points from the dealer"),
    "expiry": _l("Points expired (older than 24 months)"),
    "forfeit": _l("Points forfeited: the account was deleted"),
    "debt": _l("Settles points of a refunded visit already spent"),
}


class PointsEntry(db.Model):
    """One append-only line of a member's points ledger.

    A positive entry is also a *lot*: ``remaining`` of its points are still spendable until
    ``expires_on``. Spending and expiry draw lots down oldest first.
    """

    __tablename__ = "points_entries"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta_not_zero"),
        CheckConstraint(
            "remaining IS NULL OR (remaining >= 0 AND remaining <= delta)", name="remaining_in_lot"
        ),
        Index("ix_points_entries_account_lots", "account_id", "expires_on", "id"),
        # The owner's points history, newest first: a page's entries in order from the index
        # alone, whatever the ledger's length (id breaks ties of the same instant).
        Index("ix_points_entries_account_history", "account_id", "created_at", "id"),
        # The monthly settlement: a month's entries per dealer and line, from the index alone.
        Index(
            "ix_points_entries_settlement", "created_at", "dealer_id", "account_id", "kind", "delta"
        ),
        # The points liability report: lots with points left by date (those past it that the
        # daily expiry has not taken yet; those expiring in the next months).
        Index(
            "ix_points_entries_open_lots",
            "expires_on",
            "account_id",
            "remaining",
            postgresql_where=text("remaining > 0"),
            sqlite_where=text("remaining > 0"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"))
    delta: Mapped[int]
    kind: Mapped[EntryKind] = mapped_column(string_enum(EntryKind))
    source: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(64))
    # Replaying the same key (repair order, referral, ticket...) changes nothing.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    # The points of this earning that count for the tier (spend, referrals, events; not
    # goodwill, not redemptions). They stop counting once the earning is reversed.
    qualifying_delta: Mapped[int] = mapped_column(default=0)
    reversed_at: Mapped[datetime | None]
    remaining: Mapped[int | None]
    expires_on: Mapped[date | None]
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("points_entries.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    # The dealer the entry is settled with (HQ 积分结算): where the points were earned, granted
    # or redeemed, fixed when posted so a later chapter transfer does not rewrite history.
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("dealers.id"))


class PointsAllocation(db.Model):
    """Which lots a debit drew from, so cancelling it can give back exactly those points."""

    __tablename__ = "points_allocations"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    debit_id: Mapped[int] = mapped_column(ForeignKey("points_entries.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("points_entries.id"), index=True)
    amount: Mapped[int]


class TierChange(db.Model):
    """A member's move between tiers and why."""

    __tablename__ = "tier_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"), index=True)
    from_code: Mapped[str] = mapped_column(String(16))
    to_code: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    qualifying_points: Mapped[int]
    at: Mapped[datetime]


class EarningRules(db.Model):
    """One dated version of the earning rules; the newest version in force applies.

    The earning rates (``maintenance_rate``...) are points earned per ¥100 the owner pays
    (100 = 1 point per yuan); ``points_worth_one_yuan`` goes the other way: what points are
    worth when spent. A new version is announced before it takes effect; points already
    earned keep the terms they were earned under.
    """

    __tablename__ = "earning_rules"
    __table_args__ = (
        CheckConstraint(
            "maintenance_rate >= 0 AND repair_rate >= 0 AND accident_rate >= 0 AND other_rate >= 0",
            name="rates_not_negative",
        ),
        CheckConstraint("anniversary_multiplier_pct >= 100", name="anniversary_at_least_one"),
        CheckConstraint("points_per_yuan_value > 0", name="point_value_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[date] = mapped_column(unique=True)
    maintenance_rate: Mapped[int]
    repair_rate: Mapped[int]
    accident_rate: Mapped[int]
    other_rate: Mapped[int]
    anniversary_multiplier_pct: Mapped[int]
    # How many points are worth ¥1 (shown next to every balance). The column keeps its first
    # name, so the schema needs no migration.
    points_worth_one_yuan: Mapped[int] = mapped_column("points_per_yuan_value")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class AdjustmentStatus(StrEnum):
    """A goodwill adjustment is posted at once, or waits for a second staff member."""

    PENDING = "pending"
    POSTED = "posted"
    REJECTED = "rejected"


ADJUSTMENT = StateMachine(
    AdjustmentStatus,
    {
        AdjustmentStatus.PENDING: {AdjustmentStatus.POSTED, AdjustmentStatus.REJECTED},
        AdjustmentStatus.POSTED: set(),
        AdjustmentStatus.REJECTED: set(),
    },
    name="adjustment",
)


class PointsAdjustment(db.Model):
    """Goodwill points (or a correction) given by staff, with a reason."""

    __tablename__ = "points_adjustments"
    __table_args__ = (
        CheckConstraint("points <> 0", name="points_not_zero"),
        Index("ix_points_adjustments_requester_at", "requested_by_id", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"), index=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"), index=True)
    points: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[AdjustmentStatus] = mapped_column(string_enum(AdjustmentStatus))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("points_entries.id"))


class TierSchedule(db.Model):
    """A dated change of tier thresholds and multipliers, announced before it applies (R2)."""

    __tablename__ = "tier_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[date] = mapped_column(unique=True)
    # {"gold": [threshold, multiplier_pct], "platinum": [...], ...}
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    applied_at: Mapped[datetime | None]
