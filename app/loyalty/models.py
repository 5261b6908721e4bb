"""Tier configuration and points accounts (the ledger arrives with the loyalty issue)."""

from sqlalchemy import CheckConstraint, ForeignKey, String
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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    balance: Mapped[int] = mapped_column(default=0)
    qualifying_points: Mapped[int] = mapped_column(default=0)
    tier_code: Mapped[str] = mapped_column(ForeignKey("tiers.code"), default="gold")
