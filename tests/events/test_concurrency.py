"""On PostgreSQL: thirty owners sign up at once for a ten-car trip; the waiting list moves; two
organisers fix the car numbers at once."""

import pytest
from sqlalchemy import select

from app.extensions import db
from tests.conftest import NOW
from tests.factories import make_dealer, make_event, make_member, make_staff, make_vehicle
from tests.test_postgres_concurrency import race

pytestmark = pytest.mark.postgres


def test_thirty_at_once_for_ten_cars_gives_ten_places_and_an_ordered_waiting_list(pg_app):
    from app.events import services
    from app.events.models import EventRegistration, RegistrationStatus
    from app.members.models import Member

    with pg_app.app_context(), pg_app.test_request_context():
        dealer = make_dealer("SZ01")
        staff = make_staff("event_staff", dealer.id)
        trip = make_event(staff, now=NOW, title="Ten cars", capacity=10)
        members = []
        for i in range(30):
            member = make_member(dealer.id, name=f"Owner {i}")
            members.append((member.id, make_vehicle(member).id))
        trip_id = trip.id
        db.session.commit()

    queue = iter(members)

    def sign_up():
        member_id, vehicle_id = next(queue)
        member = db.session.get(Member, member_id)
        return services.sign_up(member, trip_id, vehicle_id=vehicle_id, accept_waiver=True).status

    results = race(pg_app, sign_up, racers=30)
    assert results.count(RegistrationStatus.CONFIRMED) == 10
    assert results.count(RegistrationStatus.WAITING) == 20
    with pg_app.app_context():
        waiting = db.session.scalars(
            select(EventRegistration)
            .where(EventRegistration.status == RegistrationStatus.WAITING)
            .order_by(EventRegistration.created_at, EventRegistration.id)
        ).all()
        confirmed = db.session.scalars(
            select(EventRegistration).where(
                EventRegistration.status == RegistrationStatus.CONFIRMED
            )
        ).all()
        # Every waiting sign-up came after every confirmed one (first come, first served).
        assert max(r.id for r in confirmed) < min(r.id for r in waiting)

    # A cancellation offers the place to the first in line; unconfirmed, it passes on.
    first, second = waiting[0], waiting[1]
    clock = pg_app.extensions["clock"]
    with pg_app.app_context(), pg_app.test_request_context():
        services.cancel_registration(
            db.session.get(Member, confirmed[0].member_id), confirmed[0].id
        )
        db.session.commit()
        assert db.session.get(EventRegistration, first.id).status == RegistrationStatus.OFFERED
        clock.advance(hours=47)
        assert services.expire_offers() == 0
        clock.advance(hours=1)
        assert services.expire_offers() == 1
        db.session.commit()
        statuses = {
            r.id: r.status
            for r in db.session.scalars(
                select(EventRegistration).where(EventRegistration.id.in_([first.id, second.id]))
            )
        }
    assert statuses == {first.id: RegistrationStatus.EXPIRED, second.id: RegistrationStatus.OFFERED}


def test_two_organisers_fixing_the_numbers_at_once_fix_them_once(pg_app):
    from app.auth.models import User
    from app.events import services, trips
    from app.events.trip_models import TripCarNumber

    with pg_app.app_context(), pg_app.test_request_context():
        dealer = make_dealer("SZ01")
        staff = make_staff("event_staff", dealer.id)
        trip = make_event(staff, now=NOW)
        for i in range(4):
            owner = make_member(dealer.id, name=f"Driver {i}")
            services.sign_up(owner, trip.id, vehicle_id=make_vehicle(owner).id, accept_waiver=True)
        ids = (staff.id, trip.id)
        db.session.commit()

    def fix():
        return trips.fix_car_numbers(db.session.get(User, ids[0]), ids[1], expected=4)

    results = race(pg_app, fix, racers=6)
    assert results.count(4) == 1
    with pg_app.app_context():
        numbers = db.session.scalars(select(TripCarNumber.number)).all()
        assert sorted(numbers) == [1, 2, 3, 4]
