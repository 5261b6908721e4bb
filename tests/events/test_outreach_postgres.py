"""Event outreach on PostgreSQL: rounds of invitations sent at once by several organisers, and
the reminder job run by two hosts at once, reach each owner once."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.campaigns.calls.targeting import TargetFilters
from app.campaigns.event_invites.services import invite_owners
from app.events.models import EventInvitation, EventKind
from app.events.reminders import send_reminders
from app.events.services import sign_up
from app.extensions import db
from app.members.models import Notification, OutboxMessage
from tests.campaigns.broadcasts.helpers import owner_with_car
from tests.conftest import NOW
from tests.factories import make_dealer, make_event, make_staff
from tests.test_postgres_concurrency import race

pytestmark = pytest.mark.postgres


def test_rounds_sent_at_once_invite_each_owner_once(pg_app):
    with pg_app.app_context(), pg_app.test_request_context():
        sz = make_dealer("SZ01")
        staff = make_staff("event_staff", sz.id)
        event = make_event(staff, now=NOW, kind=EventKind.LECTURE, capacity=50)
        for n in range(12):
            plate = "粤B" if n % 2 else "粤A"
            owner_with_car(sz.id, f"Owner {n}", plate=f"{plate}{n:05d}", marketing_opt_in=n != 0)
        event_id, staff_id = event.id, staff.id
        db.session.commit()
    # Four organisers at once, two filters that overlap and the whole base.
    filters = [
        TargetFilters(plate_prefix="粤B"),
        TargetFilters(plate_prefix="粤A"),
        TargetFilters(),
        TargetFilters(models=("Sagitar",)),
    ]

    def run():
        from app.auth.models import User

        actor = db.session.get(User, staff_id)
        return invite_owners(actor, event_id, filters.pop(), now=NOW).to_invite

    results = race(pg_app, run, racers=4)
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 11
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(EventInvitation.id))) == 11
        notes = db.session.scalar(
            select(func.count(Notification.id)).where(Notification.kind == "event_invitation")
        )
        assert notes == 11


def test_two_hosts_running_the_reminders_at_once_remind_each_owner_once(pg_app):
    with pg_app.app_context(), pg_app.test_request_context():
        sz = make_dealer("SZ01")
        staff = make_staff("event_staff", sz.id)
        event = make_event(
            staff,
            now=NOW,
            kind=EventKind.LECTURE,
            starts_at=NOW + timedelta(days=1),
            ends_at=NOW + timedelta(days=1, hours=2),
            registration_closes_at=NOW + timedelta(hours=6),
        )
        for n in range(6):
            sign_up(owner_with_car(sz.id, f"Owner {n}"), event.id, now=NOW)
        db.session.commit()

    results = race(pg_app, lambda: send_reminders(now=NOW), racers=2)
    assert all(isinstance(r, int) for r in results), results
    with pg_app.app_context():
        rows = db.session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == "event_reminder")
        ).all()
        assert len(rows) == len(set(rows)) == 12  # inbox and SMS for each of the six
        assert (
            db.session.scalar(
                select(func.count(Notification.id)).where(Notification.kind == "event_reminder")
            )
            == 6
        )
