"""Dealer insight (R10): members by tier, segments, lost customers, points liability, the
referral funnel, event attendance and events as campaigns (the seed 000 result table).

Every report is a few set-based queries (GROUP BY, CASE), never a loop over members, so it stays
fast at 100,000 owners; each returns tables that the page shows and the CSV export writes, cell
for cell. Reports are scoped to the viewer's dealer; HQ sees every dealer and may pick one.

Decisions a manager should know (the pages say them too):

- A refunded service visit does not count, neither for recency nor for revenue.
- An owner's recency is the days since their last service visit (at any of the group's dealers).
  An owner without any visit counts from their newest car's delivery date (purchase date when
  the delivery is unknown), and an owner without a car from the day they joined: a new owner is
  loyal until the first maintenance is long overdue.
- The lost-customer list (R8) is per car, as a care agent calls about a car: no visit for
  90 days up to the lost threshold (SEGMENT_LOST_DAYS, 360), the same recency rule, split by
  warranty (``warranty_until``, else 3 years after delivery or purchase).
- Points liability is what owners can spend today: the unexpired lots' remaining points (the
  balances, less lots past their date that the daily expiry has not taken yet). The expiry
  forecast shows when those lots expire if they are not spent first.
- Until campaigns exist, each event is a campaign: invited = confirmed (or checked-in)
  registrations, attended = checked in, revenue = the attendees' service visits at the event's
  dealer from the event's first day until 30 days after its last day; average ticket =
  revenue / visits. A visit in the windows of two events counts for both.
"""

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import Response, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import (
    Date,
    Integer,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
    values,
)
from sqlalchemy import column as sql_column
from sqlalchemy.dialects.postgresql import ARRAY

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import local_date, local_midnight, utcnow
from app.core.csvfile import csv_text
from app.core.identifiers import mask_mobile
from app.core.permissions import Role
from app.events.models import CheckIn, Event, EventRegistration, RegistrationStatus
from app.events.services import registration_counts
from app.extensions import db
from app.loyalty.ledger import add_months
from app.loyalty.models import PointsAccount, PointsEntry
from app.loyalty.rules import point_value_yuan
from app.loyalty.services import list_tiers, tier_label
from app.members.models import Dealer, Member, Vehicle
from app.referrals import services as referrals
from app.referrals.presenters import funnel_label
from app.service.models import COUNTED_VISIT, ServiceVisit

# R8: a car unseen this many days joins the lost-customer list (until SEGMENT_LOST_DAYS).
LOST_LIST_MIN_DAYS = 90
# A car's warranty when the record has no date: this many months from delivery (or purchase).
DEFAULT_WARRANTY_MONTHS = 36
# An event's revenue counts the attendees' visits until this many days after it ends.
CAMPAIGN_WINDOW_DAYS = 30
FORECAST_MONTHS = 12
LOST_PER_PAGE = 25
EVENTS_PER_PAGE = 20
# Events per VALUES list when figures are computed for many events at once on SQLite.
_CHUNK = 500

# An unspent lot has points left. A literal, not a bound parameter, so that PostgreSQL and
# SQLite use the partial index that says the same (0008); see also COUNTED_VISIT.
OPEN_LOT = PointsEntry.remaining > literal_column("0")

SEGMENTS = ("loyal", "swinging", "lost")
SEGMENT_LABELS = {"loyal": _l("Loyal"), "swinging": _l("Swinging"), "lost": _l("Lost")}
WARRANTY_FILTERS = ("all", "in", "out")
NONE = "—"


# ------------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Cell:
    """One cell: its text, and the owner it names (the page links to them)."""

    text: str
    member_id: int | None = None

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Column:
    """A column's heading; numeric columns align right."""

    label: str
    numeric: bool = False


@dataclass
class Table:
    """A report table: what the page shows is what the CSV holds."""

    key: str
    caption: str
    columns: list[Column]
    rows: list[list[Cell]]
    totals: list[Cell] | None = None
    empty: str = ""

    def all_rows(self) -> list[list[Cell]]:
        """The body rows, then the totals row."""
        return [*self.rows, *([self.totals] if self.totals else [])]


def _row(*values: Any) -> list[Cell]:
    return [v if isinstance(v, Cell) else Cell(str(v)) for v in values]


def table_csv(table: Table) -> str:
    """The table as CSV (see :mod:`app.core.csvfile`)."""
    return csv_text(
        [column.label for column in table.columns],
        ([cell.text for cell in row] for row in table.all_rows()),
    )


def csv_response(filename: str, table_or_text: "Table | str") -> Response:
    """A CSV download: a table (see ``table_csv``) or CSV text, as a UTF-8 attachment that is
    never cached (it holds owners' data)."""
    text = table_csv(table_or_text) if isinstance(table_or_text, Table) else table_or_text
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


