"""Goodwill points: a reason, a daily cap per staff member, a second approval above a threshold."""

import pytest

from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.loyalty.adjustments import decide_adjustment, request_adjustment
from app.loyalty.models import AdjustmentStatus
from app.loyalty.services import account_for
from app.loyalty.tiers import tier_status
from tests.factories import make_member, make_staff


@pytest.fixture
def owner(ctx, dealers):
    return make_member(dealers["SZ01"])


@pytest.fixture
def advisor(ctx, dealers):
    return make_staff("service_advisor", dealers["SZ01"])


def test_small_goodwill_is_posted_at_once_and_does_not_count_for_the_tier(owner, advisor):
    adjustment = request_adjustment(advisor, owner, points=300, reason="waited two hours")
    assert adjustment.status == AdjustmentStatus.POSTED
    account = account_for(owner)
    assert account.balance == 300
    assert tier_status(account).qualifying == 0


def test_large_goodwill_waits_for_a_second_staff_member(owner, advisor, dealers):
    adjustment = request_adjustment(advisor, owner, points=800, reason="damaged wheel rim")
    assert adjustment.status == AdjustmentStatus.PENDING and account_for(owner).balance == 0
    with pytest.raises(Forbidden):
        decide_adjustment(advisor, adjustment.id, approve=True)
    admin = make_staff("dealer_admin", dealers["SZ01"])
    decide_adjustment(admin, adjustment.id, approve=True)
    assert adjustment.status == AdjustmentStatus.POSTED and account_for(owner).balance == 800
    with pytest.raises(Conflict):
        decide_adjustment(admin, adjustment.id, approve=True)
    assert account_for(owner).balance == 800


def test_the_requester_cannot_approve_their_own_adjustment(owner, dealers):
    admin = make_staff("dealer_admin", dealers["SZ01"])
    adjustment = request_adjustment(admin, owner, points=900, reason="loyal customer gift")
    with pytest.raises(Forbidden):
        decide_adjustment(admin, adjustment.id, approve=True)


def test_another_dealers_admin_cannot_decide(owner, advisor, dealers):
    adjustment = request_adjustment(advisor, owner, points=900, reason="loyal customer gift")
    with pytest.raises(NotFound):
        decide_adjustment(make_staff("dealer_admin", dealers["GZ01"]), adjustment.id, approve=True)


def test_a_rejected_adjustment_gives_nothing(owner, advisor, dealers):
    adjustment = request_adjustment(advisor, owner, points=900, reason="loyal customer gift")
    decide_adjustment(make_staff("hq_admin", None), adjustment.id, approve=False)
    assert adjustment.status == AdjustmentStatus.REJECTED and account_for(owner).balance == 0


def test_each_staff_member_has_a_daily_cap(owner, advisor, clock):
    request_adjustment(advisor, owner, points=500, reason="first apology")
    request_adjustment(advisor, owner, points=1000, reason="second apology")
    request_adjustment(advisor, owner, points=-400, reason="correction of a typo")
    with pytest.raises(ValidationFailed, match="100 are left today"):
        request_adjustment(advisor, owner, points=200, reason="one too many")
    clock.advance(days=1)
    assert request_adjustment(advisor, owner, points=200, reason="a new day").status == (
        AdjustmentStatus.POSTED
    )


@pytest.mark.parametrize(
    ("points", "reason", "field"), [(0, "no points", "points"), (10, "no", "reason")]
)
def test_bad_adjustments_are_refused(owner, advisor, points, reason, field):
    with pytest.raises(ValidationFailed) as err:
        request_adjustment(advisor, owner, points=points, reason=reason)
    assert err.value.field == field


def test_staff_cannot_adjust_another_dealers_member(advisor, dealers, ctx):
    stranger = make_member(dealers["GZ01"])
    with pytest.raises(NotFound):
        request_adjustment(advisor, stranger, points=10, reason="not mine to give")
