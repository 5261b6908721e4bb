"""Accounts, authentication and passwords (owners and staff register in
app/members/registration.py, where the dealer and the club profile are known)."""

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import Conflict, ValidationFailed
from app.core.identifiers import normalize_mobile
from app.core.permissions import Role
from app.extensions import db

# Stored for owners enrolled by their dealer until they accept the invitation: no argon2 hash
# matches it, so nobody can log in with a password before setting one.
UNUSABLE_PASSWORD = "!"  # noqa: S105 - a marker, not a password  # nosec B105
# An owner enrolled at delivery counts as applying (申请中) this long (HQ's recruitment rate).
INVITATION_DAYS = 30

# Verified against when the mobile is unknown, so a miss costs as much as a wrong password.
_DUMMY_HASH_CACHE: dict[tuple[int, int], str] = {}


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg["ARGON2_TIME_COST"], memory_cost=cfg["ARGON2_MEMORY_COST"])


def hash_password(password: str) -> str:
    """argon2id hash of ``password``."""
    return _hasher().hash(password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash() -> str:
    hasher = _hasher()
    key = (hasher.time_cost, hasher.memory_cost)
    if key not in _DUMMY_HASH_CACHE:
        _DUMMY_HASH_CACHE[key] = hasher.hash("dummy password for timing")
    return _DUMMY_HASH_CACHE[key]


def get_user_by_mobile(mobile: str) -> User | None:
    """The account with this (normalised) mobile number, if any."""
    return db.session.scalar(select(User).where(User.mobile == mobile))


def create_user(
    mobile: str, password: str | None, name: str, role: Role, dealer_id: int | None, now: datetime
) -> User:
    """A new account for ``mobile`` (Conflict when one holds it); its profile is the caller's."""
    normalised = normalize_mobile(mobile)
    if normalised is None:
        raise ValidationFailed(_l("Enter a mainland mobile number of 11 digits."), field="mobile")
    if get_user_by_mobile(normalised) is not None:
        raise Conflict(_l("This mobile number is already registered."), field="mobile")
    user = User(
        mobile=normalised,
        password_hash=hash_password(password) if password is not None else UNUSABLE_PASSWORD,
        role=role,
        name=name.strip(),
        dealer_id=dealer_id,
        created_at=now,
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        # Two registrations of one number at once: the database's unique index decides.
        db.session.rollback()
        raise Conflict(_l("This mobile number is already registered."), field="mobile") from None
    return user


def authenticate(mobile: str, password: str, *, now: datetime | None = None) -> User:
    """The account for these credentials; raises ValidationFailed otherwise."""
    normalised = normalize_mobile(mobile)
    user = get_user_by_mobile(normalised) if normalised else None
    if user is None:
        _verify(_dummy_hash(), password)
    if user is None or not _verify(user.password_hash, password) or not user.active:
        raise ValidationFailed(_l("Wrong mobile number or password."), field="password")
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now or utcnow()
    return user


def change_password(user: User, *, current: str, new: str, now: datetime | None = None) -> int:
    """Replace the password and end every other device's session; returns how many ended."""
    from app.auth.sessions import end_all_sessions

    if not _verify(user.password_hash, current):
        raise ValidationFailed(_l("The current password is wrong."), field="current_password")
    if current == new:
        raise ValidationFailed(
            _l("Choose a password different from the current one."), field="new_password"
        )
    user.password_hash = hash_password(new)
    ended = end_all_sessions(user, keep_current=True, now=now)
    record_audit(
        user,
        "account.password_changed",
        subject=user,
        dealer_id=user.dealer_id,
        details={"sessions_ended": ended},
        now=now,
    )
    return ended


def set_locale(user: User, code: str) -> None:
    """The language the account's pages and messages use."""
    if code not in current_app.config["LANGUAGES"]:
        raise ValidationFailed(_l("Choose English or Chinese."), field="locale")
    user.locale = code


# ---------------------------------------------------------------------------- closing


def closed_mobile(user: User) -> str:
    """The placeholder a deleted account keeps in ``mobile``: unique, at most 11 characters,
    and never a number ``normalize_mobile`` gives, so the real number is free to register."""
    return f"x{user.id:010d}"


def close_user_account(user: User, *, now: datetime | None = None) -> int:
    """Close an owner's account for good (PIPL deletion): the mobile is freed, no password,
    second factor or session works any more. Returns how many device sessions were ended."""
    from app.auth.sessions import end_all_sessions

    now = now or utcnow()
    ended = end_all_sessions(user, keep_current=False, now=now)
    user.mobile = closed_mobile(user)
    user.password_hash = UNUSABLE_PASSWORD
    user.active = False
    user.deleted_at = now
    user.totp_secret = None
    user.totp_last_step = None
    user.mobile_verified_at = None
    db.session.flush()
    return ended
