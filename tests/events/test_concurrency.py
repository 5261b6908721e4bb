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


def test_an_owner_cancelling_while_the_gate_checks_them_in_is_refused(pg_app):
    """The gate checks a ticket in; the owner's cancel sent in that moment waits for the gate's
    transaction (its check-in holds the event row through the foreign key, and the cancel locks
    the event first) and is then refused: the place, the check-in and its points stay."""
    import threading
    from datetime import timedelta

    from app.core.states import TransitionRefused
    from app.events import checkin, services
    from app.events.models import CheckIn, EventRegistration, RegistrationStatus
    from app.loyalty.services import account_for
    from app.members.models import Member

    clock = pg_app.extensions["clock"]
    with pg_app.app_context(), pg_app.test_request_context():
        dealer = make_dealer("SZ01")
        staff = make_staff("event_staff", dealer.id)
        trip = make_event(staff, now=clock.now(), title="Gate", attendance_points=300)
        trip.cancel_until = trip.starts_at  # owners may cancel until the start
        member = make_member(dealer.id)
        vehicle = make_vehicle(member)
        registration = services.sign_up(member, trip.id, vehicle_id=vehicle.id, accept_waiver=True)
        ids = {"staff": staff.id, "trip": trip.id, "member": member.id, "reg": registration.id}
        ticket = checkin.ticket_token(registration)
        gate_opens = trip.starts_at - timedelta(hours=1)  # at the gate, before the cut-off
        db.session.commit()
    clock.at = gate_opens

    checked_in, cancel_result = threading.Event(), []

    def cancel():
        with pg_app.app_context(), pg_app.test_request_context():
            checked_in.wait(10)
            try:
                member = db.session.get(Member, ids["member"])
                cancel_result.append(services.cancel_registration(member, ids["reg"]).status)
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                cancel_result.append(exc)

    owner_phone = threading.Thread(target=cancel)
    owner_phone.start()
    with pg_app.app_context(), pg_app.test_request_context():
        from app.auth.models import User

        gate = checkin.check_in(
            db.session.get(User, ids["staff"]), event_id=ids["trip"], ticket=ticket
        )
        assert gate.status == "checked_in"
        checked_in.set()
        # Hold the gate's transaction open until the owner's cancel waits on a lock. Each look
        # is its own transaction: PostgreSQL keeps one snapshot of pg_stat_activity per
        # transaction, so looking again inside one never sees the cancel arrive.
        assert _waits_on_a_lock(cancel_result), "the cancel never waited for the gate"
        db.session.commit()
    owner_phone.join(10)

    assert len(cancel_result) == 1, cancel_result
    assert isinstance(cancel_result[0], TransitionRefused), cancel_result
    with pg_app.app_context():
        registration = db.session.get(EventRegistration, ids["reg"])
        assert registration.status == RegistrationStatus.CONFIRMED
        assert registration.cancelled_at is None
        assert db.session.scalar(select(CheckIn.id).where(CheckIn.registration_id == ids["reg"]))
        assert account_for(db.session.get(Member, ids["member"])).balance == 300


def test_a_cancel_between_the_gates_lock_and_its_check_in_waits_instead_of_deadlocking(
    pg_app, monkeypatch
):
    """The narrow case: the gate has locked the ticket but not yet written the check-in when the
    owner's cancel arrives. The gate holds the event row first (the order every other path
    takes: the event, then the registration), so the cancel waits and is refused; before, the
    cancel took the event, the gate's check-in needed it for its foreign key while the cancel
    waited for the ticket, and PostgreSQL broke the deadlock by failing one of them."""
    import threading
    from datetime import timedelta

    from app.auth.models import User
    from app.core.states import TransitionRefused
    from app.events import checkin, services
    from app.events.models import EventRegistration, RegistrationStatus
    from app.members.models import Member

    clock = pg_app.extensions["clock"]
    with pg_app.app_context(), pg_app.test_request_context():
        dealer = make_dealer("SZ01")
        staff = make_staff("event_staff", dealer.id)
        trip = make_event(staff, now=clock.now(), title="Gate", attendance_points=300)
        trip.cancel_until = trip.starts_at
        member = make_member(dealer.id)
        registration = services.sign_up(
            member, trip.id, vehicle_id=make_vehicle(member).id, accept_waiver=True
        )
        ids = {"staff": staff.id, "trip": trip.id, "member": member.id, "reg": registration.id}
        ticket = checkin.ticket_token(registration)
        gate_opens = trip.starts_at - timedelta(hours=1)
        db.session.commit()
    clock.at = gate_opens

    locked, go, results = threading.Event(), threading.Event(), {}
    admit = checkin._admit

    def admit_after_a_pause(*args, **kwargs):  # the ticket is locked, the check-in not written
        locked.set()
        go.wait(10)
        return admit(*args, **kwargs)

    monkeypatch.setattr(checkin, "_admit", admit_after_a_pause)

    def run(name, work):
        with pg_app.app_context(), pg_app.test_request_context():
            try:
                results[name] = work()
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                results[name] = exc

    gate = threading.Thread(
        target=run,
        args=(
            "gate",
            lambda: (
                checkin.check_in(
                    db.session.get(User, ids["staff"]), event_id=ids["trip"], ticket=ticket
                ).status
            ),
        ),
    )
    phone = threading.Thread(
        target=run,
        args=(
            "cancel",
            lambda: (
                services.cancel_registration(
                    db.session.get(Member, ids["member"]), ids["reg"]
                ).status
            ),
        ),
    )
    gate.start()
    assert locked.wait(10)
    phone.start()
    with pg_app.app_context():
        assert _waits_on_a_lock(results), "the cancel never waited"
    go.set()
    gate.join(10)
    phone.join(10)

    assert results["gate"] == "checked_in"
    assert isinstance(results["cancel"], TransitionRefused), results["cancel"]
    with pg_app.app_context():
        registration = db.session.get(EventRegistration, ids["reg"])
        assert registration.status == RegistrationStatus.CONFIRMED


def _waits_on_a_lock(answered) -> bool:
    """True once a session of this test's database waits on a lock (at most 10 s), False if
    ``answered`` fills first. Each look is its own transaction (autocommit): PostgreSQL keeps
    one snapshot of pg_stat_activity per transaction."""
    import time

    from sqlalchemy import text

    look = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
        for _ in range(400):
            if watcher.scalar(look):
                return True
            if answered:
                return False
            time.sleep(0.025)
    return False
