"""On PostgreSQL: owners booking one time at once never overfill it."""

import itertools
import threading
from datetime import time

import pytest
from sqlalchemy import func, select

from app.core.clock import local_date
from app.extensions import db
from app.members.models import Member
from app.service import appointments, workshop
from app.service.appointments import AppointmentRefused
from app.service.models import Appointment, AppointmentSlot, AppointmentStatus
from tests.factories import make_dealer, make_member, make_staff, make_vehicle
from tests.test_postgres_concurrency import race

pytestmark = pytest.mark.postgres


def _slot_and_owners(pg_app, owners: int, capacity: int):
    with pg_app.app_context(), pg_app.test_request_context():
        dealer = make_dealer("SZ01")
        advisor = make_staff("service_advisor", dealer.id)
        (slot,) = workshop.add_slots(
            advisor,
            day=local_date(),
            first=time(18),
            last=time(18),
            every_minutes=30,
            capacity=capacity,
        ).added
        people = []
        for n in range(owners):
            member = make_member(dealer.id, name=f"Racer {n}")
            people.append((member.id, make_vehicle(member).id))
        db.session.commit()
        return slot.id, people


def test_eight_owners_booking_a_time_for_three_cars_at_once(pg_app):
    slot_id, people = _slot_and_owners(pg_app, owners=8, capacity=3)
    turns = itertools.count()
    lock = threading.Lock()

    def book():
        with lock:
            member_id, vehicle_id = people[next(turns)]
        member = db.session.get(Member, member_id)
        return appointments.book_appointment(member, slot_id=slot_id, vehicle_id=vehicle_id).id

    results = race(pg_app, book, racers=8)

    booked = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if not isinstance(r, int)]
    assert len(booked) == 3, results
    assert len(refused) == 5
    assert all(isinstance(r, AppointmentRefused) and r.code == "full" for r in refused), refused
    assert {str(r.message) for r in refused} == {"This time is fully booked. Choose another one."}
    with pg_app.app_context():
        slot = db.session.get(AppointmentSlot, slot_id)
        assert (slot.booked, slot.capacity) == (3, 3)
        assert (
            db.session.scalar(
                select(func.count(Appointment.id)).where(
                    Appointment.slot_id == slot_id, Appointment.status == AppointmentStatus.BOOKED
                )
            )
            == 3
        )


def test_one_car_booked_twice_at_once_holds_one_booking_that_day(pg_app):
    with pg_app.app_context(), pg_app.test_request_context():
        dealer = make_dealer("SZ01")
        advisor = make_staff("service_advisor", dealer.id)
        slot_ids = [
            s.id
            for s in workshop.add_slots(
                advisor,
                day=local_date(),
                first=time(17),
                last=time(19),
                every_minutes=30,
                capacity=5,
            ).added
        ]
        member = make_member(dealer.id)
        member_id, vehicle_id = member.id, make_vehicle(member).id
        db.session.commit()
    turns = itertools.count()
    lock = threading.Lock()

    def book():
        with lock:
            slot_id = slot_ids[next(turns)]
        member = db.session.get(Member, member_id)
        return appointments.book_appointment(member, slot_id=slot_id, vehicle_id=vehicle_id).id

    results = race(pg_app, book, racers=len(slot_ids))

    assert sum(isinstance(r, int) for r in results) == 1, results
    assert all(r.code == "same_day" for r in results if not isinstance(r, int))
    with pg_app.app_context():
        assert db.session.scalar(select(func.sum(AppointmentSlot.booked))) == 1
