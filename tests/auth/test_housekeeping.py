"""`flask housekeeping`: finished idempotency keys past their replay window, SMS codes expired
a day ago and device sessions ended a month ago are deleted; everything still in use stays."""

from datetime import timedelta

from sqlalchemy import func, select

from app.auth.models import SmsCode, UserSession
from app.core.idempotency import IdempotencyKey, claim_key, record_outcome
from app.extensions import db
from tests.factories import make_dealer, make_member


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def key(user_id: int, name: str, now) -> None:
    row, _ = claim_key(user_id, name.ljust(16, "x"), "redeem", "f" * 64, now=now)
    record_outcome(row, {"redirect": "/me/vouchers"}, now=now)


def session_row(user_id: int, now, *, expires_in: timedelta, revoked: bool = False) -> None:
    db.session.add(
        UserSession(
            user_id=user_id,
            key_hash=f"{now.isoformat()}{expires_in}{revoked}".ljust(64, "0")[:64],
            created_at=now,
            last_seen_at=now,
            expires_at=now + expires_in,
            revoked_at=now if revoked else None,
        )
    )


def test_only_what_no_request_can_use_is_deleted(app, ctx, clock):
    user_id = make_member(make_dealer("SZ01").id).user_id
    start = clock.now()
    key(user_id, "old-key", start)
    session_row(user_id, start, expires_in=timedelta(hours=12), revoked=True)
    session_row(user_id, start, expires_in=timedelta(days=90))  # a phone still remembered
    db.session.add(
        SmsCode(
            mobile="13800000000",
            purpose="login",
            code_hash="0" * 64,
            created_at=start,
            expires_at=start + timedelta(minutes=5),
        )
    )
    clock.advance(days=26)
    key(user_id, "recent-key", clock.now())
    db.session.commit()

    clock.advance(days=5)  # the old key is 31 days old (kept 7), the recent one 5
    result = app.test_cli_runner().invoke(args=["housekeeping"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 idempotency keys, 1 SMS codes, 1 ended sessions." in result.output
    assert db.session.scalars(select(IdempotencyKey.key)).all() == ["recent-key".ljust(16, "x")]
    assert count(SmsCode) == 0
    assert count(UserSession) == 1

    again = app.test_cli_runner().invoke(args=["housekeeping"])
    assert "Deleted 0 idempotency keys, 0 SMS codes, 0 ended sessions." in again.output
