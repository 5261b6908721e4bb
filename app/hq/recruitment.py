"""Recruitment rate (会员招募率, seed 004) per dealer chapter, per region and nationally, and its
trend month by month.

Seed 004: 经销商分会会员招募率 = (截至X月会员数量 + 截至X月"申请中"数量) / 截至X月所有经销商分会
个人车主数量 — (members + applying) ÷ all individual owners of the chapter, at a month's end.
Our definitions (the page says them too):

- **Delivered owners** of a dealer at the end of month M: distinct owners of the dealer's
  chapter with at least one car delivered (``Vehicle.delivered_on``) on or before M's last day,
  and known to the club by then. A dealer's deliveries enrol the owner in its chapter
  (``record_delivery``); an owner who transferred counts for their new chapter.
- **Members**: those of them who joined (``Member.joined_at``) before M ended — they
  registered with a password, or accepted the invitation sent at delivery — and whose account
  is open.
- **Applying** (申请中): enrolled at delivery, invitation not yet accepted at M's end and still
  valid there (sent within INVITATION_DAYS). An invitation left to lapse, or a closed account,
  counts as not recruited.
- **Rate** = (members + applying) ÷ delivered owners; "—" without owners.
- **New members** in M: delivered owners who joined during M.

For the current month every figure is as of now. The page's months are one GROUP BY together.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, select

from app.auth.models import User
from app.auth.services import INVITATION_DAYS
from app.core.clock import utcnow
from app.core.reports import Column, Report, Table, chart, percent, row
from app.extensions import db
from app.hq.months import Month, current_month, last_months
from app.members.models import Member, Vehicle
from app.members.scope import dealer_scope, scoped_dealers

TREND_MONTHS = 12


@dataclass
class Figures:
    """A chapter's (or a group's) recruitment at a month's end."""

    owners: int = 0
    members: int = 0
    applying: int = 0
    new: int = 0

    def __add__(self, other: "Figures") -> "Figures":
        return Figures(
            self.owners + other.owners,
            self.members + other.members,
            self.applying + other.applying,
            self.new + other.new,
        )

    @property
    def recruited(self) -> int:
        """Members plus applying: the seed's numerator."""
        return self.members + self.applying

    @property
    def rate(self) -> str:
        """The recruitment rate, '56.6%', or '—'."""
        return percent(self.recruited, self.owners)

    @property
    def rate_value(self) -> float:
        """The rate in percent, for a chart."""
        return self.recruited * 100 / self.owners if self.owners else 0.0


def months_figures(
    months: list[Month], scope: int | None, *, now: datetime
) -> dict[Month, dict[int, Figures]]:
    """Per month of ``months``, per dealer id: delivered owners, members, applying and new
    members at the month's end (as of ``now`` for the current month). One pass over the owners
    for every month: each owner's first delivery, then a sum per month and figure."""
    deliveries = (
        select(Vehicle.member_id.label("member_id"), func.min(Vehicle.delivered_on).label("first"))
        .group_by(Vehicle.member_id)
        .subquery("deliveries")
    )
    columns = []
    for month in months:
        # The month's end is exclusive; for the current month, what happened up to now included.
        as_of = month.ends if month.ends <= now else now + timedelta(microseconds=1)
        delivered = and_(deliveries.c.first <= month.last, Member.created_at < as_of)
        joined = and_(User.active, Member.joined_at.is_not(None), Member.joined_at < as_of)
        applying = and_(
            User.active,
            Member.created_at >= as_of - timedelta(days=INVITATION_DAYS),
            (Member.joined_at.is_(None)) | (Member.joined_at >= as_of),
        )
        new = and_(joined, Member.joined_at >= month.starts)
        columns += [
            func.sum(case((condition, 1), else_=0))
            for condition in (
                delivered,
                and_(delivered, joined),
                and_(delivered, applying),
                and_(delivered, new),
            )
        ]
    query = (
        select(Member.dealer_id, *columns)
        .join(User, User.id == Member.user_id)
        .join(deliveries, deliveries.c.member_id == Member.id)
        .group_by(Member.dealer_id)
    )
    if scope is not None:
        query = query.where(Member.dealer_id == scope)
    result: dict[Month, dict[int, Figures]] = {month: {} for month in months}
    for dealer_id, *sums in db.session.execute(query):
        for k, month in enumerate(months):
            owners, members, applying, new = (int(v or 0) for v in sums[4 * k : 4 * k + 4])
            if owners:
                result[month][dealer_id] = Figures(owners, members, applying, new)
    return result


