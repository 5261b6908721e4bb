"""The owner's home summary: card, tier progress, cars with their next maintenance, what is new."""

from datetime import date, timedelta

import pytest

from app.core.clock import utcnow
from app.events.services import sign_up
from app.loyalty.services import account_for
from app.members.home import home_summary
from app.members.inbox import notify
from tests.factories import (
    give_points,
    make_event,
    make_member,
    make_staff,
    make_vehicle,
    make_visit,
    record_car_visit,
)


@pytest.fixture
def owner(ctx, dealers):
    return make_member(dealers["SZ01"], name="Wang Fang")


def test_a_new_owner_has_no_car_and_nothing_new(owner):
    home = home_summary(owner)
    assert home.cars == []
    assert home.card is not None and home.account.balance == 0
    assert home.tier.tier.code == "gold" and home.tier.next_tier.code == "platinum"
    assert home.tier.to_next == 5000
    assert (home.tickets, home.open_events, home.expiring_points, home.unread) == ([], [], 0, 0)


def test_a_car_just_delivered_waits_for_its_first_maintenance(owner):
    # Delivered 20 days before the clock's today (2026-11-23): first maintenance on day 60.
    make_vehicle(owner, purchased_on=date(2026, 10, 30), delivered_on=date(2026, 11, 3))
    (car,) = home_summary(owner).cars
    assert car.due.first and car.due.due_on == date(2027, 1, 2)
    assert not car.due.overdue and car.due.last_on is None


def test_the_next_maintenance_is_the_care_schedules(owner):
    car = make_vehicle(owner, purchased_on=date(2025, 11, 1), delivered_on=date(2025, 11, 3))
    make_visit(owner, date(2026, 9, 1), "maintenance", 50_000, vehicle_id=car.id, mileage_km=4000)
    (shown,) = home_summary(owner).cars
    # Six months after the last maintenance, or 5,000 km more at 4,000 km in 302 days: the
    # months come first (app/care/schedule.py: next_maintenance).
    assert shown.due.due_on == date(2027, 3, 1) and shown.due.last_on == date(2026, 9, 1)
    assert not shown.due.first and not shown.due.overdue


def test_an_overdue_maintenance_is_marked(owner):
    car = make_vehicle(owner, purchased_on=date(2025, 1, 1), delivered_on=date(2025, 1, 3))
    make_visit(owner, date(2026, 1, 10), "maintenance", 50_000, vehicle_id=car.id, mileage_km=9000)
    (shown,) = home_summary(owner).cars
    assert shown.due.overdue and shown.due.due_on < date(2026, 11, 23)


def test_what_is_new_lists_my_next_event_the_open_ones_and_unread_messages(owner):
    staff = make_staff("event_staff", owner.dealer_id)
    now = utcnow()
    mine = make_event(staff, now=now, title="Mine")
    make_event(
        staff,
        now=now,
        title="Open",
        starts_at=now + timedelta(days=12),
        ends_at=now + timedelta(days=13),
    )
    make_event(staff, now=now, title="Not yet open", registration_opens_at=now + timedelta(days=1))
    sign_up(owner, mine.id, vehicle_id=make_vehicle(owner).id, accept_waiver=True)
    notify(owner, "hello", lambda: ("Hello", "A message"), dedupe_key="hello")
    home = home_summary(owner)
    assert [r.event.title for r in home.tickets] == ["Mine"]
    assert [e.title for e in home.open_events] == ["Open"]
    assert home.unread == 1


def test_points_expiring_within_60_days_are_new(owner, clock):
    give_points(owner, 700)
    assert home_summary(owner).expiring_points == 0
    # Points expire 24 months after they were earned.
    clock.advance(days=700)
    assert home_summary(owner).expiring_points == 700


def test_the_tier_progress_counts_qualifying_points(owner):
    car = make_vehicle(owner)
    record_car_visit(car, "RO-1", date(2026, 11, 20), amount_fen=520_000)
    home = home_summary(owner)
    assert account_for(owner).tier_code == "platinum"
    assert home.tier.next_tier.code == "diamond" and home.tier.to_next == 15000 - 5200
    # Kept at the review: the points that count then are earned.
    assert home.tier.to_keep == 0 and home.tier.counted_at_review == 5200
