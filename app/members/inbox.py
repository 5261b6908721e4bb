"""The owner's inbox and how they want to hear from the club.

``notify`` is how every domain (events, referrals, tiers, deliveries, transfers) tells an owner
something: the message goes to the inbox at once and, through the outbox, to the e-mail and SMS
channels the owner chose (see app/members/outbox.py).
"""

import re
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.extensions import db
from app.members.models import Member, Notification, OutboxMessage
from app.members.outbox import OutboxStatus, member_channels, queue_message, render_for

# Enough to catch typos (a missing @ or domain); the mail server is the real judge.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def notify(
    member: Member,
    kind: str,
    render,
    *,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> Notification | None:
    """Put a message in the member's inbox, in their language; once per ``dedupe_key``.

    ``render()`` returns ``(title, body)`` and runs with the member's language active. The same
    message is queued for the member's e-mail and SMS channels.
    """
    if dedupe_key and db.session.scalar(
        select(Notification.id).where(Notification.dedupe_key == dedupe_key)
    ):
        return None
    now = now or utcnow()
    title, body = render_for(member, render)
    message = Notification(
        member_id=member.id,
        kind=kind,
        title=title,
        body=body,
        dedupe_key=dedupe_key,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    queue_message(
        member,
        kind,
        title,
        body,
        key=dedupe_key or f"notification:{message.id}",
        channels=member_channels(member),
        inbox_written=True,
        now=now,
    )
    return message


def inbox_query(member: Member):
    """The member's messages, newest first."""
    return (
        select(Notification)
        .where(Notification.member_id == member.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def unread_messages(member_id):
    """How many messages the member has not opened, as a scalar subquery (``member_id`` a
    value or a column of the enclosing statement)."""
    return (
        select(func.count(Notification.id))
        .where(Notification.member_id == member_id, Notification.read_at.is_(None))
        .scalar_subquery()
    )


def unread_count(member: Member) -> int:
    """How many messages the member has not opened."""
    return db.session.scalar(select(unread_messages(member.id)))


def mark_all_read(member: Member, *, now: datetime | None = None) -> None:
    """The member has seen their inbox."""
    db.session.execute(
        update(Notification)
        .where(Notification.member_id == member.id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
    )


def update_channels(
    member: Member,
    *,
    email: str,
    notify_email: bool,
    notify_sms: bool,
    marketing_opt_in: bool,
    now: datetime | None = None,
) -> Member:
    """Save how the owner wants to hear from the club; the inbox always gets everything."""
    now = now or utcnow()
    email = (email or "").strip()
    if email and not EMAIL_PATTERN.match(email):
        raise ValidationFailed(
            _l("Enter an e-mail address such as name@example.com."), field="email"
        )
    if notify_email and not email:
        raise ValidationFailed(_l("Enter your e-mail address, or turn e-mail off."), field="email")
    member.email = email or None
    member.notify_email = notify_email
    member.notify_sms = notify_sms
    if member.marketing_opt_in != marketing_opt_in:
        member.marketing_opt_in = marketing_opt_in
        member.marketing_changed_at = now
    db.session.flush()
    return member


def erase_messages(member: Member) -> int:
    """Erase what the club wrote to the owner (their account is being deleted): the inbox is
    emptied; outbox rows keep only their channel, kind, status and times (the delivery log),
    those still pending are skipped. Returns the inbox messages erased."""
    erased = db.session.execute(
        Notification.__table__.delete().where(Notification.member_id == member.id)
    ).rowcount
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.member_id == member.id,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.SKIPPED, last_error="account closed")
    )
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.member_id == member.id)
        .values(subject="", body="")
    )
    db.session.flush()
    return erased
