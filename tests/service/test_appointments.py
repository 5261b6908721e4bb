"""Appointment rules: booking ahead, capacity, one booking a car a day, changes, cancellations,
kept and no-show, and the voucher a kept booking earns."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.members.models import Notification
from app.rewards.models import RewardKind, Voucher
from app.service import appointments, kept_reward, workshop
from app.service.appointments import AppointmentRefused
from app.service.models import Appointment, AppointmentSlot, AppointmentStatus
from tests.conftest import NOW
from tests.factories import make_dealer, make_member, make_reward, make_staff, make_vehicle

SHANGHAI = ZoneInfo("Asia/Shanghai")
# NOW is Monday 23 November 2026, 10:00 in Shanghai.
TODAY = date(2026, 11, 23)
TOMORROW = TODAY + timedelta(days=1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local (Shanghai) time as the UTC instant the database stores."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI).astimezone(UTC)


def open_time(advisor, day: date, hour: int, minute: int = 0, *, capacity: int = 2):
    """One slot of the advisor's dealer at a local time."""
    (slot,) = workshop.add_slots(
        advisor,
        day=day,
        first=time(hour, minute),
        last=time(hour, minute),
        every_minutes=30,
        capacity=capacity,
    ).added
    return slot


def owner_with_car(dealer, name="Zhang Wei"):
    member = make_member(dealer.id, name=name)
    return member, make_vehicle(member)


def book(member, vehicle, slot, **kwargs):
    return appointments.book_appointment(member, slot_id=slot.id, vehicle_id=vehicle.id, **kwargs)


def count_appointments() -> int:
    return db.session.scalar(select(func.count(Appointment.id)))


def assert_counter_matches(slot: AppointmentSlot) -> None:
    db.session.refresh(slot)
    assert slot.booked == appointments.live_bookings(slot)


@pytest.fixture
def sz(ctx):
    """Dealer SZ01, its service advisor, and an owner with one car."""
    dealer = make_dealer("SZ01")
    advisor = make_staff("service_advisor", dealer.id)
    member, car = owner_with_car(dealer)
    return dealer, advisor, member, car


# ---------------------------------------------------------------------------------- slots


def test_an_advisor_opens_a_day_of_times_in_local_time(sz):
    _dealer, advisor, _member, _car = sz
    result = workshop.add_slots(
        advisor, day=TOMORROW, first=time(9), last=time(16, 30), every_minutes=30, capacity=3
    )
    assert len(result.added) == 16 and result.existing == 0
    assert result.added[0].starts_at == at(TOMORROW, 9) == datetime(2026, 11, 24, 1, tzinfo=UTC)
    assert result.added[-1].starts_at == at(TOMORROW, 16, 30)
    assert {s.capacity for s in result.added} == {3}
    assert {s.booked for s in result.added} == {0}

    again = workshop.add_slots(
        advisor, day=TOMORROW, first=time(8), last=time(9, 30), every_minutes=30, capacity=5
    )
    assert [s.starts_at for s in again.added] == [at(TOMORROW, 8), at(TOMORROW, 8, 30)]
    assert again.existing == 2
    nine = db.session.scalar(
        select(AppointmentSlot).where(AppointmentSlot.starts_at == at(TOMORROW, 9))
    )
    assert nine.capacity == 3


@pytest.mark.parametrize(
    ("day", "first", "last", "every", "capacity", "field"),
    [
        pytest.param(TODAY - timedelta(days=1), time(9), time(10), 30, 2, "day", id="past-day"),
        pytest.param(TODAY, time(9), time(12), 30, 2, "first", id="first-time-passed"),
        pytest.param(TOMORROW, time(12), time(9), 30, 2, "last", id="last-before-first"),
        pytest.param(TOMORROW, time(9), time(12), 2, 2, "every_minutes", id="step-too-small"),
        pytest.param(TOMORROW, time(9), time(12), 30, 0, "capacity", id="no-capacity"),
        pytest.param(TOMORROW, time(0), time(23, 59), 5, 2, "every_minutes", id="too-many"),
    ],
)
def test_bad_times_are_refused_and_nothing_is_opened(sz, day, first, last, every, capacity, field):
    _dealer, advisor, _member, _car = sz
    with pytest.raises(DomainError) as refused:
        workshop.add_slots(
            advisor, day=day, first=first, last=last, every_minutes=every, capacity=capacity
        )
    assert refused.value.field == field
    assert db.session.scalar(select(func.count(AppointmentSlot.id))) == 0