def month_figures(month: Month, scope: int | None, *, now: datetime) -> dict[int, Figures]:
    """Per dealer id: delivered owners, members, applying and new members at ``month``'s end
    (as of ``now`` for the current month)."""
    return months_figures([month], scope, now=now)[month]


def _columns(first: str) -> list[Column]:
    return [
        Column(first),
        Column(_("Delivered owners"), True),
        Column(_("Members"), True),
        Column(_("Applying"), True),
        Column(_("Recruitment rate"), True),
    ]


def _cells(f: Figures) -> list:
    return [f.owners, f.members, f.applying, f.rate]


def recruitment_report(
    actor: User, *, month: Month | None = None, dealer_id: int | None = None, now=None
) -> Report:
    """Recruitment per dealer, per region and nationally at ``month``'s end (default this
    month), and the last 12 months' trend, scoped to what ``actor`` may see."""
    now = now or utcnow()
    month = month or current_month(now)
    scope = dealer_scope(actor, dealer_id)
    dealers = scoped_dealers(scope, by_region=True)
    trend = last_months(month, TREND_MONTHS)
    figures = months_figures(trend, scope, now=now)
    per_dealer = figures[month]
    total = sum(per_dealer.values(), Figures())
    no_region = _("No region")

    rows, bars = [], []
    for dealer in dealers:
        f = per_dealer.get(dealer.id, Figures())
        rows.append(row(dealer.code, dealer.name, dealer.region or no_region, *_cells(f)))
        bars.append((dealer.code, f.rate, [("insight-fill-bar", "", f.rate_value)]))
    by_dealer = Table(
        "dealers",
        _("Recruitment per dealer at the end of %(month)s", month=month.key),
        [Column(_("Dealer")), Column(_("Name")), Column(_("Region")), *_columns(_("Dealer"))[1:]],
        rows,
        row(_("National"), "", "", *_cells(total)) if len(dealers) > 1 else None,
        empty=_("No dealer yet."),
    )
    tables = [by_dealer]
    charts = [chart(_("Recruitment rate per dealer"), bars, scale=100)]

    if scope is None:
        regions: dict[str, list] = {}
        for dealer in dealers:
            regions.setdefault(dealer.region or no_region, []).append(dealer)
        region_rows = []
        for region, members in sorted(regions.items()):
            f = sum((per_dealer.get(d.id, Figures()) for d in members), Figures())
            region_rows.append(row(region, len(members), *_cells(f)))
        tables.append(
            Table(
                "regions",
                _("Recruitment per region at the end of %(month)s", month=month.key),
                [Column(_("Region")), Column(_("Dealers"), True), *_columns("")[1:]],
                region_rows,
                row(_("National"), len(dealers), *_cells(total)),
                empty=_("No dealer yet."),
            )
        )

    trend_rows, trend_bars = [], []
    for m in trend:
        f = sum(figures[m].values(), Figures())
        trend_rows.append(row(m.key, f.new, *_cells(f)))
        trend_bars.append((m.key, f.rate, [("insight-fill-bar", "", f.rate_value)]))
    tables.append(
        Table(
            "trend",
            _("Recruitment month by month"),
            [Column(_("Month")), Column(_("New members"), True), *_columns("")[1:]],
            trend_rows,
        )
    )
    charts.append(chart(_("Recruitment rate month by month"), trend_bars, scale=100))
    return Report(
        scope,
        tables,
        charts,
        facts={"month": month, "total": total, "dealers": len(dealers)},
    )
