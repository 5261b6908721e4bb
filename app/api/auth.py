"""API keys of dealer systems: making, revoking and checking ``Authorization: Bearer`` keys.

A key is ``<prefix>.<secret>``. The prefix finds the row; only the SHA-256 of the whole key is
stored, and it is compared in constant time. A key acts for its dealer only.

Each process keeps the keys it has seen for a short while (``app.core.caches``): every API call
would otherwise read its key's row. A revoked key is forgotten at once, in every process, so
the next call with it is refused.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import g, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, event, or_, select, update
from sqlalchemy.orm import Session

from app.api.models import ApiKey
from app.core.audit import record_audit
from app.core.caches import ProcessCache
from app.core.clock import utcnow
from app.core.database import WRITE_AT_COMMIT
from app.core.errors import DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.members.services import get_dealer_by_code

PREFIX_BYTES = 6  # 12 hex characters
SECRET_BYTES = 32
# Compared against when the prefix is unknown, so a miss costs as much as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()
# When a key was last used is written at most this often: a write per call would queue a
# dealer's calls on the key's row.
LAST_USED_EVERY = timedelta(minutes=1)

KEYS = ProcessCache("api_keys", ttl=60, watches=(ApiKey,))
_USE = "api_key_use"  # the session's note of a key use to write at the commit
_KEYS = ApiKey.__table__
_KEY_BY_PREFIX = select(
    _KEYS.c.id, _KEYS.c.dealer_id, _KEYS.c.key_hash, _KEYS.c.revoked_at, _KEYS.c.last_used_at
).where(_KEYS.c.prefix == bindparam("prefix"))
_MARK_USED = (
    update(_KEYS)
    .where(
        _KEYS.c.id == bindparam("key_id"),
        or_(_KEYS.c.last_used_at.is_(None), _KEYS.c.last_used_at < bindparam("stale")),
    )
    .values(last_used_at=bindparam("now"))
)


@dataclass(frozen=True)
class LiveKey:
    """What a call needs of its key: which it is and its dealer."""

    id: int
    dealer_id: int
    key_hash: str
    revoked: bool
    last_used_at: datetime | None


class Unauthorized(DomainError):
    """No API key, an unknown or wrong one, or a revoked one."""


def hash_key(key: str) -> str:
    """The stored form of a key: hex SHA-256."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    actor, *, dealer_code: str, name: str, now: datetime | None = None
) -> tuple[ApiKey, str]:
    """Make a key for the dealer's system; returns the row and the key, shown only this once."""
    now = now or utcnow()
    dealer = get_dealer_by_code(dealer_code)
    if dealer is None:
        raise NotFound(_l("No dealer has the code %(code)s.", code=dealer_code), field="dealer")
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise ValidationFailed(_l("Name the key in 1 to 64 characters."), field="name")
    prefix = secrets.token_hex(PREFIX_BYTES)
    while db.session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is not None:
        prefix = secrets.token_hex(PREFIX_BYTES)
    key = f"{prefix}.{secrets.token_urlsafe(SECRET_BYTES)}"
    api_key = ApiKey(
        dealer_id=dealer.id, name=name, prefix=prefix, key_hash=hash_key(key), created_at=now
    )
    db.session.add(api_key)
    db.session.flush()
    record_audit(
        actor,
        "api_key.created",
        subject=api_key,
        dealer_id=dealer.id,
        details={"prefix": prefix, "name": name},
        now=now,
    )
    return api_key, key


def revoke_api_key(actor, prefix: str, *, now: datetime | None = None) -> ApiKey:
    """Stop a key from working at once (revoking twice keeps the first time)."""
    now = now or utcnow()
    api_key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix.strip().lower()))
    if api_key is None:
        raise NotFound(_l("No API key has the prefix %(prefix)s.", prefix=prefix), field="prefix")
    if api_key.revoked_at is None:
        api_key.revoked_at = now
        db.session.flush()
        record_audit(
            actor,
            "api_key.revoked",
            subject=api_key,
            dealer_id=api_key.dealer_id,
            details={"prefix": api_key.prefix},
            now=now,
        )
    return api_key


def list_api_keys() -> list[ApiKey]:
    """Every key, by dealer then age."""
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.dealer_id, ApiKey.id)))


def authenticate_key(header: str | None, *, now: datetime | None = None) -> LiveKey:
    """The live key in an ``Authorization: Bearer <key>`` header; raises Unauthorized otherwise."""
    scheme, _, key = (header or "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized(_l("Send your API key as 'Authorization: Bearer <key>'."))
    prefix, dot, _secret = key.partition(".")
    api_key = KEYS.get(prefix, lambda: _load_key(prefix)) if dot and len(prefix) <= 16 else None
    matches = hmac.compare_digest(api_key.key_hash if api_key else _DUMMY_HASH, hash_key(key))
    if api_key is None or not matches:
        raise Unauthorized(_l("This API key is not valid."))
    if api_key.revoked:
        raise Unauthorized(_l("This API key was revoked."))
    now = now or utcnow()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_EVERY:
        # Written when the call's transaction commits (a call that fails saves nothing).
        db.session.info[_USE] = {"key_id": api_key.id, "stale": now - LAST_USED_EVERY, "now": now}
        db.session.info[WRITE_AT_COMMIT] = True
        KEYS.update_on_commit(prefix, replace(api_key, last_used_at=now))
    return api_key


@event.listens_for(Session, "before_commit")
def _write_key_use(session) -> None:
    session.info.pop(WRITE_AT_COMMIT, None)
    if (use := session.info.pop(_USE, None)) is not None:
        # Only if no other process wrote it meanwhile. On the connection, past the session's
        # hooks: when a key was used is not a change the caches must forget.
        session.connection().execute(_MARK_USED, use)


@event.listens_for(Session, "after_transaction_end")
def _forget_key_use(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_USE, None)
        session.info.pop(WRITE_AT_COMMIT, None)


def _load_key(prefix: str) -> LiveKey | None:
    row = db.session.execute(_KEY_BY_PREFIX, {"prefix": prefix}).one_or_none()
    if row is None:
        return None
    revoked = row.revoked_at is not None
    return LiveKey(row.id, row.dealer_id, row.key_hash, revoked, row.last_used_at)


def require_api_key() -> None:
    """Before each API request: the caller's key, its dealer in ``g.api_dealer_id``."""
    api_key = authenticate_key(request.headers.get("Authorization"))
    g.api_key = api_key
    g.api_dealer_id = api_key.dealer_id
