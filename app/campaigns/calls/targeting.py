"""Target filters of a campaign group (seed 000: 盈利忠诚群 2–5 年车龄 粤B 牌照 新双君和商务车):
which cars of the campaign dealer's owners a group selects.

A target is a car. Filters, all optional and combined with AND:

- C3 segment of the owner in the current period (``segments.member_segments``);
- tier of the owner's points account (no account: the lowest tier);
- model of the car, one of several;
- the car's age in whole years at the window's start, from its delivery (else purchase) date:
  ``age_min`` ≤ age ≤ ``age_max``;
- plate prefix (粤B);
- last visit of the car, refunded visits left out: no visit in the last N days, or a visit
  within the last N days (counted back from today, when the list is made);
- warranty at the window's start: in (``warranty_until``, else 3 years from delivery) or out.

Only owners who accepted marketing messages (``Member.marketing_opt_in``) are ever selected: a
campaign's invitations and calls are marketing.

Every count and selection is one set-based query (the age band and the day counts become date
bounds worked out once in Python, the last-visit test an index probe per car), never a loop
over owners: a dealer has up to 100,000 of them.
"""

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, exists, func, null, select

from app.campaigns.calls.models import CampaignTarget
from app.campaigns.segments.services import (
    Segment,
    current_thresholds,
    member_segments,
    periods,
    segment_label,
)
from app.core.errors import ValidationFailed
from app.extensions import db
from app.loyalty.ledger import add_months
from app.loyalty.models import PointsAccount
from app.loyalty.services import list_tiers
from app.members.models import Member, Vehicle
from app.members.warranty import in_warranty
from app.service.models import COUNTED_VISIT, ServiceVisit

MAX_AGE_YEARS = 30
MAX_MODELS = 30
MAX_DAYS = 3650
WARRANTY_CHOICES = ("", "in", "out")
LAST_VISIT_CHOICES = ("", "none_for", "within")


@dataclass(frozen=True)
class TargetFilters:
    """What a group selects; empty values filter nothing."""

    segment: str = ""
    tiers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    plate_prefix: str = ""
    last_visit: str = ""  # "none_for": no visit in ``last_visit_days``; "within": a visit in them
    last_visit_days: int | None = None
    warranty: str = ""  # "in" / "out" at the window's start

    def to_json(self) -> dict[str, Any]:
        """The filters as the group row keeps them."""
        data = asdict(self)
        data["tiers"], data["models"] = list(self.tiers), list(self.models)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TargetFilters":
        """The filters of a saved group."""
        data = dict(data or {})
        return cls(
            segment=data.get("segment") or "",
            tiers=tuple(data.get("tiers") or ()),
            models=tuple(data.get("models") or ()),
            age_min=data.get("age_min"),
            age_max=data.get("age_max"),
            plate_prefix=data.get("plate_prefix") or "",
            last_visit=data.get("last_visit") or "",
            last_visit_days=data.get("last_visit_days"),
            warranty=data.get("warranty") or "",
        )