# ------------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Part:
    """A segment of a bar: its fill class, what it counts, where it starts and how wide (%)."""

    css: str
    label: str
    x: float
    width: float


@dataclass(frozen=True)
class Bar:
    """One bar of a chart, with its label and the figure written next to it."""

    label: str
    text: str
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Chart:
    """Horizontal (stacked) bars scaled to the longest bar, or to ``scale``."""

    title: str
    bars: tuple[Bar, ...]
    legend: tuple[tuple[str, str], ...] = ()


def _chart(
    title: str,
    bars: Sequence[tuple[str, str, Sequence[tuple[str, str, float]]]],
    *,
    legend: Iterable[tuple[str, str]] = (),
    scale: float | None = None,
) -> Chart:
    """Bars of (label, text, [(css, part label, value)...]) as widths in percent."""
    top = scale or max((sum(v for *_, v in parts) for *_, parts in bars), default=0) or 1
    drawn = []
    for label, text, parts in bars:
        x, pieces = 0.0, []
        for css, part_label, value in parts:
            if value <= 0:
                continue
            width = min(round(value * 100 / top, 2), round(100 - x, 2))
            pieces.append(Part(css, part_label, round(x, 2), width))
            x += width
        drawn.append(Bar(label, text, tuple(pieces)))
    return Chart(title, tuple(drawn), tuple(legend))