def test_capacity_never_goes_below_the_cars_booked(sz):
    dealer, advisor, member, car = sz
    slot = open_time(advisor, TOMORROW, 9, capacity=3)
    other, other_car = owner_with_car(dealer, "Li Na")
    book(member, car, slot)
    book(other, other_car, slot)

    with pytest.raises(AppointmentRefused, match="2 cars are booked") as refused:
        workshop.change_capacity(advisor, slot.id, 1)
    assert refused.value.field == "capacity"
    assert slot.capacity == 3

    workshop.change_capacity(advisor, slot.id, 2)
    assert (slot.capacity, slot.booked) == (2, 2)


def test_another_dealers_advisor_cannot_touch_a_slot(sz):
    _dealer, advisor, _member, _car = sz
    slot = open_time(advisor, TOMORROW, 9)
    gz_advisor = make_staff("service_advisor", make_dealer("GZ01").id)
    with pytest.raises(NotFound):
        workshop.change_capacity(gz_advisor, slot.id, 5)
    assert workshop.day_sheet(gz_advisor, TOMORROW) == []


# -------------------------------------------------------------------------------- booking


def test_an_owner_books_a_free_time_and_is_told(sz):
    _dealer, advisor, member, car = sz
    slot = open_time(advisor, TOMORROW, 9, 30)

    appointment = book(member, car, slot, note="  Strange noise from the front left  ")

    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.note == "Strange noise from the front left"
    assert (appointment.member_id, appointment.vehicle_id) == (member.id, car.id)
    assert slot.booked == 1
    assert_counter_matches(slot)
    (message,) = db.session.scalars(select(Notification)).all()
    assert message.kind == "appointment_booked"
    assert message.member_id == member.id
    lists = appointments.appointments_for(member)
    assert lists.upcoming == [appointment]


@pytest.mark.parametrize(
    ("minutes_later", "allowed"),
    [
        pytest.param(0, True, id="3h-ahead"),
        pytest.param(1, False, id="2h59-ahead"),
    ],
)
def test_a_time_must_be_booked_at_least_three_hours_ahead(sz, clock, minutes_later, allowed):
    _dealer, advisor, member, car = sz
    slot = open_time(advisor, TODAY, 13)  # 13:00, three hours after NOW (10:00)
    assert slot.starts_at - NOW == timedelta(hours=3)
    clock.advance(minutes=minutes_later)

    if allowed:
        assert book(member, car, slot).status == AppointmentStatus.BOOKED
        assert slot.booked == 1
    else:
        with pytest.raises(AppointmentRefused, match="at least 3 hours ahead") as refused:
            book(member, car, slot)
        assert (refused.value.code, refused.value.field) == ("too_soon", "slot_id")
        assert count_appointments() == 0
        assert slot.booked == 0
        assert appointments.bookable_slots(member, TODAY) == []


def test_the_hours_ahead_come_from_the_configuration(app, sz, clock):
    _dealer, advisor, member, car = sz
    slot = open_time(advisor, TODAY, 13)
    app.config["APPOINTMENT_MIN_HOURS_AHEAD"] = 4
    with pytest.raises(AppointmentRefused, match="at least 4 hours ahead"):
        book(member, car, slot)
    app.config["APPOINTMENT_MIN_HOURS_AHEAD"] = 2
    clock.advance(minutes=30)
    assert book(member, car, slot).status == AppointmentStatus.BOOKED


def test_a_full_time_is_refused_and_nothing_is_saved(sz):
    dealer, advisor, member, car = sz
    slot = open_time(advisor, TOMORROW, 9, capacity=1)
    first, first_car = owner_with_car(dealer, "Li Na")
    book(first, first_car, slot)

    with pytest.raises(AppointmentRefused, match="fully booked") as refused:
        book(member, car, slot)
    assert refused.value.code == "full"
    assert count_appointments() == 1
    assert slot.booked == 1
    assert appointments.bookable_slots(member, TOMORROW) == []