def check_filters(filters: TargetFilters, dealer_id: int) -> None:
    """Refuse filters that cannot be applied, naming the field; models must be ones the
    dealer's owners drive (``model_choices``)."""
    if filters.segment and filters.segment not in {s.value for s in Segment}:
        raise ValidationFailed(_("Choose a C3 group from the list."), field="segment")
    codes = {tier.code for tier in list_tiers()}
    if any(code not in codes for code in filters.tiers):
        raise ValidationFailed(_("Choose tiers from the list."), field="tiers")
    if len(filters.models) > MAX_MODELS:
        raise ValidationFailed(_("Choose at most %(max)s models.", max=MAX_MODELS), field="models")
    if filters.models:
        unknown = sorted(set(filters.models) - set(model_choices(dealer_id)))
        if unknown:
            raise ValidationFailed(
                _(
                    "No owner of the dealer drives %(models)s: choose models from the list.",
                    models="、".join(unknown[:3]),
                ),
                field="models",
            )
    for name in ("age_min", "age_max"):
        value = getattr(filters, name)
        if value is not None and not 0 <= value <= MAX_AGE_YEARS:
            raise ValidationFailed(
                _("A car's age must be 0 to %(max)s years.", max=MAX_AGE_YEARS), field=name
            )
    if (
        filters.age_min is not None
        and filters.age_max is not None
        and filters.age_min > filters.age_max
    ):
        raise ValidationFailed(_("The youngest age must not be above the oldest."), field="age_max")
    if len(filters.plate_prefix) > 7:
        raise ValidationFailed(_("A plate prefix has at most 7 characters."), field="plate_prefix")
    if filters.warranty not in WARRANTY_CHOICES:
        raise ValidationFailed(_("Choose in or out of warranty."), field="warranty")
    if filters.last_visit not in LAST_VISIT_CHOICES:
        raise ValidationFailed(_("Choose how to filter by the last visit."), field="last_visit")
    if filters.last_visit:
        days = filters.last_visit_days
        if days is None or not 1 <= days <= MAX_DAYS:
            raise ValidationFailed(
                _("Enter the number of days since the last visit: 1 to %(max)s.", max=MAX_DAYS),
                field="last_visit_days",
            )


def _car_start():
    return func.coalesce(Vehicle.delivered_on, Vehicle.purchased_on)


def age_in_years(start: date, on: date) -> int:
    """Whole years from ``start`` (delivery or purchase) to ``on`` (0 for a car not yet had)."""
    years = on.year - start.year - ((on.month, on.day) < (start.month, start.day))
    return max(years, 0)


def _conditions(
    dealer_id: int, filters: TargetFilters, starts_on: date, today: date, consenting_only: bool
) -> list:
    """The WHERE conditions on Vehicle joined to Member (and PointsAccount for tiers). Calls
    and invitations of a campaign are marketing: only owners who accepted marketing messages
    are selected (unless ``consenting_only`` is off: a broadcast counts the others)."""
    conditions = [Member.dealer_id == dealer_id]
    if consenting_only:
        conditions.append(Member.marketing_opt_in.is_(True))
    if filters.models:
        conditions.append(Vehicle.model.in_(filters.models))
    if filters.plate_prefix:
        conditions.append(Vehicle.plate.startswith(filters.plate_prefix, autoescape=True))
    start = _car_start()
    # age ≥ a  ⇔  the car started on or before the window's start minus a years.
    if filters.age_min is not None:
        conditions.append(start <= add_months(starts_on, -12 * filters.age_min))
    # age ≤ b  ⇔  the car started after the window's start minus (b + 1) years.
    if filters.age_max is not None:
        conditions.append(start > add_months(starts_on, -12 * (filters.age_max + 1)))
    if filters.warranty:
        inside = in_warranty(starts_on)
        conditions.append(inside if filters.warranty == "in" else ~inside)
    if filters.last_visit:
        since = today - timedelta(days=filters.last_visit_days - 1)
        recent = exists().where(
            ServiceVisit.vehicle_id == Vehicle.id, COUNTED_VISIT, ServiceVisit.visited_on >= since
        )
        conditions.append(recent if filters.last_visit == "within" else ~recent)
    if filters.tiers:
        lowest = list_tiers()[0].code
        conditions.append(func.coalesce(PointsAccount.tier_code, lowest).in_(filters.tiers))
    return conditions


def _segments(dealer_id: int, today: date):
    """Each owner of the dealer with their C3 group of the current period (a CTE)."""
    t = current_thresholds()
    current, _previous = periods(today, t.period_months)
    # Worked out once, whatever the plan: PostgreSQL cannot judge how many owners a C3 group
    # holds, and as a plain subquery it may run the GROUP BY again for every row of a join.
    return (
        member_segments([current], t, dealer_id=dealer_id)
        .cte("c3")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )


