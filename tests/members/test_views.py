"""Owners' pages: login, profile and garage."""

from datetime import date
from urllib.parse import unquote

import pytest

from app.extensions import db
from app.members.models import Member, Vehicle
from tests.factories import colour, make_member, make_vehicle, valid_vin


def _error(html: str, field: str) -> str:
    """The text of the error shown next to ``field`` (empty when there is none)."""
    start = html.find(f'id="{field}-error"')
    if start == -1:
        return ""
    return html[html.index(">", start) + 1 : html.index("</p>", start)]


@pytest.fixture
def other_car(seeded, dealers):
    """Another member of the same dealer, and the id of their car."""
    with seeded():
        other = make_member(dealers["SZ01"], name="Li Na")
        vehicle = make_vehicle(other, model="Magotan", plate="粤BX7K2P")
        ids = {"member_id": other.id, "vehicle_id": vehicle.id}
    return ids


def _vehicle_form(app, **changes) -> dict:
    with app.app_context():
        silver = colour("silver").id
    return {
        "vin": valid_vin(),
        "plate": "粤BD54321",
        "model": "Tiguan L",
        "colour_id": str(silver),
        "transmission": "automatic",
        "purchased_on": "2025-03-01",
        "delivered_on": "2025-03-05",
        **changes,
    }


def _cars(app, member_id: int) -> list[Vehicle]:
    with app.app_context():
        return list(db.session.get(Member, member_id).vehicles)


# ------------------------------------------------------------------------------ access


@pytest.mark.parametrize(
    "path",
    [
        "/me/profile",
        "/me/vehicles",
        "/me/vehicles/new",
        "/me/vehicles/{vehicle_id}/edit",
        "/me/chapter",
    ],
)
def test_owner_pages_ask_visitors_to_log_in(client, member, path):
    path = path.format(vehicle_id=member["vehicle_id"])
    response = client.get(path)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/login?next=")
    assert unquote(location.split("next=", 1)[1]) == path


def test_a_visitor_cannot_remove_a_car(client, app, member):
    response = client.post(f"/me/vehicles/{member['vehicle_id']}/remove")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert len(_cars(app, member["id"])) == 1


@pytest.mark.parametrize("path", ["/me/profile", "/me/vehicles", "/me/vehicles/new", "/me/chapter"])
def test_staff_cannot_open_owner_pages(staff_client, path):
    assert staff_client.get(path).status_code == 403


def test_a_partner_cannot_open_the_profile(staff_factory):
    partner = staff_factory("partner", None)
    assert partner.get("/me/profile").status_code == 403


# ----------------------------------------------------------------------------- profile


def test_the_profile_shows_the_owners_details(member_client, member):
    html = member_client.get("/me/profile").get_data(as_text=True)
    assert 'value="Zhang Wei"' in html
    assert member["mobile"] in html


