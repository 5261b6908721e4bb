"""Referrals (R6): pre-registration, purchase link, licence check, outcome, rewards.

The callback itself (whom to call, the answers, its verdict) is in ``app.referrals.verification``.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.identifiers import (
    normalize_id_number,
    normalize_mobile,
    normalize_plate,
    normalize_vin,
)
from app.core.permissions import STAFF_ROLES, Role
from app.extensions import db
from app.loyalty.ledger import post_points
from app.loyalty.models import EntryKind
from app.loyalty.services import account_for
from app.loyalty.tiers import tier_at_least
from app.members.inbox import notify
from app.members.models import Colour, Member, Vehicle
from app.referrals import staff
from app.referrals.models import (
    REFERRAL,
    STAFF_EXCLUDABLE,
    Referral,
    ReferralStatus,
    ReferralTerms,
    ShowroomVisit,
    StaffReview,
)
from app.referrals.terms import lock_terms, terms_for, terms_today


class TransitionRefused(Conflict):
    """The referral cannot move to that state from where it is."""


def move(referral: Referral, to: ReferralStatus) -> None:
    """Change the state, only along an allowed transition."""
    if not REFERRAL.can(referral, to):
        raise TransitionRefused(
            _l(
                "This referral is %(state)s: it cannot become %(target)s.",
                state=status_label(referral.status),
                target=status_label(to),
            )
        )
    REFERRAL.move(referral, to)


STATUS_LABELS = {
    ReferralStatus.REGISTERED: _l("registered"),
    ReferralStatus.VISITED: _l("visited the showroom"),
    ReferralStatus.PURCHASED: _l("purchased"),
    ReferralStatus.LICENCE_CHECKED: _l("licence checked"),
    ReferralStatus.LICENCE_FAILED: _l("licence check failed"),
    ReferralStatus.CALLBACK: _l("callback under way"),
    ReferralStatus.MANUAL_REVIEW: _l("manual review"),
    ReferralStatus.APPROVED: _l("approved"),
    ReferralStatus.REWARDED: _l("rewarded"),
    ReferralStatus.FRAUD: _l("fraud"),
    ReferralStatus.WITHDRAWN: _l("withdrawn"),
    ReferralStatus.STAFF_REVIEW: _l("staff check"),
    ReferralStatus.STAFF_EXCLUDED: _l("referrer is staff"),
}


def status_label(status: ReferralStatus) -> str:
    """The state in the user's language."""
    return str(STATUS_LABELS[status])


def programme() -> ReferralTerms:
    """The referral terms in force today (``app.referrals.terms``)."""
    return terms_today()


def audit(actor, action: str, referral: Referral, now: datetime, **details) -> None:
    """Record a step of ``referral`` in the audit log, under its dealer."""
    record_audit(
        actor, action, subject=referral, dealer_id=referral.dealer_id, details=details, now=now
    )


# ------------------------------------------------------------------------ registration


def _rewarded_this_year(referrer_id: int, now: datetime) -> int:
    year_start = datetime(local_date(now).year, 1, 1, tzinfo=now.tzinfo)
    return db.session.scalar(
        select(func.count(Referral.id)).where(
            Referral.referrer_id == referrer_id,
            Referral.status == ReferralStatus.REWARDED,
            Referral.rewarded_at >= year_start,
        )
    )


