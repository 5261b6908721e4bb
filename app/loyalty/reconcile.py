"""The daily reconciliation of the points ledger (R4, R13): each invariant as one set-based
query, every breach reported with its account and member.

The invariants:

- ``entries``: an account's balance is the sum of its entries;
- ``lots``: it is also the sum of the unspent points of its lots;
- ``debt``: points owed from a reversal are settled as soon as the owner has points that have
  not passed their date (value-dated: unrecorded expiry is not spendable);
- ``owed``: an account's debt is at most what its reversed earnings still owe (a debt nothing
  accounts for would take the owner's points for nothing);
- ``allocations``: every debit drew exactly its points from lots;
- ``overtaken``: no earning lost more than it earned: what its reversal and the debt settled
  on its behalf took, plus what of it expired, is at most its points (plus points given back
  to it by a cancelled debit after it was reversed, which may expire again);
- ``deposits`` (checked by events, ``events.closing.deposit_breaches``, answering the
  ``ledger_checks`` signal): for every ended event with a points deposit, each registration's
  deposit was returned, or kept from an owner who held a confirmed place and did not check in.

It reads only: a breach is for a person to look at, not for the job to repair.
"""

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from app.core.clock import local_date, utcnow
from app.core.signals import ledger_checks
from app.extensions import db
from app.loyalty.models import EntryKind, PointsAccount, PointsAllocation, PointsEntry

CHECKS = ("entries", "lots", "debt", "owed", "allocations", "overtaken", "deposits")


@dataclass(frozen=True)
class Breach:
    """One broken invariant: which check, which account and member, and the figures."""

    check: str
    account_id: int | None
    member_id: int | None
    detail: str

    def as_dict(self) -> dict:
        """The breach as JSON-ready data."""
        return asdict(self)


def _sum_by(column, key, *where):
    return (
        select(key.label("key"), func.sum(column).label("total")).where(*where).group_by(key)
    ).subquery()


def _account_breaches(today) -> list[Breach]:
    entries = _sum_by(PointsEntry.delta, PointsEntry.account_id)
    lots = _sum_by(
        PointsEntry.remaining, PointsEntry.account_id, PointsEntry.remaining.is_not(None)
    )
    live = _sum_by(
        PointsEntry.remaining,
        PointsEntry.account_id,
        PointsEntry.remaining > 0,
        PointsEntry.expires_on > today,
    )
    total = func.coalesce(entries.c.total, 0)
    unspent = func.coalesce(lots.c.total, 0)
    spendable = func.coalesce(live.c.total, 0)
    rows = db.session.execute(
        select(PointsAccount.id, PointsAccount.member_id, PointsAccount.balance)
        .add_columns(PointsAccount.debt, total, unspent, spendable)
        .outerjoin(entries, entries.c.key == PointsAccount.id)
        .outerjoin(lots, lots.c.key == PointsAccount.id)
        .outerjoin(live, live.c.key == PointsAccount.id)
        .where(
            or_(
                PointsAccount.balance != total,
                PointsAccount.balance != unspent,
                and_(PointsAccount.debt > 0, spendable > 0),
            )
        )
        .order_by(PointsAccount.id)
    ).all()
    found = []
    for account_id, member_id, balance, debt, total_, unspent_, spendable_ in rows:
        if balance != total_:
            found.append(
                Breach("entries", account_id, member_id, f"balance {balance}, entries {total_}")
            )
        if balance != unspent_:
            found.append(
                Breach("lots", account_id, member_id, f"balance {balance}, lots {unspent_}")
            )
        if debt > 0 and spendable_ > 0:
            found.append(
                Breach("debt", account_id, member_id, f"owes {debt} but holds {spendable_}")
            )
    return found


def _allocation_breaches() -> list[Breach]:
    drawn = _sum_by(PointsAllocation.amount, PointsAllocation.debit_id)
    rows = db.session.execute(
        select(
            PointsEntry.id,
            PointsEntry.account_id,
            PointsAccount.member_id,
            PointsEntry.delta,
            func.coalesce(drawn.c.total, 0),
        )
        .join(PointsAccount, PointsAccount.id == PointsEntry.account_id)
        .outerjoin(drawn, drawn.c.key == PointsEntry.id)
        .where(PointsEntry.delta < 0, -PointsEntry.delta != func.coalesce(drawn.c.total, 0))
        .order_by(PointsEntry.id)
    ).all()
    return [
        Breach("allocations", account_id, member_id, f"entry {eid}: {delta}, drew {amount}")
        for eid, account_id, member_id, delta, amount in rows
    ]


