"""Owners and staff get their accounts here, where the dealer and the club profile are known.

An owner joins (``complete_registration``, once the mobile is proven with an SMS code, see
``app.auth.registration``), is enrolled by a delivery (``register_member``, app/members/
delivery.py), or claims the account a delivery left waiting for them (``_claim``). Staff and
partner users are created by HQ or the CLI (``create_staff``).
"""

from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.auth.models import User
from app.auth.registration import is_waiting
from app.auth.services import UNUSABLE_PASSWORD, create_user, get_user_by_mobile, hash_password
from app.auth.sessions import end_all_sessions
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.permissions import STAFF_ROLES, Role
from app.core.signals import member_registered
from app.extensions import db
from app.members.models import Dealer
from app.members.services import create_member, get_dealer_by_code, request_transfer


def register_member(
    *,
    mobile: str,
    password: str | None,
    name: str,
    dealer_id: int,
    marketing_opt_in: bool = False,
    locale: str | None = None,
    mobile_verified_at: datetime | None = None,
    now: datetime | None = None,
) -> User:
    """Create an owner's account and club profile; the domains answering ``member_registered``
    give them a member card and a points account.

    ``password`` None leaves the account without a usable password (an invited owner);
    ``mobile_verified_at`` is when the owner proved the number with an SMS code, if they did.
    """
    now = now or utcnow()
    user = create_user(mobile, password, name, Role.MEMBER, None, now)
    user.locale = locale
    user.mobile_verified_at = mobile_verified_at
    member = create_member(
        user, name=name, dealer_id=dealer_id, marketing_opt_in=marketing_opt_in, now=now
    )
    # An invited owner (no password yet) joins when they accept the invitation.
    member.joined_at = now if password is not None else None
    # Cards issues the member card, loyalty opens the points account.
    member_registered.send(member, now=now)
    return user


def create_staff(
    actor: User | None,
    *,
    mobile: str,
    password: str,
    name: str,
    role: Role,
    dealer_code: str | None,
    now: datetime | None = None,
) -> User:
    """Create a staff or partner account; dealer staff must name their dealer."""
    now = now or utcnow()
    dealer = get_dealer_by_code(dealer_code) if dealer_code else None
    if dealer_code and dealer is None:
        raise NotFound(_l("No dealer has the code %(code)s.", code=dealer_code), field="dealer")
    if role in STAFF_ROLES - {Role.HQ_ADMIN} and dealer is None:
        raise ValidationFailed(_l("Dealer staff must belong to a dealer."), field="dealer")
    if role == Role.MEMBER:
        raise ValidationFailed(_l("Owners register themselves."), field="role")
    user = create_user(mobile, password, name, role, dealer.id if dealer else None, now)
    record_audit(
        actor,
        "staff.created",
        subject=user,
        dealer_id=user.dealer_id,
        details={"role": role.value},
        now=now,
    )
    return user


def complete_registration(
    mobile: str,
    *,
    name: str,
    password: str | None,
    dealer_id: int,
    marketing_opt_in: bool,
    locale: str | None,
    now: datetime | None = None,
) -> User:
    """Create the owner's account for a proven ``mobile``, or claim the one waiting for it."""
    now = now or utcnow()
    if db.session.get(Dealer, dealer_id) is None:
        raise ValidationFailed(_l("Choose your dealer from the list."), field="dealer_id")
    user = get_user_by_mobile(mobile)
    if user is None:
        return register_member(
            mobile=mobile,
            password=password,
            name=name,
            dealer_id=dealer_id,
            marketing_opt_in=marketing_opt_in,
            locale=locale,
            mobile_verified_at=now,
            now=now,
        )
    if not is_waiting(user):
        raise Conflict(
            _l("This mobile number already has an account. Sign in with a code instead."),
            field="name",
        )
    return _claim(
        user,
        name=name,
        password=password,
        dealer_id=dealer_id,
        marketing_opt_in=marketing_opt_in,
        locale=locale,
        now=now,
    )


def _claim(user: User, *, name, password, dealer_id, marketing_opt_in, locale, now) -> User:
    member = user.member
    had_password = user.password_hash != UNUSABLE_PASSWORD
    previous_name = member.name
    user.name = member.name = name.strip()
    user.password_hash = hash_password(password) if password else UNUSABLE_PASSWORD
    user.locale = locale or user.locale
    user.mobile_verified_at = now
    if member.dealer_id != dealer_id:
        # The delivering dealer enrolled them: moving to another chapter is a transfer both
        # dealers approve (R11), asked for here on the owner's behalf.
        request_transfer(member, to_dealer_id=dealer_id, reason="", now=now)
    member.privacy_version = current_app.config["PRIVACY_NOTICE_VERSION"]
    member.privacy_accepted_at = now
    member.marketing_opt_in = marketing_opt_in
    member.marketing_changed_at = now
    member.joined_at = member.joined_at or now
    end_all_sessions(user, keep_current=False, now=now)
    db.session.flush()
    record_audit(
        user,
        "account.claimed",
        subject=user,
        dealer_id=member.dealer_id,
        details={"had_password": had_password, "name_changed": previous_name != member.name},
        now=now,
    )
    return user
