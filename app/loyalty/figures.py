"""What an owner's screens show of a points account as of today (the card, the points history,
the staff's member page): the points expiring soon and the lots past their date, read in the
same statement as the account, and the expiry recorded first when one is due (value-dated).
The ledger's rules (posting, spending, expiring) stay in :mod:`app.loyalty.ledger`."""

from datetime import datetime, timedelta

from sqlalchemy import Date, bindparam, func, literal, select

from app.core.clock import local_date, utcnow
from app.extensions import db
from app.loyalty.ledger import expire_account, open_lots
from app.loyalty.models import PointsAccount, PointsEntry


def _day(day):
    """A date written into the statement (a value, or the name of a parameter given when the
    statement runs) rather than sent as a parameter: PostgreSQL then plans a prepared
    statement of the owner's screens once a day, not at every call (with the dates sent as
    parameters its generic plan looks dearer than each call's own, so it plans each anew)."""
    if isinstance(day, str):
        return bindparam(day, type_=Date, literal_execute=True)
    return literal(day, Date, literal_execute=True)


def _expiring_sum(account_id, today, until):
    """Points of the account's open lots that expire by ``until`` (dates, see :func:`_day`)."""
    return select(func.coalesce(func.sum(PointsEntry.remaining), 0)).where(
        *open_lots(account_id, _day(today)), PointsEntry.expires_on <= _day(until)
    )


def _overdue_lots(today):
    """How many of the account's lots have passed their date unrecorded (a scalar subquery)."""
    return (
        select(func.count(PointsEntry.id))
        .where(
            PointsEntry.account_id == PointsAccount.id,
            PointsEntry.remaining > 0,
            PointsEntry.expires_on <= _day(today),
        )
        .scalar_subquery()
    )


def expiring_soon(account_id: int, *, days: int = 60, now: datetime | None = None) -> int:
    """Points that expire within ``days`` (shown on the card)."""
    today = local_date(now or utcnow())
    return db.session.scalar(_expiring_sum(account_id, today, today + timedelta(days=days)))


def account_with_expiring(
    member_id: int, *, days: int = 60, now: datetime | None = None
) -> tuple[PointsAccount, int]:
    """The member's account as of today and the points that expire within ``days``, in one
    query. Lots whose date has come are recorded as expired first (value-dated), so the
    balance shown is what the owner can spend."""
    now = now or utcnow()
    today = local_date(now)
    expiring = _expiring_sum(PointsAccount.id, today, today + timedelta(days=days))
    account, points, overdue = db.session.execute(
        select(PointsAccount, expiring.scalar_subquery(), _overdue_lots(today)).where(
            PointsAccount.member_id == member_id
        )
    ).one()
    if overdue:
        expire_account(account.id, now=now)
    return account, points


def account_figures() -> tuple:
    """What an owner's screen shows of a points account, as columns for a statement that
    selects from ``PointsAccount`` (the card page's one query, built once): ``account_id``,
    ``balance``, ``tier_code``, ``expiring`` (the points that expire within 60 days) and
    ``overdue``, the lots whose date has come unrecorded. Run the statement with
    :func:`figures_as_of` among its parameters; when ``overdue`` is not 0, record the expiry
    (:func:`expire_account`) and read again: the balance shown is what the owner can spend
    (value-dated)."""
    expiring = _expiring_sum(PointsAccount.id, "figures_today", "figures_until")
    return (
        PointsAccount.id.label("account_id"),
        PointsAccount.balance,
        PointsAccount.tier_code,
        expiring.scalar_subquery().label("expiring"),
        _overdue_lots("figures_today").label("overdue"),
    )


def figures_as_of(now: datetime, *, days: int = 60) -> dict:
    """The parameters of :func:`account_figures` as of ``now``."""
    today = local_date(now)
    return {"figures_today": today, "figures_until": today + timedelta(days=days)}


def account_as_of_today(member_id: int, *, now: datetime | None = None) -> PointsAccount:
    """The member's account as the owner and staff see it: lots whose date has come are
    recorded as expired first (value-dated), so the balance shown is what can be spent today,
    whether or not the nightly job has run."""
    now = now or utcnow()
    account, overdue = db.session.execute(
        select(PointsAccount, _overdue_lots(local_date(now))).where(
            PointsAccount.member_id == member_id
        )
    ).one()
    if overdue:
        expire_account(account.id, now=now)
    return account
