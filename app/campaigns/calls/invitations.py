"""A launched campaign's invitations: one per targeted owner, through the outbox."""

from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.campaigns.calls.models import (
    Campaign,
    CampaignTarget,
)
from app.core.clock import utcnow
from app.extensions import db
from app.members.models import Member
from app.members.outbox import Channel, Message, load_recipients, queue_messages
from app.members.outbox import recipient_channels as owner_channels

INVITATION_KIND = "campaign_invitation"
# Invitations go to the owner's inbox and by SMS (when they keep SMS on), never by e-mail.
INVITATION_CHANNELS = (Channel.IN_APP, Channel.SMS)


def _invitation_text(campaign: Campaign, locale: str) -> tuple[str, str]:
    with force_locale(locale):
        title = _("Invitation: %(name)s", name=campaign.name)
        body = _(
            "From %(first)s to %(last)s. %(offer)s",
            first=campaign.starts_on.isoformat(),
            last=campaign.ends_on.isoformat(),
            offer=campaign.offer,
        ).strip()
    return title, body


def queue_invitations(campaign: Campaign, *, now: datetime | None = None) -> int:
    """Queue one invitation per owner targeted by ``campaign`` (however many of their cars it
    holds) through the outbox: inbox and SMS as the owner chose; marketing, so owners without
    the marketing opt-in get nothing. Owners who have since moved to another dealer are left
    out. The dedupe key names campaign and owner: a rerun queues nothing twice. Returns how
    many outbox rows were created."""
    now = now or utcnow()
    member_ids = list(
        db.session.scalars(
            select(CampaignTarget.member_id)
            .join(Member, Member.id == CampaignTarget.member_id)
            .where(
                CampaignTarget.campaign_id == campaign.id,
                Member.dealer_id == campaign.dealer_id,
            )
            .distinct()
            .order_by(CampaignTarget.member_id)
        )
    )
    recipients = load_recipients(set(member_ids))
    texts: dict[str, tuple[str, str]] = {}
    messages = []
    for member_id in member_ids:
        recipient = recipients[member_id]
        if recipient.locale not in texts:
            texts[recipient.locale] = _invitation_text(campaign, recipient.locale)
        title, body = texts[recipient.locale]
        channels = tuple(c for c in owner_channels(recipient) if c in INVITATION_CHANNELS)
        messages.append(
            Message(
                recipient,
                INVITATION_KIND,
                title,
                body,
                f"campaign:{campaign.id}:member:{member_id}:round:1",
                channels,
                marketing=True,
            )
        )
    return len(queue_messages(messages, now=now)) if messages else 0
