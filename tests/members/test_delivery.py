"""record_delivery: the rule behind POST /api/v1/dms/deliveries."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.cards.services import active_card
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.members.delivery import (
    DeliveryCustomer,
    DeliveryVehicle,
    find_colour,
    record_delivery,
)
from tests.factories import make_member, make_vehicle, next_mobile, valid_vin


def deliver(dealer_id: int, *, mobile: str | None = None, **vehicle):
    return record_delivery(
        dealer_id=dealer_id,
        delivered_on=date(2026, 11, 20),
        sales_consultant="Wang Fang",
        customer=DeliveryCustomer(name="Chen Jie", mobile=mobile or next_mobile("137")),
        vehicle=DeliveryVehicle(
            **{
                "vin": valid_vin(),
                "model": "Sagitar",
                "colour": "white",
                "transmission": "automatic",
                **vehicle,
            }
        ),
    )


def users() -> int:
    return db.session.scalar(select(func.count(User.id)))


def test_a_new_buyer_is_enrolled_without_a_usable_password(ctx, dealers):
    result = deliver(dealers["SZ01"])
    assert result.created
    assert result.member.user.password_hash == "!"
    assert active_card(result.member).member_id == result.member.id
    assert result.vehicle.purchased_on == result.vehicle.delivered_on == date(2026, 11, 20)


def test_a_replay_returns_the_same_rows(ctx, dealers):
    vin, mobile = valid_vin(), next_mobile("137")
    first = deliver(dealers["SZ01"], vin=vin, mobile=mobile)
    again = deliver(dealers["SZ01"], vin=vin, mobile=mobile)
    assert not again.created
    assert (again.member, again.vehicle) == (first.member, first.vehicle)


def test_a_refused_car_enrols_nobody(ctx, dealers):
    owner = make_member(dealers["SZ01"])
    taken = make_vehicle(owner).plate
    before = users()
    with pytest.raises(Conflict) as refused:
        deliver(dealers["SZ01"], plate=taken)
    assert refused.value.field == "vehicle.plate"
    with pytest.raises(ValidationFailed):
        deliver(dealers["SZ01"], colour="tartan")
    assert users() == before


@pytest.mark.parametrize("text", ["white", "WHITE", " White ", "白色"])
def test_a_colour_is_found_by_code_or_name(ctx, text):
    assert find_colour(text).code == "white"


def test_an_unknown_colour_is_none(ctx):
    assert find_colour("tartan") is None and find_colour("") is None
