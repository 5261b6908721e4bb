"""Service visits earn points by the rules in force, once; refunds reverse them exactly, once."""

from datetime import date

import pytest
from sqlalchemy import select

from app.core.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.loyalty.ledger import post_points
from app.loyalty.models import EarningRules, EntryKind, TierChange
from app.loyalty.services import account_for
from app.loyalty.tiers import run_annual_reviews, tier_status
from app.members.models import Notification
from app.service.services import record_visit, refund_visit
from tests.factories import make_member, make_vehicle


@pytest.fixture
def car(ctx, dealers):
    member = make_member(dealers["SZ01"], name="Zhang Wei")
    # Bought in June: November visits are not in the anniversary month.
    return make_vehicle(member, purchased_on=date(2024, 6, 10), delivered_on=date(2024, 6, 12))


def visit(car, ro="RO-1", amount_fen=123_456, category="maintenance", visited_on=None, **kw):
    return record_visit(
        None,
        dealer_id=car.member.dealer_id,
        ro_number=ro,
        vin=car.vin,
        visited_on=visited_on or date(2026, 11, 20),
        mileage_km=15000,
        amount_fen=amount_fen,
        category=category,
        **kw,
    )


def test_a_visit_earns_a_point_per_yuan_at_gold(car):
    result = visit(car, amount_fen=123_456)  # ¥1,234.56
    assert result.created and result.points_awarded == 1234
    assert result.balance == 1234 and result.tier == "gold"


def test_accident_repairs_earn_at_their_own_rate(car):
    assert visit(car, amount_fen=100_000, category="accident").points_awarded == 500


def test_the_purchase_anniversary_month_earns_double(car, clock):
    clock.at = clock.at.replace(year=2025, month=7, day=10)
    assert (
        visit(car, ro="RO-A", amount_fen=10_000, visited_on=date(2025, 6, 3)).points_awarded == 200
    )
    assert (
        visit(car, ro="RO-B", amount_fen=10_000, visited_on=date(2025, 7, 3)).points_awarded == 100
    )
    # The month of purchase itself is not an anniversary.
    new_car = make_vehicle(car.member, purchased_on=date(2025, 6, 1), delivered_on=date(2025, 6, 2))
    assert (
        visit(new_car, ro="RO-C", amount_fen=10_000, visited_on=date(2025, 6, 20)).points_awarded
        == 100
    )


def test_visits_before_the_purchase_or_long_ago_are_refused(car, clock):
    clock.at = clock.at.replace(year=2024, month=6, day=20)
    with pytest.raises(ValidationFailed, match="before the car was bought"):
        visit(car, visited_on=date(2024, 6, 1))
    clock.at = clock.at.replace(year=2027, month=11, day=23)
    with pytest.raises(ValidationFailed, match="older than"):
        visit(car, visited_on=date(2026, 11, 20))
    assert account_for(car.member).balance == 0


def test_platinum_members_earn_a_quarter_more(car):
    account = account_for(car.member)
    account.tier_code = "platinum"
    assert visit(car, amount_fen=100_000).points_awarded == 1250


def test_replaying_a_repair_order_awards_nothing_more(car):
    first = visit(car)
    again = visit(car)
    assert not again.created and again.visit.id == first.visit.id
    assert again.points_awarded == first.points_awarded and again.balance == first.balance


