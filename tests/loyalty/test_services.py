"""Tier configuration and what a balance is worth."""

from datetime import date

import pytest

from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.loyalty.models import PointsAccount
from app.loyalty.rules import point_value_yuan
from app.loyalty.services import (
    TierSetting,
    apply_due_tier_changes,
    list_tiers,
    schedule_tiers,
    upcoming_tier_changes,
)
from tests.factories import make_staff


def settings(gold=0, platinum=5000, diamond=15000, multipliers=(100, 125, 150)):
    return [
        TierSetting("gold", gold, multipliers[0]),
        TierSetting("platinum", platinum, multipliers[1]),
        TierSetting("diamond", diamond, multipliers[2]),
    ]


def test_points_are_shown_with_their_yuan_value(ctx):
    assert point_value_yuan(0) == "0.00"
    assert point_value_yuan(1234) == "12.34"
    assert point_value_yuan(100_000) == "1000.00"


def test_tier_changes_are_announced_and_apply_on_their_day(ctx, dealers, clock):
    hq = make_staff("hq_admin", None)
    with pytest.raises(ValidationFailed, match="told in advance"):
        schedule_tiers(hq, settings(platinum=6000), effective_from=date(2026, 12, 1), note="sooner")
    schedule_tiers(
        hq,
        settings(platinum=6000, multipliers=(100, 130, 160)),
        effective_from=date(2027, 1, 1),
        note="Platinum from 6,000 points",
    )
    with pytest.raises(Conflict):
        schedule_tiers(hq, settings(), effective_from=date(2027, 1, 1), note="twice")
    assert [u.note for u in upcoming_tier_changes()] == ["Platinum from 6,000 points"]
    assert apply_due_tier_changes() == 0
    assert [t.threshold_points for t in list_tiers()] == [0, 5000, 15000]
    clock.advance(days=39)
    assert apply_due_tier_changes() == 1
    assert apply_due_tier_changes() == 0
    assert [(t.threshold_points, t.multiplier_pct) for t in list_tiers()] == [
        (0, 100),
        (6000, 130),
        (15000, 160),
    ]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (settings(gold=10), "gold_threshold"),
        (settings(platinum=0), "platinum_threshold"),
        (settings(diamond=4000), "diamond_threshold"),
        (settings(multipliers=(100, 125, 110)), "diamond_multiplier"),
    ],
)
def test_tiers_must_climb(ctx, dealers, bad, field):
    hq = make_staff("hq_admin", None)
    with pytest.raises(ValidationFailed) as err:
        schedule_tiers(hq, bad, effective_from=date(2027, 1, 1), note="bad values")
    assert err.value.field == field
    assert [t.threshold_points for t in list_tiers()] == [0, 5000, 15000]


def test_the_card_shows_the_members_tier(app, member, member_client):
    with app.app_context():
        account = db.session.query(PointsAccount).filter_by(member_id=member["id"]).one()
        account.tier_code = "platinum"
        account.balance = 2500
        db.session.commit()
    page = member_client.get("/card").get_data(as_text=True)
    assert "Platinum" in page and "tier-platinum" in page
    assert "≈ ¥25.00" in page