def register_referral(
    actor: User,
    referrer: Member,
    *,
    friend_name: str,
    friend_mobile: str,
    model_of_interest: str = "",
    consultant_id: int | None = None,
    now: datetime | None = None,
) -> Referral:
    """提前报备: register a friend before (or at) their first showroom visit."""
    now = now or utcnow()
    friend_name = (friend_name or "").strip()
    if not friend_name:
        raise ValidationFailed(_l("Enter your friend's name."), field="friend_name")
    mobile = normalize_mobile(friend_mobile)
    if mobile is None:
        raise ValidationFailed(
            _l("Enter your friend's mainland mobile number of 11 digits."), field="friend_mobile"
        )
    if (
        actor.role in STAFF_ROLES
        and actor.role != Role.HQ_ADMIN
        and actor.dealer_id != referrer.dealer_id
    ):
        raise NotFound(_l("No such member."))
    if mobile == referrer.user.mobile:
        raise ValidationFailed(_l("You cannot refer yourself."), field="friend_mobile")
    existing_user = db.session.scalar(select(User).where(User.mobile == mobile))
    if existing_user is not None:
        raise ValidationFailed(
            _l("Your friend is already a member of the club: only new owners can be referred."),
            field="friend_mobile",
        )
    earlier = db.session.scalar(select(Referral).where(Referral.friend_mobile == mobile))
    if earlier is not None:
        raise Conflict(
            _l("You already registered this friend.")
            if earlier.referrer_id == referrer.id
            else _l("Someone registered this friend first: the first registration counts."),
            field="friend_mobile",
        )
    visited = db.session.scalar(
        select(func.min(ShowroomVisit.visited_on)).where(ShowroomVisit.mobile == mobile)
    )
    if visited is not None and visited < local_date(now):
        raise ValidationFailed(
            _l(
                "Your friend already visited the showroom on %(date)s: a referral must be "
                "registered before or at the first visit.",
                date=visited.isoformat(),
            ),
            field="friend_mobile",
        )
    cap = terms_today(now=now).yearly_cap
    if _rewarded_this_year(referrer.id, now) >= cap:
        raise ValidationFailed(
            _l("This year's limit of %(cap)s rewarded referrals is reached.", cap=cap)
        )
    referral = Referral(
        dealer_id=referrer.dealer_id,
        referrer_id=referrer.id,
        referrer_vehicle_id=referrer.vehicles[0].id if referrer.vehicles else None,
        friend_name=friend_name,
        friend_mobile=mobile,
        model_of_interest=(model_of_interest or "").strip(),
        status=ReferralStatus.VISITED if visited == local_date(now) else ReferralStatus.REGISTERED,
        registered_by_id=actor.id,
        consultant_id=consultant_id or (actor.id if actor.role in STAFF_ROLES else None),
        registered_at=now,
        visited_on=visited,
    )
    db.session.add(referral)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            _l("Someone registered this friend first: the first registration counts."),
            field="friend_mobile",
        ) from None
    audit(actor, "referral.registered", referral, now, by_staff=actor.role in STAFF_ROLES)
    staff.screen_referrer(referral, now=now, actor=actor)
    return referral


def withdraw_referral(member: Member, referral_id: int, *, now: datetime | None = None) -> Referral:
    """The referrer takes back a referral the friend has not bought on yet."""
    now = now or utcnow()
    referral = db.session.get(Referral, referral_id)
    if referral is None or referral.referrer_id != member.id:
        raise NotFound(_l("No such referral."))
    move(referral, ReferralStatus.WITHDRAWN)
    audit(member.user, "referral.withdrawn", referral, now)
    return referral


# ------------------------------------------------------------------ visits and purchase


def record_showroom_visit(
    actor: User,
    *,
    mobile: str,
    name: str,
    visited_on: date,
    consultant_id: int | None = None,
    now: datetime | None = None,
) -> ShowroomVisit:
    """A prospect came to the showroom; a referral registered earlier moves to "visited"."""
    now = now or utcnow()
    normalised = normalize_mobile(mobile)
    if normalised is None:
        raise ValidationFailed(_l("Enter a mainland mobile number of 11 digits."), field="mobile")
    if visited_on > local_date(now):
        raise ValidationFailed(_l("The visit date cannot be in the future."), field="visited_on")
    visit = ShowroomVisit(
        dealer_id=actor.dealer_id,
        mobile=normalised,
        name=(name or "").strip(),
        visited_on=visited_on,
        consultant_id=consultant_id or actor.id,
        recorded_by_id=actor.id,
        recorded_at=now,
    )
    db.session.add(visit)
    db.session.flush()
    referral = db.session.scalar(
        select(Referral).where(
            Referral.friend_mobile == normalised, Referral.status == ReferralStatus.REGISTERED
        )
    )
    if referral is not None and referral.dealer_id == actor.dealer_id:
        move(referral, ReferralStatus.VISITED)
        referral.visited_on = visited_on
        referral.consultant_id = referral.consultant_id or visit.consultant_id
        audit(actor, "referral.visited", referral, now, visited_on=visited_on.isoformat())
    return visit


