"""Referral terms as dated versions (issue 21, R2, R3, R6.6): a change announced today takes
effect on its date, a referral keeps the terms in force when it was earned (the friend's
purchase), and the yearly cap is the one of the terms in force."""

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.loyalty.services import account_for
from app.referrals import services, terms
from app.referrals.models import ReferralStatus, ReferralTerms
from app.rewards.models import Voucher
from tests.factories import make_reward
from tests.referrals.rules_helpers import buy, confirm, make_club, refer


@pytest.fixture
def club(ctx, dealers):
    return make_club(dealers)


def values(**changes) -> terms.TermsValues:
    """Today's terms as a new version from 30 days on (the notice period), with ``changes``."""
    now = terms.terms_today()
    base = terms.TermsValues(
        effective_from=local_date(utcnow()) + timedelta(days=30),
        referrer_points=now.referrer_points,
        friend_points=now.friend_points,
        yearly_cap=now.yearly_cap,
        referrer_reward_id=now.referrer_reward_id,
        friend_reward_id=now.friend_reward_id,
        bonus_reward_id=now.bonus_reward_id,
        bonus_min_tier=now.bonus_min_tier,
        note="Referrals are worth more from the new year.",
    )
    return replace(base, **changes)


def points(member) -> int:
    return account_for(member).balance


def test_version_one_is_todays_programme(club):
    first = terms.terms_today()
    assert (first.referrer_points, first.friend_points, first.yearly_cap) == (2000, 1000, 12)
    assert first.bonus_min_tier == "platinum" and first.effective_from == date(2000, 1, 1)
    assert services.programme() == first


def test_a_change_announced_today_takes_effect_on_its_date(club, clock):
    first = terms.terms_today()
    announced = terms.schedule_terms(club["hq"], values(referrer_points=3000))
    assert terms.terms_today() == first and terms.upcoming_terms() == [announced]
    clock.advance(days=29)
    assert terms.terms_today() == first
    clock.advance(days=1)
    assert terms.terms_today() == announced and terms.upcoming_terms() == []
    assert [t.id for t in terms.all_terms()] == [announced.id, first.id]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action.like("referral_terms.%")))
    assert entry.actor_id == club["hq"].id and entry.details["referrer_points"] == 3000


@pytest.mark.parametrize("days", [-1, 0, 29])
def test_a_date_inside_the_notice_period_is_refused(club, days):
    day = local_date(utcnow()) + timedelta(days=days)
    with pytest.raises(ValidationFailed, match="told in advance") as refused:
        terms.schedule_terms(club["hq"], values(effective_from=day))
    assert refused.value.field == "effective_from"
    assert db.session.scalar(select(func.count(ReferralTerms.id))) == 1


def test_one_change_a_day_and_a_note_for_members(club):
    terms.schedule_terms(club["hq"], values())
    with pytest.raises(Conflict, match="already starts"):
        terms.schedule_terms(club["hq"], values())
    with pytest.raises(ValidationFailed, match="Say what changes"):
        terms.schedule_terms(club["hq"], values(effective_from=date(2027, 6, 1), note="  "))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("referrer_points", -1),
        ("friend_points", 100_001),
        ("referrer_points", 10**12),
        ("yearly_cap", 0),
        ("yearly_cap", 101),
        ("bonus_min_tier", "bronze"),
        ("referrer_reward_id", 10**6),
    ],
)
def test_out_of_range_terms_are_refused(club, field, value):
    with pytest.raises(ValidationFailed) as refused:
        terms.schedule_terms(club["hq"], values(**{field: value}))
    assert refused.value.field == field
    assert db.session.scalar(select(func.count(ReferralTerms.id))) == 1


def test_a_bonus_voucher_needs_its_tier_and_a_dealers_reward_is_not_offered(club):
    with pytest.raises(ValidationFailed) as refused:
        terms.schedule_terms(club["hq"], values(bonus_min_tier=None))
    assert refused.value.field == "bonus_min_tier"
    dealers_own = make_reward(club["dealer_id"])
    with pytest.raises(ValidationFailed, match="from the list"):
        terms.schedule_terms(club["hq"], values(friend_reward_id=dealers_own.id))


def test_a_referral_earned_before_a_change_keeps_its_terms(club, clock):
    owner = club["owner"]
    earlier = refer(club, "13700001111")
    buy(club, "13700001111")
    assert earlier.terms == terms.terms_today()
    gift = make_reward(None, name="Car wash (referral)", active=False)
    terms.schedule_terms(
        club["hq"],
        values(referrer_points=3000, friend_points=1500, friend_reward_id=gift.id),
    )
    clock.advance(days=31)

    confirm(club, earlier)
    assert earlier.status == ReferralStatus.REWARDED
    assert points(owner) == 2000 and points(earlier.friend) == 1000
    friend_vouchers = db.session.scalars(
        select(Voucher).where(Voucher.member_id == earlier.friend_member_id)
    ).all()
    assert [v.reward.name for v in friend_vouchers] == [
        "Regular maintenance voucher (referral reward)"
    ]

    later = refer(club, "13700002222")
    buy(club, "13700002222")
    confirm(club, later)
    assert later.terms.referrer_points == 3000
    assert points(owner) == 2000 + 3000 and points(later.friend) == 1500
    friend_vouchers = db.session.scalars(
        select(Voucher).where(Voucher.member_id == later.friend_member_id)
    ).all()
    assert [v.reward_id for v in friend_vouchers] == [gift.id]


def test_a_referral_registered_before_but_bought_after_the_change_gets_the_new_terms(club, clock):
    referral = refer(club, "13700001111")
    terms.schedule_terms(club["hq"], values(referrer_points=500))
    clock.advance(days=30)
    buy(club, "13700001111")
    confirm(club, referral)
    assert points(club["owner"]) == 500


def test_the_yearly_cap_is_the_one_of_the_terms_in_force(club, clock):
    owner = club["owner"]
    first = refer(club, "13700001111")
    buy(club, "13700001111")
    confirm(club, first)
    second = refer(club, "13700002222")  # under the cap of 12 still in force
    buy(club, "13700002222")
    terms.schedule_terms(club["hq"], values(yearly_cap=1))
    clock.advance(days=30)  # 23 December: the same year

    with pytest.raises(ValidationFailed, match="limit of 1"):
        refer(club, "13700003333")
    # Earned under the cap of 12: rewarded although one referral was rewarded this year.
    confirm(club, second)
    assert second.status == ReferralStatus.REWARDED and points(owner) == 4000

    clock.advance(days=10)  # a new year: the count starts again
    assert refer(club, "13700003333").status == ReferralStatus.REGISTERED


def test_the_bonus_voucher_follows_the_tier_of_the_terms(club, clock):
    owner = club["owner"]
    account_for(owner).tier_code = "platinum"
    first = refer(club, "13700001111")
    buy(club, "13700001111")
    terms.schedule_terms(club["hq"], values(bonus_min_tier="diamond"))
    clock.advance(days=30)
    second = refer(club, "13700002222")
    buy(club, "13700002222")
    for referral in (first, second):
        confirm(club, referral)
    fuel = {
        v.source
        for v in db.session.scalars(select(Voucher).where(Voucher.member_id == owner.id))
        if v.source.startswith("referral-fuel")
    }
    assert fuel == {f"referral-fuel:{first.id}"}
