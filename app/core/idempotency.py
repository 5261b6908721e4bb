"""Every owner action once (R13): an idempotency key per rendered form or client request.

Stripe's model. A form carries a fresh key in a hidden ``idempotency_key`` field (the
``once_key()`` macro draws one per page view); a JSON client sends an ``Idempotency-Key``
header. The first request with a key claims it by inserting a row that is unique per user
and key, in the same transaction as the action itself:

* a concurrent duplicate (a double tap) waits on that unique index and, once the first request
  has committed, replays its outcome: the same redirect and the same flashed message;
* a later replay of a finished key answers the first outcome too, without doing anything;
* the same key with other content (another reward, other form fields) is a 409;
* an action that fails rolls its transaction back, key included: the owner can try again.

A form posted without a key (a page rendered before keys existed) still works, once per post:
it is not deduplicated, since nothing the server could derive from it (the CSRF token, the
content) tells a retry from a second, wanted action of the same kind.
"""

import hashlib
import json
import re
import secrets
from datetime import datetime
from enum import StrEnum
from functools import wraps

from flask import flash, jsonify, make_response, redirect, render_template, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.models import string_enum
from app.core.states import StateMachine
from app.extensions import db

KEY_FIELD = "idempotency_key"
KEY_HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Fields that differ between two posts of one rendered form without changing what it asks.
_NOT_CONTENT = frozenset({KEY_FIELD, "csrf_token"})
_MAX_REPLAY_BODY = 64_000


class KeyStatus(StrEnum):
    """A key is in progress while its action runs (inside its transaction), then done."""

    IN_PROGRESS = "in_progress"
    DONE = "done"


# A key is claimed (in progress) with the action and done with its outcome, in one transaction.
KEY = StateMachine(
    KeyStatus,
    {KeyStatus.IN_PROGRESS: {KeyStatus.DONE}, KeyStatus.DONE: set()},
    name="idempotency key",
)


class IdempotencyKey(db.Model):
    """One owner action's key, what was asked with it, and the answer to replay."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[KeyStatus] = mapped_column(
        string_enum(KeyStatus),
        default=KeyStatus.IN_PROGRESS,
    )
    outcome: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class KeyReused(Exception):
    """The key was used before for another request."""


def new_idempotency_key() -> str:
    """A fresh key for one rendered form."""
    return secrets.token_urlsafe(16)


def request_fingerprint(action: str) -> str:
    """sha256 of what the request asks: action, address, form fields (less key and CSRF token),
    JSON body."""
    form = sorted((k, v) for k, v in request.form.items(multi=True) if k not in _NOT_CONTENT)
    content = {
        "action": action,
        "path": request.path,
        "form": form,
        "json": request.get_json(silent=True) if request.is_json else None,
    }
    raw = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _find_key(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        select(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )


def claim_key(
    user_id: int, key: str, action: str, fingerprint: str, *, now: datetime | None = None
) -> tuple[IdempotencyKey, bool]:
    """Claim ``key`` for this request: ``(row, True)`` when it is ours to act on, ``(row,
    False)`` when an earlier request holds it (its outcome to replay, or KeyReused to raise).

    The insert is the request's first write: a concurrent request with the same key waits on
    the unique index (PostgreSQL's row lock, SQLite's write lock) until the first commits.
    """
    existing = _find_key(user_id, key)
    if existing is None:
        row = IdempotencyKey(
            user_id=user_id,
            key=key,
            action=action,
            fingerprint=fingerprint,
            status=KeyStatus.IN_PROGRESS,
            created_at=now or utcnow(),
        )
        db.session.add(row)
        try:
            db.session.flush()
            return row, True
        except IntegrityError:
            # Nothing of this request's own is written yet: the whole transaction can go.
            db.session.rollback()
            existing = _find_key(user_id, key)
    if existing is None or existing.fingerprint != fingerprint or existing.action != action:
        raise KeyReused(key)
    return existing, False


def record_outcome(row: IdempotencyKey, outcome: dict, *, now: datetime | None = None) -> None:
    """Mark the key done with the answer to give its replays."""
    KEY.move(row, KeyStatus.DONE)
    row.outcome = outcome
    row.finished_at = now or utcnow()
    db.session.flush()


def _outcome_of(response, flashes: list) -> dict:
    if 300 <= response.status_code < 400:
        return {
            "status": response.status_code,
            "location": response.headers.get("Location"),
            "flashes": flashes,
        }
    body = response.get_data(as_text=True)
    return {
        "status": response.status_code,
        "mimetype": response.mimetype,
        "body": body if len(body) <= _MAX_REPLAY_BODY else "",
        "flashes": flashes,
    }


def _replay(outcome: dict):
    for category, message in outcome.get("flashes") or []:
        flash(message, category)
    if outcome.get("location"):
        return redirect(outcome["location"], outcome["status"])
    response = make_response(outcome.get("body", ""), outcome["status"])
    response.mimetype = outcome.get("mimetype") or "text/html"
    return response


def _wants_json() -> bool:
    return (
        request.path.startswith("/api/")
        or request.is_json
        or (request.accept_mimetypes.best == "application/json")
    )


def reused_key_response(message=None, status: int = 409):
    """409: the key came before with other content (or its first request has not finished)."""
    message = message or _l(
        "This form was already sent with other choices. Reload the page and try again."
    )
    if _wants_json():
        code = "idempotency_key_reused" if status == 409 else "bad_request"
        response = jsonify({"error": {"code": code, "message": str(message)}})
        response.status_code = status
        return response
    title = _l("Already sent") if status == 409 else _l("Bad request")
    return render_template("errors/error.html", code=status, title=title, message=message), status


def once(action: str):
    """Run a POST view at most once per idempotency key of the signed-in user (see module)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = request.form.get(KEY_FIELD) or request.headers.get(KEY_HEADER)
            if request.method != "POST" or not key:
                return view(*args, **kwargs)
            if not KEY_PATTERN.match(key):
                return reused_key_response(_l("This form is not valid. Reload the page."), 400)
            try:
                row, first = claim_key(current_user.id, key, action, request_fingerprint(action))
            except KeyReused:
                return reused_key_response()
            if not first:
                if row.status != KeyStatus.DONE:
                    return reused_key_response()
                return _replay(row.outcome)
            flashed = len(session.get("_flashes", []))
            response = make_response(view(*args, **kwargs))
            # A failed action rolled back (the key with it) or answers >= 400 (rolled back by
            # the request's commit hook): nothing to replay, the owner may try again.
            if response.status_code < 400 and inspect(row).persistent:
                flashes = [[c, str(m)] for c, m in session.get("_flashes", [])[flashed:]]
                record_outcome(row, _outcome_of(response, flashes))
            return response

        return wrapper

    return decorate