def test_a_past_time_is_refused(sz, clock):
    _dealer, advisor, member, car = sz
    slot = open_time(advisor, TODAY, 14)
    clock.advance(hours=5)
    with pytest.raises(AppointmentRefused, match="has passed") as refused:
        book(member, car, slot)
    assert refused.value.code == "past"
    assert count_appointments() == 0


def test_an_owner_cannot_book_someone_elses_car(sz):
    dealer, advisor, member, _car = sz
    slot = open_time(advisor, TOMORROW, 9)
    _other, other_car = owner_with_car(dealer, "Li Na")
    with pytest.raises(AppointmentRefused, match="your own cars") as refused:
        book(member, other_car, slot)
    assert (refused.value.code, refused.value.field) == ("not_your_car", "vehicle_id")
    assert count_appointments() == 0
    assert slot.booked == 0


def test_an_owner_cannot_book_another_dealers_time(sz):
    _dealer, _advisor, member, car = sz
    gz_advisor = make_staff("service_advisor", make_dealer("GZ01").id)
    slot = open_time(gz_advisor, TOMORROW, 9)
    with pytest.raises(NotFound):
        book(member, car, slot)
    assert appointments.open_days(member) == []


def test_a_car_holds_one_live_booking_a_day(sz):
    _dealer, advisor, member, car = sz
    morning = open_time(advisor, TOMORROW, 9)
    afternoon = open_time(advisor, TOMORROW, 15)
    next_day = open_time(advisor, TOMORROW + timedelta(days=1), 9)
    first = book(member, car, morning)

    with pytest.raises(AppointmentRefused, match="already booked on") as refused:
        book(member, car, afternoon)
    assert refused.value.code == "same_day"
    assert count_appointments() == 1
    assert afternoon.booked == 0

    # Another car of the same owner, or another day, is fine.
    assert book(member, make_vehicle(member), afternoon).status == AppointmentStatus.BOOKED
    assert book(member, car, next_day).status == AppointmentStatus.BOOKED
    # Once cancelled, the day is free again.
    appointments.cancel_appointment(member, first.id)
    assert book(member, car, afternoon).slot_id == afternoon.id


def test_a_local_day_runs_from_midnight_to_midnight_in_shanghai(sz):
    _dealer, advisor, member, car = sz
    # 07:30 local is 23:30 UTC the evening before: still the same local day as 15:00.
    early = open_time(advisor, TOMORROW, 7, 30)
    late = open_time(advisor, TOMORROW, 23, 30)
    book(member, car, early)
    with pytest.raises(AppointmentRefused, match="already booked on"):
        book(member, car, late)
    assert [d for d, _ in appointments.open_days(member)] == [TOMORROW]


# ------------------------------------------------------------------------ change and cancel


def test_an_owner_moves_a_booking_to_another_free_time(sz):
    _dealer, advisor, member, car = sz
    old = open_time(advisor, TOMORROW, 9)
    new = open_time(advisor, TOMORROW, 11)
    appointment = book(member, car, old)

    appointments.change_appointment(member, appointment.id, slot_id=new.id)

    assert appointment.slot_id == new.id
    assert (old.booked, new.booked) == (0, 1)
    assert_counter_matches(old)
    assert_counter_matches(new)
    kinds = db.session.scalars(select(Notification.kind).order_by(Notification.id)).all()
    assert kinds == ["appointment_booked", "appointment_changed"]


def test_a_move_to_a_full_time_changes_nothing(sz):
    dealer, advisor, member, car = sz
    old = open_time(advisor, TOMORROW, 9)
    full = open_time(advisor, TOMORROW, 11, capacity=1)
    appointment = book(member, car, old)
    other, other_car = owner_with_car(dealer, "Li Na")
    book(other, other_car, full)

    with pytest.raises(AppointmentRefused, match="fully booked"):
        appointments.change_appointment(member, appointment.id, slot_id=full.id)
    assert appointment.slot_id == old.id
    assert (old.booked, full.booked) == (1, 1)

    with pytest.raises(AppointmentRefused, match="already booked at this time"):
        appointments.change_appointment(member, appointment.id, slot_id=old.id)


