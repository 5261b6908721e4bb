"""An owner's personal invite link and QR poster, and a friend's pre-registration through it
(issue 21, the referral's front door; R6).

The link carries a signed token of kind "invite" (``app.core.tokens``): its subject is the
link's random ``handle``, so the owner's id never shows and no one can forge a link to someone
else's name. A token works for ``INVITE_LINK_DAYS`` after the page showed it, and until the
owner replaces the link (its ``version`` goes up).

The friend's pre-registration is the owner's referral: ``register_referral`` holds every rule
of R6 (one registration per mobile, the first wins; before or at the first showroom visit; no
self-referral, no existing owner; the yearly cap). This module only says, to a friend who is
not a member, why a number cannot be taken, without telling whose number it is.
"""

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import DomainError, NotFound, ValidationFailed
from app.core.identifiers import normalize_mobile
from app.core.tokens import TokenError, signer
from app.extensions import db
from app.members.inbox import notify
from app.members.models import Dealer, Member
from app.referrals import services as referrals
from app.referrals.models import InviteLink, InviteRegistration, Referral

KIND = "invite"
# The token's version is 16 bits: an owner replaces their link at most this many times.
MAX_VERSION = 65535
_HANDLE_SPACE = 2**62

# Why a link does not open, in the friend's words.
INVALID_REASONS = {
    "expired": _l("This invitation link has expired. Ask your friend for a new one."),
    "replaced": _l("Your friend has replaced this invitation link. Ask them for the new one."),
    "closed": _l("This invitation is no longer open."),
}
NOT_VALID = _l("This invitation link is not valid. Check that it was copied whole.")
# What the friend is told when R6 refuses the number: the same words whatever the reason (a
# member, registered by someone else, an earlier visit), so the form tells no stranger whose
# number it is.
NUMBER_TAKEN = _l(
    "This mobile number is already known to the club, so it cannot be pre-registered through an "
    "invitation. If you think this is wrong, ask at the showroom."
)
NOT_TAKING = _l("This invitation cannot take pre-registrations at the moment. Ask at the showroom.")


class InviteInvalid(NotFound):
    """The link cannot be used: ``code`` is malformed, forged, expired, replaced or closed."""


@dataclass(frozen=True)
class ShownInvite:
    """The link the owner's page shows: its token and the last day it works."""

    link: InviteLink
    token: str
    valid_until: date


def link_days() -> int:
    """How many days a shown link works."""
    return current_app.config["INVITE_LINK_DAYS"]


