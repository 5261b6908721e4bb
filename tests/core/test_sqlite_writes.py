"""On SQLite (the ``make run`` default) writes are serialised with BEGIN IMMEDIATE, so a race
the row locks settle on PostgreSQL is settled here too: the last points are spent once."""

import sqlite3
import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from tests.factories import make_dealer, make_member

RACERS = 6


def race(app, work) -> list:
    """Run ``work()`` in RACERS threads at once, each in its own app context and connection."""
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
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_parallel_redemptions_of_the_last_points_spend_them_once(app):
    from app.loyalty.ledger import InsufficientPoints, post_points
    from app.loyalty.models import EntryKind
    from app.loyalty.services import account_for
    from app.members.models import Member
    from app.rewards.models import Voucher
    from app.rewards.services import redeem_reward
    from tests.factories import make_reward

    with app.app_context(), app.test_request_context():
        member = make_member(make_dealer("SZ01").id)
        post_points(account_for(member).id, 100, kind=EntryKind.EARN, source="goodwill")
        member_id, reward_id = member.id, make_reward(cost_points=100, stock=5).id
        db.session.commit()

    results = race(app, lambda: redeem_reward(db.session.get(Member, member_id), reward_id).code)

    assert sum(isinstance(r, str) for r in results) == 1, results
    assert all(isinstance(r, InsufficientPoints) for r in results if not isinstance(r, str))
    with app.app_context():
        assert db.session.scalar(select(func.count(Voucher.id))) == 1
        assert account_for(db.session.get(Member, member_id)).balance == 0


def test_a_transaction_takes_the_write_lock_when_it_begins(app):
    with app.app_context(), db.engine.connect() as first, first.begin():
        first.exec_driver_sql("SELECT 1")  # a read only, yet the lock is held
        other = db.engine.raw_connection()
        try:
            cursor = other.cursor()
            cursor.execute("PRAGMA busy_timeout=0")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                cursor.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
