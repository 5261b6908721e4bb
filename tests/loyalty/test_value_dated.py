"""The ledger is value-dated (R13): points past their date are expired whether or not the
nightly job has posted it; the job only records (issue 16)."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.loyalty.figures import account_with_expiring
from app.loyalty.ledger import (
    InsufficientPoints,
    expire_account,
    expire_points,
    post_points,
    reverse_entry,
)
from app.loyalty.models import EntryKind, PointsAccount, PointsEntry
from app.loyalty.services import account_for
from tests.factories import make_dealer, make_member


def earn(account_id: int, points: int, key: str) -> PointsEntry:
    return post_points(
        account_id, points, kind=EntryKind.EARN, source="service_visit", key=key, qualifying=True
    )


def old_and_new_lot(clock) -> tuple[int, int]:
    """1,000 points earned 24 months ago (they expire today) and 1,000 a year ago."""
    account = account_for(make_member(make_dealer("SZ01").id))
    old = earn(account.id, 1000, "ro:old")
    clock.advance(days=365)
    earn(account.id, 1000, "ro:new")
    clock.advance(days=366)
    return account.id, old.id


@pytest.fixture
def books(db_app):
    with db_app.app_context(), db_app.test_request_context():
        yield db_app.extensions["clock"]


def test_a_reversal_on_the_expiry_day_does_not_take_the_expired_points_again(books):
    account_id, old_id = old_and_new_lot(books)
    assert reverse_entry(old_id, reason="refund") is None  # its points had expired
    assert expire_points() == 0  # the job finds nothing left to record
    account = db.session.get(PointsAccount, account_id)
    assert (account.balance, account.debt) == (1000, 0)


def test_spending_on_the_expiry_day_sees_the_points_expired(books):
    account_id, _ = old_and_new_lot(books)
    with pytest.raises(InsufficientPoints):
        post_points(account_id, -1500, kind=EntryKind.REDEEM, source="reward")
    post_points(account_id, -1000, kind=EntryKind.REDEEM, source="reward")
    assert db.session.get(PointsAccount, account_id).balance == 0
    assert expire_points() == 0


def test_the_statement_shows_the_balance_as_of_today(books):
    account_id, _ = old_and_new_lot(books)
    member_id = db.session.get(PointsAccount, account_id).member_id
    account, expiring = account_with_expiring(member_id)
    assert (account.balance, expiring) == (1000, 0)
    kinds = db.session.scalars(
        select(PointsEntry.kind).where(PointsEntry.account_id == account_id)
    ).all()
    assert kinds.count(EntryKind.EXPIRE) == 1


@pytest.mark.postgres
def test_a_refund_racing_the_nightly_job_takes_the_points_once(pg_app):
    from tests.test_postgres_concurrency import race

    clock = pg_app.extensions["clock"]
    with pg_app.app_context(), pg_app.test_request_context():
        account_id, old_id = old_and_new_lot(clock)
        db.session.commit()

    jobs = [lambda: reverse_entry(old_id, reason="refund"), lambda: expire_account(account_id)]

    def work():
        return jobs.pop()()

    results = race(pg_app, work, racers=2)
    assert not [r for r in results if isinstance(r, Exception)]
    with pg_app.app_context():
        account = db.session.get(PointsAccount, account_id)
        assert (account.balance, account.debt) == (1000, 0)


def test_points_given_back_to_a_reversed_earning_settle_its_debt_not_expire(books):
    """Earn, spend it all on a voucher, the visit is refunded (the points were spent: a debt),
    then the voucher is cancelled after the earning's date: the points it gives back are the
    very points the reversal wanted. They settle the debt; they neither expire at once nor leave
    the debt to be taken a second time from the owner's next earnings."""
    from app.loyalty.ledger import refund_debit
    from app.loyalty.reconcile import reconcile_ledger

    account = account_for(make_member(make_dealer("SZ01").id))
    lot = earn(account.id, 1000, "ro:spent")
    books.advance(days=300)
    voucher = post_points(account.id, -1000, kind=EntryKind.REDEEM, source="reward")
    reverse_entry(lot.id, reason="visit refunded")
    assert (account.balance, account.debt) == (0, 1000)
    books.advance(days=500)  # the earning's date has passed
    refund_debit(voucher.id, key="cancel:voucher", reason="voucher cancelled")
    assert (account.balance, account.debt) == (0, 0)
    earn(account.id, 500, "ro:next")
    assert (account.balance, account.debt) == (500, 0)
    assert reconcile_ledger() == []