def invite_for(member: Member, *, now: datetime | None = None) -> InviteLink:
    """The owner's invite link, made on first use with a fresh random handle."""
    link = db.session.scalar(select(InviteLink).where(InviteLink.member_id == member.id))
    if link is not None:
        return link
    while True:
        handle = secrets.randbelow(_HANDLE_SPACE - 1) + 1
        if db.session.scalar(select(InviteLink.id).where(InviteLink.handle == handle)) is None:
            break
    link = InviteLink(member_id=member.id, handle=handle, version=1, created_at=now or utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(link)
    except IntegrityError:
        # The owner's other tab made it a moment ago.
        return db.session.scalar(select(InviteLink).where(InviteLink.member_id == member.id))
    return link


def show_invite(member: Member, *, now: datetime | None = None) -> ShownInvite:
    """A signed token for the owner's link, valid for ``INVITE_LINK_DAYS`` from now."""
    now = now or utcnow()
    link = invite_for(member, now=now)
    token = signer().sign(KIND, link.handle, version=link.version, now=now)
    return ShownInvite(link, token, local_date(now + timedelta(days=link_days())))


def renew_invite(member: Member, *, now: datetime | None = None) -> InviteLink:
    """Replace the owner's link: every link shown before stops working."""
    now = now or utcnow()
    link = invite_for(member, now=now)
    if link.version >= MAX_VERSION:
        raise ValidationFailed(_l("This link cannot be replaced again. Ask your dealer."))
    link.version += 1
    link.renewed_at = now
    db.session.flush()
    record_audit(
        member.user,
        "referral.invite_renewed",
        subject=link,
        dealer_id=member.dealer_id,
        details={"version": link.version},
        now=now,
    )
    return link


def close_invite(member: Member, *, now: datetime | None = None) -> bool:
    """Stop the owner's links (the account is being deleted); True when there was one."""
    link = db.session.scalar(select(InviteLink).where(InviteLink.member_id == member.id))
    if link is None:
        return False
    link.version = min(link.version + 1, MAX_VERSION)
    link.renewed_at = now or utcnow()
    return True


def resolve_invite(token: str, *, now: datetime | None = None) -> InviteLink:
    """The link a token opens; InviteInvalid when it is tampered with, expired, replaced, or
    its owner's account is closed."""
    now = now or utcnow()
    try:
        claims = signer().verify(token, kind=KIND, now=now, max_age=link_days() * 86400)
    except TokenError as err:
        raise InviteInvalid(INVALID_REASONS.get(err.reason, NOT_VALID), code=err.reason) from None
    link = db.session.scalar(select(InviteLink).where(InviteLink.handle == claims.subject_id))
    if link is None:
        raise InviteInvalid(NOT_VALID, code="forged")
    user = link.member.user
    if user.deleted_at is not None or not user.active or link.member.joined_at is None:
        raise InviteInvalid(INVALID_REASONS["closed"], code="closed")
    if claims.version != link.version:
        raise InviteInvalid(INVALID_REASONS["replaced"], code="replaced")
    return link


def registrations_count(link: InviteLink) -> int:
    """How many friends pre-registered through the owner's link."""
    return db.session.scalar(
        select(func.count(InviteRegistration.id)).where(InviteRegistration.invite_id == link.id)
    )


def came_through_invite(referral: Referral) -> bool:
    """Whether the friend pre-registered through the referrer's invite link."""
    return (
        db.session.scalar(
            select(InviteRegistration.id).where(InviteRegistration.referral_id == referral.id)
        )
        is not None
    )


@dataclass(frozen=True)
class FriendOffer:
    """What the friend gets when they buy and the referral is confirmed."""

    points: int
    voucher: bool


def friend_offer() -> FriendOffer | None:
    """The friend's side of the referral programme in force."""
    settings = referrals.programme()
    if settings is None:
        return None
    return FriendOffer(settings.friend_points, bool(settings.friend_reward_id))


def dealers() -> list[Dealer]:
    """The showrooms a friend may choose, by city and name."""
    return list(db.session.scalars(select(Dealer).order_by(Dealer.city, Dealer.name, Dealer.id)))


def _for_the_friend(err: DomainError) -> DomainError:
    """R6's refusal in words for the friend (who is not the owner the service speaks to)."""
    if err.field == "friend_mobile":
        return ValidationFailed(NUMBER_TAKEN, field="friend_mobile")
    return ValidationFailed(NOT_TAKING)


def _earlier_same(link: InviteLink, mobile: str, name: str) -> Referral | None:
    """The same friend sent the same form through this link before (a double tap, a reload)."""
    referral = db.session.scalar(select(Referral).where(Referral.friend_mobile == mobile))
    if (
        referral is None
        or referral.referrer_id != link.member_id
        or referral.friend_name.casefold() != name.casefold()
        or not came_through_invite(referral)
    ):
        return None
    return referral


def accept_invite(
    link: InviteLink,
    *,
    friend_name: str,
    friend_mobile: str,
    model_of_interest: str = "",
    dealer_id: int | None = None,
    now: datetime | None = None,
) -> Referral:
    """The friend pre-registers through the owner's link: the owner's referral (R6), at the
    showroom the friend chose. The same form sent twice gives the same referral."""
    now = now or utcnow()
    name = (friend_name or "").strip()
    if not name:
        raise ValidationFailed(_l("Enter your name."), field="friend_name")
    mobile = normalize_mobile(friend_mobile)
    if mobile is None:
        raise ValidationFailed(
            _l("Enter your mainland mobile number of 11 digits."), field="friend_mobile"
        )
    owner = link.member
    dealer = db.session.get(Dealer, dealer_id) if dealer_id is not None else owner.dealer
    if dealer is None:
        raise ValidationFailed(_l("Choose a showroom from the list."), field="dealer_id")
    earlier = _earlier_same(link, mobile, name)
    if earlier is not None:
        return earlier
    try:
        referral = referrals.register_referral(
            owner.user,
            owner,
            friend_name=name,
            friend_mobile=mobile,
            model_of_interest=model_of_interest,
            now=now,
        )
    except DomainError as err:
        # Two taps at once: the other one registered the friend while this one waited.
        again = _earlier_same(link, mobile, name)
        if again is not None:
            return again
        raise _for_the_friend(err) from None
    # The friend is welcomed (and buys) at the showroom they chose: its staff see the referral.
    referral.dealer_id = dealer.id
    db.session.add(
        InviteRegistration(invite_id=link.id, referral_id=referral.id, registered_at=now)
    )
    db.session.flush()
    referrals.audit(None, "referral.invite_accepted", referral, now, dealer=dealer.code)
    notify(
        owner,
        "referral_invite",
        lambda: (
            _l("%(name)s accepted your invitation", name=name),
            _l(
                "%(name)s pre-registered through your invite link for %(dealer)s. Once they "
                "buy and the referral is confirmed, you both get your rewards.",
                name=name,
                dealer=dealer.name,
            ),
        ),
        dedupe_key=f"referral-invite:{referral.id}",
        now=now,
    )
    return referral


def registered_through(link: InviteLink, done) -> Referral | None:
    """The referral a friend's browser just registered through ``link`` (``done`` is what the
    session kept: ``{"referral": id, "handle": handle}``), else None."""
    if not isinstance(done, dict) or done.get("handle") != link.handle:
        return None
    referral_id = done.get("referral")
    if not isinstance(referral_id, int):
        return None
    return db.session.scalar(
        select(Referral)
        .join(InviteRegistration, InviteRegistration.referral_id == Referral.id)
        .where(Referral.id == referral_id, InviteRegistration.invite_id == link.id)
    )
