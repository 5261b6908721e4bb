"""Signed-in devices (R12): sessions the server can end.

Flask-Login keeps ``user.get_id()`` in the session cookie and, signed, in the remember-me
cookie. Here that id is not the user's id but a random key made for each sign-in (Flask-Login's
"alternative token"); the ``user_sessions`` row it names decides whether the cookie still
works. Logout, a password change and "log out everywhere" revoke rows, so a copied or replayed
cookie (session or remember-me) stops working at once, and idle and absolute timeouts hold on
the server whatever the browser keeps. Only the key's SHA-256 is stored.
"""

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from functools import cache

from flask import current_app, has_request_context, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import contains_eager

from app.auth.models import User, UserSession
from app.core.clock import utcnow
from app.core.errors import NotFound
from app.core.signals import sessions_ended
from app.extensions import db

# last_seen_at is written at most this often: no write on every page.
TOUCH_EVERY = timedelta(minutes=5)
_KEY_MAX = 64


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _idle_limit(remember: bool) -> timedelta:
    cfg = current_app.config
    if remember:
        return timedelta(days=cfg["REMEMBER_COOKIE_DURATION_DAYS"])
    return timedelta(minutes=cfg["SESSION_IDLE_MINUTES"])


def _absolute_limit(remember: bool) -> timedelta:
    cfg = current_app.config
    if remember:
        return timedelta(days=cfg["REMEMBER_ABSOLUTE_DAYS"])
    return timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"])


def _attach(user: User, key: str, row: UserSession) -> None:
    """Make ``user.get_id()`` give this sign-in's key and remember its device row."""
    user.session_key = key
    user.device_session = row


def start_session(user: User, *, remember: bool = False, now: datetime | None = None) -> None:
    """Sign ``user`` in on this device: a new revocable session, then Flask-Login's login."""
    now = now or utcnow()
    key = secrets.token_urlsafe(32)
    agent = request.headers.get("User-Agent", "") if has_request_context() else ""
    row = UserSession(
        user_id=user.id,
        key_hash=_hash(key),
        remember=remember,
        user_agent=agent[:255],
        created_at=now,
        last_seen_at=now,
        expires_at=now + _absolute_limit(remember),
    )
    db.session.add(row)
    db.session.flush()
    _attach(user, key, row)
    user.last_login_at = now
    login_user(user, remember=remember)


def is_alive(row: UserSession, now: datetime) -> bool:
    """True while the device session is neither revoked, past its end, nor idle too long."""
    return (
        row.revoked_at is None
        and now < row.expires_at
        and now - row.last_seen_at < _idle_limit(row.remember)
    )


@cache
def _session_query():
    # One statement for every request: the device row, its user, the owner's profile and the
    # staff's dealer (every page uses them). Built once (making it costs more than running
    # it), joined by hand so that the ORM fills the relationships from the row (cheaper than
    # joinedload's).
    return (
        select(UserSession)
        .join(UserSession.user)
        .outerjoin(User.member)
        .outerjoin(User.dealer)
        .where(UserSession.key_hash == bindparam("key_hash"))
        .options(
            contains_eager(UserSession.user).options(
                contains_eager(User.member), contains_eager(User.dealer)
            )
        )
    )


def load_session_user(key: str) -> User | None:
    """Flask-Login loader: the user of a live device session, with member and dealer loaded."""
    if not key or len(key) > _KEY_MAX:
        return None
    row = db.session.scalar(_session_query(), {"key_hash": _hash(key)})
    now = utcnow()
    if row is None or not is_alive(row, now):
        return None
    user = row.user
    if not user.active or user.deleted_at is not None:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        if row.remember and has_request_context():
            # Slide the remember-me cookie's expiry with use: it is the idle limit.
            session["_remember"] = "set"
    _attach(user, key, row)
    return user


def current_device() -> UserSession | None:
    """The device session of this request's user, if signed in."""
    return getattr(current_user, "device_session", None)


def end_session(*, now: datetime | None = None) -> None:
    """Log out: revoke this device's session on the server, then forget the cookies."""
    row = current_device()
    if row is not None and row.revoked_at is None:
        row.revoked_at = now or utcnow()
    logout_user()


def _live(user_id: int, now: datetime):
    """Conditions of the live sessions of ``user_id`` (SQL twin of :func:`is_alive`)."""
    return and_(
        UserSession.user_id == user_id,
        UserSession.revoked_at.is_(None),
        UserSession.expires_at > now,
        or_(
            and_(
                UserSession.remember.is_(True),
                UserSession.last_seen_at > now - _idle_limit(True),
            ),
            and_(
                UserSession.remember.is_(False),
                UserSession.last_seen_at > now - _idle_limit(False),
            ),
        ),
    )


def end_all_sessions(user: User, *, keep_current: bool, now: datetime | None = None) -> int:
    """Revoke every live session of ``user`` (but this device's with ``keep_current``);
    returns how many ended."""
    now = now or utcnow()
    current = getattr(user, "device_session", None)
    ended = 0
    for row in list_devices(user, now=now):
        if not (keep_current and row is current):
            row.revoked_at = now
            ended += 1
    sessions_ended.send(user, now=now)
    return ended


def list_devices(user: User, *, now: datetime | None = None) -> list[UserSession]:
    """The live sessions of ``user``, most recently seen first."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(UserSession)
            .where(_live(user.id, now))
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def end_device(user: User, device_id: int, *, now: datetime | None = None) -> UserSession:
    """Revoke one live session of ``user``; NotFound for another user's or an ended one."""
    now = now or utcnow()
    row = db.session.get(UserSession, device_id)
    if row is None or row.user_id != user.id or not is_alive(row, now):
        raise NotFound(_l("This device is not signed in."))
    row.revoked_at = now
    return row


# Most specific first: WeChat's browser says Chrome and Safari too.
_BROWSERS = (
    ("MicroMessenger", "WeChat"),
    ("Edg", "Edge"),
    ("OPR", "Opera"),
    ("SamsungBrowser", "Samsung Internet"),
    ("UCBrowser", "UC Browser"),
    ("QQBrowser", "QQ Browser"),
    ("HuaweiBrowser", "Huawei Browser"),
    ("FxiOS", "Firefox"),
    ("Firefox", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chrome", "Chrome"),
    ("Safari", "Safari"),
)
_SYSTEMS = (
    ("HarmonyOS", "HarmonyOS"),
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe_device(user_agent: str) -> str:
    """A guess such as "Chrome on Android" from a User-Agent header."""
    words = set(re.findall(r"[A-Za-z]+", user_agent or ""))
    text = user_agent or ""
    browser = next((name for token, name in _BROWSERS if token in words), None)
    system = next((name for token, name in _SYSTEMS if token in text), None)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or _("Unknown browser")
