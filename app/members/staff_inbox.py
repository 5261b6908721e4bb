"""Notices to staff on their desk: what a daily job hands to a person (an overdue complaint
escalated to the dealer's admins). Staff have no e-mail address and no owner's inbox; the desk
(/admin/) shows how many are unread and /admin/notices lists them.

Each notice is written once per ``dedupe_key`` (an insert that skips a duplicate, so a rerun of
the job or a second host running it adds nothing), in the staff member's language.
"""

from datetime import datetime

from flask_babel import force_locale
from sqlalchemy import func, select, update

from app.auth.models import User
from app.core.clock import utcnow
from app.extensions import db
from app.members.models import StaffNotice
from app.members.outbox import DEFAULT_LOCALE, insert_new


def notify_staff(
    user: User, kind: str, render, *, dedupe_key: str, link: str = "", now: datetime | None = None
) -> bool:
    """Put a notice on ``user``'s desk, once per ``dedupe_key``; ``render()`` gives (title,
    body) and runs in their language. Returns whether this call wrote it."""
    with force_locale(user.locale or DEFAULT_LOCALE):
        title, body = (str(part) for part in render())
    row = {
        "user_id": user.id,
        "kind": kind,
        "title": title[:200],
        "body": body,
        "link": link[:200],
        "dedupe_key": dedupe_key[:128],
        "created_at": now or utcnow(),
    }
    return bool(insert_new(StaffNotice, [row], "dedupe_key"))


def notices_query(user: User):
    """The staff member's notices, newest first."""
    return (
        select(StaffNotice)
        .where(StaffNotice.user_id == user.id)
        .order_by(StaffNotice.created_at.desc(), StaffNotice.id.desc())
    )


def notice_counts(user: User) -> tuple[int, int]:
    """How many notices the staff member has, and how many of them they have not opened."""
    total, opened = db.session.execute(
        select(func.count(StaffNotice.id), func.count(StaffNotice.read_at)).where(
            StaffNotice.user_id == user.id
        )
    ).one()
    return total, total - opened


def mark_notices_read(user: User, *, now: datetime | None = None) -> None:
    """The staff member has seen their notices."""
    db.session.execute(
        update(StaffNotice)
        .where(StaffNotice.user_id == user.id, StaffNotice.read_at.is_(None))
        .values(read_at=now or utcnow())
    )
