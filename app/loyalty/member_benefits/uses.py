"""Using a benefit: what an owner has left this membership year, recording a use at the counter
or from a repair order of the DMS (limits, exclusions, the tier, the version in force), and
voiding a use.

**The year is the membership year**, from the anniversary of the day the owner joined: the
anniversary gift's code arrives on that day (seed 002: 购车一周年, and membership starts at
delivery, R1), so the gift, the free items and the counts all start afresh together, and an
owner who joins in December gets a whole year of car washes, not three weeks of them.

Every use of an owner queues on their points account's row lock, so twenty counters recording
the same limited benefit at once never go past the limit."""

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.core.audit import record_audit
from app.core.clock import add_months, local_date, utcnow
from app.core.dates import format_local_date
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.money import yuan
from app.extensions import db
from app.loyalty.ledger import lock_member_account
from app.loyalty.member_benefits.catalogue import (
    CATEGORIES,
    BenefitFigures,
    CatalogueFigures,
    announced_versions,
    by_tier,
    catalogue_in_force,
    category_label,
    tier_names,
)
from app.loyalty.member_benefits.models import (
    BENEFIT_USE,
    DISCOUNT_KINDS,
    AnniversaryCode,
    BenefitKind,
    BenefitUse,
    TierBenefit,
    UseStatus,
)
from app.loyalty.services import account_for, tier_label
from app.members.models import Member

SOURCES = ("counter", "dms")


def membership_year(member: Member, on: date) -> tuple[date, date]:
    """The membership year ``on`` falls in: its first day (an anniversary of joining) and the
    first day of the next one. An owner still invited (not joined) counts from the invitation."""
    joined = local_date(member.joined_at or member.created_at)
    years = on.year - joined.year
    start = add_months(joined, 12 * years)
    if start > on:
        years -= 1
        start = add_months(joined, 12 * years)
    return start, add_months(joined, 12 * (years + 1))


@dataclass(frozen=True)
class OwnerBenefit:
    """One benefit of the owner's tier, and how much of it is left this membership year."""

    benefit: "BenefitFigures"
    used: int
    left: int | None  # None: no yearly limit
    claim: AnniversaryCode | None = None  # the anniversary gift's code, while it can be used


@dataclass(frozen=True)
class OwnerBenefits:
    """The owner's benefits today under the version in force."""

    tier_code: str
    year_start: date
    next_year: date
    items: list[OwnerBenefit]

    @property
    def last_day(self) -> date:
        """The membership year's last day."""
        return self.next_year - timedelta(days=1)


def _used_counts(member_id: int, year_start: date) -> dict[str, int]:
    return dict(
        db.session.execute(
            select(BenefitUse.code, func.count(BenefitUse.id))
            .where(
                BenefitUse.member_id == member_id,
                BenefitUse.year_start == year_start,
                BenefitUse.status == UseStatus.USED,
            )
            .group_by(BenefitUse.code)
        ).all()
    )


def open_claim(member_id: int, year_start: date, today: date) -> AnniversaryCode | None:
    """The anniversary code of the year, while it is unused and not past its date."""
    return db.session.scalar(
        select(AnniversaryCode).where(
            AnniversaryCode.member_id == member_id,
            AnniversaryCode.year_start == year_start,
            AnniversaryCode.use_id.is_(None),
            AnniversaryCode.expires_on >= today,
        )
    )


