"""A campaign's target groups (目标人群): filters with a live count, the overlap with other
campaigns running at the same time, and the targets a group adds to a draft campaign."""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, case, exists, func, select

from app.auth.models import User
from app.campaigns.access import (
    draft_campaign,
)
from app.campaigns.calls.models import (
    Campaign,
    CampaignGroup,
    CampaignTarget,
)
from app.campaigns.calls.targeting import (
    TargetFilters,
    age_in_years,
    check_filters,
    matching_cars,
)
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.members.outbox import insert_rows


class OverlapNotConfirmed(Conflict):
    """Some of the selected owners are targets of another campaign running at the same time."""


# -------------------------------------------------------------------------------- groups


@dataclass(frozen=True)
class Preview:
    """What a group's filters would add: cars and owners, and the owners already targeted by
    another campaign of the dealer whose window overlaps this one's."""

    cars: int
    owners: int
    overlap_owners: int
    overlap_campaigns: tuple[str, ...]


def _overlapping(campaign: Campaign):
    return select(Campaign.id).where(
        Campaign.dealer_id == campaign.dealer_id,
        Campaign.id != campaign.id,
        Campaign.starts_on <= campaign.ends_on,
        Campaign.ends_on >= campaign.starts_on,
    )


def preview_group(
    campaign: Campaign, filters: TargetFilters, *, now: datetime | None = None
) -> Preview:
    """The live count of a group's filters (cars not yet in the campaign) and the overlap.

    One statement: the chosen cars are worked out once (a CTE used twice, which PostgreSQL
    materialises), then counted with their owners and the owners who are targets of an
    overlapping campaign (an index probe per owner), with the names of those campaigns. (As
    separate statements with the selection as a subquery, PostgreSQL misjudged the size of the
    C3 selection and ran it again per row: longer than a request may take at 100,000 owners.)"""
    today = local_date(now or utcnow())
    chosen = matching_cars(
        campaign.dealer_id,
        filters,
        starts_on=campaign.starts_on,
        today=today,
        exclude_campaign_id=campaign.id,
    ).cte("chosen")
    others = _overlapping(campaign)
    elsewhere = exists().where(
        CampaignTarget.member_id == chosen.c.member_id, CampaignTarget.campaign_id.in_(others)
    )
    counts = (
        select(
            func.count().label("cars"),
            func.count(chosen.c.member_id.distinct()).label("owners"),
            func.count(case((elsewhere, chosen.c.member_id)).distinct()).label("overlap"),
        )
        .select_from(chosen)
        .cte("counts")
    )
    shares_owners = exists().where(
        CampaignTarget.campaign_id == Campaign.id,
        CampaignTarget.member_id.in_(select(chosen.c.member_id)),
    )
    rows = db.session.execute(
        select(counts.c.cars, counts.c.owners, counts.c.overlap, Campaign.name)
        .select_from(counts)
        .outerjoin(Campaign, and_(Campaign.id.in_(others), shares_owners))
        .order_by(Campaign.starts_on, Campaign.id)
    ).all()
    cars, owners, overlap = rows[0][:3]
    if cars == 0:
        return Preview(0, 0, 0, ())
    names = tuple(row.name for row in rows if row.name is not None) if overlap else ()
    return Preview(cars, owners, overlap, names)


def overlap_message(preview: Preview) -> str:
    """The warning a manager confirms before saving a group whose owners overlap."""
    return _(
        "%(owners)s of these owners are also targets of %(campaigns)s, running at the same time. "
        "Tick the box to save the group anyway.",
        owners=preview.overlap_owners,
        campaigns="、".join(preview.overlap_campaigns),
    )


def add_group(
    actor: User,
    campaign_id: int,
    *,
    name: str,
    filters: TargetFilters,
    goal_success_rate_pct: int | None = None,
    confirm_overlap: bool = False,
    now: datetime | None = None,
) -> CampaignGroup:
    """Add a target group to a draft campaign: its cars become targets (a car already in an
    earlier group is not added twice). Refused, with nothing saved, when no car matches, and
    when some owners are targets of an overlapping campaign and the manager has not confirmed."""
    campaign = draft_campaign(actor, campaign_id)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the group a name."), field="name")
    if len(name) > 120:
        raise ValidationFailed(_("A name has at most 120 characters."), field="name")
    if goal_success_rate_pct is not None and not 1 <= goal_success_rate_pct <= 100:
        raise ValidationFailed(_("A success rate is 1 to 100 %."), field="goal_success_rate_pct")
    check_filters(filters, campaign.dealer_id)
    now = now or utcnow()
    preview = preview_group(campaign, filters, now=now)
    if preview.cars == 0:
        raise ValidationFailed(
            _(
                "No car matches these filters (cars already in an earlier group do not count "
                "again): nothing was saved. Widen the filters."
            )
        )
    if preview.overlap_owners and not confirm_overlap:
        raise OverlapNotConfirmed(overlap_message(preview), field="confirm_overlap")
    position = (
        db.session.scalar(
            select(func.max(CampaignGroup.position)).where(CampaignGroup.campaign_id == campaign.id)
        )
        or 0
    ) + 1
    group = CampaignGroup(
        campaign_id=campaign.id,
        position=position,
        name=name,
        filters=filters.to_json(),
        goal_success_rate_pct=goal_success_rate_pct,
    )
    db.session.add(group)
    db.session.flush()
    cars = db.session.execute(
        matching_cars(
            campaign.dealer_id,
            filters,
            starts_on=campaign.starts_on,
            today=local_date(now),
            exclude_campaign_id=campaign.id,
            with_segment=True,
        )
    ).all()
    rows = [
        {
            "campaign_id": campaign.id,
            "group_id": group.id,
            "member_id": car.member_id,
            "vehicle_id": car.vehicle_id,
            "vin": car.vin,
            "segment": car.segment,
            "model": car.model[:64],
            "age_years": age_in_years(car.start, campaign.starts_on),
            "agent_id": None,
            "outcome": None,
            "round": 1,
            "second_round_on": None,
            "invited_at": None,
            "created_at": now,
        }
        for car in cars
    ]
    insert_rows(CampaignTarget, rows)
    record_audit(
        actor,
        "campaign.group_added",
        subject=campaign,
        dealer_id=campaign.dealer_id,
        details={
            "group": name,
            "filters": filters.to_json(),
            "cars": len(rows),
            "overlap_owners": preview.overlap_owners,
        },
        now=now,
    )
    return group


def remove_group(
    actor: User, campaign_id: int, group_id: int, *, now: datetime | None = None
) -> None:
    """Remove a target group and its targets from a draft campaign; audited."""
    campaign = draft_campaign(actor, campaign_id)
    group = db.session.get(CampaignGroup, group_id)
    if group is None or group.campaign_id != campaign.id:
        raise NotFound(_("No such group."))
    cars = db.session.execute(
        CampaignTarget.__table__.delete().where(CampaignTarget.group_id == group.id)
    ).rowcount
    name = group.name
    db.session.delete(group)
    db.session.flush()
    db.session.expire(campaign, ["groups"])
    record_audit(
        actor,
        "campaign.group_removed",
        subject=campaign,
        dealer_id=campaign.dealer_id,
        details={"group": name, "cars": cars},
        now=now,
    )


def checked_preview(campaign: Campaign, filters: TargetFilters) -> Preview:
    """The live count of filters the manager is still choosing; ValidationFailed (naming the
    field) for filters the group could not be saved with."""
    check_filters(filters, campaign.dealer_id)
    return preview_group(campaign, filters)
