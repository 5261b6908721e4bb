"""Tier progress (R2): points to the next tier, points to keep this one at the annual review."""

from datetime import date

import pytest

from app.loyalty.ledger import post_points
from app.loyalty.models import EntryKind
from app.loyalty.services import account_for
from app.loyalty.tiers import tier_status
from tests.factories import give_points, make_member


@pytest.fixture
def owner(ctx, dealers):
    return make_member(dealers["SZ01"])


def test_a_gold_owner_sees_the_way_to_platinum_and_nothing_to_keep(owner):
    give_points(owner, 1200, qualifying=True)
    status = tier_status(account_for(owner))
    assert status.next_tier.code == "platinum" and status.to_next == 5000 - 1200
    assert status.lower_tier is None  # gold cannot be lost


def test_points_earned_before_the_review_window_do_not_keep_the_tier(owner, clock):
    give_points(owner, 5200, qualifying=True)
    account = account_for(owner)
    assert account.tier_code == "platinum"
    # The review counts the 12 months before it: today's points do not count on 10 Jan 2028.
    account.review_on = date(2028, 1, 10)
    status = tier_status(account)
    assert status.counted_at_review == 0 and status.to_keep == 5000
    assert status.lower_tier.code == "gold"
    clock.advance(days=60)  # 22 January 2027: inside the review's 12 months
    give_points(owner, 1200, qualifying=True)
    status = tier_status(account)
    assert status.counted_at_review == 1200 and status.to_keep == 3800
    assert status.qualifying == 6400


def test_the_top_tier_has_no_next_tier_but_can_be_kept(owner):
    give_points(owner, 16000, qualifying=True)
    status = tier_status(account_for(owner))
    assert status.tier.code == "diamond" and status.next_tier is None and status.to_next == 0
    assert status.lower_tier.code == "platinum"
    assert status.to_keep == 0 and status.counted_at_review == 16000


def test_goodwill_points_and_spending_leave_the_progress_alone(owner):
    give_points(owner, 3000, qualifying=True)
    give_points(owner, 2500)  # goodwill: spendable, not qualifying
    post_points(account_for(owner).id, -2000, kind=EntryKind.REDEEM, source="reward")
    status = tier_status(account_for(owner))
    assert status.qualifying == 3000 and status.to_next == 2000
