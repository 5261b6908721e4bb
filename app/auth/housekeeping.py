"""The daily clean-up of rows that only served a moment: finished idempotency keys past their
replay window, one-time codes long expired, device sessions long ended.

Each purge is one set-based DELETE by date; a rerun finds nothing. Nothing an owner or an
auditor reads is purged: points, audit entries and messages stay.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func

from app.auth.models import SmsCode, UserSession
from app.core.clock import utcnow
from app.core.idempotency import IdempotencyKey, KeyStatus
from app.extensions import db

# A code answers for 5 minutes; the hourly sending limit counts the last hour's codes.
_CODES_KEPT = timedelta(days=1)


@dataclass(frozen=True)
class Purged:
    """How many rows of each kind went."""

    keys: int
    codes: int
    sessions: int


def purge(*, now: datetime | None = None) -> Purged:
    """Delete what no request can use any more, as of ``now``."""
    now = now or utcnow()
    config = current_app.config
    keys = db.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.status == KeyStatus.DONE,
            IdempotencyKey.created_at < now - timedelta(days=config["IDEMPOTENCY_KEY_DAYS"]),
        )
    ).rowcount
    codes = db.session.execute(
        delete(SmsCode).where(SmsCode.expires_at < now - _CODES_KEPT)
    ).rowcount
    ended = func.coalesce(UserSession.revoked_at, UserSession.expires_at)
    sessions = db.session.execute(
        delete(UserSession).where(
            ended < now - timedelta(days=config["ENDED_SESSIONS_KEPT_DAYS"]),
            (UserSession.revoked_at.is_not(None)) | (UserSession.expires_at < now),
        )
    ).rowcount
    return Purged(keys=keys, codes=codes, sessions=sessions)
