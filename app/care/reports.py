"""The owner base's reports (R8, R10): members by tier, segments (loyal / swinging / lost) and
the lost-customer list, and the insight overview's headline figures. They read the members, their
points and their service visits, so they live in care, above loyalty and service.

Every report is a few set-based queries (GROUP BY, CASE), never a loop over members, so it stays
fast at 100,000 owners; each returns tables that the page shows and the CSV export writes, cell
for cell (app/core/reports.py). Reports are scoped to the viewer's dealer; HQ sees every dealer
and may pick one (app/members/scope.py).

Decisions a manager should know (the pages say them too):

- A refunded service visit does not count, neither for recency nor for revenue.
- An owner's recency is the days since their last service visit (at any of the group's dealers).
  An owner without any visit counts from their newest car's delivery date (purchase date when
  the delivery is unknown), and an owner without a car from the day they joined: a new owner is
  loyal until the first maintenance is long overdue.
- The lost-customer list (R8) is per car, as a care agent calls about a car: no visit for
  90 days up to the lost threshold (SEGMENT_LOST_DAYS, 360), the same recency rule, split by
  warranty (app/members/warranty.py: ``warranty_until``, else 3 years after delivery or
  purchase).
"""

from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import local_date, local_midnight, utcnow
from app.core.identifiers import mask_mobile
from app.core.reports import NONE, Cell, Column, ListPagination, Report, Table, chart, row
from app.extensions import db
from app.loyalty.models import PointsAccount
from app.loyalty.services import list_tiers, tier_label
from app.members.models import Member, Vehicle
from app.members.scope import dealer_scope, scoped_dealers
from app.members.warranty import in_warranty, warranty_end
from app.service.models import COUNTED_VISIT, ServiceVisit

# R8: a car unseen this many days joins the lost-customer list (until SEGMENT_LOST_DAYS).
LOST_LIST_MIN_DAYS = 90
LOST_PER_PAGE = 25

SEGMENTS = ("loyal", "swinging", "lost")
SEGMENT_LABELS = {"loyal": _l("Loyal"), "swinging": _l("Swinging"), "lost": _l("Lost")}
WARRANTY_FILTERS = ("all", "in", "out")


def _tier_codes() -> list[str]:
    return [tier.code for tier in list_tiers()]


def _tier_legend(codes: list[str]) -> list[tuple[str, str]]:
    return [(f"insight-fill-{code}", tier_label(code)) for code in codes]


def _tier_columns(first: str, codes: list[str]) -> list[Column]:
    """A first column, one per tier, and the total."""
    return [Column(first), *(Column(tier_label(c), True) for c in codes), Column(_("Total"), True)]


def _tier_bar(label: str, codes: list[str], per_tier: list[int]):
    """A bar of ``per_tier`` counts stacked by tier, its total written beside it."""
    parts = [
        (f"insight-fill-{code}", f"{tier_label(code)}: {n}", n)
        for code, n in zip(codes, per_tier, strict=True)
    ]
    return label, str(sum(per_tier)), parts


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
    scope = dealer_scope(actor, dealer_id)
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
    dealers = scoped_dealers(scope)
    rows, bars = [], []
    for dealer in dealers:
        per_tier = [counts.get((dealer.id, code), 0) for code in codes]
        rows.append(row(dealer.code, *per_tier, sum(per_tier)))
        bars.append(_tier_bar(dealer.code, codes, per_tier))
    totals = None
    if len(dealers) > 1:
        per_tier = [sum(n for (_d, t), n in counts.items() if t == code) for code in codes]
        totals = row(_("Total"), *per_tier, sum(per_tier))
    table = Table(
        "members",
        _("Members by tier and dealer"),
        _tier_columns(_("Dealer"), codes),
        rows,
        totals,
        _("No dealer."),
    )
    drawn = chart(_("Members by tier"), bars, legend=_tier_legend(codes))
    return Report(scope, [table], [drawn], facts={"total": sum(counts.values())})


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
    scope = dealer_scope(actor, dealer_id)
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
        rows.append(row(str(SEGMENT_LABELS[seg]), *per_tier, sum(per_tier)))
        bars.append(_tier_bar(str(SEGMENT_LABELS[seg]), codes, per_tier))
    matrix = Table(
        "matrix",
        _("Segments by tier"),
        _tier_columns(_("Segment"), codes),
        rows,
        row(_("Total"), *(count(tier=code) for code in codes), count()),
    )
    tables = [matrix]
    if scope is None:
        dealer_rows = []
        for dealer in scoped_dealers(None):
            per_segment = [count(dealer=dealer.id, segment=seg) for seg in SEGMENTS]
            dealer_rows.append(row(dealer.code, *per_segment, sum(per_segment)))
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
                row(_("Total"), *(count(segment=s) for s in SEGMENTS), count()),
            )
        )
    loyal_days, lost_days = segment_days()
    drawn = chart(_("Segments by tier"), bars, legend=_tier_legend(codes))
    return Report(
        scope,
        tables,
        [drawn],
        facts={"loyal_days": loyal_days, "lost_days": lost_days, "total": count()},
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
        case((in_warranty(today), 1), else_=0).label("inside"),
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
    scope = dealer_scope(actor, dealer_id)
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
            Vehicle.delivered_on,
            Vehicle.purchased_on,
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
        rows.append(
            row(
                Cell(car.name, car.member_id),
                mask_mobile(car.mobile),
                car.model,
                car.plate or NONE,
                car.last_visit.isoformat() if car.last_visit else NONE,
                (today - car.since).days,
                warranty_end(car).isoformat(),
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
    drawn = chart(
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
        [drawn],
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


# ----------------------------------------------------------------------------- overview


def headline(actor: User, *, dealer_id: int | None = None, now: datetime | None = None) -> dict:
    """The overview's figures on members: how many, and the lost customers to call."""
    scope = dealer_scope(actor, dealer_id)
    today = local_date(now or utcnow())
    members = select(func.count(Member.id))
    if scope is not None:
        members = members.where(Member.dealer_id == scope)
    lost = _lost_cars(scope, today)
    return {
        "dealer_id": scope,
        "members": db.session.scalar(members),
        "lost": db.session.scalar(select(func.count()).select_from(lost)),
    }


def record_lost_export(
    actor: User, report: Report, *, warranty: str, now: datetime | None = None
) -> None:
    """Exporting the lost-customer list (names, masked mobiles) is audited."""
    record_audit(
        actor,
        "insight.lost_exported",
        dealer_id=report.dealer_id,
        details={"rows": len(report.tables[0].rows), "warranty": warranty},
        now=now,
    )
