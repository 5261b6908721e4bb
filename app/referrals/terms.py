"""The referral terms as dated versions HQ announces (R2, R3, R6.6; seed 004: 积分规则设置,
会员积分奖励的设置): points for each side, the yearly cap, the vouchers each side receives and
the bonus voucher from a tier up.

A referral is *earned* when the friend's car is delivered and linked to it (PURCHASED): the
owner's part is done then, and the licence check and callback only confirm it, however long
they take. The version in force that day is stored on the referral (``terms_id``) and its
reward follows it, whatever HQ announces later; a change takes effect only after the notice
period (``RULES_NOTICE_DAYS``), as the earning rules do.
"""

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import ValidationFailed
from app.core.versions import (
    all_versions,
    upcoming_versions,
    version_in_force,
    withdraw_version,
)
from app.extensions import db
from app.loyalty.rules import check_announcement
from app.loyalty.tiers import tier_ranks
from app.members import announcements
from app.referrals.models import Referral, ReferralTerms

# Upper bounds a typo cannot pass (a referral worth more than a year of service visits, a cap
# no owner reaches); the database refuses negatives as well.
MAX_POINTS = 100_000
MAX_YEARLY_CAP = 100


def terms_in_force(on: date) -> ReferralTerms:
    """The newest version that took effect on or before ``on``."""
    return version_in_force(ReferralTerms, on)


def terms_today(*, now: datetime | None = None) -> ReferralTerms:
    """The version in force today."""
    return terms_in_force(local_date(now or utcnow()))


def upcoming_terms(*, now: datetime | None = None) -> list[ReferralTerms]:
    """Versions announced but not yet in force, soonest first."""
    return upcoming_versions(ReferralTerms, now=now)


def all_terms() -> list[ReferralTerms]:
    """Every version, newest first."""
    return all_versions(ReferralTerms)


def lock_terms(referral: Referral, *, now: datetime) -> ReferralTerms:
    """The referral is earned: keep the version in force today for its reward (once)."""
    if referral.terms_id is None:
        referral.terms = terms_in_force(local_date(now))
    return referral.terms


def terms_for(referral: Referral, *, now: datetime) -> ReferralTerms:
    """The version the referral's reward follows: the one kept when it was earned (a referral
    of before versions were kept: the one in force on its purchase day, else today)."""
    if referral.terms is not None:
        return referral.terms
    return terms_in_force(local_date(referral.purchased_at or now))


def voucher_choices() -> list[tuple[int, str]]:
    """The group's rewards HQ may give as referral vouchers (the programme's own, not in the
    catalog, among them), by name."""
    from app.rewards.models import Reward

    rows = db.session.execute(
        select(Reward.id, Reward.name).where(Reward.dealer_id.is_(None)).order_by(Reward.name)
    )
    return [(reward_id, name) for reward_id, name in rows]


@dataclass(frozen=True)
class TermsValues:
    """A new version as HQ types it."""

    effective_from: date
    referrer_points: int
    friend_points: int
    yearly_cap: int
    referrer_reward_id: int | None
    friend_reward_id: int | None
    bonus_reward_id: int | None
    bonus_min_tier: str | None
    note: str


def _check_values(values: TermsValues) -> None:
    for name in ("referrer_points", "friend_points"):
        points = getattr(values, name)
        if not 0 <= points <= MAX_POINTS:
            raise ValidationFailed(
                _l("Enter between 0 and %(max)s points.", max=MAX_POINTS), field=name
            )
    if not 1 <= values.yearly_cap <= MAX_YEARLY_CAP:
        raise ValidationFailed(
            _l("Enter a yearly limit between 1 and %(max)s.", max=MAX_YEARLY_CAP),
            field="yearly_cap",
        )
    allowed = {reward_id for reward_id, _name in voucher_choices()}
    for name in ("referrer_reward_id", "friend_reward_id", "bonus_reward_id"):
        reward_id = getattr(values, name)
        if reward_id is not None and reward_id not in allowed:
            raise ValidationFailed(_l("Choose a voucher from the list."), field=name)
    if values.bonus_reward_id is not None and not values.bonus_min_tier:
        raise ValidationFailed(
            _l("Choose the tier from which a referrer gets the bonus voucher."),
            field="bonus_min_tier",
        )
    if values.bonus_min_tier and values.bonus_min_tier not in tier_ranks():
        raise ValidationFailed(_l("Choose a tier from the list."), field="bonus_min_tier")


def schedule_terms(actor, values: TermsValues, *, now: datetime | None = None) -> ReferralTerms:
    """Announce a new version; it takes effect after the notice period, never at once."""
    now = now or utcnow()
    _check_values(values)
    check_announcement(ReferralTerms, values.effective_from, values.note, now=now)
    terms = ReferralTerms(
        effective_from=values.effective_from,
        referrer_points=values.referrer_points,
        friend_points=values.friend_points,
        yearly_cap=values.yearly_cap,
        referrer_reward_id=values.referrer_reward_id,
        friend_reward_id=values.friend_reward_id,
        bonus_reward_id=values.bonus_reward_id,
        bonus_min_tier=values.bonus_min_tier if values.bonus_reward_id else None,
        note=values.note.strip(),
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(terms)
    db.session.flush()
    announcements.record("referral_terms", terms.id, terms.effective_from, terms.note, now=now)
    record_audit(
        actor,
        "referral_terms.scheduled",
        subject=terms,
        details={
            "effective_from": values.effective_from.isoformat(),
            "referrer_points": terms.referrer_points,
            "friend_points": terms.friend_points,
            "yearly_cap": terms.yearly_cap,
            "note": terms.note,
        },
        now=now,
    )
    return terms


def withdraw_terms(actor, version_id: int, *, now: datetime | None = None) -> None:
    """Withdraw announced terms before their day (``core.versions.withdraw_version``)."""
    now = now or utcnow()
    row = withdraw_version(actor, ReferralTerms, version_id, action="referral_terms", now=now)
    announcements.withdrawn("referral_terms", version_id, row.effective_from, now=now)
