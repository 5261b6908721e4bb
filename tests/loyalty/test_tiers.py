"""The one tier comparison: "tier X or better", in the tiers' order from the database."""

import pytest
from sqlalchemy import update

from app.extensions import db
from app.loyalty.models import Tier
from app.loyalty.tiers import tier_at_least, tier_ranks


@pytest.mark.parametrize(
    ("code", "minimum", "expected"),
    [
        ("gold", "gold", True),
        ("platinum", "gold", True),
        ("diamond", "platinum", True),
        ("gold", "platinum", False),
        ("platinum", "diamond", False),
        ("gold", None, True),
        ("gold", "", True),
    ],
)
def test_a_tier_is_at_least_itself_and_the_tiers_below(ctx, code, minimum, expected):
    assert tier_at_least(code, minimum) is expected


@pytest.mark.parametrize(
    ("code", "minimum"),
    [("gold", "bronze"), ("bronze", "gold"), ("", "gold"), (None, "gold"), ("GOLD", "gold")],
)
def test_an_unknown_tier_code_is_refused_not_a_key_error(ctx, code, minimum):
    assert tier_at_least(code, minimum) is False


def test_the_order_is_the_database_ranks(ctx):
    # Swap gold and diamond through a free rank (ranks are unique).
    db.session.execute(update(Tier).where(Tier.code == "gold").values(rank=99))
    db.session.execute(update(Tier).where(Tier.code == "diamond").values(rank=1))
    db.session.execute(update(Tier).where(Tier.code == "gold").values(rank=3))
    assert tier_at_least("gold", "diamond") is True
    assert tier_at_least("diamond", "platinum") is False


def test_given_ranks_spare_the_query(ctx):
    ranks = tier_ranks()
    assert ranks["gold"] < ranks["platinum"] < ranks["diamond"]
    assert tier_at_least("platinum", "diamond", ranks={"platinum": 2, "diamond": 1}) is True