def link_purchase(mobile: str, member: Member, vehicle: Vehicle, *, now: datetime | None = None):
    """The friend's car was delivered: their referral (if any, registered earlier) is purchased."""
    now = now or utcnow()
    referral = db.session.scalar(
        select(Referral).where(
            Referral.friend_mobile == mobile,
            Referral.status.in_([ReferralStatus.REGISTERED, ReferralStatus.VISITED]),
        )
    )
    if referral is None or referral.dealer_id != member.dealer_id:
        return None
    move(referral, ReferralStatus.PURCHASED)
    referral.purchased_at = now
    referral.friend_member_id = member.id
    referral.friend_vehicle_id = vehicle.id
    # Earned now: the reward will follow the terms in force today (app.referrals.terms).
    terms = lock_terms(referral, now=now)
    audit(None, "referral.purchased", referral, now, vehicle_id=vehicle.id, terms_id=terms.id)
    return referral


# ---------------------------------------------------------------------------- staff view


def get_referral_for_staff(actor: User, referral_id: int) -> Referral:
    """A referral of the actor's dealer (any for HQ); NotFound otherwise."""
    referral = db.session.get(Referral, referral_id)
    if referral is None or (actor.role != Role.HQ_ADMIN and referral.dealer_id != actor.dealer_id):
        raise NotFound(_l("No such referral."))
    return referral


def staff_queue(actor: User, statuses: list[ReferralStatus] | None = None):
    """The dealer's referrals (a query), newest first, optionally in some states."""
    query = select(Referral).order_by(Referral.registered_at.desc(), Referral.id.desc())
    if actor.role != Role.HQ_ADMIN:
        query = query.where(Referral.dealer_id == actor.dealer_id)
    if statuses:
        query = query.where(Referral.status.in_(statuses))
    return query


def member_referrals(member: Member) -> list[Referral]:
    """The owner's referrals, newest first."""
    return list(
        db.session.scalars(
            select(Referral)
            .where(Referral.referrer_id == member.id)
            .order_by(Referral.registered_at.desc())
        )
    )


# -------------------------------------------------------------------------- licence check


@dataclass(frozen=True)
class LicenceFacts:
    """What the vehicle licence (行驶证) the referrer shows says."""

    plate: str
    vin: str
    model: str
    colour_id: int
    # The ID number on the referrer's ID card, where they show it (R6.6: matched with staff).
    id_number: str = ""


def check_licence(
    manager: User, referral_id: int, facts: LicenceFacts, *, now: datetime | None = None
) -> Referral:
    """Compare the referrer's licence with the club record: match or recorded mismatch."""
    now = now or utcnow()
    referral = get_referral_for_staff(manager, referral_id)
    id_number = normalize_id_number(facts.id_number) if facts.id_number.strip() else None
    if facts.id_number.strip() and id_number is None:
        raise ValidationFailed(
            _l("Enter the 18-character ID number (the last one may be X)."), field="id_number"
        )
    vin = normalize_vin(facts.vin)
    record = (
        db.session.scalar(
            select(Vehicle).where(Vehicle.vin == vin, Vehicle.member_id == referral.referrer_id)
        )
        or referral.referrer_vehicle
    )
    mismatches = []
    if record is None:
        mismatches.append("vin")
    else:
        if record.vin != vin:
            mismatches.append("vin")
        if (record.plate or "") != normalize_plate(facts.plate):
            mismatches.append("plate")
        if record.model.strip().casefold() != (facts.model or "").strip().casefold():
            mismatches.append("model")
        colour = db.session.get(Colour, facts.colour_id)
        if colour is None or colour.id != record.colour_id:
            mismatches.append("colour")
    move(referral, ReferralStatus.LICENCE_FAILED if mismatches else ReferralStatus.LICENCE_CHECKED)
    referral.referrer_vehicle_id = record.id if record is not None else referral.referrer_vehicle_id
    referral.licence_checked_by_id = manager.id
    referral.licence_checked_at = now
    referral.licence_details = {
        "mismatches": mismatches,
        "shown": {
            "plate": facts.plate,
            "vin": vin,
            "model": facts.model,
            "colour_id": facts.colour_id,
        },
    }
    if id_number is not None:
        referral.licence_details |= {
            "id_digest": staff.id_digest(id_number),
            "id_tail": id_number[-4:],
        }
    db.session.flush()
    audit(manager, "referral.licence_checked", referral, now, mismatches=mismatches)
    staff.screen_referrer(referral, now=now, actor=manager)
    return referral


# ------------------------------------------------------------------------------ decision


