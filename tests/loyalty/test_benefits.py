"""What each tier gives: its multiplier and the perks and rewards that open at it, from the data."""

from sqlalchemy import update

from app.extensions import db
from app.loyalty.benefits import tier_benefits
from app.loyalty.models import Tier
from app.loyalty.services import account_for
from tests.factories import make_member, make_reward
from tests.partners.helpers import make_partner, make_perk


def test_each_tier_lists_what_first_opens_at_it(ctx, dealers):
    owner = make_member(dealers["SZ01"])
    hotel = make_partner(name="Seaview Hotel")
    make_perk(hotel, title="Late checkout")
    make_perk(hotel, title="Suite upgrade", min_tier_code="diamond")
    make_reward(name="Car wash", cost_points=800)
    make_reward(name="Fuel card", cost_points=3000, min_tier_code="platinum")
    # Another dealer's reward and an inactive one are not the owner's to see.
    make_reward(dealers["GZ01"], name="Guangzhou tea", min_tier_code="platinum")
    make_reward(name="Withdrawn", active=False)

    gold, platinum, diamond = tier_benefits(owner)

    assert [b.tier.code for b in (gold, platinum, diamond)] == ["gold", "platinum", "diamond"]
    assert [p.title for p in gold.perks] == ["Late checkout"]
    assert [r.name for r in gold.rewards] == ["Car wash"]
    assert platinum.perks == [] and [r.name for r in platinum.rewards] == ["Fuel card"]
    assert [p.title for p in diamond.perks] == ["Suite upgrade"] and diamond.rewards == []
    assert [b.multiplier for b in (gold, platinum, diamond)] == ["1.00", "1.25", "1.50"]
    assert (gold.held, gold.reached, platinum.reached) == (True, True, False)


def test_the_multiplier_and_the_held_tier_come_from_the_data(ctx, dealers):
    owner = make_member(dealers["SZ01"])
    account_for(owner).tier_code = "platinum"
    db.session.execute(update(Tier).where(Tier.code == "platinum").values(multiplier_pct=140))
    gold, platinum, diamond = tier_benefits(owner)
    assert platinum.multiplier == "1.40"
    assert (gold.reached, platinum.held, diamond.reached) == (True, True, False)
