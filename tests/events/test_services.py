"""Events: first come first served, the waiting list and its offers, tickets, check-in."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.errors import Conflict
from app.events import checkin, services
from app.events.models import RegistrationStatus, ScanConflict
from app.extensions import db
from app.loyalty.services import account_for
from tests.factories import make_event, make_member, make_staff, make_vehicle


def make_trip(staff, clock, *, capacity=2, **overrides):
    overrides.setdefault("attendance_points", 300)
    return make_event(staff, now=clock.now(), capacity=capacity, **overrides)


@pytest.fixture
def staff(ctx, dealers):
    return make_staff("event_staff", dealers["SZ01"])


def owner(dealers, name="Owner"):
    member = make_member(dealers["SZ01"], name=name)
    make_vehicle(member)
    return member


def join(member, event, **kw):
    return services.sign_up(
        member, event.id, vehicle_id=member.vehicles[0].id, accept_waiver=True, **kw
    )


def test_first_come_first_served_then_the_waiting_list(staff, dealers, clock):
    trip = make_trip(staff, clock, capacity=2)
    owners = [owner(dealers, f"O{i}") for i in range(4)]
    statuses = [join(m, trip).status for m in owners]
    assert statuses == [
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.WAITING,
        RegistrationStatus.WAITING,
    ]
    assert [r.member_id for r in services.waiting_list(trip)] == [owners[2].id, owners[3].id]


def test_a_cancellation_offers_the_place_and_the_offer_passes_on_when_it_runs_out(
    staff, dealers, clock
):
    trip = make_trip(staff, clock, capacity=1)
    first, second, third = (owner(dealers, n) for n in ("A", "B", "C"))
    taken = join(first, trip)
    waiting = [join(second, trip), join(third, trip)]
    services.cancel_registration(first, taken.id)
    assert (
        waiting[0].status == RegistrationStatus.OFFERED
        and waiting[1].status == RegistrationStatus.WAITING
    )
    assert waiting[0].offer_expires_at == clock.now() + timedelta(hours=48)
    clock.advance(hours=49)
    assert services.expire_offers() == 1
    assert (
        waiting[0].status == RegistrationStatus.EXPIRED
        and waiting[1].status == RegistrationStatus.OFFERED
    )
    services.confirm_offer(third, waiting[1].id)
    assert waiting[1].status == RegistrationStatus.CONFIRMED


def test_an_offer_confirmed_in_time_keeps_the_place(staff, dealers, clock):
    trip = make_trip(staff, clock, capacity=1)
    a, b = owner(dealers, "A"), owner(dealers, "B")
    services.cancel_registration(a, join(a, trip).id)
    offered = join(b, trip)
    assert offered.status == RegistrationStatus.CONFIRMED  # the place was free again


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"accept_waiver": False}, "Accept the waiver"),
        ({"companions": 3}, "up to 2 companions"),
    ],
)
def test_bad_sign_ups_are_refused_and_save_nothing(staff, dealers, clock, change, message):
    trip = make_trip(staff, clock)
    member = owner(dealers)
    kwargs = {"vehicle_id": member.vehicles[0].id, "accept_waiver": True, **change}
    with pytest.raises(services.SignUpRefused, match=message):
        services.sign_up(member, trip.id, **kwargs)
    assert services.places_taken(trip) == 0


def test_sign_up_outside_the_window_or_twice_is_refused(staff, dealers, clock):
    trip = make_trip(staff, clock)
    member = owner(dealers)
    join(member, trip)
    with pytest.raises(Conflict):
        join(member, trip)
    clock.advance(days=9)
    with pytest.raises(services.SignUpRefused, match="not open"):
        join(owner(dealers, "Late"), trip)


def test_a_ticket_checks_in_once_and_awards_points_once(staff, dealers, clock):
    trip = make_trip(staff, clock)
    member = owner(dealers)
    registration = join(member, trip)
    token = checkin.ticket_token(registration)
    clock.at = trip.starts_at  # at the gate
    first = checkin.check_in(staff, event_id=trip.id, ticket=token, nonce="scan-1")
    assert first.status == "checked_in"
    again = checkin.check_in(staff, event_id=trip.id, ticket=token, nonce="scan-2")
    assert again.status == "already_checked_in" and again.checked_in_at == first.checked_in_at
    replay = checkin.check_in(staff, event_id=trip.id, ticket=token, nonce="scan-1")
    assert replay.status == "checked_in"
    assert account_for(member).balance == 300
    assert [c.nonce for c in db.session.scalars(select(ScanConflict))] == ["scan-2"]


def test_forged_wrong_event_and_cancelled_tickets_are_refused(staff, dealers, clock):
    trip, other = make_trip(staff, clock), make_trip(staff, clock, title="Another trip")
    member = owner(dealers)
    registration = join(member, trip)
    token = checkin.ticket_token(registration)
    assert checkin.check_in(staff, event_id=trip.id, ticket=token[:-4] + "AAAA").status == "invalid"
    assert checkin.check_in(staff, event_id=other.id, ticket=token).status == "wrong_event"
    services.cancel_registration(member, registration.id)
    assert checkin.check_in(staff, event_id=trip.id, ticket=token).status == "cancelled"
    assert account_for(member).balance == 0


def test_staff_of_another_dealer_cannot_check_in(staff, dealers, clock):
    from app.core.errors import NotFound

    trip = make_trip(staff, clock)
    registration = join(owner(dealers), trip)
    with pytest.raises(NotFound):
        checkin.check_in(
            make_staff("event_staff", dealers["GZ01"]),
            event_id=trip.id,
            ticket=checkin.ticket_token(registration),
        )