def test_a_repair_order_number_cannot_be_reused_for_another_car(car):
    other = make_vehicle(car.member)
    visit(car)
    with pytest.raises(Conflict):
        record_visit(
            None,
            dealer_id=car.member.dealer_id,
            ro_number="RO-1",
            vin=other.vin,
            visited_on=date(2026, 11, 20),
            mileage_km=1,
            amount_fen=100,
            category="repair",
        )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ro": "bad ro!"}, "ro_number"),
        ({"amount_fen": 0}, "amount_yuan"),
        ({"amount_fen": -500}, "amount_yuan"),
        ({"amount_fen": 100_000_001}, "amount_yuan"),
        ({"visited_on": date(2026, 11, 24)}, "visited_on"),
        ({"category": "wash"}, "category"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(car, change, field):
    with pytest.raises(ValidationFailed) as err:
        visit(car, **change)
    assert err.value.field == field
    assert account_for(car.member).balance == 0


def test_an_unknown_or_foreign_car_is_not_found(car, dealers):
    with pytest.raises(NotFound):
        record_visit(
            None,
            dealer_id=dealers["GZ01"],
            ro_number="RO-9",
            vin=car.vin,
            visited_on=date(2026, 11, 20),
            mileage_km=1,
            amount_fen=100,
            category="repair",
        )


def test_a_refund_reverses_exactly_the_visits_points_once(car):
    post_points(account_for(car.member).id, 100, kind=EntryKind.EARN, source="event")
    visit(car, amount_fen=50_000)
    refund = refund_visit(None, dealer_id=car.member.dealer_id, ro_number="RO-1")
    assert refund.created and refund.points_reversed == 500 and refund.balance == 100
    again = refund_visit(None, dealer_id=car.member.dealer_id, ro_number="RO-1")
    assert not again.created and again.points_reversed == 500 and again.balance == 100


def test_refunding_an_unknown_repair_order_is_not_found(car):
    with pytest.raises(NotFound):
        refund_visit(None, dealer_id=car.member.dealer_id, ro_number="NOPE")


def test_reaching_platinum_upgrades_at_once_with_a_message(car):
    result = visit(car, amount_fen=520_000)  # 5,200 points
    assert result.tier == "platinum"
    message = db.session.scalar(select(Notification).where(Notification.kind == "tier_upgrade"))
    assert "Platinum" in message.title or "白金" in message.title


def test_spending_points_never_lowers_the_tier(car):
    visit(car, amount_fen=520_000)
    account = account_for(car.member)
    post_points(account.id, -5000, kind=EntryKind.REDEEM, source="reward")
    assert account.tier_code == "platinum"


def test_the_annual_review_lowers_the_tier_by_one_at_most(car, clock):
    account = account_for(car.member)
    account.tier_code = "diamond"
    review_on = account.review_on
    assert review_on == date(2027, 11, 23)
    clock.advance(days=(review_on - clock.now().date()).days)
    assert run_annual_reviews() == 1
    assert account.tier_code == "platinum"
    assert account.review_on == date(2028, 11, 23)
    assert run_annual_reviews() == 0  # rerun the same day: nothing more
    change = db.session.scalar(select(TierChange).where(TierChange.reason == "annual_review"))
    assert (change.from_code, change.to_code) == ("diamond", "platinum")


def test_qualifying_points_older_than_12_months_stop_counting(car, clock):
    visit(car, amount_fen=520_000)
    account = account_for(car.member)
    assert tier_status(account).qualifying == 5200
    clock.advance(days=366)
    status = tier_status(account)
    assert status.qualifying == 0
    assert account.tier_code == "platinum"  # no downgrade before the review


def test_the_tier_status_says_what_keeps_and_what_reaches_the_next_tier(car):
    visit(car, amount_fen=520_000)
    status = tier_status(account_for(car.member))
    assert status.tier.code == "platinum" and status.next_tier.code == "diamond"
    assert status.to_next == 15000 - 5200
    assert status.to_keep == 0 and status.counted_at_review == 5200


def test_points_keep_the_rules_they_were_earned_under(car, ctx, clock):
    ctx.add(
        EarningRules(
            effective_from=date(2026, 12, 1),
            maintenance_rate=300,
            repair_rate=100,
            accident_rate=50,
            other_rate=100,
            anniversary_multiplier_pct=200,
            points_worth_one_yuan=100,
            note="triple points",
            created_at=clock.now(),
        )
    )
    assert visit(car, ro="RO-OLD", amount_fen=10_000).points_awarded == 100
    clock.advance(days=9)
    assert (
        visit(car, ro="RO-NEW", amount_fen=10_000, visited_on=date(2026, 12, 1)).points_awarded
        == 300
    )
    assert account_for(car.member).balance == 400


def test_refunding_a_visit_after_its_points_expired_takes_nothing_twice(car, clock):
    visit(car, ro="RO-1", amount_fen=100_000, visited_on=date(2026, 11, 20))
    clock.advance(days=400)
    visit(car, ro="RO-2", amount_fen=100_000, visited_on=date(2027, 12, 20))
    clock.advance(days=340)  # RO-1's points are past 24 months
    from app.loyalty.ledger import expire_points

    assert expire_points() == 1000
    assert account_for(car.member).balance == 1000
    refund = refund_visit(None, dealer_id=car.member.dealer_id, ro_number="RO-1")
    assert refund.balance == 1000  # RO-2's points stay: RO-1's had already expired
    assert account_for(car.member).debt == 0


def test_refunding_the_visit_that_brought_an_upgrade_undoes_it(car):
    visit(car, ro="RO-BIG", amount_fen=2_000_000, category="repair")
    account = account_for(car.member)
    assert account.tier_code == "diamond"
    refund_visit(None, dealer_id=car.member.dealer_id, ro_number="RO-BIG")
    assert account.tier_code == "gold"
    change = db.session.scalar(select(TierChange).where(TierChange.reason == "correction"))
    assert (change.from_code, change.to_code) == ("diamond", "gold")