def matching_cars(
    dealer_id: int,
    filters: TargetFilters,
    *,
    starts_on: date,
    today: date,
    exclude_campaign_id: int | None = None,
    with_segment: bool = False,
    consenting_only: bool = True,
) -> Select:
    """A query of the matching cars: (vehicle_id, member_id, vin, model, start, segment).

    ``exclude_campaign_id``: leave out the cars already targeted by that campaign (an earlier
    group). ``with_segment``: fill the segment column even when no segment is filtered (the
    target's snapshot); otherwise it is NULL unless filtered on. ``consenting_only``: only
    owners who accepted marketing messages (off: every owner, for a broadcast's counts)."""
    need_segment = bool(filters.segment) or with_segment
    segment_column = None
    query = select(Vehicle.id.label("vehicle_id")).join(Member, Member.id == Vehicle.member_id)
    if need_segment:
        c3 = _segments(dealer_id, today)
        query = query.join(c3, c3.c.member_id == Member.id)
        segment_column = func.coalesce(c3.c.segment0, Segment.MYSTERY_OPPORTUNITY.value)
        if filters.segment:
            query = query.where(c3.c.segment0 == filters.segment)
    if filters.tiers:
        query = query.outerjoin(PointsAccount, PointsAccount.member_id == Member.id)
    query = query.where(*_conditions(dealer_id, filters, starts_on, today, consenting_only))
    if exclude_campaign_id is not None:
        query = query.where(
            ~exists().where(
                CampaignTarget.campaign_id == exclude_campaign_id,
                CampaignTarget.vehicle_id == Vehicle.id,
            )
        )
    return query.add_columns(
        Vehicle.member_id.label("member_id"),
        Vehicle.vin.label("vin"),
        Vehicle.model.label("model"),
        _car_start().label("start"),
        (segment_column if segment_column is not None else null()).label("segment"),
    )


@dataclass(frozen=True)
class MatchCount:
    """How many cars, and how many owners, a selection holds."""

    cars: int
    owners: int


def count_matches(
    dealer_id: int,
    filters: TargetFilters,
    *,
    starts_on: date,
    today: date,
    exclude_campaign_id: int | None = None,
) -> MatchCount:
    """The live count: cars and owners matching ``filters`` (one query)."""
    sub = matching_cars(
        dealer_id,
        filters,
        starts_on=starts_on,
        today=today,
        exclude_campaign_id=exclude_campaign_id,
    ).subquery()
    cars, owners = db.session.execute(
        select(func.count(), func.count(sub.c.member_id.distinct()))
    ).one()
    return MatchCount(cars, owners)


def model_choices(dealer_id: int) -> list[str]:
    """The car models the dealer's owners drive, for the model filter."""
    return list(
        db.session.scalars(
            select(Vehicle.model)
            .join(Member, Member.id == Vehicle.member_id)
            .where(Member.dealer_id == dealer_id)
            .group_by(Vehicle.model)
            .order_by(Vehicle.model)
        )
    )


def describe(filters: TargetFilters) -> list[str]:
    """The filters as short phrases for the campaign page (empty: every car of the dealer)."""
    from app.loyalty.services import tier_label

    parts = []
    if filters.segment:
        parts.append(segment_label(filters.segment))
    if filters.tiers:
        parts.append(", ".join(tier_label(code) for code in filters.tiers))
    if filters.models:
        parts.append(", ".join(filters.models))
    if filters.age_min is not None and filters.age_max is not None:
        parts.append(_("%(low)s–%(high)s years old", low=filters.age_min, high=filters.age_max))
    elif filters.age_min is not None:
        parts.append(_("at least %(low)s years old", low=filters.age_min))
    elif filters.age_max is not None:
        parts.append(_("at most %(high)s years old", high=filters.age_max))
    if filters.plate_prefix:
        parts.append(_("plates %(prefix)s…", prefix=filters.plate_prefix))
    if filters.last_visit == "none_for":
        parts.append(_("no visit for %(days)s days", days=filters.last_visit_days))
    elif filters.last_visit == "within":
        parts.append(_("a visit within %(days)s days", days=filters.last_visit_days))
    if filters.warranty == "in":
        parts.append(_("in warranty"))
    elif filters.warranty == "out":
        parts.append(_("out of warranty"))
    return parts
