"""Invitations to an event, chosen with the campaign filters (邀请对象人员筛选): the filters
choose cars of the event's dealer (app/campaigns/calls/targeting.py, as broadcasts do), their
active owners are the audience, and app/events/invitations.py decides whom of them it invites
(once each) and tracks what became of each invitation."""

from datetime import datetime

from app.auth.models import User
from app.campaigns.broadcasts.services import audience
from app.campaigns.calls.targeting import TargetFilters, check_filters, describe
from app.core.clock import local_date, utcnow
from app.events.invitations import InvitePlan, invitations_for_staff, invite, plan_invitations
from app.events.models import Event


def _audience(event: Event, filters: TargetFilters, now: datetime):
    """The owners the filters choose among the event's dealer's (ValidationFailed for
    filters that cannot be applied)."""
    check_filters(filters, event.dealer_id)
    return audience(event.dealer_id, filters, local_date(now))


def count_invitations(
    actor: User, event_id: int, filters: TargetFilters, *, now: datetime | None = None
) -> InvitePlan:
    """Whom ``filters`` would invite to the event now, and whom they leave out."""
    now = now or utcnow()
    event = invitations_for_staff(actor, event_id)
    return plan_invitations(event, _audience(event, filters, now))


def invite_owners(
    actor: User, event_id: int, filters: TargetFilters, *, now: datetime | None = None
) -> InvitePlan:
    """Invite the owners ``filters`` choose to the event (each owner once, however many
    rounds choose them)."""
    now = now or utcnow()
    event = invitations_for_staff(actor, event_id)
    chosen = _audience(event, filters, now)
    return invite(actor, event, chosen, described=" · ".join(describe(filters)), now=now)