# ------------------------------------------------------------------------------ figures


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` as '12.5%' (one decimal), or '—' when ``whole`` is 0."""
    if not whole:
        return NONE
    return f"{part * 100 / whole:.1f}%"


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals: 123456 → '1234.56', -1230 → '-12.30'."""
    sign, fen = ("-", -fen) if fen < 0 else ("", fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def average_fen(total: int, count: int) -> int | None:
    """``total`` / ``count`` rounded half up to a fen, or None without a count."""
    if not count:
        return None
    return (2 * total + count) // (2 * count)


def _ratio(part: int, whole: int) -> float:
    return part * 100 / whole if whole else 0.0


# ------------------------------------------------------------------------------- scope


def scoped_dealer_id(actor: User, dealer_id: int | None = None) -> int | None:
    """The dealer whose figures ``actor`` sees: their own; for HQ, ``dealer_id`` when it names
    a dealer, else None (every dealer)."""
    if actor.role == Role.HQ_ADMIN:
        if dealer_id and db.session.get(Dealer, dealer_id) is not None:
            return dealer_id
        return None
    return actor.dealer_id


def dealer_choices(actor: User) -> list[Dealer]:
    """The dealers ``actor`` may pick from (HQ: every dealer; others: none to pick)."""
    if actor.role != Role.HQ_ADMIN:
        return []
    return list(db.session.scalars(select(Dealer).order_by(Dealer.code)))


def _dealers(scope: int | None) -> list[Dealer]:
    query = select(Dealer).order_by(Dealer.code)
    if scope is not None:
        query = query.where(Dealer.id == scope)
    return list(db.session.scalars(query))


@dataclass
class Report:
    """What a report page shows: its tables and charts, and what it needs besides."""

    dealer_id: int | None
    tables: list[Table]
    charts: list[Chart] = field(default_factory=list)
    page: Any = None
    facts: dict[str, Any] = field(default_factory=dict)

    def table(self, key: str | None) -> Table | None:
        """The table named ``key`` (the first one when ``key`` is None)."""
        if key is None:
            return self.tables[0] if self.tables else None
        return next((t for t in self.tables if t.key == key), None)


def _tier_codes() -> list[str]:
    return [tier.code for tier in list_tiers()]


def _tier_legend(codes: list[str]) -> list[tuple[str, str]]:
    return [(f"insight-fill-{code}", tier_label(code)) for code in codes]


# ---------------------------------------------------------------------- members by tier


def _member_tier():
    """Members with their tier (an owner without a points account is at the lowest tier)."""
    lowest = _tier_codes()[0]
    return (
        select(
            Member.id.label("member_id"),
            Member.dealer_id.label("dealer_id"),
            func.coalesce(PointsAccount.tier_code, lowest).label("tier"),
        )
        .select_from(Member)
        .outerjoin(PointsAccount, PointsAccount.member_id == Member.id)
    )


def members_by_tier(actor: User, *, dealer_id: int | None = None) -> Report:
    """Members per dealer and tier."""
    scope = scoped_dealer_id(actor, dealer_id)
    members = _member_tier()
    if scope is not None:
        members = members.where(Member.dealer_id == scope)
    sub = members.subquery()
    counts = {
        (d, t): n
        for d, t, n in db.session.execute(
            select(sub.c.dealer_id, sub.c.tier, func.count()).group_by(sub.c.dealer_id, sub.c.tier)
        )
    }
    codes = _tier_codes()
    dealers = _dealers(scope)
    rows, bars = [], []
    for dealer in dealers:
        per_tier = [counts.get((dealer.id, code), 0) for code in codes]
        rows.append(_row(dealer.code, *per_tier, sum(per_tier)))
        bars.append(
            (
                dealer.code,
                str(sum(per_tier)),
                [
                    (f"insight-fill-{code}", f"{tier_label(code)}: {n}", n)
                    for code, n in zip(codes, per_tier, strict=True)
                ],
            )
        )
    totals = None
    if len(dealers) > 1:
        per_tier = [sum(n for (_d, t), n in counts.items() if t == code) for code in codes]
        totals = _row(_("Total"), *per_tier, sum(per_tier))
    table = Table(
        "members",
        _("Members by tier and dealer"),
        [
            Column(_("Dealer")),
            *(Column(tier_label(c), True) for c in codes),
            Column(_("Total"), True),
        ],
        rows,
        totals,
        _("No dealer."),
    )
    chart = _chart(_("Members by tier"), bars, legend=_tier_legend(codes))
    return Report(scope, [table], [chart], facts={"total": sum(counts.values())})


# ----------------------------------------------------------------------------- segments


def segment_days() -> tuple[int, int]:
    """Loyal up to this many days since the last visit; lost beyond the second figure."""
    config = current_app.config
    return config["SEGMENT_LOYAL_DAYS"], config["SEGMENT_LOST_DAYS"]


def _segment_counts(scope: int | None, today: date):
    """(dealer_id, tier, segment, members) for the members in scope."""
    loyal_days, lost_days = segment_days()
    loyal_from = today - timedelta(days=loyal_days)
    lost_before = today - timedelta(days=lost_days)
    # Per owner, an index-only probe of the partial (member_id, visited_on) index, instead of
    # a max over every visit of every owner.
    last_visit = (
        select(func.max(ServiceVisit.visited_on))
        .where(ServiceVisit.member_id == Member.id, COUNTED_VISIT)
        .scalar_subquery()
    )
    newest_car = (
        select(
            Vehicle.member_id.label("member_id"),
            func.max(func.coalesce(Vehicle.delivered_on, Vehicle.purchased_on)).label("car_on"),
        )
        .group_by(Vehicle.member_id)
        .subquery()
    )
    # Neither a visit nor a car: from the day the owner joined.
    joined = case(
        (Member.created_at >= local_midnight(loyal_from), "loyal"),
        (Member.created_at >= local_midnight(lost_before), "swinging"),
        else_="lost",
    )
    members = (
        _member_tier()
        .add_columns(
            func.coalesce(last_visit, newest_car.c.car_on).label("since"), joined.label("joined")
        )
        .outerjoin(newest_car, newest_car.c.member_id == Member.id)
    )
    if scope is not None:
        members = members.where(Member.dealer_id == scope)
    members = members.subquery()
    # Owners are counted per day first, so each one's last visit is looked up once (the
    # segment's CASE would otherwise repeat it) and the CASE runs on a few thousand rows.
    keys = (members.c.dealer_id, members.c.tier, members.c.since, members.c.joined)
    days = select(*keys, func.count().label("members")).group_by(*keys).subquery()
    segment = case(
        (days.c.since >= loyal_from, "loyal"),
        (days.c.since >= lost_before, "swinging"),
        (days.c.since.is_not(None), "lost"),
        else_=days.c.joined,
    )
    return select(days.c.dealer_id, days.c.tier, segment, func.sum(days.c.members)).group_by(
        days.c.dealer_id, days.c.tier, segment
    )


def segments(actor: User, *, dealer_id: int | None = None, now: datetime | None = None) -> Report:
    """Members by segment (loyal / swinging / lost) and tier, and per dealer for HQ."""
    scope = scoped_dealer_id(actor, dealer_id)
    today = local_date(now or utcnow())
    counts: dict[tuple[int, str, str], int] = {
        (d, t, s): int(n) for d, t, s, n in db.session.execute(_segment_counts(scope, today))
    }
    codes = _tier_codes()

    def count(*, dealer=None, tier=None, segment=None) -> int:
        return sum(
            n
            for (d, t, s), n in counts.items()
            if dealer in (None, d) and tier in (None, t) and segment in (None, s)
        )

    rows, bars = [], []
    for seg in SEGMENTS:
        per_tier = [count(tier=code, segment=seg) for code in codes]
        rows.append(_row(str(SEGMENT_LABELS[seg]), *per_tier, sum(per_tier)))
        bars.append(
            (
                str(SEGMENT_LABELS[seg]),
                str(sum(per_tier)),
                [
                    (f"insight-fill-{code}", f"{tier_label(code)}: {n}", n)
                    for code, n in zip(codes, per_tier, strict=True)
                ],
            )
        )
    matrix = Table(
        "matrix",
        _("Segments by tier"),
        [
            Column(_("Segment")),
            *(Column(tier_label(c), True) for c in codes),
            Column(_("Total"), True),
        ],
        rows,
        _row(_("Total"), *(count(tier=code) for code in codes), count()),
    )
    tables = [matrix]
    if scope is None:
        dealer_rows = []
        for dealer in _dealers(None):
            per_segment = [count(dealer=dealer.id, segment=seg) for seg in SEGMENTS]
            dealer_rows.append(_row(dealer.code, *per_segment, sum(per_segment)))
        tables.append(
            Table(
                "dealers",
                _("Segments by dealer"),
                [
                    Column(_("Dealer")),
                    *(Column(str(SEGMENT_LABELS[s]), True) for s in SEGMENTS),
                    Column(_("Total"), True),
                ],
                dealer_rows,
                _row(_("Total"), *(count(segment=s) for s in SEGMENTS), count()),
            )
        )
    loyal_days, lost_days = segment_days()
    chart = _chart(_("Segments by tier"), bars, legend=_tier_legend(codes))
    return Report(
        scope,
        tables,
        [chart],
        facts={"loyal_days": loyal_days, "lost_days": lost_days, "total": count()},
    )


# ------------------------------------------------------------------------ lost customers


def _warranty_inside(today: date):
    """In warranty, as an SQL condition on Vehicle that is never NULL."""
    start = func.coalesce(Vehicle.delivered_on, Vehicle.purchased_on)
    # start + 36 months >= today  ⇔  start >= today - 36 months (add_months clamps both ways).
    default_from = add_months(today, -DEFAULT_WARRANTY_MONTHS)
    until = Vehicle.warranty_until
    return or_(
        and_(until.is_not(None), until >= today), and_(until.is_(None), start >= default_from)
    )


def _lost_cars(scope: int | None, today: date):
    """The lost cars in scope: a subquery of (vehicle_id, last_visit, since, inside).

    A car's last visit is looked up per car (an index-only probe of the partial
    (vehicle_id, visited_on) index), not a max over every visit of every car."""
    _loyal, lost_days = segment_days()
    last_visit = (
        select(func.max(ServiceVisit.visited_on))
        .where(ServiceVisit.vehicle_id == Vehicle.id, COUNTED_VISIT)
        .scalar_subquery()
    )
    cars = select(
        Vehicle.id.label("vehicle_id"),
        last_visit.label("last_visit"),
        func.coalesce(Vehicle.delivered_on, Vehicle.purchased_on).label("start"),
        case((_warranty_inside(today), 1), else_=0).label("inside"),
    ).join(Member, Member.id == Vehicle.member_id)
    if scope is not None:
        cars = cars.where(Member.dealer_id == scope)
    cars = cars.subquery()
    since = func.coalesce(cars.c.last_visit, cars.c.start)
    return (
        select(cars.c.vehicle_id, cars.c.last_visit, since.label("since"), cars.c.inside)
        .where(
            since <= today - timedelta(days=LOST_LIST_MIN_DAYS),
            since >= today - timedelta(days=lost_days),
        )
        .subquery()
    )


class ListPagination(Pagination):
    """Flask-SQLAlchemy's pager over a list already fetched (``items=``)."""

    def _query_items(self) -> list:
        start = (self.page - 1) * self.per_page
        return self._query_args["items"][start : start + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["items"])


def _warranty_matches(warranty: str, inside: int) -> bool:
    return warranty == "all" or bool(inside) == (warranty == "in")


def lost_customers(
    actor: User,
    *,
    dealer_id: int | None = None,
    warranty: str = "all",
    page: int | None = None,
    per_page: int = LOST_PER_PAGE,
    now: datetime | None = None,
) -> Report:
    """Cars not seen for 90–360 days (R8), longest unseen first, in and out of warranty;
    a page of them, or all of them when ``page`` is None."""
    scope = scoped_dealer_id(actor, dealer_id)
    today = local_date(now or utcnow())
    warranty = warranty if warranty in WARRANTY_FILTERS else "all"
    lost = _lost_cars(scope, today)
    details = (
        select(
            Member.id.label("member_id"),
            Member.name,
            User.mobile,
            Vehicle.model,
            Vehicle.plate,
            lost.c.last_visit,
            lost.c.since,
            func.coalesce(Vehicle.delivered_on, Vehicle.purchased_on).label("start"),
            Vehicle.warranty_until,
            lost.c.inside,
        )
        .select_from(lost)
        .join(Vehicle, Vehicle.id == lost.c.vehicle_id)
        .join(Member, Member.id == Vehicle.member_id)
        .join(User, User.id == Member.user_id)
        .order_by(lost.c.since, lost.c.vehicle_id)
    )
    pagination = None
    if page is None:
        cars = db.session.execute(details).all()
        total, in_warranty = len(cars), sum(car.inside for car in cars)
        cars = [car for car in cars if _warranty_matches(warranty, car.inside)]
    else:
        # The lost set is worked out once: the counts and the page come from its ids.
        ids = db.session.execute(
            select(lost.c.vehicle_id, lost.c.inside).order_by(lost.c.since, lost.c.vehicle_id)
        ).all()
        total, in_warranty = len(ids), sum(car.inside for car in ids)
        pagination = ListPagination(
            page=page,
            per_page=per_page,
            max_per_page=None,
            error_out=False,
            items=[car.vehicle_id for car in ids if _warranty_matches(warranty, car.inside)],
        )
        cars = (
            db.session.execute(details.where(lost.c.vehicle_id.in_(pagination.items))).all()
            if pagination.items
            else []
        )
    rows = []
    for car in cars:
        until = car.warranty_until or add_months(car.start, DEFAULT_WARRANTY_MONTHS)
        rows.append(
            _row(
                Cell(car.name, car.member_id),
                mask_mobile(car.mobile),
                car.model,
                car.plate or NONE,
                car.last_visit.isoformat() if car.last_visit else NONE,
                (today - car.since).days,
                until.isoformat(),
                _("In warranty") if car.inside else _("Out of warranty"),
            )
        )
    table = Table(
        "cars",
        _("Lost customers"),
        [
            Column(_("Owner")),
            Column(_("Mobile")),
            Column(_("Car")),
            Column(_("Plate")),
            Column(_("Last visit")),
            Column(_("Days"), True),
            Column(_("Warranty until")),
            Column(_("Warranty")),
        ],
        rows,
        empty=_("No lost customer: every car came in recently."),
    )
    chart = _chart(
        _("Lost customers by warranty"),
        [
            (_("In warranty"), str(in_warranty), [("insight-fill-in", "", in_warranty)]),
            (
                _("Out of warranty"),
                str(total - in_warranty),
                [("insight-fill-out", "", total - in_warranty)],
            ),
        ],
    )
    return Report(
        scope,
        [table],
        [chart],
        page=pagination,
        facts={
            "total": total,
            "in": in_warranty,
            "out": total - in_warranty,
            "warranty": warranty,
            "min_days": LOST_LIST_MIN_DAYS,
            "max_days": segment_days()[1],
        },
    )


# ---------------------------------------------------------------------- points liability


def _spendable_by_dealer(scope: int | None, today: date) -> dict[int, tuple[int, int]]:
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


def forecast_months(today: date) -> list[date]:
    """The first days of this month and the next twelve (the forecast's month bounds)."""
    first = today.replace(day=1)
    return [add_months(first, k) for k in range(FORECAST_MONTHS + 1)]


def points_liability(
    actor: User, *, dealer_id: int | None = None, now: datetime | None = None
) -> Report:
    """Outstanding points and their yuan value per dealer, and when they expire, by month."""
    scope = scoped_dealer_id(actor, dealer_id)
    today = local_date(now or utcnow())
    per_dealer = _spendable_by_dealer(scope, today)
    dealers = _dealers(scope)
    rows = []
    for dealer in dealers:
        holders, points = per_dealer.get(dealer.id, (0, 0))
        rows.append(_row(dealer.code, holders, points, point_value_yuan(points)))
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
        _row(_("Total"), holders, outstanding, point_value_yuan(outstanding))
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
        forecast_rows.append(_row(month, points, point_value_yuan(points)))
        bars.append((month, str(points), [("insight-fill-bar", "", points)]))
    later = expiring.get(FORECAST_MONTHS, 0)
    forecast_rows.append(_row(_("Later"), later, point_value_yuan(later)))
    forecast = Table(
        "expiry",
        _("Points expiring per month, if not spent"),
        [Column(_("Month")), Column(_("Points expiring"), True), Column(_("Value (¥)"), True)],
        forecast_rows,
        _row(_("Total"), outstanding, point_value_yuan(outstanding)),
    )
    chart = _chart(_("Points expiring in the next 12 months"), bars)
    return Report(
        scope,
        [by_dealer, forecast],
        [chart],
        facts={
            "outstanding": outstanding,
            "value": point_value_yuan(outstanding),
            "holders": holders,
            "next_12_months": sum(expiring.get(k, 0) for k in range(FORECAST_MONTHS)),
        },
    )


# ---------------------------------------------------------------------- referral funnel


def referral_funnel(actor: User, *, dealer_id: int | None = None) -> Report:
    """The referrals domain's funnel per dealer (for HQ: every dealer or the one picked)."""
    scope = scoped_dealer_id(actor, dealer_id)
    counts = referrals.funnel(actor, by="dealer")
    if scope is not None:
        code = db.session.get(Dealer, scope).code
        counts = {k: v for k, v in counts.items() if k == code}
    steps = referrals.FUNNEL_STEPS
    rows = [_row(code, *(counter[s] for s in steps)) for code, counter in sorted(counts.items())]
    total = {s: sum(counter[s] for counter in counts.values()) for s in steps}
    table = Table(
        "funnel",
        _("Referral funnel"),
        [Column(_("Dealer")), *(Column(funnel_label(s), True) for s in steps)],
        rows,
        _row(_("Total"), *(total[s] for s in steps)) if len(rows) > 1 else None,
        _("No referral yet."),
    )
    registered = total["registered"]
    chart = _chart(
        _("From registration to reward"),
        [
            (
                funnel_label(s),
                f"{total[s]} · {percent(total[s], registered)}",
                [(f"insight-fill-{'lost' if s == 'fraud' else 'bar'}", "", total[s])],
            )
            for s in steps
        ],
    )
    return Report(scope, [table], [chart], facts={"registered": registered})


# ---------------------------------------------------------------------- event attendance


def _started_events(scope: int | None, now: datetime, *, ended: bool = False):
    column = Event.ends_at if ended else Event.starts_at
    query = select(Event).where(column <= now).order_by(Event.starts_at.desc(), Event.id.desc())
    if scope is not None:
        query = query.where(Event.dealer_id == scope)
    return query


def _event_page(query, page: int | None, per_page: int):
    if page is None:
        return None, list(db.session.scalars(query))
    pagination = db.paginate(query, page=page, per_page=per_page, error_out=False)
    return pagination, list(pagination.items)


def _event_columns(scope: int | None) -> list[Column]:
    return [Column(_("Event"))] + ([Column(_("Dealer"))] if scope is None else [])


def _event_cells(event: Event, scope: int | None, codes: dict[int, str]) -> list[Cell]:
    return _row(event.title, *([codes[event.dealer_id]] if scope is None else []))


def event_attendance(
    actor: User,
    *,
    dealer_id: int | None = None,
    page: int | None = None,
    per_page: int = EVENTS_PER_PAGE,
    now: datetime | None = None,
) -> Report:
    """Per event that has started: places, confirmed, checked in and the attendance rate
    (checked in / confirmed); a page of events, or all when ``page`` is None."""
    scope = scoped_dealer_id(actor, dealer_id)
    now = now or utcnow()
    query = _started_events(scope, now)
    every = list(db.session.scalars(query.with_only_columns(Event.id)))
    counts = registration_counts(every)
    pagination, shown = _event_page(query, page, per_page)
    codes = {d.id: d.code for d in _dealers(scope)}
    rows, bars = [], []
    for event in shown:
        c = counts[event.id]
        confirmed, checked_in = c.get(RegistrationStatus.CONFIRMED.value, 0), c["checked_in"]
        rows.append(
            _event_cells(event, scope, codes)
            + _row(
                local_date(event.starts_at).isoformat(),
                event.capacity,
                c["places"],
                confirmed,
                checked_in,
                percent(checked_in, confirmed),
            )
        )
        bars.append(
            (
                event.title,
                percent(checked_in, confirmed),
                [("insight-fill-bar", "", _ratio(checked_in, confirmed))],
            )
        )
    confirmed = sum(c.get(RegistrationStatus.CONFIRMED.value, 0) for c in counts.values())
    checked_in = sum(c["checked_in"] for c in counts.values())
    table = Table(
        "events",
        _("Event attendance"),
        [
            *_event_columns(scope),
            Column(_("Date")),
            Column(_("Capacity"), True),
            Column(_("Places taken"), True),
            Column(_("Confirmed"), True),
            Column(_("Checked in"), True),
            Column(_("Attendance rate"), True),
        ],
        rows,
        empty=_("No event has started yet."),
    )
    chart = _chart(_("Attendance rate"), bars, scale=100)
    return Report(
        scope,
        [table],
        [chart],
        page=pagination,
        facts={
            "events": len(every),
            "confirmed": confirmed,
            "checked_in": checked_in,
            "rate": percent(checked_in, confirmed),
        },
    )


# ------------------------------------------------------------------- events as campaigns


@dataclass
class CampaignFigures:
    """The seed 000 result table's figures for one event."""

    invited: int = 0
    attended: int = 0
    visits: int = 0
    revenue_fen: int = 0


def revenue_window(event: Event) -> tuple[date, date]:
    """The days whose service visits count for ``event``: its first day to 30 days after its
    last day (local dates)."""
    return local_date(event.starts_at), local_date(event.ends_at) + timedelta(
        days=CAMPAIGN_WINDOW_DAYS
    )


def _event_windows(events: Sequence) -> list:
    """The events' (event_id, dealer_id, first_day, last_day) as tables to join, the windows
    worked out here (in the club's time zone). PostgreSQL takes them all as four arrays; SQLite
    as VALUES lists of _CHUNK events (SQLAlchemy compiles those at about a millisecond a row)."""
    columns = (
        sql_column("event_id", Integer),
        sql_column("dealer_id", Integer),
        sql_column("first_day", Date),
        sql_column("last_day", Date),
    )
    rows = [(event.id, event.dealer_id, *revenue_window(event)) for event in events]
    if db.session.get_bind().dialect.name == "postgresql":
        if not rows:
            return []
        arrays = [literal([row[i] for row in rows], ARRAY(c.type)) for i, c in enumerate(columns)]
        return [func.unnest(*arrays).table_valued(*columns).render_derived(name="windows")]
    return [
        values(*columns, name="windows").data(rows[start : start + _CHUNK]).cte()
        for start in range(0, len(rows), _CHUNK)
    ]


def campaign_figures(events: Sequence) -> dict[int, CampaignFigures]:
    """Invited, attended, visits and revenue per event (an Event or a row with its id, dealer_id,
    starts_at and ends_at), in one query (on SQLite, one per _CHUNK events)."""
    figures = {event.id: CampaignFigures() for event in events}
    for windows in _event_windows(events):
        # The events' registrations, each with its check-in if any (the gate checks a ticket in
        # at its own event only), read once for every figure.
        registrations = (
            select(
                windows,
                EventRegistration.member_id,
                EventRegistration.status,
                CheckIn.id.label("check_in_id"),
            )
            .join(EventRegistration, EventRegistration.event_id == windows.c.event_id)
            .outerjoin(CheckIn, CheckIn.registration_id == EventRegistration.id)
            .cte("registrations")
        )
        checked_in = registrations.c.check_in_id.is_not(None)
        counts = (
            select(
                registrations.c.event_id,
                func.sum(
                    case(
                        (
                            or_(registrations.c.status == RegistrationStatus.CONFIRMED, checked_in),
                            1,
                        ),
                        else_=0,
                    )
                ).label("invited"),
                func.count(registrations.c.check_in_id).label("attended"),
            )
            .group_by(registrations.c.event_id)
            .subquery()
        )
        # Each attendee once per event (an owner may hold two tickets), so that a visit counts
        # once per event, with the event's window: their visits are then one range probe of
        # the (member_id, visited_on, dealer_id, amount_fen) index, which answers alone. In
        # the index's order, the probes read its pages one after another (a quarter faster).
        attendees = (
            select(
                registrations.c.event_id,
                registrations.c.dealer_id,
                registrations.c.first_day,
                registrations.c.last_day,
                registrations.c.member_id,
            )
            .where(checked_in)
            .distinct()
            .order_by(registrations.c.member_id)
            .subquery()
        )
        revenue = (
            select(
                attendees.c.event_id,
                func.count().label("visits"),
                func.sum(ServiceVisit.amount_fen).label("fen"),
            )
            .join(
                ServiceVisit,
                and_(
                    ServiceVisit.member_id == attendees.c.member_id,
                    ServiceVisit.visited_on >= attendees.c.first_day,
                    ServiceVisit.visited_on <= attendees.c.last_day,
                    ServiceVisit.dealer_id == attendees.c.dealer_id,
                    COUNTED_VISIT,
                ),
            )
            .group_by(attendees.c.event_id)
            .subquery()
        )
        query = select(
            counts.c.event_id, counts.c.invited, counts.c.attended, revenue.c.visits, revenue.c.fen
        ).outerjoin(revenue, revenue.c.event_id == counts.c.event_id)
        for event_id, invited, attended, visits, fen in db.session.execute(query):
            figures[event_id] = CampaignFigures(int(invited), attended, visits or 0, int(fen or 0))
    return figures


def _campaign_cells(f: CampaignFigures) -> list[Cell]:
    ticket = average_fen(f.revenue_fen, f.visits)
    return _row(
        f.invited,
        f.attended,
        percent(f.attended, f.invited),
        f.visits,
        yuan(f.revenue_fen),
        yuan(ticket) if ticket is not None else NONE,
    )


def campaign_results(
    actor: User,
    *,
    dealer_id: int | None = None,
    page: int | None = None,
    per_page: int = EVENTS_PER_PAGE,
    now: datetime | None = None,
) -> Report:
    """Ended events as campaigns: invited, attended, success rate, revenue and average ticket
    (seed 000), with the total over every ended event in scope."""
    scope = scoped_dealer_id(actor, dealer_id)
    now = now or utcnow()
    today = local_date(now)
    query = _started_events(scope, now, ended=True)
    every = db.session.execute(
        query.with_only_columns(Event.id, Event.dealer_id, Event.starts_at, Event.ends_at)
    ).all()
    figures = campaign_figures(every)
    pagination, shown = _event_page(query, page, per_page)
    codes = {d.id: d.code for d in _dealers(scope)}
    rows, rate_bars, revenue_bars = [], [], []
    for event in shown:
        f = figures[event.id]
        _first, last = revenue_window(event)
        rows.append(
            _event_cells(event, scope, codes)
            + _row(local_date(event.starts_at).isoformat())
            + _campaign_cells(f)
            + _row(last.isoformat())
        )
        rate_bars.append(
            (
                event.title,
                percent(f.attended, f.invited),
                [("insight-fill-bar", "", _ratio(f.attended, f.invited))],
            )
        )
        revenue_bars.append(
            (event.title, yuan(f.revenue_fen), [("insight-fill-loyal", "", f.revenue_fen)])
        )
    total = CampaignFigures(
        invited=sum(f.invited for f in figures.values()),
        attended=sum(f.attended for f in figures.values()),
        visits=sum(f.visits for f in figures.values()),
        revenue_fen=sum(f.revenue_fen for f in figures.values()),
    )
    lead = _event_columns(scope)
    table = Table(
        "campaigns",
        _("Events as campaigns"),
        [
            *lead,
            Column(_("Date")),
            Column(_("Invited"), True),
            Column(_("Attended"), True),
            Column(_("Success rate"), True),
            Column(_("Visits"), True),
            Column(_("Revenue (¥)"), True),
            Column(_("Average ticket (¥)"), True),
            Column(_("Counted until")),
        ],
        rows,
        # "Total", blanks under the dealer and the date, the figures, a blank under the window.
        _row(_("Total"), *([""] * len(lead))) + _campaign_cells(total) + _row("")
        if every
        else None,
        _("No event has ended yet."),
    )
    charts = [
        _chart(_("Success rate"), rate_bars, scale=100),
        _chart(_("Revenue (¥)"), revenue_bars),
    ]
    # Windows still open: the last day counted (30 days after the event's last day) is today or
    # later, i.e. the event ended on or after the first moment of the day 30 days ago.
    still_counting = local_midnight(today - timedelta(days=CAMPAIGN_WINDOW_DAYS))
    open_windows = sum(1 for e in every if e.ends_at >= still_counting)
    return Report(
        scope,
        [table],
        charts,
        page=pagination,
        facts={"window_days": CAMPAIGN_WINDOW_DAYS, "open": open_windows, "events": len(every)},
    )


# ----------------------------------------------------------------------------- overview


def headline(actor: User, *, dealer_id: int | None = None, now: datetime | None = None) -> dict:
    """The overview's figures: members, lost customers, outstanding points and their value."""
    scope = scoped_dealer_id(actor, dealer_id)
    today = local_date(now or utcnow())
    members = select(func.count(Member.id))
    if scope is not None:
        members = members.where(Member.dealer_id == scope)
    lost = _lost_cars(scope, today)
    outstanding = sum(points for _h, points in _spendable_by_dealer(scope, today).values())
    return {
        "dealer_id": scope,
        "members": db.session.scalar(members),
        "lost": db.session.scalar(select(func.count()).select_from(lost)),
        "outstanding": outstanding,
        "value": point_value_yuan(outstanding),
    }


# ------------------------------------------------------------------------------- export

REPORTS = {
    "members": members_by_tier,
    "segments": segments,
    "lost": lost_customers,
    "liability": points_liability,
    "referrals": referral_funnel,
    "events": event_attendance,
    "campaigns": campaign_results,
}


@dataclass(frozen=True)
class Export:
    """A CSV file to download."""

    filename: str
    body: str


def export_table(
    actor: User,
    report: str,
    key: str | None = None,
    *,
    dealer_id: int | None = None,
    now: datetime | None = None,
    **filters,
) -> Export | None:
    """One table of a report, every row of it, as CSV; None when there is no such table.
    Exporting the lost-customer list (names, masked mobiles) is audited."""
    now = now or utcnow()
    build = REPORTS.get(report)
    if build is None:
        return None
    kwargs: dict[str, Any] = {"dealer_id": dealer_id}
    if report in ("segments", "lost", "liability", "events", "campaigns"):
        kwargs["now"] = now
    if report == "lost":
        kwargs["warranty"] = filters.get("warranty", "all")
    result = build(actor, **kwargs)
    table = result.table(key)
    if table is None:
        return None
    if report == "lost":
        record_audit(
            actor,
            "insight.lost_exported",
            dealer_id=result.dealer_id,
            details={"rows": len(table.rows), "warranty": kwargs["warranty"]},
            now=now,
        )
    scope = db.session.get(Dealer, result.dealer_id).code if result.dealer_id else "all"
    name = f"insight-{report}-{table.key}-{scope}-{local_date(now).isoformat()}.csv"
    return Export(name, table_csv(table))