def test_a_move_keeps_the_rules_of_a_booking(sz, clock):
    _dealer, advisor, member, car = sz
    booked = open_time(advisor, TOMORROW, 9)
    soon = open_time(advisor, TODAY, 12)
    appointment = book(member, car, booked)
    with pytest.raises(AppointmentRefused, match="at least 3 hours ahead"):
        appointments.change_appointment(member, appointment.id, slot_id=soon.id)
    # Moving within its own day is not a second booking.
    later = open_time(advisor, TOMORROW, 16)
    appointments.change_appointment(member, appointment.id, slot_id=later.id)
    assert appointment.slot_id == later.id


def test_cancelling_frees_the_place(sz):
    dealer, advisor, member, car = sz
    slot = open_time(advisor, TOMORROW, 9, capacity=1)
    appointment = book(member, car, slot)
    other, other_car = owner_with_car(dealer, "Li Na")
    with pytest.raises(AppointmentRefused, match="fully booked"):
        book(other, other_car, slot)

    appointments.cancel_appointment(member, appointment.id)

    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancelled_at == NOW
    assert slot.booked == 0
    assert book(other, other_car, slot).status == AppointmentStatus.BOOKED
    assert_counter_matches(slot)
    assert appointments.appointments_for(member).cancelled == [appointment]
    with pytest.raises(AppointmentRefused, match="already cancelled"):
        appointments.cancel_appointment(member, appointment.id)
    assert slot.booked == 1


def test_a_booking_cannot_be_cancelled_or_moved_once_it_has_begun(sz, clock):
    _dealer, advisor, member, car = sz
    slot = open_time(advisor, TODAY, 14)
    later = open_time(advisor, TOMORROW, 9)
    appointment = book(member, car, slot)
    clock.advance(hours=4)
    assert not appointments.can_change(appointment)
    with pytest.raises(AppointmentRefused, match="has begun"):
        appointments.cancel_appointment(member, appointment.id)
    with pytest.raises(AppointmentRefused, match="has begun"):
        appointments.change_appointment(member, appointment.id, slot_id=later.id)
    assert appointments.appointments_for(member).past == [appointment]


def test_an_owner_cannot_touch_another_owners_booking(sz):
    dealer, advisor, member, car = sz
    slot = open_time(advisor, TOMORROW, 9)
    appointment = book(member, car, slot)
    other, _other_car = owner_with_car(dealer, "Li Na")
    with pytest.raises(NotFound):
        appointments.cancel_appointment(other, appointment.id)
    with pytest.raises(NotFound):
        appointments.change_appointment(other, appointment.id, slot_id=slot.id)
    assert appointment.status == AppointmentStatus.BOOKED


# ---------------------------------------------------------------------- kept and no-show


@pytest.fixture
def labour_voucher(sz):
    """SZ01 gives a labour-hour voucher for a kept booking."""
    dealer, advisor, _member, _car = sz
    reward = make_reward(dealer.id, name="1 h labour", kind=RewardKind.LABOUR_VOUCHER)
    # No spend asked here: tests/service/test_kept_reward.py has the threshold.
    workshop.save_appointment_settings(advisor, kept_reward_id=reward.id, reward_min_spend_fen=0)
    return reward


def vouchers_of(member) -> list[Voucher]:
    return db.session.scalars(select(Voucher).where(Voucher.member_id == member.id)).all()


def test_a_kept_booking_earns_one_voucher_even_if_marked_twice(sz, clock, labour_voucher):
    _dealer, advisor, member, car = sz
    slot = open_time(advisor, TODAY, 14)
    appointment = book(member, car, slot)
    clock.advance(hours=4)

    workshop.close_appointment(advisor, appointment.id, AppointmentStatus.KEPT)
    with pytest.raises(DomainError, match="already marked as kept"):
        workshop.close_appointment(advisor, appointment.id, AppointmentStatus.KEPT)
    with pytest.raises(DomainError, match="cannot become a no-show"):
        workshop.close_appointment(advisor, appointment.id, AppointmentStatus.NO_SHOW)

    (voucher,) = vouchers_of(member)
    assert voucher.reward_id == labour_voucher.id
    assert voucher.cost_points == 0
    assert voucher.source == f"appointment:{appointment.id}"
    assert appointment.voucher_id == voucher.id
    assert appointment.status == AppointmentStatus.KEPT
    assert appointment.closed_by_id == advisor.id
    assert slot.booked == 1  # a kept booking still used its place
    kinds = db.session.scalars(select(Notification.kind)).all()
    assert kinds.count("appointment_reward") == 1


