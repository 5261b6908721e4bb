"""Who may see which campaign: a dealer's staff their dealer's, HQ every dealer's."""

from flask import abort
from sqlalchemy import Select, select

from app.auth.models import User
from app.campaigns.models import Campaign, CampaignTarget
from app.core.permissions import Role
from app.extensions import db


def visible_campaigns(actor: User) -> Select:
    """A query of the campaigns ``actor`` may see, newest window first."""
    query = select(Campaign).order_by(Campaign.starts_on.desc(), Campaign.id.desc())
    if actor.role != Role.HQ_ADMIN:
        query = query.where(Campaign.dealer_id == actor.dealer_id)
    return query


def get_campaign(actor: User, campaign_id: int) -> Campaign:
    """The campaign, or 404 when it does not exist or belongs to another dealer (a dealer's
    staff cannot tell another dealer's campaigns from missing ones)."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or (actor.role != Role.HQ_ADMIN and campaign.dealer_id != actor.dealer_id):
        abort(404)
    return campaign


def get_target(actor: User, campaign: Campaign, target_id: int) -> CampaignTarget:
    """A target of ``campaign``, or 404."""
    target = db.session.get(CampaignTarget, target_id)
    if target is None or target.campaign_id != campaign.id:
        abort(404)
    return target
