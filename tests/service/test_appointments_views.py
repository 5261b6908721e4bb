"""Appointment pages: owners book, move and cancel on the phone; advisors open times and run
the day; each sees only their own (owners) or their dealer's (staff) bookings."""

import re
from datetime import date, time
from html import unescape

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.extensions import db
from app.rewards.models import RewardKind, Voucher
from app.service import appointments, workshop
from app.service.models import Appointment, AppointmentSlot, AppointmentStatus
from tests.conftest import login
from tests.factories import make_member, make_reward, make_staff, make_vehicle

TODAY = date(2026, 11, 23)  # NOW is 10:00 in Shanghai
TOMORROW = date(2026, 11, 24)


def body(response) -> str:
    return unescape(response.get_data(as_text=True))


def error(html: str, field: str) -> str:
    """The text of the error shown next to ``field`` (empty when there is none)."""
    start = html.find(f'id="{field}-error"')
    if start == -1:
        return ""
    return html[html.index(">", start) + 1 : html.index("</p>", start)]


def time_options(html: str) -> dict[str, str]:
    """The free times offered: label → slot id."""
    found = re.findall(
        r'<input[^>]*name="slot_id"[^>]*value="(\d+)"[^>]*>\s*'
        r"<span><strong>([^<]*)</strong> <small>([^<]*)</small></span>",
        html,
    )
    return {f"{at} · {left}": value for value, at, left in found}


def open_times(seeded, dealer_id: int, day: date, *hours, capacity: int = 2) -> dict[int, int]:
    """Slots at whole local hours: hour → slot id."""
    with seeded():
        advisor = make_staff("service_advisor", dealer_id)
        slots = {}
        for hour in hours:
            (slot,) = workshop.add_slots(
                advisor,
                day=day,
                first=time(hour),
                last=time(hour),
                every_minutes=30,
                capacity=capacity,
            ).added
            slots[hour] = slot.id
    return slots


def appointment_rows(app) -> list[Appointment]:
    with app.app_context():
        return db.session.scalars(select(Appointment).order_by(Appointment.id)).all()


@pytest.fixture
def other_owner(app, seeded, dealers):
    """Li Na, another owner of SZ01 with a car: ids and a logged-in client."""
    with seeded():
        other = make_member(dealers["SZ01"], name="Li Na")
        car = make_vehicle(other)
        info = {"id": other.id, "vehicle_id": car.id, "mobile": other.user.mobile}
    client = app.test_client()
    login(client, info["mobile"])
    return {**info, "client": client}


# ---------------------------------------------------------------------------------- owners