def decide_manual_review(
    manager: User,
    referral_id: int,
    *,
    approve: bool,
    reason: str,
    now: datetime | None = None,
) -> Referral:
    """A manager decides a referral the callback could not check automatically."""
    now = now or utcnow()
    referral = locked(get_referral_for_staff(manager, referral_id))
    if referral.status != ReferralStatus.MANUAL_REVIEW:
        raise TransitionRefused(_l("Only a referral in manual review can be decided here."))
    if not (reason or "").strip():
        raise ValidationFailed(_l("Say why."), field="reason")
    referral.review_reason = f"{referral.review_reason or ''}\n{reason.strip()}".strip()
    decide(manager, referral, fraud=not approve, now=now, manual=True)
    return referral


def locked(referral: Referral) -> Referral:
    """Lock the referral's row and re-read it: concurrent steps queue here."""
    db.session.execute(select(Referral.id).where(Referral.id == referral.id).with_for_update())
    db.session.refresh(referral)
    return referral


def decide(actor: User, referral: Referral, *, fraud: bool, now: datetime, **details) -> None:
    """Approve (and reward) or mark fraud (and flag the staff involved), as decided."""
    referral.decided_by_id = actor.id
    referral.decided_at = now
    if fraud:
        move(referral, ReferralStatus.FRAUD)
        audit(actor, "referral.fraud", referral, now, **details)
        staff.flag_handlers(referral, now=now, actor=actor)
        return
    move(referral, ReferralStatus.APPROVED)
    audit(actor, "referral.approved", referral, now, **details)
    reward_referral(referral, now=now)


# ------------------------------------------------------------------------------- rewards


def _held_for_staff_review(referral: Referral, now: datetime) -> bool:
    """R6.6: a referrer who may be staff is not rewarded until a manager decides; one
    confirmed as staff never is."""
    if referral.staff_review == StaffReview.STAFF:
        move(referral, ReferralStatus.STAFF_EXCLUDED)
        audit(None, "referral.staff_excluded", referral, now)
        return True
    if staff.screen_referrer(referral, now=now):
        move(referral, ReferralStatus.STAFF_REVIEW)
        audit(None, "referral.staff_hold", referral, now)
        return True
    return False


def reward_referral(referral: Referral, *, now: datetime | None = None) -> Referral:
    """Points and a voucher to each side, and the bonus voucher to a referrer of the bonus
    tier or higher, as the terms kept when the referral was earned say; nothing to staff."""
    from app.rewards.models import Reward
    from app.rewards.services import issue_free_voucher

    now = now or utcnow()
    if referral.status != ReferralStatus.APPROVED:
        raise TransitionRefused(_l("Only an approved referral is rewarded."))
    if _held_for_staff_review(referral, now):
        return referral
    terms = terms_for(referral, now=now)
    if _rewarded_this_year(referral.referrer_id, now) >= terms.yearly_cap:
        referral.reward_note = "yearly cap reached"
        audit(None, "referral.reward_capped", referral, now, terms_id=terms.id)
        return referral
    referrer_account = account_for(referral.referrer)
    for who, member, points, reward_id in (
        ("referrer", referral.referrer, terms.referrer_points, terms.referrer_reward_id),
        ("friend", referral.friend, terms.friend_points, terms.friend_reward_id),
    ):
        # A side that deleted their account (PIPL) gets nothing: the record stays, rewardless.
        if member is None or member.user.deleted_at is not None:
            continue
        if points:
            post_points(
                account_for(member).id,
                points,
                kind=EntryKind.EARN,
                source="referral",
                key=f"referral:{referral.id}:{who}",
                reference=f"R{referral.id}",
                qualifying=True,
                dealer_id=referral.dealer_id,
                now=now,
            )
        if reward_id:
            issue_free_voucher(
                member,
                db.session.get(Reward, reward_id),
                source="referral",
                key=str(referral.id),
                now=now,
            )
        notify(
            member,
            "referral_reward",
            lambda: (
                _l("Thank you for your referral!"),
                _l("Your referral reward is in your points and vouchers."),
            ),
            dedupe_key=f"referral-reward:{referral.id}:{who}",
            now=now,
        )
    if (
        terms.bonus_reward_id
        and tier_at_least(referrer_account.tier_code, terms.bonus_min_tier)
        and referral.referrer.user.deleted_at is None
    ):
        issue_free_voucher(
            referral.referrer,
            db.session.get(Reward, terms.bonus_reward_id),
            source="referral-fuel",
            key=str(referral.id),
            now=now,
        )
    move(referral, ReferralStatus.REWARDED)
    referral.rewarded_at = now
    db.session.flush()
    audit(None, "referral.rewarded", referral, now, terms_id=terms.id)
    return referral