def owner_benefits(
    member: Member, *, tier_code: str | None = None, now: datetime | None = None
) -> OwnerBenefits:
    """What the owner's tier gives today, with each benefit's uses left this membership year."""
    today = local_date(now or utcnow())
    tier_code = tier_code or account_for(member).tier_code
    start, next_year = membership_year(member, today)
    benefits = by_tier(catalogue_in_force(today)).get(tier_code, [])
    used = _used_counts(member.id, start) if benefits else {}
    claim = None
    # A code comes on an anniversary (not on joining) and works only in the weeks after it: no
    # need to look for one at other times.
    joined = local_date(member.joined_at or member.created_at)
    claim_days = timedelta(days=current_app.config["BENEFIT_CLAIM_DAYS"])
    claimable = joined < start and today <= start + claim_days
    gift = next((b for b in benefits if b.kind == BenefitKind.ANNIVERSARY_GIFT), None)
    if claimable and gift is not None and not used.get(gift.code):
        claim = open_claim(member.id, start, today)
    items = []
    for benefit in benefits:
        count = used.get(benefit.code, 0)
        left = None if benefit.yearly_limit is None else max(benefit.yearly_limit - count, 0)
        code = claim if benefit.kind == BenefitKind.ANNIVERSARY_GIFT and left else None
        items.append(OwnerBenefit(benefit, count, left, code))
    return OwnerBenefits(tier_code, start, next_year, items)


def year_uses(member: Member, *, now: datetime | None = None) -> list[BenefitUse]:
    """The owner's uses this membership year (voided ones too), newest first."""
    start, _next = membership_year(member, local_date(now or utcnow()))
    return list(
        db.session.scalars(
            select(BenefitUse)
            .where(BenefitUse.member_id == member.id, BenefitUse.year_start == start)
            .options(
                selectinload(BenefitUse.benefit).selectinload(TierBenefit.catalogue),
                selectinload(BenefitUse.recorded_by),
            )
            .order_by(BenefitUse.created_at.desc(), BenefitUse.id.desc())
        )
    )


# ------------------------------------------------------------------------ recording a use


@dataclass(frozen=True)
class UseResult:
    """The use recorded, or the one recorded before for the same repair order (``created``
    False: nothing changed)."""

    use: BenefitUse
    created: bool


@dataclass(frozen=True)
class UseClaim:
    """What the counter or the DMS says was given."""

    code: str
    reference: str = ""
    category: str | None = None
    base_fen: int | None = None
    discount_fen: int | None = None
    claim_code: str = ""
    note: str = ""


def _benefit_for(tier_code: str, code: str, on: date) -> tuple[CatalogueFigures, BenefitFigures]:
    """The benefit ``code`` of the tier under the version in force on ``on``, or the reason
    there is none: not yet in force, another tier's, or no such benefit."""
    catalogue = catalogue_in_force(on)
    grouped = by_tier(catalogue)
    benefit = next((b for b in grouped.get(tier_code, []) if b.code == code), None)
    if benefit is not None:
        return catalogue, benefit
    later = next(
        (
            v.effective_from
            for v in announced_versions()
            if v.effective_from > on
            and any(b.tier_code == tier_code and b.code == code for b in v.benefits)
        ),
        None,
    )
    if later is not None:
        raise ValidationFailed(
            _l("This benefit applies from %(date)s, not yet.", date=format_local_date(later)),
            field="code",
        )
    others = [tier for tier, items in grouped.items() if any(b.code == code for b in items)]
    if others:
        raise ValidationFailed(
            _l(
                "Not a benefit of the owner's tier (%(tier)s): it comes with %(tiers)s.",
                tier=tier_label(tier_code),
                tiers=tier_names(others),
            ),
            field="code",
        )
    raise ValidationFailed(_l("No such benefit."), field="code")


def _check_discount(benefit: BenefitFigures, claim: UseClaim) -> None:
    if not claim.reference:
        raise ValidationFailed(_l("Give the repair order number."), field="reference")
    if claim.category not in CATEGORIES:
        raise ValidationFailed(_l("Choose the kind of work."), field="category")
    if claim.category in (benefit.excluded or []):
        raise ValidationFailed(
            _l(
                "%(category)s is excluded from this benefit.",
                category=category_label(claim.category),
            ),
            field="category",
        )
    if not claim.base_fen or claim.base_fen <= 0:
        raise ValidationFailed(_l("Give the amount before the discount."), field="base_yuan")
    if not claim.discount_fen or claim.discount_fen <= 0:
        raise ValidationFailed(_l("Give the discount given."), field="discount_yuan")
    most = (claim.base_fen * benefit.percent + 50) // 100
    if claim.discount_fen > most:
        raise ValidationFailed(
            _l(
                "At most ¥%(most)s: %(pct)s%% of ¥%(base)s.",
                most=yuan(most),
                pct=benefit.percent,
                base=yuan(claim.base_fen),
            ),
            field="discount_yuan",
        )