def _taken_and_expired():
    """Per earning: what its reversal and the settlements on its behalf took; what expired."""
    debit = aliased(PointsEntry)
    taken = _sum_by(-PointsEntry.delta, PointsEntry.reverses_id, PointsEntry.delta < 0)
    expired = (
        select(
            PointsAllocation.lot_id.label("key"), func.sum(PointsAllocation.amount).label("total")
        )
        .join(debit, debit.id == PointsAllocation.debit_id)
        .where(debit.kind == EntryKind.EXPIRE)
        .group_by(PointsAllocation.lot_id)
        .subquery()
    )
    return taken, expired


def _owed_breaches() -> list[Breach]:
    """An account's debt is at most what its reversed earnings still owe (each: its points,
    less what expired, less what was taken for it). More means points taken for nothing."""
    taken, expired = _taken_and_expired()
    left = PointsEntry.delta - func.coalesce(taken.c.total, 0) - func.coalesce(expired.c.total, 0)
    owed = (
        select(
            PointsEntry.account_id.label("key"),
            func.sum(case((left > 0, left), else_=0)).label("total"),
        )
        .outerjoin(taken, taken.c.key == PointsEntry.id)
        .outerjoin(expired, expired.c.key == PointsEntry.id)
        .where(PointsEntry.reversed_at.is_not(None))
        .group_by(PointsEntry.account_id)
        .subquery()
    )
    total = func.coalesce(owed.c.total, 0)
    rows = db.session.execute(
        select(PointsAccount.id, PointsAccount.member_id, PointsAccount.debt, total)
        .outerjoin(owed, owed.c.key == PointsAccount.id)
        .where(PointsAccount.debt > total)
        .order_by(PointsAccount.id)
    ).all()
    return [
        Breach("owed", account_id, member_id, f"owes {debt}; its reversals account for {due}")
        for account_id, member_id, debt, due in rows
    ]


def _overtaken_breaches() -> list[Breach]:
    lot = aliased(PointsEntry)
    refund = aliased(PointsEntry)
    taken, expired = _taken_and_expired()
    # Points of a reversed lot that a cancelled debit gave back after the reversal.
    given_back = (
        select(
            PointsAllocation.lot_id.label("key"), func.sum(PointsAllocation.amount).label("total")
        )
        .join(refund, and_(refund.reverses_id == PointsAllocation.debit_id, refund.delta > 0))
        .join(lot, lot.id == PointsAllocation.lot_id)
        .where(lot.reversed_at.is_not(None), refund.created_at >= lot.reversed_at)
        .group_by(PointsAllocation.lot_id)
        .subquery()
    )
    lost = func.coalesce(taken.c.total, 0) + func.coalesce(expired.c.total, 0)
    allowed = PointsEntry.delta + func.coalesce(given_back.c.total, 0)
    rows = db.session.execute(
        select(PointsEntry.id, PointsEntry.account_id, PointsAccount.member_id)
        .add_columns(PointsEntry.delta, func.coalesce(taken.c.total, 0))
        .add_columns(func.coalesce(expired.c.total, 0))
        .join(PointsAccount, PointsAccount.id == PointsEntry.account_id)
        .outerjoin(taken, taken.c.key == PointsEntry.id)
        .outerjoin(expired, expired.c.key == PointsEntry.id)
        .outerjoin(given_back, given_back.c.key == PointsEntry.id)
        .where(PointsEntry.delta > 0, PointsEntry.remaining.is_not(None), lost > allowed)
        .order_by(PointsEntry.id)
    ).all()
    return [
        Breach(
            "overtaken",
            account_id,
            member_id,
            f"entry {eid} earned {delta}; reversed {reversed_}, expired {expired_}",
        )
        for eid, account_id, member_id, delta, reversed_, expired_ in rows
    ]


def reconcile_ledger(*, now: datetime | None = None) -> list[Breach]:
    """Every breach of the ledger's invariants as of ``now``; an empty list when the books agree."""
    now = now or utcnow()
    return [
        *_account_breaches(local_date(now)),
        *_owed_breaches(),
        *_allocation_breaches(),
        *_overtaken_breaches(),
        # Rules of other domains' entries (events: deposits), app/core/signals.py.
        *(breach for _receiver, found in ledger_checks.send(now) for breach in found),
    ]