def test_no_voucher_when_the_dealer_offers_none(sz, clock):
    _dealer, advisor, member, car = sz
    appointment = book(member, car, open_time(advisor, TODAY, 14))
    clock.advance(hours=4)
    workshop.close_appointment(advisor, appointment.id, AppointmentStatus.KEPT)
    assert appointment.status == AppointmentStatus.KEPT
    assert appointment.voucher_id is None
    assert vouchers_of(member) == []


def test_no_voucher_once_the_reward_is_withdrawn(sz, clock, labour_voucher):
    _dealer, advisor, member, car = sz
    appointment = book(member, car, open_time(advisor, TODAY, 14))
    labour_voucher.active = False
    workshop.close_appointment(advisor, appointment.id, AppointmentStatus.KEPT)
    assert vouchers_of(member) == []


def test_a_no_show_can_be_corrected_to_kept_once(sz, clock, labour_voucher):
    _dealer, advisor, member, car = sz
    appointment = book(member, car, open_time(advisor, TODAY, 14))
    with pytest.raises(AppointmentRefused, match="once its time has come"):
        workshop.close_appointment(advisor, appointment.id, AppointmentStatus.NO_SHOW)
    clock.advance(hours=4, minutes=30)
    workshop.close_appointment(advisor, appointment.id, AppointmentStatus.NO_SHOW)
    assert appointment.status == AppointmentStatus.NO_SHOW
    assert vouchers_of(member) == []

    workshop.close_appointment(advisor, appointment.id, AppointmentStatus.KEPT)
    assert appointment.status == AppointmentStatus.KEPT
    assert len(vouchers_of(member)) == 1


def test_a_booking_is_marked_kept_from_its_day_on(sz, labour_voucher):
    _dealer, advisor, member, car = sz
    appointment = book(member, car, open_time(advisor, TOMORROW, 9))
    with pytest.raises(AppointmentRefused, match="from its day on"):
        workshop.close_appointment(advisor, appointment.id, AppointmentStatus.KEPT)
    assert appointment.status == AppointmentStatus.BOOKED
    # A car that comes in early on the day is kept.
    same_day = book(member, make_vehicle(member), open_time(advisor, TODAY, 16))
    workshop.close_appointment(advisor, same_day.id, AppointmentStatus.KEPT)
    assert same_day.status == AppointmentStatus.KEPT


def test_a_cancelled_booking_cannot_be_kept(sz):
    _dealer, advisor, member, car = sz
    appointment = book(member, car, open_time(advisor, TODAY, 14))
    appointments.cancel_appointment(member, appointment.id)
    with pytest.raises(DomainError, match="owner cancelled"):
        workshop.close_appointment(advisor, appointment.id, AppointmentStatus.KEPT)


def test_another_dealers_advisor_cannot_close_a_booking(sz, clock):
    _dealer, advisor, member, car = sz
    appointment = book(member, car, open_time(advisor, TODAY, 14))
    clock.advance(hours=4)
    gz_advisor = make_staff("service_advisor", make_dealer("GZ01").id)
    with pytest.raises(NotFound):
        workshop.close_appointment(gz_advisor, appointment.id, AppointmentStatus.KEPT)
    assert appointment.status == AppointmentStatus.BOOKED


# ------------------------------------------------------------------------------ settings


def test_the_reward_must_be_offered_at_the_dealer(sz):
    _dealer, advisor, _member, _car = sz
    gz_reward = make_reward(make_dealer("GZ01").id)
    withdrawn = make_reward(None, active=False)
    for reward in (gz_reward, withdrawn):
        with pytest.raises(DomainError, match="offered at your dealer") as refused:
            workshop.save_appointment_settings(advisor, kept_reward_id=reward.id)
        assert refused.value.field == "kept_reward_id"
    group_wide = make_reward(None, kind=RewardKind.LABOUR_VOUCHER)
    workshop.save_appointment_settings(advisor, kept_reward_id=group_wide.id)
    assert kept_reward.kept_reward(advisor.dealer_id) == group_wide
    assert gz_reward not in workshop.reward_choices(advisor)
    assert workshop.reward_choices(advisor)[0] == group_wide
    workshop.save_appointment_settings(advisor, kept_reward_id=None)
    assert kept_reward.kept_reward(advisor.dealer_id) is None
