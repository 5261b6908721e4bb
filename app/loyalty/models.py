"""Tier configuration, points accounts and the append-only points ledger."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

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


class EntryKind(StrEnum):
    """Why a ledger entry changed the balance."""

    EARN = "earn"
    REDEEM = "redeem"
    EXPIRE = "expire"
    REVERSE = "reverse"
    ADJUST = "adjust"


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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"))
    delta: Mapped[int]
    kind: Mapped[EntryKind] = mapped_column(
        Enum(
            EntryKind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        )
    )
    source: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(64))
    # Replaying the same key (repair order, referral, ticket...) changes nothing.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    qualifying: Mapped[bool] = mapped_column(default=False)
    remaining: Mapped[int | None]
    expires_on: Mapped[date | None]
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("points_entries.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
