"""Broadcasts on PostgreSQL: four hosts sending at once give each owner one message and exact
counts; a C3 group filter (a materialised CTE inside the audience) counts and sends alike."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.campaigns.broadcasts import sending, services
from app.campaigns.broadcasts.models import Broadcast
from app.campaigns.broadcasts.sending import send_due_broadcasts
from app.campaigns.calls.targeting import TargetFilters
from app.extensions import db
from app.members.models import Notification, OutboxMessage
from tests.campaigns.broadcasts.helpers import draft, owner_with_car
from tests.conftest import NOW
from tests.factories import make_dealer, make_staff
from tests.test_postgres_concurrency import race

pytestmark = pytest.mark.postgres


def test_four_hosts_sending_at_once_send_each_owner_one_message(pg_app, monkeypatch):
    monkeypatch.setattr(sending, "BATCH_SIZE", 3)
    with pg_app.app_context(), pg_app.test_request_context():
        sz = make_dealer("SZ01")
        admin = make_staff("dealer_admin", sz.id)
        for n in range(10):
            owner_with_car(sz.id, f"Owner {n}", marketing_opt_in=n % 5 != 0)
        broadcast = draft(admin, sz.id)
        services.schedule_broadcast(admin, broadcast.id, now=NOW)
        broadcast_id = broadcast.id
        db.session.commit()

    def run():
        report = send_due_broadcasts(now=NOW + timedelta(hours=1))
        return report.sent, report.queued, report.skipped_consent

    results = race(pg_app, run, racers=4)

    assert all(isinstance(r, tuple) for r in results), results
    assert sum(r[0] for r in results) == 1
    assert sum(r[1] for r in results) == 8
    assert sum(r[2] for r in results) == 2
    with pg_app.app_context():
        broadcast = db.session.get(Broadcast, broadcast_id)
        assert (broadcast.status, broadcast.audience, broadcast.queued) == ("sent", 10, 8)
        assert broadcast.skipped_consent == 2
        assert db.session.scalar(select(func.count(Notification.id))) == 8
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 16  # inbox and SMS


def test_a_c3_group_filter_counts_and_sends_alike(pg_app):
    with pg_app.app_context(), pg_app.test_request_context():
        sz = make_dealer("SZ01")
        admin = make_staff("dealer_admin", sz.id)
        for n in range(4):
            owner_with_car(sz.id, f"Owner {n}", marketing_opt_in=True)
        filters = TargetFilters(segment="mystery_opportunity")
        count = services.count_audience(sz.id, filters, NOW.date())
        assert count.owners == 4, count
        broadcast = draft(admin, sz.id, filters=filters)
        services.schedule_broadcast(admin, broadcast.id, now=NOW)
        db.session.commit()
        report = send_due_broadcasts(now=NOW + timedelta(hours=1))
        assert report.queued == count.consenting
        assert report.queued + report.skipped_consent == count.owners