def decide_staff_review(
    manager: User, referral_id: int, *, is_staff: bool, reason: str, now: datetime | None = None
) -> Referral:
    """A manager decides whether the referrer matched with staff is staff (R6.6): confirmed,
    the referral ends unrewarded; cleared, it goes on (and one held at its reward is rewarded
    now)."""
    now = now or utcnow()
    referral = locked(get_referral_for_staff(manager, referral_id))
    if referral.staff_review != StaffReview.PENDING:
        raise TransitionRefused(_l("This referral has no staff match waiting for a decision."))
    if not (reason or "").strip():
        raise ValidationFailed(_l("Say why."), field="reason")
    if manager.id in staff.matched_user_ids(referral):
        raise Conflict(_l("The match names you: another manager decides."))
    referral.staff_review = StaffReview.STAFF if is_staff else StaffReview.NOT_STAFF
    referral.staff_reviewed_by_id = manager.id
    referral.staff_reviewed_at = now
    referral.staff_review_note = reason.strip()
    staff.mark_reviewed(referral)
    audit(
        manager,
        "referral.staff_confirmed" if is_staff else "referral.staff_cleared",
        referral,
        now,
        reason=reason.strip(),
    )
    if is_staff and referral.status in STAFF_EXCLUDABLE:
        move(referral, ReferralStatus.STAFF_EXCLUDED)
    elif not is_staff and referral.status == ReferralStatus.STAFF_REVIEW:
        move(referral, ReferralStatus.APPROVED)
        reward_referral(referral, now=now)
    db.session.flush()
    return referral


# -------------------------------------------------------------------------------- funnel

FUNNEL_STEPS = ("registered", "visited", "purchased", "verified", "rewarded", "fraud")
_REACHED = {
    ReferralStatus.REGISTERED: {"registered"},
    ReferralStatus.WITHDRAWN: {"registered"},
    ReferralStatus.VISITED: {"registered", "visited"},
    ReferralStatus.PURCHASED: {"registered", "visited", "purchased"},
    ReferralStatus.LICENCE_CHECKED: {"registered", "visited", "purchased"},
    ReferralStatus.LICENCE_FAILED: {"registered", "visited", "purchased"},
    ReferralStatus.CALLBACK: {"registered", "visited", "purchased"},
    ReferralStatus.MANUAL_REVIEW: {"registered", "visited", "purchased"},
    ReferralStatus.APPROVED: {"registered", "visited", "purchased", "verified"},
    ReferralStatus.REWARDED: {"registered", "visited", "purchased", "verified", "rewarded"},
    ReferralStatus.FRAUD: {"registered", "visited", "purchased", "verified", "fraud"},
    ReferralStatus.STAFF_REVIEW: {"registered", "visited", "purchased", "verified"},
    ReferralStatus.STAFF_EXCLUDED: {"registered"},
}


def funnel(actor: User, *, by: str = "dealer") -> dict[str, Counter]:
    """Referral counts per step (registered → visited → purchased → verified → rewarded/fraud),
    per dealer code or per consultant (grouped by account; a shared name gets the dealer)."""
    from app.members.models import Dealer

    group = (Dealer.code,) if by == "dealer" else (User.id, User.name, Dealer.code)
    query = (
        select(*group, Referral.status, func.count(Referral.id))
        .join(Dealer, Dealer.id == Referral.dealer_id)
        .outerjoin(User, User.id == Referral.consultant_id)
        .group_by(*group, Referral.status)
    )
    if actor.role != Role.HQ_ADMIN:
        query = query.where(Referral.dealer_id == actor.dealer_id)
    counts: dict[tuple, Counter] = {}
    for *keys, status, count in db.session.execute(query):
        counter = counts.setdefault(tuple(keys), Counter())
        for step in _REACHED[ReferralStatus(status)]:
            counter[step] += count
    if by == "dealer":
        return {code: counter for (code,), counter in counts.items()}
    names = Counter(name for _id, name, _code in counts)
    return {
        (name or "—") if names[name] == 1 else f"{name or '—'} ({code} #{user_id})": counter
        for (user_id, name, code), counter in counts.items()
    }
