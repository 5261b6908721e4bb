"""Loyalty's reports (R10): the points liability, what owners can spend today and when it
expires. Built on the report toolkit (app/core/reports.py), scoped like every report.

Points liability is what owners can spend today: the unexpired lots' remaining points (the
balances, less lots past their date that the daily expiry has not taken yet). The expiry
forecast shows when those lots expire if they are not spent first.
"""

from bisect import bisect_right
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import case, func, literal_column, select, union_all

from app.auth.models import User
from app.core.clock import add_months, local_date, utcnow
from app.core.reports import Column, Report, Table, chart, row
from app.extensions import db
from app.loyalty.models import PointsAccount, PointsEntry
from app.loyalty.rules import point_value_yuan
from app.members.models import Member
from app.members.scope import dealer_scope, scoped_dealers

FORECAST_MONTHS = 12

# An unspent lot has points left. A literal, not a bound parameter, so that PostgreSQL and
# SQLite use the partial index that says the same (0008); see also COUNTED_VISIT.
OPEN_LOT = PointsEntry.remaining > literal_column("0")


def spendable_by_dealer(scope: int | None, today: date) -> dict[int, tuple[int, int]]:
    """Per dealer in scope: (owners who can spend points today, the points they can spend).

    The ledger keeps each balance equal to its lots' remaining points (R4), so what an owner
    can spend is their balance less the points of lots whose date has come and which the
    daily expiry has not taken yet: a pass over the accounts, not over millions of lots."""
    lot = select(PointsEntry.account_id, PointsEntry.remaining).where(OPEN_LOT)
    # Two ranges of the index rather than an OR, which PostgreSQL reads as a scan of it all
    # (it expects a third of the open lots past their date; the daily expiry leaves a few).
    # The ledger gives every lot a date; one without could not be spent either.
    stale = union_all(
        lot.where(PointsEntry.expires_on <= today), lot.where(PointsEntry.expires_on.is_(None))
    ).subquery()
    stale = (
        select(stale.c.account_id, func.sum(stale.c.remaining).label("points"))
        .group_by(stale.c.account_id)
        .subquery()
    )
    spendable = PointsAccount.balance - func.coalesce(stale.c.points, 0)
    query = (
        select(
            Member.dealer_id,
            func.sum(case((spendable > 0, 1), else_=0)),
            func.sum(spendable),
        )
        .select_from(PointsAccount)
        .join(Member, Member.id == PointsAccount.member_id)
        .outerjoin(stale, stale.c.account_id == PointsAccount.id)
        .group_by(Member.dealer_id)
    )
    if scope is not None:
        query = query.where(Member.dealer_id == scope)
    return {
        dealer: (int(holders), int(points)) for dealer, holders, points in db.session.execute(query)
    }


def headline(actor: User, *, dealer_id: int | None = None, now: datetime | None = None) -> dict:
    """The overview's figures on points: what the owners in scope can spend today (the
    liability), and its value."""
    scope = dealer_scope(actor, dealer_id)
    per_dealer = spendable_by_dealer(scope, local_date(now or utcnow()))
    outstanding = sum(points for _holders, points in per_dealer.values())
    return {"outstanding": outstanding, "value": point_value_yuan(outstanding)}


def forecast_months(today: date) -> list[date]:
    """The first days of this month and the next twelve (the forecast's month bounds)."""
    first = today.replace(day=1)
    return [add_months(first, k) for k in range(FORECAST_MONTHS + 1)]


def points_liability(
    actor: User, *, dealer_id: int | None = None, now: datetime | None = None
) -> Report:
    """Outstanding points and their yuan value per dealer, and when they expire, by month."""
    scope = dealer_scope(actor, dealer_id)
    today = local_date(now or utcnow())
    per_dealer = spendable_by_dealer(scope, today)
    dealers = scoped_dealers(scope)
    rows = []
    for dealer in dealers:
        holders, points = per_dealer.get(dealer.id, (0, 0))
        rows.append(row(dealer.code, holders, points, point_value_yuan(points)))
    holders = sum(h for h, _p in per_dealer.values())
    outstanding = sum(p for _h, p in per_dealer.values())
    by_dealer = Table(
        "dealers",
        _("Outstanding points by dealer"),
        [
            Column(_("Dealer")),
            Column(_("Members holding points"), True),
            Column(_("Outstanding points"), True),
            Column(_("Value (¥)"), True),
        ],
        rows,
        row(_("Total"), holders, outstanding, point_value_yuan(outstanding))
        if len(dealers) > 1
        else None,
    )

    # The lots expiring in the next twelve months, per day (the partial index on open lots by
    # date holds them in order); what expires later is the rest of the outstanding points.
    bounds = forecast_months(today)
    lots = (
        select(PointsEntry.expires_on, func.sum(PointsEntry.remaining))
        .where(OPEN_LOT, PointsEntry.expires_on > today, PointsEntry.expires_on < bounds[-1])
        .group_by(PointsEntry.expires_on)
    )
    if scope is not None:
        accounts = (
            select(PointsAccount.id)
            .join(Member, Member.id == PointsAccount.member_id)
            .where(Member.dealer_id == scope)
        )
        lots = lots.where(PointsEntry.account_id.in_(accounts))
    expiring = dict.fromkeys(range(FORECAST_MONTHS), 0)
    for day, points in db.session.execute(lots):
        expiring[bisect_right(bounds, day) - 1] += points
    expiring[FORECAST_MONTHS] = outstanding - sum(expiring.values())
    forecast_rows, bars = [], []
    for k in range(FORECAST_MONTHS):
        month = bounds[k].strftime("%Y-%m")
        points = expiring.get(k, 0)
        forecast_rows.append(row(month, points, point_value_yuan(points)))
        bars.append((month, str(points), [("insight-fill-bar", "", points)]))
    later = expiring.get(FORECAST_MONTHS, 0)
    forecast_rows.append(row(_("Later"), later, point_value_yuan(later)))
    forecast = Table(
        "expiry",
        _("Points expiring per month, if not spent"),
        [Column(_("Month")), Column(_("Points expiring"), True), Column(_("Value (¥)"), True)],
        forecast_rows,
        row(_("Total"), outstanding, point_value_yuan(outstanding)),
    )
    drawn = chart(_("Points expiring in the next 12 months"), bars)
    return Report(
        scope,
        [by_dealer, forecast],
        [drawn],
        facts={
            "outstanding": outstanding,
            "value": point_value_yuan(outstanding),
            "holders": holders,
            "next_12_months": sum(expiring.get(k, 0) for k in range(FORECAST_MONTHS)),
        },
    )
