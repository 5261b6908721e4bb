"""Participation, the one rule the call lists, the results and the callbacks share: a target
(a car on a campaign's list) participates when a counted service visit of its car at the
campaign's dealer has its day inside the campaign's window (both days included); refunded
visits never count. Such a target "came" and needs no call."""

from sqlalchemy import and_, exists, select

from app.campaigns.calls.models import Campaign, CampaignTarget
from app.extensions import db
from app.service.models import COUNTED_VISIT, ServiceVisit


def participating_visits(campaign, vehicle_id):
    """The condition that a service visit counts for ``campaign``'s car ``vehicle_id``: a
    Campaign, or the Campaign class to match each row with its own campaign."""
    return and_(
        ServiceVisit.vehicle_id == vehicle_id,
        ServiceVisit.dealer_id == campaign.dealer_id,
        ServiceVisit.visited_on >= campaign.starts_on,
        ServiceVisit.visited_on <= campaign.ends_on,
        COUNTED_VISIT,
    )


def came_condition():
    """SQL: the target's car had a visit that counts for its campaign (Campaign must be in the
    query): the same condition as the results' participation, so the call list's "came" and
    the results page never disagree."""
    return exists().where(participating_visits(Campaign, CampaignTarget.vehicle_id))


def has_come(target: CampaignTarget) -> bool:
    """Whether the target's car came for service at the dealer inside the campaign's window."""
    came = exists().where(participating_visits(target.campaign, target.vehicle_id))
    return bool(db.session.scalar(select(came)))
