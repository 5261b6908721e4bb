"""Joining, claiming and recovering an account once the mobile number is proven (R12).

Proof comes from an SMS code (``app.auth.codes``). What happens next depends on the account
that holds the number:

- none: the owner joins (name, optional password, the dealer they choose, consents), in
  ``app.members.registration.complete_registration``, where the club profile is made;
- one whose number was never proven (an owner a DMS delivery enrolled, or an account made
  before codes existed, possibly by someone who typed a number that is not theirs): it is a
  waiting place nobody controls. Whoever proves the number claims it: their name, password,
  dealer and consents replace what was there, every other session of it ends, and the cars and
  points waiting in it are theirs (``complete_registration`` too);
- a proven one: the prover is its owner; they are signed in (and may set a new password).
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.auth.models import User
from app.auth.services import (
    get_user_by_mobile,
    hash_password,
)
from app.auth.sessions import end_all_sessions
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import NotFound, ValidationFailed
from app.core.permissions import Role


def account_for_proven_mobile(mobile: str) -> User | None:
    """The active account holding ``mobile``, proven or not (deleted accounts hold none)."""
    user = get_user_by_mobile(mobile)
    return user if user is not None and user.active else None


def is_waiting(user: User | None) -> bool:
    """True for an owner's account whose number nobody has proven yet."""
    return user is not None and user.role == Role.MEMBER and user.mobile_verified_at is None


def prove_own_mobile(user: User, *, now: datetime | None = None) -> None:
    """A signed-in owner proved the number of their account: it is theirs from now on."""
    now = now or utcnow()
    if user.mobile_verified_at is not None:
        return
    user.mobile_verified_at = now
    # Whoever else was signed in with the password, this phone's holder is the owner.
    end_all_sessions(user, keep_current=True, now=now)
    record_audit(
        user,
        "account.mobile_proven",
        subject=user,
        dealer_id=user.member.dealer_id if user.member else user.dealer_id,
        now=now,
    )


def reset_password(mobile: str, password: str, *, now: datetime | None = None) -> User:
    """Set a new password on the proven number's account and end every session of it."""
    now = now or utcnow()
    user = account_for_proven_mobile(mobile)
    if user is None or is_waiting(user):
        raise NotFound(_l("No account holds this number yet: join the club instead."))
    if not 8 <= len(password or "") <= 128:
        raise ValidationFailed(_l("A password has 8 to 128 characters."), field="password")
    user.password_hash = hash_password(password)
    end_all_sessions(user, keep_current=False, now=now)
    record_audit(user, "account.password_reset", subject=user, dealer_id=user.dealer_id, now=now)
    return user


def signed_in_by_code(user: User, *, now: datetime | None = None) -> User:
    """Record a sign-in with an SMS code."""
    user.last_login_at = now or utcnow()
    return user
