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


def race(app, work, racers: int = RACERS) -> list:
    """Run ``work()`` in ``racers`` threads at once, each in its own app context."""
    barrier = threading.Barrier(racers)
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

    threads = [threading.Thread(target=run) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_one_mobile_registers_once_under_a_race(pg_app):
    from app.members.registration import register_member

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


def _account_with(pg_app, points: int) -> int:
    from app.loyalty.ledger import post_points
    from app.loyalty.models import EntryKind
    from app.loyalty.services import account_for

    with pg_app.app_context(), pg_app.test_request_context():
        account = account_for(make_member(make_dealer("SZ01").id))
        if points:
            post_points(account.id, points, kind=EntryKind.EARN, source="goodwill")
        db.session.commit()
        return account.id


def test_twenty_replays_of_one_visit_award_points_once(pg_app):
    from app.loyalty.ledger import post_points
    from app.loyalty.models import EntryKind, PointsAccount, PointsEntry

    account_id = _account_with(pg_app, 0)
    results = race(
        pg_app,
        lambda: (
            post_points(
                account_id, 500, kind=EntryKind.EARN, source="service_visit", key="ro:RACE-1"
            ).id
        ),
        racers=20,
    )
    assert len(set(results)) == 1, results
    with pg_app.app_context():
        assert db.session.get(PointsAccount, account_id).balance == 500
        assert db.session.scalar(select(func.count(PointsEntry.id))) == 1


def test_simultaneous_spending_never_overdraws(pg_app):
    from app.loyalty.ledger import InsufficientPoints, post_points
    from app.loyalty.models import EntryKind, PointsAccount

    account_id = _account_with(pg_app, 300)
    results = race(
        pg_app,
        lambda: post_points(account_id, -100, kind=EntryKind.REDEEM, source="reward").id,
        racers=20,
    )
    assert sum(isinstance(r, int) for r in results) == 3
    assert all(isinstance(r, InsufficientPoints) for r in results if not isinstance(r, int))
    with pg_app.app_context():
        assert db.session.get(PointsAccount, account_id).balance == 0


def test_twenty_redemptions_of_five_in_stock_with_points_for_three(pg_app):
    from app.loyalty.ledger import InsufficientPoints, post_points
    from app.loyalty.models import EntryKind
    from app.loyalty.services import account_for
    from app.members.models import Member
    from app.rewards.models import Reward, Voucher
    from app.rewards.services import redeem_reward
    from tests.factories import make_reward

    with pg_app.app_context(), pg_app.test_request_context():
        member = make_member(make_dealer("SZ01").id)
        post_points(account_for(member).id, 300, kind=EntryKind.EARN, source="goodwill")
        member_id, reward_id = member.id, make_reward(cost_points=100, stock=5).id
        db.session.commit()

    results = race(
        pg_app,
        lambda: redeem_reward(db.session.get(Member, member_id), reward_id).code,
        racers=20,
    )
    assert sum(isinstance(r, str) for r in results) == 3, results
    assert all(isinstance(r, InsufficientPoints) for r in results if not isinstance(r, str))
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(Voucher.id))) == 3
        assert db.session.get(Reward, reward_id).stock == 2
        assert account_for(db.session.get(Member, member_id)).balance == 0


def test_ten_redemptions_of_one_voucher_use_it_once(pg_app):
    from app.loyalty.ledger import post_points
    from app.loyalty.models import EntryKind
    from app.loyalty.services import account_for
    from app.rewards.models import Voucher, VoucherStatus
    from app.rewards.services import AlreadyRedeemed, redeem_reward, redeem_voucher
    from tests.factories import make_reward

    with pg_app.app_context(), pg_app.test_request_context():
        dealer_id = make_dealer("SZ01").id
        member = make_member(dealer_id)
        post_points(account_for(member).id, 100, kind=EntryKind.EARN, source="goodwill")
        voucher = redeem_reward(member, make_reward(cost_points=100).id)
        voucher_id, code = voucher.id, voucher.code
        db.session.commit()

    results = race(pg_app, lambda: redeem_voucher(None, code, dealer_id=dealer_id).id, racers=10)
    assert results.count(voucher_id) == 1, results
    refused = [r for r in results if r != voucher_id]
    assert len(refused) == 9 and all(isinstance(r, AlreadyRedeemed) for r in refused)
    assert all(r.redeemed_at is not None for r in refused)
    with pg_app.app_context():
        assert db.session.get(Voucher, voucher_id).status == VoucherStatus.REDEEMED
