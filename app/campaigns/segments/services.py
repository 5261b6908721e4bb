"""C3 segments (seed 000, R11): every owner in one of eight groups for a period, from three
dimensions of their service visits — maintenance visits, spend and repair ratio.

Seed 000 gives the four pairs (高保养高价值 → 盈利忠诚/分裂忠诚, 低保养高价值 → 高风险/高机遇,
高保养低价值 → 挖掘/高成本, 低保养低价值 → 低成本/神秘机遇) but not which side of each pair the
repair ratio (维修比) picks. It says the low-cost group (低成本群) are "多为保险事故垫付客户…
此类客户进站维修次数较多" — mostly insurance-accident customers who come in for repairs often: the
first of its pair is the HIGH repair ratio side. The profitable-loyal group is described as
"车辆维修/活动参与度相对较高" (they also repair here), so it too is the high side, and split-loyal
(分裂忠诚) owners are those who maintain here but take their repairs elsewhere — loyalty split
between shops. We read every pair the same way, the first named being the high side:

=============  =========  =========  ===================  ====================
maintenance    value      repair     segment              seed
=============  =========  =========  ===================  ====================
high           high       high       profitable_loyal     盈利忠诚
high           high       low        split_loyal          分裂忠诚
low            high       high       high_risk            高风险 (big repairs, serviced elsewhere)
low            high       low        high_opportunity     高机遇
high           low        high       to_develop           挖掘
high           low        low        high_cost            高成本 (many cheap visits)
low            low        high       low_cost             低成本
low            low        low        mystery_opportunity  神秘机遇
=============  =========  =========  ===================  ====================

Definitions (the page says them too):

- An owner's visits are their service visits at any of the group's dealers, refunded ones left
  out. Owners are counted at their own dealer (chapter).
- Maintenance visits: visits of category ``maintenance``. Spend: what the owner paid on all
  the period's visits. Repair ratio: repair and accident visits ÷ all the period's visits
  (accident repairs count as repairs: the seed's low-cost group are accident customers).
- "High" means at or above the threshold (visits ≥ N, spend ≥ ¥X, ratio ≥ P %).
- An owner without any visit in the period has 0 maintenance visits, no spend and a repair
  ratio of 0: low / low / low, the mystery-opportunity group (神秘机遇) — the club knows
  nothing of how they use their car, which is what makes them a mystery.
- The period is the last ``period_months`` months up to today; the previous period is the
  same length just before it. An owner who joined after the previous period ended has no
  previous group (shown as "new owner" in the movement matrix).

Every figure is one set-based query (GROUP BY per owner, then per group), never a loop.
"""

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, literal, literal_column, select

from app.auth.models import User
from app.campaigns.segments.models import SegmentThresholds
from app.core.audit import record_audit
from app.core.clock import local_date, local_midnight, utcnow
from app.core.errors import Forbidden, ValidationFailed
from app.core.money import yuan
from app.core.permissions import Role
from app.core.reports import Column, Report, Table, chart, percent, row
from app.extensions import db
from app.loyalty.ledger import add_months
from app.members.models import Member
from app.members.scope import dealer_scope
from app.service.models import COUNTED_VISIT, ServiceCategory, ServiceVisit


class Segment(StrEnum):
    """The eight C3 groups, in the seed's order."""

    PROFITABLE_LOYAL = "profitable_loyal"
    SPLIT_LOYAL = "split_loyal"
    HIGH_RISK = "high_risk"
    HIGH_OPPORTUNITY = "high_opportunity"
    TO_DEVELOP = "to_develop"
    HIGH_COST = "high_cost"
    LOW_COST = "low_cost"
    MYSTERY_OPPORTUNITY = "mystery_opportunity"


SEGMENT_LABELS = {
    Segment.PROFITABLE_LOYAL: _l("Profitable-loyal"),
    Segment.SPLIT_LOYAL: _l("Split-loyal"),
    Segment.HIGH_RISK: _l("High-risk"),
    Segment.HIGH_OPPORTUNITY: _l("High-opportunity"),
    Segment.TO_DEVELOP: _l("To-develop"),
    Segment.HIGH_COST: _l("High-cost"),
    Segment.LOW_COST: _l("Low-cost"),
    Segment.MYSTERY_OPPORTUNITY: _l("Mystery-opportunity"),
}

