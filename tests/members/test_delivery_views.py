"""The staff screen that records a delivery (members.admin_delivery, /admin/deliveries)."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.members.models import Vehicle
from app.referrals.models import ReferralStatus
from tests.factories import valid_vin
from tests.referrals.test_views import (
    FRIEND_MOBILE,
    body,
    error,
    referral_state,
    register,
    text,
)


def delivery_data(**changes) -> dict:
    return {
        "name": "Li Si",
        "mobile": FRIEND_MOBILE,
        "employer": "Ping An",
        "home_area": "Futian",
        "vin": valid_vin(),
        "plate": "粤B7Q8W9",
        "model": "Golf",
        "colour": "red",
        "transmission": "manual",
        "delivered_on": "2026-11-22",
        "sales_consultant": "Chen Jie",
        **changes,
    }


def test_staff_record_the_friends_delivery(app, seeded, staff_client, member):
    referral_id = register(seeded, member["id"])
    form = body(staff_client.get("/admin/deliveries"))
    assert 'value="red"' in form
    data = delivery_data()
    response = staff_client.post("/admin/deliveries", data=data, follow_redirects=True)
    assert "Delivery recorded: the Golf waits in the club for the buyer" in text(response)
    assert referral_state(app, referral_id) == ReferralStatus.PURCHASED
    with app.app_context():
        car = db.session.scalar(select(Vehicle).where(Vehicle.vin == data["vin"]))
        assert car.member.occupation == "Ping An"
        assert car.plate == "粤B7Q8W9"
    response = staff_client.post("/admin/deliveries", data=data, follow_redirects=True)
    assert "This delivery was already recorded; nothing changed." in text(response)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"mobile": "123"}, "mobile", "Enter a mainland mobile number of 11 digits."),
        (
            {"delivered_on": "2026-12-01"},
            "delivered_on",
            "The delivery date cannot be in the future.",
        ),
        ({"plate": "XX"}, "plate", None),
        ({"vin": "LFV2A21K0A3000001"}, "vin", None),
    ],
)
def test_delivery_refusals_show_next_to_the_field(app, staff_client, changes, field, message):
    response = staff_client.post("/admin/deliveries", data=delivery_data(**changes))
    assert response.status_code == 200
    shown = error(response, field)
    assert shown
    if message:
        assert shown == message
    with app.app_context():
        assert db.session.scalar(select(func.count(Vehicle.id))) == 0
