"""Staff book for owners (issue 20 item 6, seed 002 主动预约): the owner's rules hold, the owner
is told and may cancel, the booking is audited, and a second submit answers the first."""

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.errors import Forbidden, NotFound
from app.extensions import db
from app.members.models import Notification
from app.service import appointments
from app.service.appointments import AppointmentRefused
from app.service.models import Appointment, AppointmentStatus
from app.service.staff_booking import book_for_owner, get_bookable_owner
from tests.conftest import NOW
from tests.factories import make_dealer, make_staff
from tests.service.test_appointments import (
    TODAY,
    TOMORROW,
    count_appointments,
    open_time,
    owner_with_car,
)


@pytest.fixture
def desk(ctx):
    """Dealer SZ01, its advisor and care agent, an owner with one car, a slot tomorrow 9:00."""
    dealer = make_dealer("SZ01")
    advisor = make_staff("service_advisor", dealer.id)
    agent = make_staff("care_agent", dealer.id)
    member, car = owner_with_car(dealer)
    slot = open_time(advisor, TOMORROW, 9, capacity=1)
    return dealer, advisor, agent, member, car, slot


def test_a_care_agent_books_for_an_owner_who_is_told_and_can_cancel(desk):
    _dealer, _advisor, agent, member, car, slot = desk
    booked = book_for_owner(agent, member, car.id, slot.id, now=NOW)
    assert booked.status == AppointmentStatus.BOOKED
    assert booked.booked_by_id == agent.id and booked.member_id == member.id
    assert slot.booked == 1
    message = db.session.scalar(select(Notification).where(Notification.member_id == member.id))
    assert message.kind == "appointment_booked"
    # In the owner's language (Chinese here): where to cancel.
    assert "我的预约" in message.body and "取消" in message.body
    audit = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "appointment.booked_for_owner")
    )
    assert audit.actor_id == agent.id and audit.details["member_id"] == member.id
    appointments.cancel_appointment(member, booked.id, now=NOW)
    assert booked.status == AppointmentStatus.CANCELLED and slot.booked == 0


def test_a_second_submit_answers_the_first_booking(desk):
    _dealer, advisor, _agent, member, car, slot = desk
    first = book_for_owner(advisor, member, car.id, slot.id, now=NOW)
    again = book_for_owner(advisor, member, car.id, slot.id, now=NOW)
    assert again.id == first.id and count_appointments() == 1 and slot.booked == 1
    assert db.session.scalar(select(func.count(Notification.id))) == 1


def test_the_owners_rules_hold(desk):
    _dealer, advisor, _agent, member, car, slot = desk
    other, other_car = owner_with_car(desk[0], name="Li Na")
    book_for_owner(advisor, other, other_car.id, slot.id, now=NOW)
    with pytest.raises(AppointmentRefused) as full:
        book_for_owner(advisor, member, car.id, slot.id, now=NOW)
    assert full.value.code == "full"
    later = open_time(advisor, TOMORROW, 15)
    book_for_owner(advisor, member, car.id, later.id, now=NOW)
    third = open_time(advisor, TOMORROW, 16)
    with pytest.raises(AppointmentRefused) as same_day:
        book_for_owner(advisor, member, car.id, third.id, now=NOW)
    assert same_day.value.code == "same_day"


def test_three_hours_ahead_through_the_clock(desk, clock):
    # 预约必须在3小时之前来店预约 (seed 002). The clock starts at NOW, 10:00 local.
    dealer, advisor, _agent, member, car, _slot = desk
    at_two = open_time(advisor, TODAY, 14)
    clock.advance(minutes=59)
    assert book_for_owner(advisor, member, car.id, at_two.id).slot_id == at_two.id
    other, other_car = owner_with_car(dealer, name="Li Na")
    clock.advance(minutes=2)
    with pytest.raises(AppointmentRefused) as soon:
        book_for_owner(advisor, other, other_car.id, at_two.id)
    assert soon.value.code == "too_soon"


def test_only_the_owners_own_car(desk):
    dealer, advisor, _agent, member, _car, slot = desk
    _other, other_car = owner_with_car(dealer, name="Li Na")
    with pytest.raises(AppointmentRefused) as refused:
        book_for_owner(advisor, member, other_car.id, slot.id, now=NOW)
    assert refused.value.code == "not_their_car"
    with pytest.raises(AppointmentRefused):
        book_for_owner(advisor, member, None, slot.id, now=NOW)
    assert count_appointments() == 0


def test_another_dealers_staff_owner_or_slot_is_not_found(desk):
    _dealer, advisor, _agent, member, car, _slot = desk
    gz = make_dealer("GZ01")
    gz_advisor = make_staff("service_advisor", gz.id)
    gz_slot = open_time(gz_advisor, TOMORROW, 10)
    with pytest.raises(NotFound):
        book_for_owner(gz_advisor, member, car.id, gz_slot.id, now=NOW)
    with pytest.raises(NotFound):
        book_for_owner(advisor, member, car.id, gz_slot.id, now=NOW)
    with pytest.raises(NotFound):
        get_bookable_owner(make_staff("hq_admin", None), member.id)
    assert count_appointments() == 0


def test_staff_without_the_permission_book_nothing(desk):
    dealer, _advisor, _agent, member, car, slot = desk
    consultant = make_staff("sales_consultant", dealer.id)
    with pytest.raises(Forbidden):
        book_for_owner(consultant, member, car.id, slot.id, now=NOW)
    assert db.session.scalar(select(func.count(Appointment.id))) == 0
