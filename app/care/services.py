"""In-app messages: write one once, list them, mark them read."""

from datetime import datetime

from flask_babel import force_locale
from sqlalchemy import func, select, update

from app.care.models import Notification
from app.core.clock import utcnow
from app.extensions import db
from app.members.models import Member


def notify(
    member: Member,
    kind: str,
    render,
    *,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> Notification | None:
    """Put a message in the member's inbox, in their language; once per ``dedupe_key``.

    ``render()`` returns ``(title, body)`` and runs with the member's language active.
    """
    if dedupe_key and db.session.scalar(
        select(Notification.id).where(Notification.dedupe_key == dedupe_key)
    ):
        return None
    with force_locale(member.user.locale or "zh"):
        title, body = (str(part) for part in render())
    message = Notification(
        member_id=member.id,
        kind=kind,
        title=title,
        body=body,
        dedupe_key=dedupe_key,
        created_at=now or utcnow(),
    )
    db.session.add(message)
    db.session.flush()
    return message


def inbox_query(member: Member):
    """The member's messages, newest first."""
    return (
        select(Notification)
        .where(Notification.member_id == member.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def unread_count(member: Member) -> int:
    """How many messages the member has not opened."""
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.member_id == member.id, Notification.read_at.is_(None)
        )
    )


def mark_all_read(member: Member, *, now: datetime | None = None) -> None:
    """The member has seen their inbox."""
    db.session.execute(
        update(Notification)
        .where(Notification.member_id == member.id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
    )
