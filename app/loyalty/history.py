"""The owner's points history: the account as of today and one page of its ledger.

The page costs two statements whatever the ledger's length (issue 19): the account with its
expiring points and its number of entries, then the page's entries, newest first, read through
``ix_points_entries_account_history`` (account, time, id) so that only the page's rows are
read, as plain rows of the columns the page shows.
"""

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Integer, bindparam, func, select

from app.core.clock import local_date, local_midnight, utcnow
from app.extensions import db
from app.loyalty.ledger import _expiring_sum, _overdue_lots, expire_account
from app.loyalty.models import PointsAccount, PointsEntry

PER_PAGE = 30


class LedgerPage(Pagination):
    """Flask-SQLAlchemy's pager over a page of entries fetched already (``items=``, ``total=``)."""

    def _query_items(self) -> list:
        return self._query_args["items"]

    def _query_count(self) -> int:
        return self._query_args["total"]


@dataclass(frozen=True)
class PointsHistory:
    """What the points history shows: the account, the points expiring soon, a page of entries."""

    account: PointsAccount
    expiring: int
    page: LedgerPage


# Built once, not on every request (building it cost about as much Python as running it): the
# columns the page shows of an account's entries, newest first, one page.
_PAGE_OF_ENTRIES = (
    select(
        PointsEntry.delta,
        PointsEntry.kind,
        PointsEntry.source,
        PointsEntry.reference,
        PointsEntry.reason,
        PointsEntry.created_at,
    )
    .where(PointsEntry.account_id == bindparam("account_id"))
    .order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc())
    .limit(bindparam("limit", type_=Integer))
    .offset(bindparam("offset", type_=Integer))
)


def _entry_count(account_id):
    return select(func.count(PointsEntry.id)).where(PointsEntry.account_id == account_id)


@functools.lru_cache(maxsize=4)
def _account_statement(today: date, days: int):
    """The account of ``:member_id`` with its points expiring within ``days`` of ``today``, how
    many of its lots are past their date unrecorded, and its number of entries. Built once a
    day rather than on every request: building it cost twice the Python of running it."""
    return select(
        PointsAccount,
        _expiring_sum(PointsAccount.id, today, today + timedelta(days=days)).scalar_subquery(),
        _overdue_lots(local_midnight(today)),
        _entry_count(PointsAccount.id).scalar_subquery(),
    ).where(PointsAccount.member_id == bindparam("member_id"))


def points_history(
    member_id: int,
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
    days: int = 60,
    now: datetime | None = None,
) -> PointsHistory:
    """The member's account as of today (lots past their date recorded as expired first), the
    points that expire within ``days`` and page ``page`` of the ledger, newest first."""
    now = now or utcnow()
    account, expiring, overdue, total = db.session.execute(
        _account_statement(local_date(now), days), {"member_id": member_id}
    ).one()
    if overdue:
        expire_account(account.id, now=now)
        total = db.session.scalar(_entry_count(account.id))
    page = max(page, 1)
    start = (page - 1) * per_page
    items = []
    if start < total:
        items = db.session.execute(
            _PAGE_OF_ENTRIES, {"account_id": account.id, "limit": per_page, "offset": start}
        ).all()
    pager = LedgerPage(page=page, per_page=per_page, error_out=False, items=items, total=total)
    return PointsHistory(account=account, expiring=expiring, page=pager)
