"""Races the database must settle: one account per mobile, one active card per member."""

import threading

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.cards.models import CardStatus, MemberCard
from app.core.errors import Conflict
from app.extensions import db
from tests.conftest import PASSWORD
from tests.factories import make_dealer, make_member

pytestmark = pytest.mark.postgres
RACERS = 6


def race(app, work) -> list:
    """Run ``work()`` in RACERS threads at once, each in its own app context; collect results."""
    barrier = threading.Barrier(RACERS)
    results = []

    def run():
        with app.app_context(), app.test_request_context():
            barrier.wait()
            try:
                results.append(work())
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_one_mobile_registers_once_under_a_race(pg_app):
    from app.auth.services import register_member

    with pg_app.app_context(), pg_app.test_request_context():
        dealer_id = make_dealer("SZ01").id
        db.session.commit()

    results = race(
        pg_app,
        lambda: (
            register_member(
                mobile="13700009999", password=PASSWORD, name="Racer", dealer_id=dealer_id
            ).id
        ),
    )
    assert sum(isinstance(r, int) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, int))
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_concurrent_reissues_leave_exactly_one_active_card(pg_app):
    from app.cards.services import reissue_card
    from app.members.models import Member

    with pg_app.app_context(), pg_app.test_request_context():
        member_id = make_member(make_dealer("SZ01").id).id
        db.session.commit()

    def reissue():
        member = db.session.get(Member, member_id)
        return reissue_card(member.user, member, reason="lost").number

    results = race(pg_app, reissue)
    assert all(isinstance(r, str) for r in results), results
    with pg_app.app_context():
        cards = db.session.scalars(
            select(MemberCard).where(MemberCard.member_id == member_id)
        ).all()
        active = [c for c in cards if c.status == CardStatus.ACTIVE]
        assert len(active) == 1
        assert len(cards) == RACERS + 1
