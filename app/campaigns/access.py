"""Who may see which campaign: a dealer's staff their dealer's, HQ every dealer's; who may
change one: its managers; and who may open an owner of a call list: the target's agent or a
manager. Shared by the rooms (calls, results)."""

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import Select, select

from app.auth.models import User
from app.campaigns.calls.models import Campaign, CampaignStatus, CampaignTarget
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.core.permissions import Role, has_permission
from app.extensions import db
from app.members.models import Member


def visible_campaigns(actor: User, dealer_id: int | None = None) -> Select:
    """A query of the campaigns ``actor`` may see (of dealer ``dealer_id`` only, when given),
    newest window first."""
    query = select(Campaign).order_by(Campaign.starts_on.desc(), Campaign.id.desc())
    if actor.role != Role.HQ_ADMIN:
        query = query.where(Campaign.dealer_id == actor.dealer_id)
    if dealer_id is not None:
        query = query.where(Campaign.dealer_id == dealer_id)
    return query


def load_campaign(actor: User, campaign_id: int, *, lock: bool = False) -> Campaign:
    """The campaign if ``actor`` may see it; NotFound otherwise (a dealer's staff cannot tell
    another dealer's campaigns from missing ones). ``lock``: the row is locked for update."""
    query = select(Campaign).where(Campaign.id == campaign_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    campaign = db.session.scalars(query).one_or_none()
    if campaign is None or (actor.role != Role.HQ_ADMIN and campaign.dealer_id != actor.dealer_id):
        raise NotFound(_("No such campaign."))
    return campaign


def get_campaign(actor: User, campaign_id: int) -> Campaign:
    """The campaign, or 404 (see ``load_campaign``)."""
    try:
        return load_campaign(actor, campaign_id)
    except NotFound:
        abort(404)


def managed_campaign(actor: User, campaign_id: int, *, lock: bool = False) -> Campaign:
    """The campaign, for an action only managers may take."""
    if not has_permission(actor, "campaigns.manage"):
        raise Forbidden(_("Only a manager may change a campaign."))
    return load_campaign(actor, campaign_id, lock=lock)


def draft_campaign(actor: User, campaign_id: int) -> Campaign:
    """The draft campaign, locked, for a manager to change its details or target groups."""
    campaign = managed_campaign(actor, campaign_id, lock=True)
    if campaign.status != CampaignStatus.DRAFT:
        raise ValidationFailed(
            _("This campaign is launched: its details and target groups can no longer change.")
        )
    return campaign


def may_call(actor: User, target: CampaignTarget) -> bool:
    """Whether ``actor`` may open and record calls of ``target``: its agent, or a manager."""
    if not has_permission(actor, "campaigns.call"):
        return False
    return target.agent_id == actor.id or has_permission(actor, "campaigns.manage")


def still_the_dealers(target: CampaignTarget) -> bool:
    """Whether the target's owner still belongs to the campaign's dealer (an approved chapter
    transfer moves them away: the old dealer no longer calls them)."""
    dealer_id = db.session.scalar(select(Member.dealer_id).where(Member.id == target.member_id))
    return dealer_id == target.campaign.dealer_id


def get_target(actor: User, target_id: int, *, to_call: bool = True) -> CampaignTarget:
    """A target of a campaign ``actor`` may see whose owner is still the dealer's, or 404.
    ``to_call``: also 404 unless ``actor`` may call it (another agent's owner stays unseen)."""
    target = db.session.get(CampaignTarget, target_id)
    if target is None:
        abort(404)
    get_campaign(actor, target.campaign_id)
    if not still_the_dealers(target) or (to_call and not may_call(actor, target)):
        abort(404)
    return target