# (high maintenance, high value, high repair ratio) -> segment: the table of the docstring.
SEGMENT_OF = {
    (True, True, True): Segment.PROFITABLE_LOYAL,
    (True, True, False): Segment.SPLIT_LOYAL,
    (False, True, True): Segment.HIGH_RISK,
    (False, True, False): Segment.HIGH_OPPORTUNITY,
    (True, False, True): Segment.TO_DEVELOP,
    (True, False, False): Segment.HIGH_COST,
    (False, False, True): Segment.LOW_COST,
    (False, False, False): Segment.MYSTERY_OPPORTUNITY,
}
# The movement matrix's row for owners who joined after the previous period.
NEW_OWNER = "new"

DEFAULTS = {
    "period_months": 12,
    "maintenance_visits": 2,
    "spend_fen": 200_000,
    "repair_ratio_pct": 30,
}
MAX_PERIOD_MONTHS = 36
MAX_VISITS = 100
MAX_SPEND_FEN = 100_000_000  # ¥1,000,000

REPAIRS = (ServiceCategory.REPAIR.value, ServiceCategory.ACCIDENT.value)


def segment_label(segment: str) -> str:
    """The group's name in the user's language."""
    if segment == NEW_OWNER:
        return _("New owner")
    return str(SEGMENT_LABELS[Segment(segment)])


def classify(
    maintenance_visits: int, spend_fen: int, repair_visits: int, visits: int, t
) -> Segment:
    """The segment of one owner's figures under thresholds ``t`` (the rule the SQL follows)."""
    high_repair = visits > 0 and repair_visits * 100 >= t.repair_ratio_pct * visits
    return SEGMENT_OF[
        (maintenance_visits >= t.maintenance_visits, spend_fen >= t.spend_fen, high_repair)
    ]


# ---------------------------------------------------------------------------- thresholds


def current_thresholds() -> SegmentThresholds:
    """The thresholds in force: the newest saved, else the defaults (not saved)."""
    saved = db.session.scalars(
        select(SegmentThresholds).order_by(SegmentThresholds.id.desc()).limit(1)
    ).first()
    return saved or SegmentThresholds(**DEFAULTS)


def threshold_history(limit: int = 20) -> list[SegmentThresholds]:
    """The saved thresholds, newest first."""
    return list(
        db.session.scalars(
            select(SegmentThresholds).order_by(SegmentThresholds.id.desc()).limit(limit)
        )
    )


