"""The owner's points history: the account's figures as of today and one page of its ledger.

The page costs two statements whatever the ledger's length (issue 19): the account's figures
(``figures.account_figures``: balance and the points expiring soon), its number of entries and
the layout's unread count, then the page's entries, newest first, read through
``ix_points_entries_account_history`` (account, time, id) so that only the page's rows are
read. Both are built once and run through SQLAlchemy Core: plain rows of what the page shows.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Integer, bindparam, func, select

from app.core.clock import utcnow
from app.extensions import db
from app.loyalty.figures import account_figures, figures_as_of
from app.loyalty.ledger import expire_account
from app.loyalty.models import PointsAccount, PointsEntry
from app.members.inbox import unread_messages

PER_PAGE = 30


class LedgerPage(Pagination):
    """Flask-SQLAlchemy's pager over a page of entries fetched already (``items=``, ``total=``)."""

    def _query_items(self) -> list:
        return self._query_args["items"]

    def _query_count(self) -> int:
        return self._query_args["total"]


@dataclass(frozen=True)
class PointsHistory:
    """What the points history shows: the balance, the points expiring within 60 days, the
    unread count of the layout's badge and a page of entries."""

    balance: int
    expiring: int
    unread: int
    page: LedgerPage


# Built once, not at every request (building them cost about as much Python as running them).
# The account's figures as of the day given by ``figures_as_of``, with its number of entries.
_ACCOUNT = select(
    *account_figures(),
    select(func.count(PointsEntry.id))
    .where(PointsEntry.account_id == PointsAccount.id)
    .scalar_subquery()
    .label("entries"),
    unread_messages(PointsAccount.member_id).label("unread"),
).where(PointsAccount.member_id == bindparam("member_id"))
# The columns the page shows of an account's entries, newest first, one page.
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


def points_history(
    member_id: int, *, page: int = 1, per_page: int = PER_PAGE, now: datetime | None = None
) -> PointsHistory:
    """The member's balance as of today (lots past their date recorded as expired first), the
    points that expire within 60 days and page ``page`` of the ledger, newest first."""
    now = now or utcnow()
    connection = db.session.connection()
    account = connection.execute(_ACCOUNT, {"member_id": member_id, **figures_as_of(now)}).one()
    if account.overdue:
        expire_account(account.account_id, now=now)
        return points_history(member_id, page=page, per_page=per_page, now=now)
    page = max(page, 1)
    start = (page - 1) * per_page
    items = []
    if start < account.entries:
        items = connection.execute(
            _PAGE_OF_ENTRIES,
            {"account_id": account.account_id, "limit": per_page, "offset": start},
        ).all()
    pager = LedgerPage(
        page=page, per_page=per_page, error_out=False, items=items, total=account.entries
    )
    return PointsHistory(account.balance, account.expiring, account.unread, pager)
