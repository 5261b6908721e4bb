"""Staff and referrals (R6.5, R6.6): staff are never rewarded referrers, and a fraud outcome
flags every staff member who handled the referral.

*Matching.* The referrer is compared with the dealer group's active staff: their own account
being a staff account; their mobile against the staff's numbers in the identity register (a
staff member's second, owner mobile); the ID number the referrer showed at the licence check
against the register's ID numbers; and their name against the staff of the referrer's dealer
(spaces and case aside: a namesake at another dealer is most likely a stranger). A match does
not refuse anything: the referral is flagged, and a manager decides before any reward
(``services.decide_staff_review``).

*Fraud flags.* Everyone of the dealer's staff who registered the referral, sold the car (the
consultant), passed the licence check or worked the callback is flagged, once per referral,
with their offence number: 1 + their earlier flags of referrals still fraudulent (seed 002:
员工造假：第一次给予5倍以上罚款。第二次直接开除).
"""

import hashlib
import hmac
from collections import defaultdict
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.identifiers import normalize_id_number, normalize_mobile
from app.core.permissions import STAFF_ROLES
from app.extensions import db
from app.members.models import Member
from app.members.scope import dealer_scope, sees_dealer
from app.referrals.models import (
    IdentityKind,
    Referral,
    ReferralStatus,
    StaffFlag,
    StaffIdentity,
    StaffReview,
)

# How a staff member handled a referral, in the order the steps come.
HANDLED = ("registration", "consultant", "licence", "callback")
# What a match was found by.
MATCHED_BY = ("account", "mobile", "id_number", "name")


def id_digest(id_number: str) -> str:
    """The keyed digest an ID number is kept and compared as (never the number itself), keyed
    with ``IDENTITY_DIGEST_KEY`` (else ``SECRET_KEY``): rotating the session key must not
    make the register match nobody."""
    config = current_app.config
    key = (config.get("IDENTITY_DIGEST_KEY") or config["SECRET_KEY"]).encode()
    return hmac.new(key, f"staff-identity:{id_number}".encode(), hashlib.sha256).hexdigest()


def _plain_name(name: str) -> str:
    return "".join((name or "").split()).casefold()


def _active_staff():
    return select(User.id).where(
        User.role.in_(STAFF_ROLES), User.active.is_(True), User.deleted_at.is_(None)
    )


def staff_matches(referrer: Member, *, id_digest: str | None = None) -> dict[int, set[str]]:
    """The staff members ``referrer`` may be, each with what matched."""
    found: dict[int, set[str]] = defaultdict(set)
    user = referrer.user
    if user.role in STAFF_ROLES:
        found[user.id].add("account")
    register = select(StaffIdentity.user_id, StaffIdentity.kind).where(
        StaffIdentity.user_id.in_(_active_staff()), StaffIdentity.user_id != user.id
    )
    wanted = [(IdentityKind.MOBILE, user.mobile)]
    if id_digest:
        wanted.append((IdentityKind.ID_NUMBER, id_digest))
    for kind, value in wanted:
        query = register.where(StaffIdentity.kind == kind, StaffIdentity.value == value)
        for user_id, _kind in db.session.execute(query):
            found[user_id].add(kind.value)
    name = _plain_name(referrer.name)
    namesakes = db.session.execute(
        select(User.id, User.name).where(
            User.id.in_(_active_staff()),
            User.dealer_id == referrer.dealer_id,
            User.id != user.id,
        )
    )
    for user_id, staff_name in namesakes:
        if name and _plain_name(staff_name) == name:
            found[user_id].add("name")
    return dict(found)


