"""Rewards and the vouchers owners get for them."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.images import HasCover, cover_check
from app.core.models import string_enum
from app.core.states import StateMachine
from app.extensions import db
from app.members.models import Member


class RewardKind(StrEnum):
    """Kinds of rewards in the catalog (seed 002)."""

    MAINTENANCE_PACKAGE = "maintenance_package"
    LABOUR_VOUCHER = "labour_voucher"  # 工时券
    FUEL_VOUCHER = "fuel_voucher"
    GIFT = "gift"
    PARTNER_ITEM = "partner_item"


class VoucherStatus(StrEnum):
    """A voucher is used once, or cancelled unused (its points return)."""

    ISSUED = "issued"
    REDEEMED = "redeemed"
    CANCELLED = "cancelled"


# An expired voucher stays issued (its date says it): it can only be cancelled by the owner
# while still usable.
VOUCHER = StateMachine(
    VoucherStatus,
    {
        VoucherStatus.ISSUED: {VoucherStatus.REDEEMED, VoucherStatus.CANCELLED},
        VoucherStatus.REDEEMED: set(),
        VoucherStatus.CANCELLED: set(),
    },
    name="voucher",
)


class Reward(HasCover, db.Model):
    """A catalog item owners can redeem points for; ``dealer_id`` None means every dealer."""

    __tablename__ = "rewards"
    __table_args__ = (
        CheckConstraint("cost_points > 0", name="cost_positive"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("validity_days > 0", name="validity_positive"),
        cover_check(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("dealers.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[RewardKind] = mapped_column(string_enum(RewardKind, 24))
    cost_points: Mapped[int]
    stock: Mapped[int]
    min_tier_code: Mapped[str | None] = mapped_column(ForeignKey("tiers.code"))
    validity_days: Mapped[int]
    # An address typed before pictures were uploaded; shown while there is no ``cover``.
    image_url: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class Voucher(db.Model):
    """A single-use voucher: a code (and a signed QR) staff redeem once at the counter."""

    __tablename__ = "vouchers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    # Where it can be used: the reward's dealer, or the member's own dealer for group rewards.
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"), index=True)
    status: Mapped[VoucherStatus] = mapped_column(
        string_enum(VoucherStatus, 24), default=VoucherStatus.ISSUED
    )
    cost_points: Mapped[int]
    issued_at: Mapped[datetime]
    expires_on: Mapped[date]
    redeemed_at: Mapped[datetime | None]
    redeemed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None]
    debit_entry_id: Mapped[int | None] = mapped_column(ForeignKey("points_entries.id"))
    refund_entry_id: Mapped[int | None] = mapped_column(ForeignKey("points_entries.id"))
    # Free vouchers (referral rewards) carry no points; ``source`` says where they came from.
    source: Mapped[str] = mapped_column(String(32), default="redemption")

    reward: Mapped[Reward] = relationship()
    member: Mapped[Member] = relationship()