def _check_thresholds(values: dict) -> None:
    """Refuse thresholds under which a side of a dimension can never be reached: the groups
    would then leave owners nowhere to go, or two groups would always hold the same owners."""
    checks = (
        (
            "period_months",
            1,
            MAX_PERIOD_MONTHS,
            _("The period must be 1 to %(max)s months.", max=MAX_PERIOD_MONTHS),
        ),
        (
            "maintenance_visits",
            1,
            MAX_VISITS,
            _(
                "Maintenance visits must be 1 to %(max)s: with 0 every owner would be "
                "high-maintenance and the low-maintenance groups would be empty.",
                max=MAX_VISITS,
            ),
        ),
        (
            "spend_fen",
            1,
            MAX_SPEND_FEN,
            _(
                "Spend must be more than ¥0 and at most ¥%(max)s: with ¥0 every owner would be "
                "high-value and the low-value groups would be empty.",
                max=yuan(MAX_SPEND_FEN),
            ),
        ),
        (
            "repair_ratio_pct",
            1,
            100,
            _(
                "The repair ratio must be %(low)s %% to %(high)s %%: at 0 %% every owner with a "
                "visit would have a high ratio, above 100 %% nobody could.",
                low=1,
                high=100,
            ),
        ),
    )
    for name, low, high, message in checks:
        value = values[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValidationFailed(message, field=name)


def update_thresholds(
    actor: User,
    *,
    period_months: int,
    maintenance_visits: int,
    spend_fen: int,
    repair_ratio_pct: int,
    now: datetime | None = None,
) -> SegmentThresholds:
    """Put new C3 thresholds in force (HQ admins only); refused and nothing saved when they
    are out of range; the change is audit-logged."""
    if actor.role != Role.HQ_ADMIN:
        raise Forbidden(_("Only an HQ admin may change the segment thresholds."))
    values = {
        "period_months": period_months,
        "maintenance_visits": maintenance_visits,
        "spend_fen": spend_fen,
        "repair_ratio_pct": repair_ratio_pct,
    }
    _check_thresholds(values)
    before = current_thresholds()
    now = now or utcnow()
    row = SegmentThresholds(**values, created_at=now, created_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    record_audit(
        actor,
        "c3.thresholds_changed",
        subject=row,
        details={k: [getattr(before, k), v] for k, v in values.items()},
        now=now,
    )
    return row


# ------------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """Days ``first`` to ``last``, both included (local dates)."""

    first: date
    last: date


def periods(today: date, months: int) -> tuple[Period, Period]:
    """The current period (the last ``months`` months up to ``today``) and the previous one."""
    current = Period(add_months(today, -months) + _ONE_DAY, today)
    previous = Period(add_months(today, -2 * months) + _ONE_DAY, add_months(today, -months))
    return current, previous


_ONE_DAY = date(2000, 1, 2) - date(2000, 1, 1)


# --------------------------------------------------------------------------------- query


def _segment_case(maintenance, spend, repairs, visits, t):
    """The segment as SQL, from an owner's figures (NULL figures: no visit)."""
    maintenance, spend = func.coalesce(maintenance, 0), func.coalesce(spend, 0)
    repairs, visits = func.coalesce(repairs, 0), func.coalesce(visits, 0)
    high_m = maintenance >= t.maintenance_visits
    high_v = spend >= t.spend_fen
    high_r = and_(visits > 0, repairs * 100 >= visits * t.repair_ratio_pct)
    whens = []
    for (m, v, r), segment in SEGMENT_OF.items():
        whens.append(
            (
                and_(high_m if m else ~high_m, high_v if v else ~high_v, high_r if r else ~high_r),
                segment.value,
            )
        )
    return case(*whens[:-1], else_=whens[-1][1])


def _figures(periods_: list[Period], dealer_id: int | None):
    """Per owner (of ``dealer_id``, or every owner): maintenance visits, spend, repair visits
    and visits for each period, in one pass over the visits of all the periods."""
    first = min(p.first for p in periods_)
    last = max(p.last for p in periods_)
    columns = [ServiceVisit.member_id.label("member_id")]
    is_maintenance = ServiceVisit.category == literal_column(f"'{ServiceCategory.MAINTENANCE}'")
    is_repair = ServiceVisit.category.in_([literal_column(f"'{c}'") for c in REPAIRS])
    for i, p in enumerate(periods_):
        inside = and_(ServiceVisit.visited_on >= p.first, ServiceVisit.visited_on <= p.last)
        columns += [
            func.count().filter(and_(inside, is_maintenance)).label(f"maintenance{i}"),
            func.sum(ServiceVisit.amount_fen).filter(inside).label(f"spend{i}"),
            func.count().filter(and_(inside, is_repair)).label(f"repairs{i}"),
            func.count().filter(inside).label(f"visits{i}"),
        ]
    query = select(*columns).where(
        COUNTED_VISIT, ServiceVisit.visited_on >= first, ServiceVisit.visited_on <= last
    )
    if dealer_id is not None:
        # Only the dealer's owners' visits are read and counted.
        owners = select(Member.id).where(Member.dealer_id == dealer_id)
        query = query.where(ServiceVisit.member_id.in_(owners))
    return query.group_by(ServiceVisit.member_id).subquery("figures")


def member_segments(
    periods_: list[Period], thresholds=None, *, dealer_id: int | None = None
) -> Select:
    """A query of (member_id, dealer_id, segment0, segment1…): each owner's segment in each of
    ``periods_`` (None before the owner joined). Owners of ``dealer_id``, or of every dealer.
    Use it as a subquery to select campaign targets by segment."""
    t = thresholds or current_thresholds()
    figures = _figures(periods_, dealer_id)
    columns = [Member.id.label("member_id"), Member.dealer_id.label("dealer_id")]
    for i, p in enumerate(periods_):
        segment = _segment_case(
            figures.c[f"maintenance{i}"],
            figures.c[f"spend{i}"],
            figures.c[f"repairs{i}"],
            figures.c[f"visits{i}"],
            t,
        )
        joined = Member.created_at < local_midnight(p.last + _ONE_DAY)
        columns.append(case((joined, segment), else_=literal(None)).label(f"segment{i}"))
    query = select(*columns).outerjoin(figures, figures.c.member_id == Member.id)
    if dealer_id is not None:
        query = query.where(Member.dealer_id == dealer_id)
    return query


def segment_members(
    segment: Segment, *, dealer_id: int | None = None, now: datetime | None = None
) -> Select:
    """The ids of the owners in ``segment`` for the current period (a campaign target filter)."""
    t = current_thresholds()
    current, _previous = periods(local_date(now or utcnow()), t.period_months)
    sub = member_segments([current], t, dealer_id=dealer_id).subquery()
    return select(sub.c.member_id).where(sub.c.segment0 == segment.value)


def movement_counts(
    current: Period, previous: Period, thresholds, *, dealer_id: int | None = None
) -> dict[tuple[str, str], int]:
    """Owners per (previous segment or NEW_OWNER, current segment)."""
    sub = member_segments([current, previous], thresholds, dealer_id=dealer_id).subquery()
    before = func.coalesce(sub.c.segment1, NEW_OWNER)
    query = select(before, sub.c.segment0, func.count()).group_by(before, sub.c.segment0)
    return {(b, c): n for b, c, n in db.session.execute(query)}


# ---------------------------------------------------------------------------------- page


def segment_report(
    actor: User, *, dealer_id: int | None = None, now: datetime | None = None
) -> Report:
    """The groups' sizes now and in the previous period, and the movement between them."""
    scope = dealer_scope(actor, dealer_id)
    t = current_thresholds()
    current, previous = periods(local_date(now or utcnow()), t.period_months)
    counts = movement_counts(current, previous, t, dealer_id=scope)
    segments = [s.value for s in Segment]
    sources = [*segments, NEW_OWNER]
    now_size = {s: sum(counts.get((b, s), 0) for b in sources) for s in segments}
    before_size = {b: sum(counts.get((b, s), 0) for s in segments) for b in sources}
    total = sum(now_size.values())
    before_total = sum(before_size[s] for s in segments)
    size_rows = []
    for s in segments:
        size_rows.append(
            row(
                segment_label(s),
                before_size[s],
                now_size[s],
                f"{now_size[s] - before_size[s]:+d}",
                percent(now_size[s], total),
            )
        )
    sizes = Table(
        "sizes",
        _("Owners per group"),
        [
            Column(_("Group")),
            Column(_("Previous period"), True),
            Column(_("This period"), True),
            Column(_("Change"), True),
            Column(_("Share"), True),
        ],
        size_rows,
        row(
            _("Total"),
            before_total,
            total,
            f"{total - before_total:+d}",
            percent(total, total),
        ),
        _("No owner."),
    )
    move_rows = []
    for b in sources:
        move_rows.append(
            row(segment_label(b), *(counts.get((b, s), 0) for s in segments), before_size[b])
        )
    moves = Table(
        "moves",
        _("From the previous period's group (rows) to this period's (columns)"),
        [
            Column(_("From \\ to")),
            *(Column(segment_label(s), True) for s in segments),
            Column(_("Total"), True),
        ],
        move_rows,
        row(_("Total"), *(now_size[s] for s in segments), total),
        _("No owner."),
    )
    drawn = chart(
        _("Owners per group, this period"),
        [
            (segment_label(s), str(now_size[s]), [(f"c3-fill-{s}", "", now_size[s])])
            for s in segments
        ],
    )
    stayed = sum(counts.get((s, s), 0) for s in segments)
    return Report(
        scope,
        [sizes, moves],
        [drawn],
        facts={
            "current": current,
            "previous": previous,
            "thresholds": t,
            "spend": yuan(t.spend_fen),
            "total": total,
            "stayed": stayed,
            "moved": total - stayed - before_size[NEW_OWNER],
            "new": before_size[NEW_OWNER],
        },
    )
