"""Each owner action's form carries an idempotency key: posted twice, it happens once."""

from datetime import date, time
from html import unescape

import pytest
from sqlalchemy import func, select

from app.events.models import EventKind, EventRegistration
from app.extensions import db
from app.partners.models import PerkClaim
from app.service import workshop
from app.service.models import Appointment, AppointmentStatus
from tests.conftest import NOW
from tests.core.test_idempotency import form_key
from tests.factories import make_event, make_staff
from tests.partners.helpers import make_partner, make_perk

TOMORROW = date(2026, 11, 24)


def twice(client, page: str, action: str, data: dict | None = None):
    """Post the form for ``action`` rendered on ``page`` twice with its one key: both answers."""
    key = form_key(client.get(page).get_data(as_text=True), action)
    sent = {**(data or {}), "idempotency_key": key}
    first, second = client.post(action, data=sent), client.post(action, data=sent)
    assert first.status_code == second.status_code == 302, second.get_data(as_text=True)
    assert first.headers["Location"] == second.headers["Location"]
    return first, second


def flashed(client, response) -> str:
    return unescape(client.get(response.headers["Location"]).get_data(as_text=True))


def count(app, column, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(column)).where(*where))


@pytest.fixture
def lecture(app, seeded, dealers) -> int:
    with seeded():
        staff = make_staff("dealer_admin", dealers["SZ01"])
        return make_event(staff, now=NOW, kind=EventKind.LECTURE, waiver_text="").id


def test_signing_up_twice_with_one_key_takes_one_place(app, member_client, lecture):
    _first, second = twice(
        member_client, f"/events/{lecture}", f"/events/{lecture}/sign-up", {"companions": 0}
    )
    assert "Your ticket is below" in flashed(member_client, second)
    assert count(app, EventRegistration.id) == 1


def test_cancelling_twice_with_one_key_cancels_once_and_says_so_twice(app, member_client, lecture):
    signed = member_client.post(f"/events/{lecture}/sign-up", data={"companions": 0})
    ticket = signed.headers["Location"]
    registration_id = int(ticket.rsplit("/", 1)[1])
    _first, second = twice(member_client, ticket, f"/me/tickets/{registration_id}/cancel")
    page = flashed(member_client, second)
    assert "Cancelled." in page and "already cancelled" not in page


def test_claiming_a_perk_twice_with_one_key_claims_once(app, seeded, member_client):
    with seeded():
        perk_id = make_perk(make_partner(), limit_per_member=5).id
    twice(member_client, "/perks", f"/perks/{perk_id}/claim")
    assert count(app, PerkClaim.id) == 1


@pytest.fixture
def slots(seeded, dealers) -> list[int]:
    with seeded():
        advisor = make_staff("service_advisor", dealers["SZ01"])
        added = workshop.add_slots(
            advisor, day=TOMORROW, first=time(9), last=time(11), every_minutes=60, capacity=2
        ).added
        return [slot.id for slot in added]


def test_booking_twice_with_one_key_books_once(app, member, member_client, slots):
    data = {"vehicle_id": member["vehicle_id"], "slot_id": slots[0]}
    day = "/me/appointments/new?day=2026-11-24"
    key = form_key(member_client.get(day).get_data(as_text=True), day)
    sent = {**data, "idempotency_key": key}
    first, second = member_client.post(day, data=sent), member_client.post(day, data=sent)
    assert first.status_code == second.status_code == 302
    assert "Booked:" in flashed(member_client, second)
    assert count(app, Appointment.id) == 1
    # The same key for another time is another request: refused, nothing booked.
    other = member_client.post(day, data={**sent, "slot_id": slots[1]})
    assert other.status_code == 409
    assert count(app, Appointment.id) == 1


def test_moving_and_cancelling_twice_with_one_key_happen_once(app, member, member_client, slots):
    member_client.post(
        "/me/appointments/new?day=2026-11-24",
        data={"vehicle_id": member["vehicle_id"], "slot_id": slots[0]},
    )
    with app.app_context():
        appointment_id = db.session.scalar(select(Appointment.id))
    change = f"/me/appointments/{appointment_id}/change?day=2026-11-24"
    key = form_key(member_client.get(change).get_data(as_text=True), change)
    sent = {"slot_id": slots[1], "idempotency_key": key}
    first, second = member_client.post(change, data=sent), member_client.post(change, data=sent)
    assert first.status_code == second.status_code == 302
    assert "Moved to" in flashed(member_client, second)

    _first, second = twice(
        member_client, "/me/appointments", f"/me/appointments/{appointment_id}/cancel"
    )
    page = flashed(member_client, second)
    assert "Appointment cancelled." in page and "already cancelled" not in page
    with app.app_context():
        assert db.session.get(Appointment, appointment_id).status == AppointmentStatus.CANCELLED