def screen_referrer(referral: Referral, *, now: datetime, actor=None) -> bool:
    """Match the referrer against the staff; a match not reviewed yet (or one found by
    something new) puts the referral's staff review to pending. True when it waits for one."""
    if referral.staff_review == StaffReview.STAFF:
        return True
    digest = (referral.licence_details or {}).get("id_digest")
    found = staff_matches(referral.referrer, id_digest=digest)
    known = {m["user_id"]: m for m in referral.staff_match or []}
    entries: list[dict[str, Any]] = []
    fresh = []
    for user_id, by in sorted(found.items()):
        old = known.pop(user_id, None)
        seen = set(old["by"]) if old else set()
        grew = not by <= seen
        reviewed = bool(old and old.get("reviewed")) and not grew
        entries.append({"user_id": user_id, "by": _ordered(by | seen), "reviewed": reviewed})
        if grew:
            fresh.append(entries[-1])
    if not fresh:
        return referral.staff_review == StaffReview.PENDING
    referral.staff_match = entries + list(known.values())
    referral.staff_review = StaffReview.PENDING
    record_audit(
        actor,
        "referral.staff_suspected",
        subject=referral,
        dealer_id=referral.dealer_id,
        details={"matches": [{"user_id": m["user_id"], "by": m["by"]} for m in fresh]},
        now=now,
    )
    return True


def _ordered(by: set[str]) -> list[str]:
    return sorted(by, key=lambda b: MATCHED_BY.index(b) if b in MATCHED_BY else len(MATCHED_BY))


def mark_reviewed(referral: Referral) -> None:
    """The manager decided on every match shown: later screenings keep the decision unless
    something new matches."""
    referral.staff_match = [{**m, "reviewed": True} for m in referral.staff_match or []]


def matched_user_ids(referral: Referral) -> set[int]:
    """The staff members the referrer matched."""
    return {m["user_id"] for m in referral.staff_match or []}


# ----------------------------------------------------------------------- identity register


def _staff_in_scope(actor: User, mobile: str) -> User:
    number = normalize_mobile(mobile)
    user = (
        db.session.scalar(select(User).where(User.mobile == number)) if number is not None else None
    )
    if user is None or user.role not in STAFF_ROLES or not sees_dealer(actor, user.dealer_id):
        raise NotFound(
            _l("No staff member of yours logs in with this mobile number."), field="staff_mobile"
        )
    return user


def record_identity(
    actor: User, *, staff_mobile: str, kind: str, value: str, now: datetime | None = None
) -> StaffIdentity:
    """Add a staff member's other mobile number or their ID number to the register."""
    now = now or utcnow()
    staff = _staff_in_scope(actor, staff_mobile)
    if kind == IdentityKind.MOBILE:
        number = normalize_mobile(value)
        if number is None:
            raise ValidationFailed(
                _l("Enter a mainland mobile number of 11 digits."), field="value"
            )
        if number == staff.mobile:
            raise ValidationFailed(
                _l("That is the number they log in with: it is checked already."), field="value"
            )
        stored, tail = number, number[-4:]
    elif kind == IdentityKind.ID_NUMBER:
        number = normalize_id_number(value)
        if number is None:
            raise ValidationFailed(
                _l("Enter the 18-character ID number (the last one may be X)."), field="value"
            )
        stored, tail = id_digest(number), number[-4:]
    else:
        raise ValidationFailed(_l("Choose what you record."), field="kind")
    exists = db.session.scalar(
        select(StaffIdentity.id).where(
            StaffIdentity.user_id == staff.id,
            StaffIdentity.kind == kind,
            StaffIdentity.value == stored,
        )
    )
    if exists:
        raise Conflict(_l("This is recorded already."), field="value")
    identity = StaffIdentity(
        user_id=staff.id,
        kind=IdentityKind(kind),
        value=stored,
        tail=tail,
        recorded_by_id=actor.id,
        recorded_at=now,
    )
    db.session.add(identity)
    db.session.flush()
    record_audit(
        actor,
        "staff_identity.recorded",
        subject=identity,
        dealer_id=staff.dealer_id,
        details={"user_id": staff.id, "kind": kind, "tail": tail},
        now=now,
    )
    return identity


