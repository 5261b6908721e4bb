"""Staff book for owners on the phone (issue 20 item 6): advisors and care agents of the owner's
dealer book, the owner sees it and may cancel; another dealer's staff get 404, owners and
roles without the permission cannot book for anyone; a double submit books once."""

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.members.models import Notification
from app.service.models import AppointmentSettings, AppointmentStatus
from tests.conftest import login
from tests.factories import make_member, make_vehicle
from tests.service.test_appointments_views import (
    TOMORROW,
    appointment_rows,
    body,
    error,
    open_times,
    time_options,
)

URL = "/admin/appointments/owners/{}/book"


@pytest.fixture
def other_owner(app, seeded, dealers):
    """Li Na, another owner of SZ01 with a car: ids and a logged-in client."""
    with seeded():
        other = make_member(dealers["SZ01"], name="Li Na")
        info = {"id": other.id, "vehicle_id": make_vehicle(other).id, "mobile": other.user.mobile}
    client = app.test_client()
    login(client, info["mobile"])
    return {**info, "client": client}


@pytest.fixture
def slots(seeded, dealers):
    return open_times(seeded, dealers["SZ01"], TOMORROW, 9, 10, capacity=1)


def page_url(member, day=TOMORROW):
    return URL.format(member["id"]) + f"?day={day.isoformat()}"


@pytest.mark.parametrize("role", ["service_advisor", "care_agent"])
def test_staff_book_for_an_owner_who_sees_it_and_can_cancel(
    app, staff_factory, member, member_client, slots, role
):
    staff = staff_factory(role)
    page = body(staff.get(page_url(member)))
    assert "Book for Zhang Wei" in page and "can cancel in My appointments" in page
    assert set(time_options(page)) == {"09:00 · 1 place left", "10:00 · 1 place left"}
    response = staff.post(
        page_url(member), data={"vehicle_id": member["vehicle_id"], "slot_id": slots[9]}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/members/{member['id']}")
    (booked,) = appointment_rows(app)
    assert booked.status == AppointmentStatus.BOOKED and booked.booked_by_id is not None
    mine = body(member_client.get("/me/appointments"))
    assert "09:00" in mine
    assert member_client.post(f"/me/appointments/{booked.id}/cancel").status_code == 302
    assert appointment_rows(app)[0].status == AppointmentStatus.CANCELLED


def test_clear_errors_full_same_day_too_soon(
    app, seeded, dealers, staff_factory, member, other_owner, slots, clock
):
    staff = staff_factory("service_advisor")
    other = {"vehicle_id": other_owner["vehicle_id"], "slot_id": slots[9]}
    staff.post(page_url(other_owner), data=other)
    mine = {"vehicle_id": member["vehicle_id"], "slot_id": slots[9]}
    full = staff.post(page_url(member), data=mine)
    assert full.status_code == 422 and "fully booked" in error(body(full), "slot_id")
    staff.post(page_url(member), data={**mine, "slot_id": slots[10]})
    later = open_times(seeded, dealers["SZ01"], TOMORROW, 15)
    same_day = staff.post(page_url(member), data={**mine, "slot_id": later[15]})
    assert same_day.status_code == 422 and "already booked on" in error(body(same_day), "slot_id")
    early = open_times(seeded, dealers["SZ01"], TOMORROW, 8)
    clock.advance(hours=20)  # tomorrow 06:00: 08:00 is two hours away
    too_soon = staff.post(page_url(member, TOMORROW), data={**mine, "slot_id": early[8]})
    assert too_soon.status_code == 422
    assert "at least 3 hours ahead" in error(body(too_soon), "slot_id")
    assert len(appointment_rows(app)) == 2


def test_a_double_submit_books_once(app, staff_factory, member, slots):
    staff = staff_factory("service_advisor")
    page = body(staff.get(page_url(member)))
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    data = {"vehicle_id": member["vehicle_id"], "slot_id": slots[9], "idempotency_key": key}
    first = staff.post(page_url(member), data=data)
    second = staff.post(page_url(member), data=data)
    assert first.status_code == second.status_code == 302
    assert len(appointment_rows(app)) == 1
    with app.app_context():
        told = db.session.scalar(select(func.count(Notification.id)))
    assert told == 1


def test_another_dealers_staff_get_404(staff_factory, member, slots):
    gz = staff_factory("service_advisor", dealer="GZ01")
    assert gz.get(page_url(member)).status_code == 404
    data = {"vehicle_id": member["vehicle_id"], "slot_id": slots[9]}
    posted = gz.post(page_url(member), data=data)
    assert posted.status_code == 404


def test_unknown_owner_is_404(staff_factory, slots):
    assert staff_factory("service_advisor").get(URL.format(999999)).status_code == 404


@pytest.mark.parametrize("role", ["sales_consultant", "event_staff"])
def test_roles_without_the_permission_cannot_book(app, staff_factory, member, slots, role):
    staff = staff_factory(role)
    assert staff.get(page_url(member)).status_code == 403
    staff.post(page_url(member), data={"vehicle_id": member["vehicle_id"], "slot_id": slots[9]})
    assert appointment_rows(app) == []


def test_owners_cannot_book_for_others(app, member_client, other_owner, slots):
    response = member_client.post(
        page_url(other_owner), data={"vehicle_id": other_owner["vehicle_id"], "slot_id": slots[9]}
    )
    assert response.status_code in (302, 403, 404)
    assert appointment_rows(app) == []


def test_the_owners_page_links_to_booking(staff_factory, member):
    staff = staff_factory("care_agent")
    page = body(staff.get(f"/admin/members/{member['id']}"))
    assert URL.format(member["id"]) in page
    gz_page = staff_factory("service_advisor", dealer="GZ01").get(f"/admin/members/{member['id']}")
    assert URL.format(member["id"]) not in body(gz_page)


def test_hostile_ids_change_nothing(app, staff_factory, member, slots):
    staff = staff_factory("service_advisor")
    for data in (
        {"vehicle_id": "x", "slot_id": slots[9]},
        {"vehicle_id": member["vehicle_id"], "slot_id": "9" * 40},
        {"vehicle_id": member["vehicle_id"], "slot_id": 999999},
    ):
        assert staff.post(page_url(member), data=data).status_code == 422
    assert appointment_rows(app) == []


def test_the_settings_take_the_spend_in_yuan(app, staff_factory):
    staff = staff_factory("service_advisor")
    assert "100.00" in body(staff.get("/admin/appointments/settings"))
    assert (
        staff.post(
            "/admin/appointments/settings", data={"kept_reward_id": "", "reward_min_spend": "150.5"}
        ).status_code
        == 302
    )
    for bad in ("-1", "NaN", "1e999", "0.001", "100001"):
        response = staff.post(
            "/admin/appointments/settings", data={"kept_reward_id": "", "reward_min_spend": bad}
        )
        assert response.status_code == 422, bad
    with app.app_context():
        (settings,) = db.session.scalars(select(AppointmentSettings)).all()
        assert settings.reward_min_spend_fen == 15_050
