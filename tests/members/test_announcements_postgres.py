"""On PostgreSQL: the daily job telling owners of an announced change, run on two hosts at
once, writes one message per owner (the INSERT … SELECT and its dedupe keys as PostgreSQL runs
them)."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from tests.factories import announce_earning_rules, make_dealer, make_member, make_staff
from tests.test_postgres_concurrency import race

pytestmark = pytest.mark.postgres


def test_two_hosts_telling_owners_at_once_tell_each_owner_once(pg_app):
    from app.members.announcements import tell_members
    from app.members.models import Notification

    with pg_app.app_context(), pg_app.test_request_context():
        dealer = make_dealer("SZ01")
        for i in range(30):
            owner = make_member(dealer.id, name=f"Owner {i}")
            owner.user.locale = "en" if i % 3 == 0 else None
        announce_earning_rules(
            make_staff("hq_admin", None), date(2027, 1, 1), "Repair earns 15", repair_rate=15
        )
        db.session.commit()

    results = race(pg_app, tell_members, racers=2)
    assert sorted(results) == [(0, 0), (30, 0)]
    with pg_app.app_context():
        titles = db.session.execute(
            select(Notification.title, func.count())
            .where(Notification.kind == "rules_change")
            .group_by(Notification.title)
        ).all()
        assert dict(titles) == {
            "New earning rules from 1 Jan 2027": 10,
            "2027年1月1日 起的新积分规则": 20,
        }
        owners = db.session.scalar(select(func.count(func.distinct(Notification.member_id))))
        assert owners == 30