def remove_identity(actor: User, identity_id: int, *, now: datetime | None = None) -> None:
    """Take an entry out of the register (a number given up, a typo)."""
    now = now or utcnow()
    identity = db.session.get(StaffIdentity, identity_id)
    staff = db.session.get(User, identity.user_id) if identity is not None else None
    if staff is None or not sees_dealer(actor, staff.dealer_id):
        raise NotFound(_l("No such entry."))
    record_audit(
        actor,
        "staff_identity.removed",
        subject=identity,
        dealer_id=staff.dealer_id,
        details={"user_id": staff.id, "kind": identity.kind.value, "tail": identity.tail},
        now=now,
    )
    db.session.delete(identity)
    db.session.flush()


def identities(actor: User):
    """The register's entries the actor may see (a query), by staff member's name."""
    query = (
        select(StaffIdentity)
        .join(User, User.id == StaffIdentity.user_id)
        .order_by(User.name, User.id, StaffIdentity.id)
        # The page shows each entry's staff member and their dealer.
        .options(contains_eager(StaffIdentity.staff).joinedload(User.dealer))
    )
    scope = dealer_scope(actor)
    if scope is not None:
        query = query.where(User.dealer_id == scope)
    return query


# ------------------------------------------------------------------------------ fraud flags


def handlers(referral: Referral) -> dict[int, set[str]]:
    """The staff members who handled ``referral``, each with how."""
    found: dict[int, set[str]] = defaultdict(set)
    steps = [
        (referral.registered_by_id, "registration"),
        (referral.consultant_id, "consultant"),
        (referral.licence_checked_by_id, "licence"),
        *((a.agent_id, "callback") for a in referral.attempts),
        *((q.answered_by_id, "callback") for q in referral.questions),
    ]
    if referral.recording_ref:  # the callback was finished by whoever decided it
        steps.append((referral.decided_by_id, "callback"))
    for user_id, how in steps:
        if user_id is not None:
            found[user_id].add(how)
    staff = set(
        db.session.scalars(select(User.id).where(User.id.in_(found), User.role.in_(STAFF_ROLES)))
    )
    return {user_id: how for user_id, how in found.items() if user_id in staff}


def confirmed_offences(user_id: int, *, besides: int) -> int:
    """The staff member's flags of referrals still fraudulent, other than ``besides``."""
    return db.session.scalar(
        select(func.count(StaffFlag.id))
        .join(Referral, Referral.id == StaffFlag.referral_id)
        .where(
            StaffFlag.user_id == user_id,
            StaffFlag.referral_id != besides,
            Referral.status == ReferralStatus.FRAUD,
        )
    )


def flag_handlers(referral: Referral, *, now: datetime, actor=None) -> list[StaffFlag]:
    """Flag everyone of the staff who handled the fraudulent ``referral`` (once each)."""
    already = set(
        db.session.scalars(select(StaffFlag.user_id).where(StaffFlag.referral_id == referral.id))
    )
    flags = []
    for user_id, how in sorted(handlers(referral).items()):
        if user_id in already:
            continue
        flag = StaffFlag(
            user_id=user_id,
            referral_id=referral.id,
            offence=confirmed_offences(user_id, besides=referral.id) + 1,
            created_at=now,
            handled=sorted(how, key=HANDLED.index),
        )
        db.session.add(flag)
        flags.append(flag)
    db.session.flush()
    if flags:
        record_audit(
            actor,
            "referral.staff_flagged",
            subject=referral,
            dealer_id=referral.dealer_id,
            details={
                "flags": [
                    {"user_id": f.user_id, "offence": f.offence, "handled": f.handled}
                    for f in flags
                ]
            },
            now=now,
        )
    return flags


def staff_flags(actor: User, *, dealer_id: int | None = None):
    """Staff flagged for fraudulent referrals, newest first, with their offence number (HQ:
    every dealer's, or ``dealer_id``'s; others their dealer's)."""
    query = (
        select(StaffFlag, User)
        .join(User, User.id == StaffFlag.user_id)
        .order_by(StaffFlag.created_at.desc(), StaffFlag.id.desc())
        .options(joinedload(User.dealer))
    )
    scope = dealer_scope(actor, dealer_id)
    if scope is not None:
        query = query.where(User.dealer_id == scope)
    return db.session.execute(query).all()
