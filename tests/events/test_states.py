"""Issue 16's leaks at the gate: a checked-in registration cannot be cancelled (the owner kept
the attendance points), a ticket checks in only inside the event's check-in window, and a
waiting owner's deposit comes back once the event is over."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.core.states import TransitionRefused
from app.events import browsing, checkin, closing, services
from app.events.models import CheckIn, EventKind, RegistrationStatus
from app.extensions import db
from app.loyalty.services import account_for
from tests.events.test_services import join, make_trip, owner
from tests.factories import give_points, make_staff


@pytest.fixture
def staff(ctx, dealers):
    return make_staff("event_staff", dealers["SZ01"])


def check_ins(registration) -> int:
    return db.session.scalar(
        select(func.count(CheckIn.id)).where(CheckIn.registration_id == registration.id)
    )


def test_a_checked_in_registration_cannot_be_cancelled_and_the_points_stay_earned(
    staff, dealers, clock
):
    trip = make_trip(staff, clock)
    trip.cancel_until = trip.starts_at  # owners may cancel until the start
    member = owner(dealers)
    registration = join(member, trip)
    clock.at = trip.starts_at - timedelta(hours=1)  # at the gate, before the cut-off
    result = checkin.check_in(staff, event_id=trip.id, ticket=checkin.ticket_token(registration))
    assert result.status == "checked_in" and account_for(member).balance == 300
    # The button is gone; the request itself is refused and changes nothing.
    assert not browsing.can_cancel(registration)
    with pytest.raises(TransitionRefused, match="checked in: the registration cannot be"):
        services.cancel_registration(member, registration.id)
    assert registration.status == RegistrationStatus.CONFIRMED and registration.cancelled_at is None
    assert account_for(member).balance == 300
    # Deleting the account keeps the checked-in ticket too.
    assert closing.withdraw_member(member) == []
    assert registration.status == RegistrationStatus.CONFIRMED


def test_the_owner_may_cancel_before_the_check_in(staff, dealers, clock):
    trip = make_trip(staff, clock)
    member = owner(dealers)
    registration = join(member, trip)
    assert browsing.can_cancel(registration)
    services.cancel_registration(member, registration.id)
    assert registration.status == RegistrationStatus.CANCELLED


def test_a_ticket_scanned_twelve_days_early_is_refused_and_awards_nothing(staff, dealers, clock):
    trip = make_trip(staff, clock)
    member = owner(dealers)
    registration = join(member, trip)
    clock.at = trip.starts_at - timedelta(days=12)
    token = checkin.ticket_token(registration)
    result = checkin.check_in(staff, event_id=trip.id, ticket=token)
    assert result.status == "outside_window"
    assert "check-in is not open: it opens at" in result.message
    assert check_ins(registration) == 0 and account_for(member).balance == 0
    # The owner may still cancel: nothing was checked in.
    assert browsing.can_cancel(registration)
    # Offline scans made 12 days early and uploaded at the gate are refused as well.
    clock.at = trip.starts_at
    (early,) = checkin.check_in_batch(
        staff,
        event_id=trip.id,
        scans=[checkin.Scan(token, "early-scan-1", trip.starts_at - timedelta(days=12))],
    )
    assert early.result.status == "outside_window" and check_ins(registration) == 0


@pytest.mark.parametrize(
    ("moment", "status"),
    [
        (lambda e: e.starts_at - timedelta(hours=2, seconds=1), "outside_window"),
        (lambda e: e.starts_at - timedelta(hours=2), "checked_in"),
        (lambda e: e.ends_at, "checked_in"),
        (lambda e: e.ends_at + timedelta(seconds=1), "outside_window"),
    ],
    ids=["before-opening", "at-opening", "at-the-end", "after-the-end"],
)
def test_the_check_in_window_runs_from_two_hours_before_the_start_to_the_end(
    staff, dealers, clock, moment, status
):
    trip = make_trip(staff, clock)
    registration = join(owner(dealers), trip)
    clock.at = moment(trip)
    token = checkin.ticket_token(registration)
    assert checkin.check_in(staff, event_id=trip.id, ticket=token).status == status


def test_the_check_in_window_is_configurable(app, staff, dealers, clock):
    trip = make_trip(staff, clock)
    registration = join(owner(dealers), trip)
    clock.at = trip.starts_at - timedelta(hours=5)
    token = checkin.ticket_token(registration)
    app.config["CHECKIN_OPENS_HOURS_BEFORE"] = 6
    try:
        assert checkin.check_in(staff, event_id=trip.id, ticket=token).status == "checked_in"
    finally:
        app.config["CHECKIN_OPENS_HOURS_BEFORE"] = 2


def test_a_waiting_owners_deposit_comes_back_once_when_the_event_is_over(
    app, ctx, staff, dealers, clock
):
    lecture = make_trip(
        staff, clock, capacity=1, kind=EventKind.LECTURE, deposit_points=80, waiver_text=""
    )
    first, waiting = owner(dealers, "First"), owner(dealers, "Waiting")
    for member in (first, waiting):
        give_points(member, 100)
    join(first, lecture)
    registration = join(waiting, lecture)
    assert registration.status == RegistrationStatus.WAITING and account_for(waiting).balance == 20
    ctx.commit()
    clock.at = lecture.ends_at + timedelta(minutes=1)
    runner = app.test_cli_runner()
    outputs = [runner.invoke(args=["events", "tick"]) for _ in range(2)]
    assert [r.exit_code for r in outputs] == [0, 0], outputs[0].output
    assert "1 waiting places lapsed after their event" in outputs[0].output
    assert "0 waiting places lapsed after their event" in outputs[1].output
    db.session.expire_all()
    assert registration.status == RegistrationStatus.EXPIRED
    assert account_for(waiting).balance == 100
    # The owner who had the place and did not come forfeits the deposit.
    assert account_for(first).balance == 20