def _anniversary_claim(member: Member, year_start: date, text: str, on: date) -> AnniversaryCode:
    code = db.session.scalar(
        select(AnniversaryCode).where(
            AnniversaryCode.member_id == member.id, AnniversaryCode.year_start == year_start
        )
    )
    typed = "".join((text or "").split()).upper()
    if not typed:
        raise ValidationFailed(_l("Type the code from the owner's SMS."), field="claim_code")
    if code is None:
        raise ValidationFailed(
            _l("No anniversary code was sent to this owner for this membership year."),
            field="claim_code",
        )
    if typed != code.code:
        raise ValidationFailed(_l("This is not the code sent to the owner."), field="claim_code")
    if code.expires_on < on:
        raise ValidationFailed(
            _l("The code expired on %(date)s.", date=format_local_date(code.expires_on)),
            field="claim_code",
        )
    return code


def _check_kind(
    member: Member, benefit: BenefitFigures, claim: UseClaim, year_start: date, on: date
) -> AnniversaryCode | None:
    """The kind's own rules; the anniversary code a gift is claimed with."""
    kind = BenefitKind(benefit.kind)
    if kind in DISCOUNT_KINDS:
        _check_discount(benefit, claim)
    elif kind == BenefitKind.RENEWAL_GIFT and not claim.reference:
        raise ValidationFailed(_l("Give the insurance policy number."), field="reference")
    elif kind == BenefitKind.ANNIVERSARY_GIFT:
        return _anniversary_claim(member, year_start, claim.claim_code, on)
    return None


def _check_limit(member: Member, benefit: BenefitFigures, year: tuple[date, date]) -> None:
    if benefit.yearly_limit is None:
        return
    used = _used_counts(member.id, year[0]).get(benefit.code, 0)
    if used >= benefit.yearly_limit:
        raise ValidationFailed(
            _l(
                "Already used %(used)s of %(limit)s times this membership year; it starts "
                "again on %(date)s.",
                used=used,
                limit=benefit.yearly_limit,
                date=format_local_date(year[1]),
            ),
            field="code",
        )


def _same_figures(use: BenefitUse, claim: UseClaim) -> bool:
    return (use.category, use.base_fen, use.discount_fen) == (
        claim.category,
        claim.base_fen,
        claim.discount_fen,
    )


