"""Member benefits (会员权益) as data: a catalogue of what each tier gives, in dated versions
announced before they apply (R2), each use recorded with the version it was used under, and the
anniversary gift's claim codes."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.models import string_enum
from app.core.states import StateMachine
from app.extensions import db


class BenefitKind(StrEnum):
    """What a benefit gives, which decides what the counter asks when it is used."""

    # seed 002: 维修、保养工时5折(事故修复除外)
    LABOUR_DISCOUNT = "labour_discount"
    # seed 002: 给予材料九折销售
    PARTS_DISCOUNT = "parts_discount"
    # seed 002: 洗车券, 尊享全车电脑免费深度检测一次
    FREE_ITEM = "free_item"
    # seed 002: 可凭短信领取周年纪念礼品一份
    ANNIVERSARY_GIFT = "anniversary_gift"
    # seed 002: 回店购买续保,可获赠车载智能诊断定位系统产品一份
    RENEWAL_GIFT = "renewal_gift"


DISCOUNT_KINDS = frozenset({BenefitKind.LABOUR_DISCOUNT, BenefitKind.PARTS_DISCOUNT})
# Once a membership year, whatever the catalogue says.
ONCE_A_YEAR_KINDS = frozenset({BenefitKind.ANNIVERSARY_GIFT, BenefitKind.RENEWAL_GIFT})


class CatalogueStatus(StrEnum):
    """HQ edits a draft, then announces it for a day at least the notice period ahead (or
    throws it away). An announced version never changes: the next change is a new version; until
    its day comes HQ may withdraw it, and it is the draft again."""

    DRAFT = "draft"
    ANNOUNCED = "announced"
    DISCARDED = "discarded"


CATALOGUE = StateMachine(
    CatalogueStatus,
    {
        CatalogueStatus.DRAFT: {CatalogueStatus.ANNOUNCED, CatalogueStatus.DISCARDED},
        # Withdrawn before its day: a draft again, to correct and announce anew.
        CatalogueStatus.ANNOUNCED: {CatalogueStatus.DRAFT},
        CatalogueStatus.DISCARDED: set(),
    },
    name="benefit catalogue",
)


class BenefitCatalogue(db.Model):
    """One version of the whole benefit catalogue; the newest announced version whose day has
    come is in force."""

    __tablename__ = "benefit_catalogues"
    __table_args__ = (
        CheckConstraint(
            "status <> 'announced' OR effective_from IS NOT NULL", name="announced_has_date"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[CatalogueStatus] = mapped_column(string_enum(CatalogueStatus))
    # Set when announced; a draft or a discarded version has none.
    effective_from: Mapped[date | None] = mapped_column(unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    announced_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    announced_at: Mapped[datetime | None]

    benefits: Mapped[list["TierBenefit"]] = relationship(
        back_populates="catalogue",
        order_by="TierBenefit.position, TierBenefit.id",
        cascade="all, delete-orphan",
    )


class TierBenefit(db.Model):
    """One benefit of one tier in one catalogue version.

    ``code`` names the benefit across tiers and versions ("car-wash"): a year's uses count by
    it, so an owner moving up a tier, or a new version, does not start the count afresh."""

    __tablename__ = "tier_benefits"
    __table_args__ = (
        UniqueConstraint("catalogue_id", "tier_code", "code", name="uq_tier_benefits_code"),
        CheckConstraint("percent IS NULL OR (percent >= 1 AND percent <= 100)", name="percent"),
        CheckConstraint("yearly_limit IS NULL OR yearly_limit >= 1", name="yearly_limit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    catalogue_id: Mapped[int] = mapped_column(ForeignKey("benefit_catalogues.id"), index=True)
    tier_code: Mapped[str] = mapped_column(ForeignKey("tiers.code"))
    code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[BenefitKind] = mapped_column(string_enum(BenefitKind, 24))
    name_en: Mapped[str] = mapped_column(String(80))
    name_zh: Mapped[str] = mapped_column(String(80))
    # Percent off, for a discount (50: half price).
    percent: Mapped[int | None]
    # Service categories a discount does not apply to (["accident"]).
    excluded: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Uses per membership year; None: no limit (a discount on every visit).
    yearly_limit: Mapped[int | None]
    position: Mapped[int] = mapped_column(default=0)

    catalogue: Mapped[BenefitCatalogue] = relationship(back_populates="benefits")

    def label(self, locale: str) -> str:
        """The benefit's name in ``locale``."""
        return self.name_zh if locale.startswith("zh") else self.name_en


class UseStatus(StrEnum):
    """A use counts against the year's limit until it is voided (recorded by mistake, or its
    repair order was refunded)."""

    USED = "used"
    VOIDED = "voided"


BENEFIT_USE = StateMachine(
    UseStatus, {UseStatus.USED: {UseStatus.VOIDED}, UseStatus.VOIDED: set()}, name="benefit use"
)


class BenefitUse(db.Model):
    """An owner used a benefit: at the counter or on a repair order the DMS sent, under the
    catalogue version in force that day (``catalogue_id``, ``benefit_id``)."""

    __tablename__ = "benefit_uses"
    __table_args__ = (
        CheckConstraint("discount_fen IS NULL OR discount_fen >= 0", name="discount_not_negative"),
        CheckConstraint("base_fen IS NULL OR base_fen > 0", name="base_positive"),
        Index("ix_benefit_uses_member_year", "member_id", "code", "year_start"),
        Index("ix_benefit_uses_dealer_reference", "dealer_id", "reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    catalogue_id: Mapped[int] = mapped_column(ForeignKey("benefit_catalogues.id"))
    benefit_id: Mapped[int] = mapped_column(ForeignKey("tier_benefits.id"))
    code: Mapped[str] = mapped_column(String(32))
    tier_code: Mapped[str] = mapped_column(String(16))
    status: Mapped[UseStatus] = mapped_column(string_enum(UseStatus), default=UseStatus.USED)
    # The membership year the use counts in (it starts on the joining anniversary).
    year_start: Mapped[date]
    used_on: Mapped[date]
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    # The repair order (or, for a renewal gift, the insurance policy) it was used on.
    reference: Mapped[str] = mapped_column(String(64), default="")
    category: Mapped[str | None] = mapped_column(String(16))
    base_fen: Mapped[int | None]
    discount_fen: Mapped[int | None]
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(8))  # "counter" or "dms"
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    # One use of a benefit per repair order (or policy) of a dealer; freed when voided.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    voided_at: Mapped[datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str] = mapped_column(Text, default="")

    benefit: Mapped[TierBenefit] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])


class AnniversaryCode(db.Model):
    """The code an owner receives on their membership anniversary (inbox and SMS) and shows at
    the counter to collect the anniversary gift (seed 002: 凭短信领取周年纪念礼品)."""

    __tablename__ = "anniversary_codes"
    __table_args__ = (
        UniqueConstraint("member_id", "year_start", name="uq_anniversary_codes_member_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    year_start: Mapped[date]
    code: Mapped[str] = mapped_column(String(8))
    issued_at: Mapped[datetime]
    expires_on: Mapped[date]
    use_id: Mapped[int | None] = mapped_column(ForeignKey("benefit_uses.id"))
