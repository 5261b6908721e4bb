"""Second factor of dealer admins and HQ (R12): TOTP codes (RFC 6238) from an authenticator app.

After the right password such staff get no session yet: the Flask session holds a pending
login (user, remember-me, where to go, when) for five minutes, and the session starts only
once a code is accepted. An account enrols on its first sign-in: a secret is stored with no
step used yet (``totp_last_step`` NULL) and the first right code confirms it. A code is
accepted for its time step ±1 and only once: the step used is stored and older or equal
steps are refused.
"""

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from flask import current_app, session
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.core.identifiers import mask_mobile
from app.core.permissions import Role
from app.extensions import db

ROLES_WITH_SECOND_FACTOR = frozenset({Role.DEALER_ADMIN, Role.HQ_ADMIN})
STEP_SECONDS = 30
PENDING_FOR = timedelta(minutes=5)
_PENDING = "second_factor"


def is_required(user: User) -> bool:
    """True for accounts that sign in with a code after the password."""
    return user.role in ROLES_WITH_SECOND_FACTOR


def is_enrolled(user: User) -> bool:
    """True once the account confirmed its authenticator app with a first code."""
    return bool(user.totp_secret) and user.totp_last_step is not None


def step_at(moment: datetime) -> int:
    """The TOTP time step of ``moment``."""
    return int(moment.timestamp()) // STEP_SECONDS


def code_at(secret: str, moment: datetime) -> str:
    """The code an authenticator app with ``secret`` shows at ``moment``."""
    return pyotp.TOTP(secret).generate_otp(step_at(moment))


def begin_enrolment(user: User) -> str:
    """The secret an account not yet enrolled adds to its app (made on the first call)."""
    if is_enrolled(user):
        raise ValidationFailed(_l("This account already has an authenticator app."))
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        db.session.flush()
    return user.totp_secret


def enrolment_uri(user: User) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(user.totp_secret).provisioning_uri(
        name=mask_mobile(user.mobile), issuer_name=current_app.config["TOTP_ISSUER"]
    )


def verify_code(user: User, code: str, *, now: datetime | None = None) -> None:
    """Accept ``code`` once for its step (±1 step of clock drift); ValidationFailed otherwise."""
    now = now or utcnow()
    code = re.sub(r"\s", "", code or "")
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise ValidationFailed(_l("Enter the 6 digits your authenticator app shows."), field="code")
    if not user.totp_secret:
        raise ValidationFailed(_l("Set up your authenticator app first."), field="code")
    totp = pyotp.TOTP(user.totp_secret)
    current = step_at(now)
    matched = next(
        (
            step
            for step in (current - 1, current, current + 1)
            if hmac.compare_digest(totp.generate_otp(step), code)
        ),
        None,
    )
    if matched is None:
        raise ValidationFailed(
            _l("That code is wrong. Check the code for this account in your app."), field="code"
        )
    enrolling = user.totp_last_step is None
    # A conditional update, so two requests with one code cannot both pass.
    result = db.session.execute(
        update(User)
        .where(
            User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < matched)
        )
        .values(totp_last_step=matched),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:
        raise ValidationFailed(
            _l("That code was already used. Wait for the next code and enter it."), field="code"
        )
    set_committed_value(user, "totp_last_step", matched)
    if enrolling:
        record_audit(user, "account.second_factor_enrolled", subject=user, now=now)


def reset_second_factor(actor: User | None, user: User, *, now: datetime | None = None) -> None:
    """Forget ``user``'s authenticator app (a lost phone): they enrol again at next sign-in."""
    from app.auth.sessions import end_all_sessions

    user.totp_secret = None
    user.totp_last_step = None
    end_all_sessions(user, keep_current=False, now=now)
    record_audit(
        actor, "account.second_factor_reset", subject=user, dealer_id=user.dealer_id, now=now
    )


# ---------------------------------------------------------------- the pending login


@dataclass(frozen=True)
class PendingLogin:
    """A login whose password was right and whose code is still to come."""

    user: User
    remember: bool
    next_url: str


def hold_login(user: User, *, remember: bool, next_url: str, now: datetime | None = None) -> None:
    """Remember in the Flask session that ``user`` gave the right password."""
    now = now or utcnow()
    session[_PENDING] = {"u": user.id, "r": bool(remember), "n": next_url, "t": now.timestamp()}


def pending_login(*, now: datetime | None = None) -> PendingLogin | None:
    """The login waiting for a code in this browser, if recent enough."""
    now = now or utcnow()
    data = session.get(_PENDING)
    if not isinstance(data, dict):
        return None
    started = data.get("t")
    if not isinstance(started, int | float) or not (
        0 <= now.timestamp() - started < PENDING_FOR.total_seconds()
    ):
        return None
    user = db.session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or not user.active or user.deleted_at is not None or not is_required(user):
        return None
    return PendingLogin(user=user, remember=bool(data.get("r")), next_url=str(data.get("n")))


def drop_pending_login() -> None:
    """Forget the pending login (done, or abandoned)."""
    session.pop(_PENDING, None)