def record_use(
    actor,
    member: Member,
    claim: UseClaim,
    *,
    dealer_id: int,
    used_on: date | None = None,
    source: str = "counter",
    now: datetime | None = None,
) -> UseResult:
    """Record that the owner used a benefit of their tier, under the version in force on
    ``used_on`` (today by default); the same benefit on the same repair order again changes
    nothing. ValidationFailed, naming the field, when a rule says no."""
    now = now or utcnow()
    on = used_on or local_date(now)
    reference = (claim.reference or "").strip()
    claim = replace(claim, reference=reference, code=claim.code.strip())
    account = lock_member_account(member.id)
    key = f"{dealer_id}:{reference}:{claim.code}" if reference else None
    if key is not None:
        existing = db.session.scalar(select(BenefitUse).where(BenefitUse.idempotency_key == key))
        if existing is not None:
            if not _same_figures(existing, claim):
                raise Conflict(
                    _l(
                        "This benefit was already recorded on %(reference)s with other figures.",
                        reference=reference,
                    ),
                    field="reference",
                )
            return UseResult(existing, False)
    catalogue, benefit = _benefit_for(account.tier_code, claim.code, on)
    if source == "dms" and benefit.kind == BenefitKind.ANNIVERSARY_GIFT:
        raise ValidationFailed(
            _l("The anniversary gift is claimed at the counter with the owner's SMS code."),
            field="code",
        )
    year = membership_year(member, on)
    gift_code = _check_kind(member, benefit, claim, year[0], on)
    _check_limit(member, benefit, year)
    use = BenefitUse(
        member_id=member.id,
        catalogue_id=catalogue.id,
        benefit_id=benefit.id,
        code=benefit.code,
        tier_code=account.tier_code,
        status=UseStatus.USED,
        year_start=year[0],
        used_on=on,
        dealer_id=dealer_id,
        reference=reference,
        category=claim.category if benefit.kind in DISCOUNT_KINDS else None,
        base_fen=claim.base_fen if benefit.kind in DISCOUNT_KINDS else None,
        discount_fen=claim.discount_fen,
        note=(claim.note or "").strip()[:500],
        source=source,
        recorded_by_id=getattr(actor, "id", None),
        created_at=now,
        idempotency_key=key,
    )
    db.session.add(use)
    db.session.flush()
    if gift_code is not None:
        gift_code.use_id = use.id
    record_audit(
        actor,
        "benefit.used",
        subject=member,
        dealer_id=dealer_id,
        details={
            "use": use.id,
            "code": use.code,
            "version": catalogue.id,
            "reference": reference,
            "discount_fen": use.discount_fen,
            "source": source,
        },
        now=now,
    )
    return UseResult(use, True)


def void_use(actor, use: BenefitUse, *, reason: str, now: datetime | None = None) -> BenefitUse:
    """Take back a use recorded by mistake (or of a refunded repair order): it no longer counts
    against the year, and an anniversary code it used works again."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_l("Say why the use is taken back."), field="reason")
    lock_member_account(use.member_id)
    db.session.refresh(use)
    BENEFIT_USE.move(use, UseStatus.VOIDED)
    use.idempotency_key = None
    use.voided_at = now
    use.voided_by_id = getattr(actor, "id", None)
    use.void_reason = reason[:500]
    code = db.session.scalar(select(AnniversaryCode).where(AnniversaryCode.use_id == use.id))
    if code is not None:
        code.use_id = None
    db.session.flush()
    record_audit(
        actor,
        "benefit.voided",
        subject=db.session.get(Member, use.member_id),
        dealer_id=use.dealer_id,
        details={"use": use.id, "code": use.code, "reason": use.void_reason},
        now=now,
    )
    return use


def void_repair_order_uses(
    actor, *, dealer_id: int, reference: str, reason: str, now: datetime | None = None
) -> int:
    """Void the uses recorded on a dealer's repair order (it was refunded); how many."""
    uses = db.session.scalars(
        select(BenefitUse).where(
            BenefitUse.dealer_id == dealer_id,
            BenefitUse.reference == reference,
            BenefitUse.status == UseStatus.USED,
        )
    ).all()
    for use in uses:
        void_use(actor, use, reason=reason, now=now)
    return len(uses)


def uses_of_repair_order(dealer_id: int, reference: str) -> list[BenefitUse]:
    """The uses counted on a dealer's repair order, by code."""
    return list(
        db.session.scalars(
            select(BenefitUse)
            .where(
                BenefitUse.dealer_id == dealer_id,
                BenefitUse.reference == reference,
                BenefitUse.status == UseStatus.USED,
            )
            .order_by(BenefitUse.code)
        )
    )


def use_for_staff(actor, use_id: int) -> BenefitUse:
    """A use of the actor's dealer (NotFound otherwise)."""
    use = db.session.get(BenefitUse, use_id)
    if use is None or use.dealer_id != actor.dealer_id:
        raise NotFound(_l("No such use."))
    return use
