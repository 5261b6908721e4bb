"""Partners, their perks per tier, and members' claims (single-use codes checked once)."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.images import HasCover, cover_check
from app.extensions import db


class Partner(db.Model):
    """A business that honours club perks: a hotel, a car wash, an insurer, a wine shop..."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a partner of the whole group (HQ); else one dealer's local partner.
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("dealers.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(255), default="")
    logo_url: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    perks: Mapped[list["Perk"]] = relationship(back_populates="partner", order_by="Perk.id")


class Perk(HasCover, db.Model):
    """What a partner offers members of a tier and above, within limits and dates."""

    __tablename__ = "perks"
    __table_args__ = (
        CheckConstraint("limit_per_member > 0", name="member_limit_positive"),
        CheckConstraint("total_limit IS NULL OR total_limit > 0", name="total_limit_positive"),
        CheckConstraint("claimed_count >= 0", name="claimed_not_negative"),
        CheckConstraint("valid_until >= valid_from", name="validity_order"),
        cover_check(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    min_tier_code: Mapped[str | None] = mapped_column(ForeignKey("tiers.code"))
    valid_from: Mapped[date]
    valid_until: Mapped[date]
    limit_per_member: Mapped[int] = mapped_column(default=1)
    total_limit: Mapped[int | None]
    # Claims so far, kept on the row (locked when claiming) so the total limit holds.
    claimed_count: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    partner: Mapped[Partner] = relationship(back_populates="perks")


class PerkClaim(db.Model):
    """A member's claim: a single-use code (and QR) the partner checks once."""

    __tablename__ = "perk_claims"
    __table_args__ = (Index("ix_perk_claims_perk_member", "perk_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    perk_id: Mapped[int] = mapped_column(ForeignKey("perks.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    # The member's tier when claiming: the partner's settlement counts perks by tier.
    tier_code: Mapped[str] = mapped_column(ForeignKey("tiers.code"))
    claimed_at: Mapped[datetime]
    expires_on: Mapped[date]
    honoured_at: Mapped[datetime | None] = mapped_column(index=True)
    honoured_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    perk: Mapped[Perk] = relationship()