def test_an_owner_books_a_time_on_the_phone(app, seeded, dealers, member, member_client):
    slots = open_times(seeded, dealers["SZ01"], TOMORROW, 9, 11)

    page = body(member_client.get("/me/appointments/new"))
    assert "Free times on" in page
    options = time_options(page)
    assert list(options) == ["09:00 · 2 places left", "11:00 · 2 places left"]

    response = member_client.post(
        "/me/appointments/new?day=2026-11-24",
        data={
            "vehicle_id": member["vehicle_id"],
            "slot_id": options["11:00 · 2 places left"],
            "note": "Oil change",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/me/appointments"
    page = body(member_client.get("/me/appointments"))
    assert "Booked:" in page and "11:00" in page
    assert "Oil change" in page
    assert "Change time" in page
    (booked,) = appointment_rows(app)
    assert booked.slot_id == slots[11]
    # The inbox message is in the owner's language: Chinese unless they chose English.
    assert "保养预约成功" in body(member_client.get("/me/inbox"))


def test_a_booking_too_soon_is_refused_with_the_reason(app, seeded, dealers, member, member_client):
    slots = open_times(seeded, dealers["SZ01"], TODAY, 12)
    page = body(member_client.get("/me/appointments/new?day=2026-11-23"))
    assert time_options(page) == {}
    assert "No free time on this day." in page

    response = member_client.post(
        "/me/appointments/new?day=2026-11-23",
        data={"vehicle_id": member["vehicle_id"], "slot_id": slots[12]},
    )
    assert response.status_code == 422
    assert "Book at least 3 hours ahead" in error(body(response), "slot_id")
    assert appointment_rows(app) == []


def test_a_booking_without_a_time_or_with_another_owners_car_is_refused(
    app, seeded, dealers, member, member_client, other_owner
):
    slots = open_times(seeded, dealers["SZ01"], TOMORROW, 9)
    response = member_client.post("/me/appointments/new", data={"vehicle_id": member["vehicle_id"]})
    assert response.status_code == 422
    assert "Choose a time." in error(body(response), "slot_id")

    response = member_client.post(
        "/me/appointments/new",
        data={"vehicle_id": other_owner["vehicle_id"], "slot_id": slots[9]},
    )
    assert response.status_code == 422
    assert "Choose one of your own cars." in error(body(response), "vehicle_id")
    assert appointment_rows(app) == []


def test_an_owner_moves_and_cancels_a_booking(app, seeded, dealers, member, member_client):
    slots = open_times(seeded, dealers["SZ01"], TOMORROW, 9, 15)
    member_client.post(
        "/me/appointments/new", data={"vehicle_id": member["vehicle_id"], "slot_id": slots[9]}
    )
    (appointment,) = appointment_rows(app)

    page = body(member_client.get(f"/me/appointments/{appointment.id}/change"))
    assert "Now booked:" in page
    assert list(time_options(page)) == ["15:00 · 2 places left"]  # not its own time
    response = member_client.post(
        f"/me/appointments/{appointment.id}/change", data={"slot_id": slots[15]}
    )
    assert response.status_code == 302
    assert "Moved to" in body(member_client.get("/me/appointments"))
    assert appointment_rows(app)[0].slot_id == slots[15]

    response = member_client.post(f"/me/appointments/{appointment.id}/cancel")
    assert response.status_code == 302
    page = body(member_client.get("/me/appointments"))
    assert "Appointment cancelled." in page
    assert "No appointment booked." in page
    assert appointment_rows(app)[0].status == AppointmentStatus.CANCELLED
    with app.app_context():
        assert db.session.get(AppointmentSlot, slots[15]).booked == 0

    again = member_client.post(f"/me/appointments/{appointment.id}/cancel", follow_redirects=True)
    assert "This appointment is already cancelled." in body(again)
    response = member_client.get(f"/me/appointments/{appointment.id}/change")
    assert response.status_code == 302


def test_owners_see_and_touch_only_their_own_bookings(
    app, seeded, dealers, member, member_client, other_owner
):
    slots = open_times(seeded, dealers["SZ01"], TOMORROW, 9)
    member_client.post(
        "/me/appointments/new", data={"vehicle_id": member["vehicle_id"], "slot_id": slots[9]}
    )
    (appointment,) = appointment_rows(app)
    other = other_owner["client"]

    assert "No appointment booked." in body(other.get("/me/appointments"))
    assert other.get(f"/me/appointments/{appointment.id}/change").status_code == 404
    assert other.post(f"/me/appointments/{appointment.id}/cancel").status_code == 404
    assert appointment_rows(app)[0].status == AppointmentStatus.BOOKED


def test_an_owner_without_a_car_is_sent_to_the_garage(app, seeded, dealers):
    with seeded():
        mobile = make_member(dealers["SZ01"], name="No Car").user.mobile
    client = app.test_client()
    login(client, mobile)
    assert "Add your car to your garage first." in body(client.get("/me/appointments/new"))


def test_staff_cannot_open_the_owners_pages(staff_factory):
    advisor = staff_factory("service_advisor")
    assert advisor.get("/me/appointments").status_code == 403
    assert advisor.get("/me/appointments/new").status_code == 403


# ----------------------------------------------------------------------------------- staff


def test_an_advisor_opens_a_day_of_times(app, staff_factory):
    advisor = staff_factory("service_advisor")
    response = advisor.post(
        "/admin/appointments/slots/new",
        data={
            "day": "2026-11-24",
            "first": "09:00",
            "last": "16:30",
            "every_minutes": "30",
            "capacity": "3",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/appointments?day=2026-11-24"
    page = body(advisor.get(response.headers["Location"]))
    assert "16 times added." in page
    assert "09:00" in page and "16:30" in page
    assert page.count("0 of 3 cars") == 16
    with app.app_context():
        assert db.session.scalar(select(func.count(AppointmentSlot.id))) == 16
        (entry,) = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "appointment.slots_added")
        ).all()
        assert entry.details["times"][0] == "09:00"


def test_times_in_the_past_are_refused_next_to_the_field(app, staff_factory):
    advisor = staff_factory("service_advisor")
    response = advisor.post(
        "/admin/appointments/slots/new",
        data={
            "day": "2026-11-22",
            "first": "09:00",
            "last": "10:00",
            "every_minutes": "30",
            "capacity": "2",
        },
    )
    assert response.status_code == 422
    assert "Choose today or a later day." in error(body(response), "day")
    with app.app_context():
        assert db.session.scalar(select(func.count(AppointmentSlot.id))) == 0


def test_the_advisor_runs_the_day_and_a_kept_booking_earns_the_voucher(
    app, seeded, dealers, member, member_client, staff_factory, clock
):
    slots = open_times(seeded, dealers["SZ01"], TODAY, 14)
    member_client.post(
        "/me/appointments/new?day=2026-11-23",
        data={"vehicle_id": member["vehicle_id"], "slot_id": slots[14], "note": "Brakes squeak"},
    )
    (appointment,) = appointment_rows(app)
    advisor = staff_factory("service_advisor")
    with seeded():
        reward = make_reward(dealers["SZ01"], name="1 h labour", kind=RewardKind.LABOUR_VOUCHER)
        reward_id = reward.id
    settings = advisor.get("/admin/appointments/settings")
    assert "1 h labour · Labour-hour voucher" in body(settings)
    response = advisor.post(
        "/admin/appointments/settings", data={"kept_reward_id": reward_id, "reward_min_spend": "0"}
    )
    assert response.status_code == 302

    page = body(advisor.get("/admin/appointments"))
    mobile = member["mobile"]
    assert "Zhang Wei" in page
    assert f"{mobile[:3]}****{mobile[-4:]}" in page
    assert mobile not in page
    assert "Brakes squeak" in page
    assert "1 of 2 cars" in page
    assert "A kept appointment earns: 1 h labour." in page

    clock.advance(hours=4)
    response = advisor.post(f"/admin/appointments/{appointment.id}/kept", follow_redirects=True)
    page = body(response)
    assert "Marked kept: Zhang Wei." in page
    assert "A voucher was given to Zhang Wei." in page
    again = body(advisor.post(f"/admin/appointments/{appointment.id}/kept", follow_redirects=True))
    assert "This appointment is already marked as kept." in again
    with app.app_context():
        (voucher,) = db.session.scalars(select(Voucher)).all()
        assert voucher.member_id == member["id"]
        assert voucher.reward_id == reward_id
    owner_page = body(member_client.get("/me/appointments"))
    assert "Kept" in owner_page
    assert f"/me/vouchers/{voucher.id}" in owner_page


def test_a_no_show_is_marked_once_its_time_has_come(
    app, seeded, dealers, member, staff_factory, clock
):
    slots = open_times(seeded, dealers["SZ01"], TODAY, 14)
    with seeded():
        from app.members.models import Member

        owner = db.session.get(Member, member["id"])
        appointment_id = appointments.book_appointment(
            owner, slot_id=slots[14], vehicle_id=member["vehicle_id"]
        ).id
    advisor = staff_factory("service_advisor")
    early = body(
        advisor.post(f"/admin/appointments/{appointment_id}/no-show", follow_redirects=True)
    )
    assert "once its time has come" in early
    clock.advance(hours=5)
    done = body(
        advisor.post(f"/admin/appointments/{appointment_id}/no-show", follow_redirects=True)
    )
    assert "Marked as a no-show: Zhang Wei." in done
    assert appointment_rows(app)[0].status == AppointmentStatus.NO_SHOW


def test_capacity_changes_keep_the_booked_cars(
    app, seeded, dealers, member, member_client, staff_factory
):
    slots = open_times(seeded, dealers["SZ01"], TOMORROW, 9, capacity=3)
    member_client.post(
        "/me/appointments/new", data={"vehicle_id": member["vehicle_id"], "slot_id": slots[9]}
    )
    advisor = staff_factory("service_advisor")
    refused = body(
        advisor.post(
            f"/admin/appointments/slots/{slots[9]}/capacity",
            data={"capacity": "0"},
            follow_redirects=True,
        )
    )
    assert "Number must be between 1 and 50." in refused
    saved = body(
        advisor.post(
            f"/admin/appointments/slots/{slots[9]}/capacity",
            data={"capacity": "1"},
            follow_redirects=True,
        )
    )
    assert "Capacity saved." in saved
    assert "1 of 1 cars" in saved
    with app.app_context():
        assert db.session.get(AppointmentSlot, slots[9]).capacity == 1


def test_staff_see_only_their_dealers_bookings(
    app, seeded, dealers, member, member_client, staff_factory
):
    slots = open_times(seeded, dealers["SZ01"], TOMORROW, 9)
    member_client.post(
        "/me/appointments/new", data={"vehicle_id": member["vehicle_id"], "slot_id": slots[9]}
    )
    (appointment,) = appointment_rows(app)
    gz = staff_factory("service_advisor", "GZ01")

    page = body(gz.get("/admin/appointments?day=2026-11-24"))
    assert "Zhang Wei" not in page
    assert "No times are open on this day." in page
    assert gz.post(f"/admin/appointments/{appointment.id}/kept").status_code == 404
    assert gz.post(f"/admin/appointments/{appointment.id}/no-show").status_code == 404
    response = gz.post(f"/admin/appointments/slots/{slots[9]}/capacity", data={"capacity": "9"})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(AppointmentSlot, slots[9]).capacity == 2
    assert appointment_rows(app)[0].status == AppointmentStatus.BOOKED

    sz = body(staff_factory("dealer_admin", "SZ01").get("/admin/appointments?day=2026-11-24"))
    assert "Zhang Wei" in sz


def test_a_reward_of_another_dealer_cannot_be_chosen(app, seeded, dealers, staff_factory):
    with seeded():
        gz_reward = make_reward(dealers["GZ01"]).id
    advisor = staff_factory("service_advisor")
    response = advisor.post("/admin/appointments/settings", data={"kept_reward_id": gz_reward})
    assert response.status_code == 422
    assert "Choose a reward offered at your dealer." in error(body(response), "kept_reward_id")


def test_the_pages_speak_chinese(app, seeded, dealers, member, member_client, staff_factory):
    open_times(seeded, dealers["SZ01"], TOMORROW, 9)
    member_client.set_cookie("lang", "zh")
    page = body(member_client.get("/me/appointments/new"))
    assert "11月24日周二" in page
    advisor = staff_factory("service_advisor")
    advisor.set_cookie("lang", "zh")
    assert "11月24日周二" in body(advisor.get("/admin/appointments?day=2026-11-24"))