def test_saving_the_profile_persists_it(member_client, app, member):
    response = member_client.post(
        "/me/profile",
        data={
            "name": "Zhang Wei Jr",
            "birthday": "1985-06-15",
            "gender": "male",
            "occupation": "Teacher",
            "home_area": "Nanshan",
            "hobbies": "golf，fishing",
            "marketing": "y",
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Profile saved." in html
    assert 'value="golf, fishing"' in html
    with app.app_context():
        saved = db.session.get(Member, member["id"])
        assert saved.name == "Zhang Wei Jr"
        assert saved.user.name == "Zhang Wei Jr"
        assert saved.birthday == date(1985, 6, 15)
        assert saved.gender == "male"
        assert saved.occupation == "Teacher"
        assert saved.home_area == "Nanshan"
        assert saved.hobbies == "golf, fishing"
        assert saved.marketing_opt_in is True


def test_a_birthday_in_the_future_is_shown_next_to_the_field_and_nothing_is_saved(
    member_client, app, member
):
    response = member_client.post(
        "/me/profile",
        data={"name": "Renamed", "birthday": "2026-11-24", "gender": "", "hobbies": "golf"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Profile saved." not in html
    assert "A birthday cannot be in the future." in _error(html, "birthday")
    with app.app_context():
        saved = db.session.get(Member, member["id"])
        assert saved.name == "Zhang Wei"
        assert saved.birthday is None
        assert saved.hobbies == ""


def test_the_profile_needs_a_name(member_client, app, member):
    response = member_client.post("/me/profile", data={"name": "  ", "gender": ""})
    assert response.status_code == 200
    assert "Enter your name." in _error(response.get_data(as_text=True), "name")
    with app.app_context():
        assert db.session.get(Member, member["id"]).name == "Zhang Wei"


# ------------------------------------------------------------------------------ garage


def test_the_garage_lists_the_owners_cars_only(member_client, other_car):
    html = member_client.get("/me/vehicles").get_data(as_text=True)
    assert "Sagitar" in html
    assert "Magotan" not in html
    assert "粤BX7K2P" not in html


def test_adding_a_car(member_client, app, member):
    form = _vehicle_form(app, plate="粤bd 54321")
    form["vin"] = " " + form["vin"].lower()
    response = member_client.post("/me/vehicles/new", data=form, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Car added to your garage." in html
    assert "Tiguan L" in html
    assert "粤BD54321" in html
    new = [v for v in _cars(app, member["id"]) if v.model == "Tiguan L"]
    assert len(new) == 1
    assert new[0].vin == form["vin"].strip().upper()
    assert new[0].plate == "粤BD54321"
    assert new[0].purchased_on == date(2025, 3, 1)
    assert new[0].delivered_on == date(2025, 3, 5)


@pytest.mark.parametrize(
    ("vin", "message"),
    [
        pytest.param("LFV2A21K", "A VIN has exactly 17 characters.", id="short"),
        pytest.param("LFV2A21K0A3OOOOOO", "never contains I, O or Q", id="letter-O"),
        pytest.param("wrong-check-digit", "check digit (9th character) is wrong", id="check"),
    ],
)
def test_an_invalid_vin_is_shown_next_to_the_vin_field_and_no_car_is_saved(
    member_client, app, member, vin, message
):
    if vin == "wrong-check-digit":
        good = valid_vin()
        vin = good[:8] + ("1" if good[8] != "1" else "2") + good[9:]
    response = member_client.post("/me/vehicles/new", data=_vehicle_form(app, vin=vin))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in _error(html, "vin")
    assert "Car added" not in html
    assert len(_cars(app, member["id"])) == 1


def test_a_vin_already_in_the_club_is_shown_next_to_the_vin_field(
    member_client, app, member, other_car
):
    with app.app_context():
        taken = db.session.get(Vehicle, other_car["vehicle_id"]).vin
    response = member_client.post("/me/vehicles/new", data=_vehicle_form(app, vin=taken))
    assert response.status_code == 200
    assert "already registered" in _error(response.get_data(as_text=True), "vin")
    assert len(_cars(app, member["id"])) == 1


def test_editing_the_own_car(member_client, app, member):
    with app.app_context():
        vin = db.session.get(Vehicle, member["vehicle_id"]).vin
    form = _vehicle_form(app, vin=vin, model="Sagitar GLI", plate="粤B88888")
    response = member_client.post(
        f"/me/vehicles/{member['vehicle_id']}/edit", data=form, follow_redirects=True
    )
    assert "Car details saved." in response.get_data(as_text=True)
    (car,) = _cars(app, member["id"])
    assert car.model == "Sagitar GLI"
    assert car.plate == "粤B88888"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/me/vehicles/{id}/edit"),
        ("POST", "/me/vehicles/{id}/edit"),
        ("POST", "/me/vehicles/{id}/remove"),
    ],
)
def test_another_members_car_is_not_found_and_stays_untouched(
    member_client, app, other_car, method, path
):
    path = path.format(id=other_car["vehicle_id"])
    data = _vehicle_form(app, model="Hijacked") if method == "POST" else None
    response = member_client.open(path, method=method, data=data)
    assert response.status_code == 404
    (car,) = _cars(app, other_car["member_id"])
    assert car.id == other_car["vehicle_id"]
    assert car.model == "Magotan"
    assert car.plate == "粤BX7K2P"


def test_removing_the_own_car(member_client, app, member):
    response = member_client.post(
        f"/me/vehicles/{member['vehicle_id']}/remove", follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Car removed from your garage." in html
    assert "Sagitar" not in html
    assert _cars(app, member["id"]) == []
    with app.app_context():
        assert db.session.get(Vehicle, member["vehicle_id"]) is None


def test_removing_a_car_needs_the_csrf_token(member_client, app, member):
    response = member_client.post(f"/me/vehicles/{member['vehicle_id']}/remove", with_csrf=False)
    assert response.status_code == 400
    assert len(_cars(app, member["id"])) == 1


def test_the_remove_url_does_not_answer_get(member_client, app, member):
    response = member_client.get(f"/me/vehicles/{member['vehicle_id']}/remove")
    assert response.status_code == 405
    assert len(_cars(app, member["id"])) == 1


def test_a_car_with_service_history_stays_on_record(member_client, app, member):
    from datetime import date

    from app.service.services import record_visit

    with app.app_context(), app.test_request_context():
        car = db.session.get(Vehicle, member["vehicle_id"])
        record_visit(
            None,
            dealer_id=car.member.dealer_id,
            ro_number="RO-KEEP",
            vin=car.vin,
            visited_on=date(2026, 11, 20),
            mileage_km=1000,
            amount_fen=50_000,
            category="maintenance",
        )
        db.session.commit()
    response = member_client.post(
        f"/me/vehicles/{member['vehicle_id']}/remove", follow_redirects=True
    )
    assert "it stays on record" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Vehicle, member["vehicle_id"]) is not None
