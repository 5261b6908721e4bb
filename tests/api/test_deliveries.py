"""POST /api/v1/dms/deliveries: enrol or match the owner by mobile, add the car, once."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.cards.models import MemberCard
from app.core.audit import AuditEntry
from app.extensions import db
from app.members.models import Member, Notification, Transmission, Vehicle
from tests.api.conftest import assert_error
from tests.factories import make_staff, next_mobile, valid_vin


def delivery(**changes) -> dict:
    """A valid delivery body; ``customer`` / ``vehicle`` changes are merged."""
    body = {
        "delivered_on": "2026-11-20",
        "sales_consultant": "Wang Fang",
        "customer": {
            "name": "Chen Jie",
            "mobile": next_mobile("137"),
            "birthday": "1988-03-14",
            "employer": "Shenzhen Metro",
            "home_area": "Nanshan",
        },
        "vehicle": {
            "vin": valid_vin(),
            "plate": "",
            "model": "Sagitar",
            "colour": "white",
            "transmission": "dual_clutch",
        },
    }
    for part in ("customer", "vehicle"):
        change = changes.pop(part, {})
        if isinstance(change, dict):
            body[part].update(change)
        else:
            body[part] = change
    body.update(changes)
    return body


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            m.__name__: db.session.scalar(select(func.count()).select_from(m))
            for m in (User, Member, Vehicle, MemberCard, Notification)
        }


def test_a_new_owner_is_enrolled_with_card_car_and_invitation(app, api, dealers):
    body = delivery(vehicle={"colour": "珍珠白", "plate": "粤B 12345"})
    response = api.post("/dms/deliveries", body)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert set(data) == {
        "member_id",
        "card_number",
        "vehicle_id",
        "owner_status",
        "name_mismatch",
    }
    # A new number: nobody has proved it yet, so the car waits for whoever does.
    assert data["owner_status"] == "waiting_for_proof" and data["name_mismatch"] is False
    with app.app_context():
        member = db.session.get(Member, data["member_id"])
        assert member.dealer_id == dealers["SZ01"]
        assert member.name == "Chen Jie" and member.mobile == body["customer"]["mobile"]
        assert member.birthday == date(1988, 3, 14)
        assert member.occupation == "Shenzhen Metro" and member.home_area == "Nanshan"
        assert member.user.password_hash == "!"
        card = db.session.scalar(select(MemberCard).where(MemberCard.member_id == member.id))
        assert card.number == data["card_number"]
        car = db.session.get(Vehicle, data["vehicle_id"])
        assert car.member_id == member.id and car.vin == body["vehicle"]["vin"]
        assert car.colour.code == "pearl_white"
        assert car.plate == "粤B12345"
        assert car.transmission == Transmission.DUAL_CLUTCH
        assert car.delivered_on == car.purchased_on == date(2026, 11, 20)
        invitation = db.session.scalar(
            select(Notification).where(Notification.member_id == member.id)
        )
        assert invitation.kind == "invitation"
        assert "http://localhost/register" in invitation.body
        assert "/account/setup/" not in invitation.body
        audit = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "delivery.recorded")
        )
        assert audit.details["sales_consultant"] == "Wang Fang"
        assert audit.details["member_enrolled"] is True
        assert audit.details["waiting_for_proof"] is True
        assert audit.dealer_id == dealers["SZ01"]


def test_replaying_a_delivery_returns_the_same_ids_and_changes_nothing(app, api):
    body = delivery()
    first = api.post("/dms/deliveries", body)
    assert first.status_code == 201
    before = counts(app)
    again = api.post("/dms/deliveries", body)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert counts(app) == before


def test_an_existing_owner_is_matched_by_mobile_and_gets_the_car(app, api, member):
    mobile = member["mobile"]
    body = delivery(customer={"mobile": f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}"})
    before = counts(app)
    response = api.post("/dms/deliveries", body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["member_id"] == member["id"]
    assert response.get_json()["owner_status"] == "proven"
    after = counts(app)
    assert after["Member"] == before["Member"] and after["User"] == before["User"]
    assert after["Vehicle"] == before["Vehicle"] + 1
    assert after["Notification"] == before["Notification"]  # no invitation: they have a login
    with app.app_context():
        owner = db.session.get(Member, member["id"])
        assert owner.name == "Zhang Wei"  # the owner's own data is kept
        assert owner.occupation == "Shenzhen Metro"  # gaps are filled


def test_a_vin_of_another_dealers_owner_is_a_conflict(app, api, member):
    with app.app_context():
        vin = db.session.get(Vehicle, member["vehicle_id"]).vin
    before = counts(app)
    response = api.post("/dms/deliveries", delivery(vehicle={"vin": vin}), dealer="GZ01")
    assert_error(response, 409, "conflict", field="vehicle.vin")
    assert counts(app) == before


def test_the_same_vin_for_another_owner_of_the_dealer_is_a_conflict(api, app, member):
    with app.app_context():
        vin = db.session.get(Vehicle, member["vehicle_id"]).vin
    response = api.post("/dms/deliveries", delivery(vehicle={"vin": vin}))
    assert_error(response, 409, "conflict", field="vehicle.vin")


def test_an_owner_of_another_dealers_chapter_is_a_conflict(app, api, member):
    before = counts(app)
    response = api.post(
        "/dms/deliveries", delivery(customer={"mobile": member["mobile"]}), dealer="GZ01"
    )
    assert_error(response, 409, "conflict", field="customer.mobile")
    assert counts(app) == before


def test_a_staff_mobile_is_a_conflict(app, api, seeded, dealers):
    with seeded():
        mobile = make_staff("sales_consultant", dealers["SZ01"]).mobile
    response = api.post("/dms/deliveries", delivery(customer={"mobile": mobile}))
    assert_error(response, 409, field="customer.mobile")


def test_a_plate_already_registered_is_a_conflict(app, api, member):
    with app.app_context():
        plate = db.session.get(Vehicle, member["vehicle_id"]).plate
    response = api.post("/dms/deliveries", delivery(vehicle={"plate": plate}))
    assert_error(response, 409, "conflict", field="vehicle.plate")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"vehicle": {"vin": "LFV2A21K1A3000001"}}, "vehicle.vin"),  # wrong check digit
        ({"vehicle": {"vin": "LFV2A21K"}}, "vehicle.vin"),
        ({"vehicle": {"plate": "ABC123"}}, "vehicle.plate"),
        ({"vehicle": {"colour": "tartan"}}, "vehicle.colour"),
        ({"vehicle": {"transmission": "steam"}}, "vehicle.transmission"),
        ({"customer": {"mobile": "12345"}}, "customer.mobile"),
        ({"customer": {"name": ""}}, "customer.name"),
        ({"customer": {"name": "\u200b\u202e"}}, "customer.name"),  # zero-width and bidi only
        ({"customer": {"name": " \u3000"}}, "customer.name"),
        ({"vehicle": {"model": "\u200d"}}, "vehicle.model"),
        ({"customer": {"birthday": "2030-01-01"}}, "customer.birthday"),
        ({"customer": {"birthday": "14/03/1988"}}, "customer.birthday"),
        ({"delivered_on": "2026-11-24"}, "delivered_on"),  # tomorrow in Shanghai
        ({"delivered_on": None}, "delivered_on"),
        ({"sales_consultant": 42}, "sales_consultant"),
        ({"customer": "Chen Jie"}, "customer"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_invalid_fields_are_422_with_the_field_named(app, api, changes, field):
    before = counts(app)
    error = assert_error(
        api.post("/dms/deliveries", delivery(**changes)), 422, "validation_failed", field=field
    )
    assert counts(app) == before
    if field == "vehicle.colour":
        assert "white" in error["fields"][field][0]  # the message lists the colours


def test_missing_fields_are_all_named(api):
    error = assert_error(
        api.post("/dms/deliveries", {"customer": {}, "vehicle": {"vin": valid_vin()}}), 422
    )
    assert {
        "delivered_on",
        "sales_consultant",
        "customer.name",
        "customer.mobile",
        "vehicle.model",
        "vehicle.colour",
        "vehicle.transmission",
    } <= set(error["fields"])


def test_the_colour_may_be_a_code_or_a_name_in_any_case(api):
    for colour in ("BLACK", "Black", "黑色", "black"):
        assert api.post("/dms/deliveries", delivery(vehicle={"colour": colour})).status_code == 201


def test_a_delivery_of_yesterday_is_fine(api, clock):
    yesterday = (clock.now() - timedelta(days=1)).date().isoformat()
    assert api.post("/dms/deliveries", delivery(delivered_on=yesterday)).status_code == 201
