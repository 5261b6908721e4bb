"""The points ledger: lots, oldest-first spending, expiry, reversal, idempotency."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.loyalty.figures import expiring_soon
from app.loyalty.ledger import (
    InsufficientPoints,
    add_months,
    expire_points,
    post_points,
    reverse_entry,
)
from app.loyalty.models import EntryKind, PointsAccount, PointsEntry
from app.loyalty.services import account_for
from tests.factories import make_member


@pytest.fixture
def account(ctx, dealers):
    return account_for(make_member(dealers["SZ01"]))


def earn(account, points, key=None, **kw):
    return post_points(
        account.id,
        points,
        kind=EntryKind.EARN,
        source="service_visit",
        key=key,
        qualifying=True,
        **kw,
    )


def spend(account, points, **kw):
    return post_points(account.id, -points, kind=EntryKind.REDEEM, source="reward", **kw)


def assert_books_balance(account):
    total = db.session.scalar(
        select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
            PointsEntry.account_id == account.id
        )
    )
    lots = db.session.scalar(
        select(func.coalesce(func.sum(PointsEntry.remaining), 0)).where(
            PointsEntry.account_id == account.id
        )
    )
    assert total == account.balance == lots
    assert account.balance >= 0


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert add_months(date(2026, 11, 23), 24) == date(2028, 11, 23)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 12, 31), 2) == date(2028, 2, 29)


def test_earning_creates_a_lot_that_expires_in_24_months(account):
    entry = earn(account, 500)
    assert entry.remaining == 500
    assert entry.expires_on == date(2028, 11, 23)
    assert account.balance == 500 and account.qualifying_points == 500
    assert_books_balance(account)


def test_replaying_a_key_changes_nothing(account):
    first = earn(account, 500, key="ro:A1")
    again = earn(account, 500, key="ro:A1")
    assert again.id == first.id
    assert account.balance == 500
    assert_books_balance(account)


def test_spending_draws_the_oldest_lots_first(account, clock):
    old = earn(account, 300)
    clock.advance(days=30)
    new = earn(account, 300)
    spend(account, 400)
    assert (old.remaining, new.remaining) == (0, 200)
    assert account.balance == 200 and account.qualifying_points == 600
    assert_books_balance(account)


def test_a_balance_never_goes_negative(account):
    earn(account, 100)
    with pytest.raises(InsufficientPoints, match="100 available"):
        spend(account, 101)
    assert account.balance == 100
    assert_books_balance(account)


def test_points_expire_24_months_after_they_were_earned(account, clock):
    earn(account, 300)
    clock.advance(days=400)
    earn(account, 200)
    spend(account, 100)  # from the oldest lot: 200 of it are left to expire
    clock.advance(days=300)
    assert expiring_soon(account.id, days=60) == 200
    clock.advance(days=31)  # 731 days later (2028 is a leap year): the first lot's expiry date
    assert expire_points() == 200
    assert expire_points() == 0  # a rerun the same day changes nothing
    assert account.balance == 200
    assert_books_balance(account)


def test_expired_points_cannot_be_spent_before_the_job_runs(account, clock):
    earn(account, 300)
    clock.advance(days=731)
    with pytest.raises(InsufficientPoints):
        spend(account, 1)


def test_a_reversal_takes_back_exactly_what_was_earned_once(account):
    earn(account, 200)
    visit = earn(account, 500, key="ro:R1")
    reversal = reverse_entry(visit.id, reason="refund")
    assert reversal.delta == -500
    assert reverse_entry(visit.id, reason="refund again").id == reversal.id
    assert account.balance == 200 and account.qualifying_points == 200
    assert_books_balance(account)


def test_spent_points_of_a_refunded_visit_become_a_debt_settled_by_the_next_earning(account):
    visit = earn(account, 500, key="ro:R2")
    spend(account, 400)
    reverse_entry(visit.id, reason="refund")
    assert account.balance == 0 and account.debt == 400
    earn(account, 300)
    assert account.balance == 0 and account.debt == 100
    earn(account, 300)
    assert account.balance == 200 and account.debt == 0
    assert_books_balance(account)


def test_every_account_is_consistent_after_a_mixed_day(ctx, dealers, clock):
    accounts = [account_for(make_member(dealers["SZ01"])) for _ in range(3)]
    for i, acc in enumerate(accounts):
        earn(acc, 100 * (i + 1))
        spend(acc, 50)
    assert all(
        a.balance == b
        for a, b in zip(
            db.session.scalars(select(PointsAccount).order_by(PointsAccount.id)),
            [50, 150, 250],
            strict=True,
        )
    )
