"""Owners browse and sign up on the phone; staff organise events."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.events import browsing, checkin, services
from app.events.models import Event, EventKind, EventRegistration, RegistrationStatus
from app.extensions import db
from app.loyalty.ledger import InsufficientPoints
from app.loyalty.services import account_for
from app.members.models import Notification
from tests.conftest import login
from tests.events.test_services import make_trip
from tests.factories import give_points, make_member, make_staff, make_vehicle


@pytest.fixture
def organiser(seeded, dealers):
    with seeded():
        return make_staff("event_staff", dealers["SZ01"]).id


def _trip(app, organiser, clock, **overrides):
    with app.app_context(), app.test_request_context():
        from app.auth.models import User

        staff = db.session.get(User, organiser)
        event = make_trip(staff, clock, **overrides)
        db.session.commit()
        return event.id


def _owner_client(app, seeded, dealers, name, dealer="SZ01"):
    with seeded():
        owner = make_member(dealers[dealer], name=name)
        car = make_vehicle(owner)
        mobile, member_id, car_id = owner.user.mobile, owner.id, car.id
    client = app.test_client()
    login(client, mobile)
    return client, member_id, car_id


def _registrations(app, event_id):
    with app.app_context():
        return db.session.scalars(
            select(EventRegistration)
            .where(EventRegistration.event_id == event_id)
            .order_by(EventRegistration.id)
        ).all()


def test_owners_see_their_dealers_upcoming_events_filtered_by_type(
    app, seeded, dealers, organiser, clock, member_client
):
    trip = _trip(app, organiser, clock, title="Lake Dongjiang self-drive")
    _trip(app, organiser, clock, kind=EventKind.LECTURE, title="Winter tyres talk", waiver_text="")
    with seeded():
        other = make_staff("event_staff", dealers["GZ01"])
        make_trip(other, clock, title="Guangzhou night drive")
    page = member_client.get("/events").get_data(as_text=True)
    assert "Lake Dongjiang self-drive" in page and "Winter tyres talk" in page
    assert "Guangzhou night drive" not in page
    assert "2 places left" in page
    trips = member_client.get("/events?kind=trip").get_data(as_text=True)
    assert "Lake Dongjiang" in trips and "Winter tyres" not in trips
    empty = member_client.get("/events?kind=other").get_data(as_text=True)
    assert "No upcoming events of this type" in empty
    # Another dealer's event is not found, even by its address.
    with app.app_context():
        gz_event = db.session.scalar(select(Event.id).where(Event.title.like("Guangzhou%")))
    assert member_client.get(f"/events/{gz_event}").status_code == 404
    assert member_client.get(f"/events/{trip}").status_code == 200


def test_a_trip_needs_the_car_and_the_waiver_and_a_refusal_saves_nothing(
    app, organiser, clock, member_client, member
):
    trip = _trip(app, organiser, clock)
    page = member_client.get(f"/events/{trip}").get_data(as_text=True)
    assert "I drive at my own risk." in page and "The car you will drive" in page
    refused = member_client.post(
        f"/events/{trip}/sign-up", data={"companions": "1", "vehicle_id": member["vehicle_id"]}
    )
    assert refused.status_code == 422
    assert "Accept the waiver to join a trip." in refused.get_data(as_text=True)
    too_many = member_client.post(
        f"/events/{trip}/sign-up",
        data={"companions": "5", "vehicle_id": member["vehicle_id"], "accept_waiver": "y"},
    )
    assert too_many.status_code == 422
    assert _registrations(app, trip) == []


def test_signing_up_gives_a_ticket_with_a_qr_code(app, organiser, clock, member_client, member):
    """The QR itself is decoded from a screenshot in the browser journey."""
    trip = _trip(app, organiser, clock)
    response = member_client.post(
        f"/events/{trip}/sign-up",
        data={
            "companions": "2",
            "companion_names": "Li Mei, Zhang Xiao",
            "vehicle_id": member["vehicle_id"],
            "accept_waiver": "y",
        },
    )
    assert response.status_code == 302
    ticket = member_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You are in. Your ticket is below." in ticket
    assert "You and 2 companions (Li Mei, Zhang Xiao)" in ticket
    assert re.search(r'<svg[^>]*class="qr"', ticket)
    (registration,) = _registrations(app, trip)
    assert registration.waiver_accepted_at is not None and registration.companions == 2
    # Signing up twice is refused and changes nothing.
    again = member_client.post(
        f"/events/{trip}/sign-up", data={"vehicle_id": member["vehicle_id"], "accept_waiver": "y"}
    )
    assert "You are already signed up for this event." in again.get_data(as_text=True)
    assert len(_registrations(app, trip)) == 1


def test_a_cancellation_offers_the_place_to_the_first_in_line_who_confirms_it(
    app, seeded, dealers, organiser, clock
):
    trip = _trip(app, organiser, clock, capacity=1)
    first, _, first_car = _owner_client(app, seeded, dealers, "First")
    second, second_id, second_car = _owner_client(app, seeded, dealers, "Second")
    first.post(f"/events/{trip}/sign-up", data={"vehicle_id": first_car, "accept_waiver": "y"})
    waiting = second.post(
        f"/events/{trip}/sign-up", data={"vehicle_id": second_car, "accept_waiver": "y"}
    )
    page = second.get(waiting.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "You are number 1 on the waiting list." in page
    mine, theirs = _registrations(app, trip)
    # Another owner's ticket is not found.
    assert second.get(f"/me/tickets/{mine.id}").status_code == 404
    assert second.post(f"/me/tickets/{mine.id}/cancel").status_code == 404
    cancelled = first.post(f"/me/tickets/{mine.id}/cancel", follow_redirects=True)
    assert "Your place goes to the next in line." in cancelled.get_data(as_text=True)
    offer = second.get(f"/me/tickets/{theirs.id}").get_data(as_text=True)
    assert "A place is free for you." in offer
    with app.app_context():
        inbox = db.session.scalars(
            select(Notification).where(Notification.member_id == second_id)
        ).all()
        # The message is in the owner's language (Chinese unless they chose English).
        assert [(n.kind, "Lake Dongjiang self-drive" in n.title) for n in inbox] == [
            ("event_offer", True)
        ]
    taken = second.post(f"/me/tickets/{theirs.id}/confirm", follow_redirects=True)
    assert "The place is yours." in taken.get_data(as_text=True)
    assert [r.status for r in _registrations(app, trip)] == [
        RegistrationStatus.CANCELLED,
        RegistrationStatus.CONFIRMED,
    ]


def test_cancelling_after_the_cut_off_is_refused(app, organiser, clock, member_client, member):
    trip = _trip(app, organiser, clock)
    member_client.post(
        f"/events/{trip}/sign-up", data={"vehicle_id": member["vehicle_id"], "accept_waiver": "y"}
    )
    (registration,) = _registrations(app, trip)
    clock.advance(days=9)  # registration (and cancellation) closed after 8 days
    page = member_client.get(f"/me/tickets/{registration.id}").get_data(as_text=True)
    assert "It is too late to cancel online" in page
    refused = member_client.post(f"/me/tickets/{registration.id}/cancel", follow_redirects=True)
    assert "It is too late to cancel online" in refused.get_data(as_text=True)
    assert _registrations(app, trip)[0].status == RegistrationStatus.CONFIRMED


def test_a_ticket_of_an_event_that_is_over_shows_no_gate_code_and_no_cancel_hint(
    app, organiser, clock, member_client, member, seeded, dealers
):
    """After the event the ticket is a record: no QR to show at a gate that has closed, no
    "too late to cancel" advice; it says whether the owner came."""
    trip = _trip(app, organiser, clock)
    member_client.post(
        f"/events/{trip}/sign-up", data={"vehicle_id": member["vehicle_id"], "accept_waiver": "y"}
    )
    other, _, car = _owner_client(app, seeded, dealers, "Li Na")
    other.post(f"/events/{trip}/sign-up", data={"vehicle_id": car, "accept_waiver": "y"})
    came, stayed_away = _registrations(app, trip)
    with app.app_context(), app.test_request_context():
        from app.auth.models import User

        event = db.session.get(Event, trip)
        clock.at = event.starts_at
        checkin.check_in(
            db.session.get(User, organiser),
            event_id=trip,
            ticket=checkin.ticket_token(db.session.get(EventRegistration, came.id)),
        )
        db.session.commit()
        clock.at = event.ends_at + timedelta(days=1)
    page = member_client.get(f"/me/tickets/{came.id}").get_data(as_text=True)
    assert "Checked in at" in page and "This event is over" in page
    assert "Show this code at the gate" not in page and "qr-box" not in page
    assert "too late to cancel" not in page and "Add to calendar" not in page
    page = other.get(f"/me/tickets/{stayed_away.id}").get_data(as_text=True)
    assert "This event is over: you were not checked in." in page
    assert "Show this code at the gate" not in page and "too late to cancel" not in page


def test_a_paid_event_without_payments_says_so_and_takes_no_sign_up(
    app, organiser, clock, member_client, member
):
    trip = _trip(app, organiser, clock, price_fen=19900)
    page = member_client.get(f"/events/{trip}").get_data(as_text=True)
    assert "¥199.00" in page
    assert "Online payment is not configured for this event yet." in page
    refused = member_client.post(
        f"/events/{trip}/sign-up", data={"vehicle_id": member["vehicle_id"], "accept_waiver": "y"}
    )
    assert "Online payment is not configured" in refused.get_data(as_text=True)
    assert _registrations(app, trip) == []


def test_a_points_deposit_is_taken_at_sign_up_and_returned_at_check_in(ctx, dealers, clock):
    staff = make_staff("event_staff", dealers["SZ01"])
    owner = make_member(dealers["SZ01"], name="Deposit")
    make_vehicle(owner)
    give_points(owner, 100)
    lecture = make_trip(staff, clock, kind=EventKind.LECTURE, deposit_points=80, waiver_text="")
    poor = make_member(dealers["SZ01"], name="Poor")
    ctx.commit()
    with pytest.raises(InsufficientPoints, match=r"Not enough points: 0 available\."):
        services.sign_up(poor, lecture.id)
    ctx.rollback()
    assert browsing.own_registration(poor, lecture) is None
    registration = services.sign_up(owner, lecture.id)
    assert account_for(owner).balance == 20
    clock.at = lecture.starts_at  # at the door
    checkin.check_in(staff, event_id=lecture.id, ticket=checkin.ticket_token(registration))
    # The deposit back, plus the 300 points for attending.
    assert account_for(owner).balance == 400
    # A second scan gives nothing more.
    checkin.check_in(staff, event_id=lecture.id, ticket=checkin.ticket_token(registration))
    assert account_for(owner).balance == 400


EVENT_FORM = {
    "kind": "trip",
    "title": "Spring self-drive to Huizhou",
    "description": "Two days by the lake.",
    "place": "Huizhou, Lake Dongjiang",
    "starts_at": "2026-12-20T08:00",
    "ends_at": "2026-12-21T18:00",
    "registration_opens_at": "2026-11-23T09:00",
    "registration_closes_at": "2026-12-15T20:00",
    "capacity": "10",
    "max_companions": "2",
    "min_tier_code": "",
    "price_yuan": "0",
    "attendance_points": "300",
    "deposit_points": "0",
    "waiver_text": "I drive my own car at my own risk.",
    "offer_hours": "48",
}


def test_staff_publish_an_event_in_local_time_and_owners_see_it(app, staff_factory, member_client):
    staff = staff_factory("event_staff", "SZ01")
    response = staff.post("/admin/events/new", data=EVENT_FORM)
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalar(select(Event))
        # 08:00 in Shenzhen is 00:00 UTC.
        assert event.starts_at.hour == 0 and event.starts_at.day == 20
        assert event.capacity == 10 and event.attendance_points == 300
    detail = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "0 / 10" in detail and "Nobody is waiting." in detail
    assert "Spring self-drive to Huizhou" in member_client.get("/events").get_data(as_text=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ends_at": "2026-12-19T08:00"}, "The event must end after it starts."),
        ({"registration_closes_at": "2026-12-20T09:00"}, "Registration must close before"),
        ({"capacity": "0"}, "Number must be between 1 and 5000."),
        ({"waiver_text": ""}, "A self-drive trip needs a waiver"),
        ({"price_yuan": "50", "deposit_points": "100"}, "A paid event takes no points deposit."),
        ({"cover_url": "https://example.com/x.jpg"}, "Use an image on this site"),
        ({"title": ""}, "Enter a title."),
        ({"price_yuan": "NaN"}, "Enter a number, e.g. 12.50."),
        ({"price_yuan": "-Infinity"}, "Enter a number, e.g. 12.50."),
        ({"price_yuan": "9.999"}, "Use at most two decimals (fen)."),
    ],
)
def test_bad_event_forms_say_why_and_save_nothing(app, staff_factory, change, message):
    staff = staff_factory("event_staff", "SZ01")
    response = staff.post("/admin/events/new", data={**EVENT_FORM, **change})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Event.id))) == 0


def test_capacity_cannot_drop_below_the_places_taken_and_a_rise_offers_places(
    app, seeded, dealers, organiser, clock, staff_factory
):
    trip = _trip(app, organiser, clock, capacity=1)
    cars = []
    for name in ("A", "B"):
        client, _, car = _owner_client(app, seeded, dealers, name)
        client.post(f"/events/{trip}/sign-up", data={"vehicle_id": car, "accept_waiver": "y"})
        cars.append(client)
    staff = staff_factory("event_staff", "SZ01")
    form = staff.get(f"/admin/events/{trip}/edit").get_data(as_text=True)
    assert 'value="Lake Dongjiang self-drive"' in form
    fields = {
        **EVENT_FORM,
        "title": "Lake Dongjiang self-drive",
        "starts_at": (clock.now() + timedelta(days=10, hours=8)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (clock.now() + timedelta(days=11, hours=8)).strftime("%Y-%m-%dT%H:%M"),
        "registration_opens_at": (clock.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "registration_closes_at": (clock.now() + timedelta(days=8, hours=8)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
    }
    too_low = staff.post(f"/admin/events/{trip}/edit", data={**fields, "capacity": "0"})
    assert too_low.status_code == 422
    assert (
        staff.post(f"/admin/events/{trip}/edit", data={**fields, "capacity": "2"}).status_code
        == 302
    )
    assert [r.status for r in _registrations(app, trip)] == [
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.OFFERED,
    ]
    other = staff_factory("event_staff", "GZ01")
    assert other.get(f"/admin/events/{trip}").status_code == 404
    assert other.post(f"/admin/events/{trip}/edit", data=fields).status_code == 404


def test_staff_list_counts_places_and_the_waiting_list(
    app, seeded, dealers, organiser, clock, staff_factory
):
    trip = _trip(app, organiser, clock, capacity=1)
    for name in ("A", "B", "C"):
        client, _, car = _owner_client(app, seeded, dealers, name)
        client.post(f"/events/{trip}/sign-up", data={"vehicle_id": car, "accept_waiver": "y"})
    staff = staff_factory("event_staff", "SZ01")
    page = staff.get("/admin/events").get_data(as_text=True)
    row = re.search(r"<tr>\s*<td><a[^>]*>Lake Dongjiang.*?</tr>", page, re.S).group(0)
    assert re.findall(r"<td>([^<]*)</td>", row)[1:] == ["1 / 1", "2", "0"]
    detail = staff.get(f"/admin/events/{trip}").get_data(as_text=True)
    waiting = re.search(r"<h2>Waiting list</h2>.*", detail, re.S).group(0)
    assert re.findall(r"<li>(\w+)", waiting) == ["B", "C"]
    assert "No past events." in staff.get("/admin/events?when=past").get_data(as_text=True)


def test_events_tick_lapses_offers_and_passes_them_on(app, seeded, dealers, organiser, clock):
    trip = _trip(app, organiser, clock, capacity=1)
    clients = []
    for name in ("A", "B", "C"):
        client, _, car = _owner_client(app, seeded, dealers, name)
        client.post(f"/events/{trip}/sign-up", data={"vehicle_id": car, "accept_waiver": "y"})
        clients.append(client)
    first = _registrations(app, trip)[0]
    clients[0].post(f"/me/tickets/{first.id}/cancel")
    clock.advance(hours=48)
    result = app.test_cli_runner().invoke(args=["events", "tick"])
    assert result.exit_code == 0, result.output
    assert "1 offers lapsed" in result.output
    assert [r.status for r in _registrations(app, trip)] == [
        RegistrationStatus.CANCELLED,
        RegistrationStatus.EXPIRED,
        RegistrationStatus.OFFERED,
    ]
    again = app.test_cli_runner().invoke(args=["events", "tick"])
    assert "0 offers lapsed" in again.output
