"""At the showroom (seed 002, 推荐购买真实性判断 一、初步判断):

    "新客户需主动提出有老客户推荐,并提供老客户相关信息(姓名、电话、拥有车型、车型颜色),
     销售顾问须将此情况及时报告给值班经理并登记。"
    "销售顾问符合推荐购买的老客户,到值班经理处报备。"

When staff record a prospect's visit, the friend may name the referrer (mobile, or name and
plate). A referral registered before the visit moves to "visited" (``record_showroom_visit``);
one the friend names only now is registered at this first visit (``register_referral``, so
every rule of R6 holds). Either way the referral waits for the duty manager, who confirms it or
refuses it on the phone; a refused referral ends (withdrawn, with the manager's reason).
"""

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app.auth.models import User
from app.core.clock import utcnow
from app.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from app.core.identifiers import mask_mobile, normalize_mobile, normalize_plate
from app.core.permissions import Role
from app.extensions import db
from app.members.inbox import notify
from app.members.models import Member, Vehicle
from app.referrals import services as referrals
from app.referrals.models import (
    SHOWROOM_REPORT,
    Referral,
    ReferralStatus,
    ReportStatus,
    ShowroomReport,
    ShowroomVisit,
)

REPORT_LABELS = {
    ReportStatus.PENDING: _l("waiting for the duty manager"),
    ReportStatus.CONFIRMED: _l("confirmed by the duty manager"),
    ReportStatus.REFUSED: _l("refused by the duty manager"),
}
# The form's fields that ``register_referral``'s refusals name, on the visit form.
_VISIT_FIELDS = {"friend_mobile": "mobile", "friend_name": "name"}


@dataclass(frozen=True)
class NamedReferrer:
    """What the friend said of the owner who referred them (any part may be empty)."""

    mobile: str = ""
    name: str = ""
    plate: str = ""

    def given(self) -> bool:
        """The friend named someone."""
        return any(part.strip() for part in (self.mobile, self.name, self.plate))

    def said(self) -> str:
        """What the friend said, for the duty manager (a mobile masked, as staff lists show)."""
        mobile = normalize_mobile(self.mobile)
        parts = (mask_mobile(mobile) if mobile else self.mobile, self.name, self.plate)
        return " · ".join(p.strip() for p in parts if p.strip())


def _same_name(a: str, b: str) -> bool:
    return "".join(a.split()).casefold() == "".join(b.split()).casefold()


def find_named_referrer(named: NamedReferrer) -> Member | None:
    """The owner the friend's words lead to (mobile, or name and plate), None when none named;
    ValidationFailed when the words lead to no owner."""
    if not named.given():
        return None
    if named.mobile.strip():
        mobile = normalize_mobile(named.mobile)
        if mobile is None:
            raise ValidationFailed(
                _l("Enter the referrer's mainland mobile number of 11 digits."),
                field="referrer_mobile",
            )
        user = db.session.scalar(select(User).where(User.mobile == mobile))
        if user is None or user.member is None or user.deleted_at is not None:
            raise ValidationFailed(
                _l("No club owner has this mobile number."), field="referrer_mobile"
            )
        return user.member
    if not (named.name.strip() and named.plate.strip()):
        raise ValidationFailed(
            _l("Give the referrer's mobile number, or both their name and their plate."),
            field="referrer_name" if not named.name.strip() else "referrer_plate",
        )
    vehicle = db.session.scalar(
        select(Vehicle).where(Vehicle.plate == normalize_plate(named.plate))
    )
    if vehicle is None or not _same_name(vehicle.member.name, named.name):
        raise ValidationFailed(
            _l("No club owner of this name drives a car with this plate."),
            field="referrer_plate",
        )
    return vehicle.member


@dataclass(frozen=True)
class VisitOutcome:
    """What recording a visit did: the visit, the friend's referral (if any), whether it was
    registered just now, and whether the friend named someone else than its referrer."""

    visit: ShowroomVisit
    referral: Referral | None
    registered_now: bool
    named_other: bool


def _register_at_visit(actor: User, owner: Member, visit: ShowroomVisit, now: datetime):
    try:
        return referrals.register_referral(
            actor,
            owner,
            friend_name=visit.name,
            friend_mobile=visit.mobile,
            consultant_id=visit.consultant_id,
            now=now,
        )
    except NotFound:
        raise ValidationFailed(
            _l(
                "This owner is a member of another dealer's club: only an owner of this "
                "dealer can be named here."
            ),
            field="referrer_mobile",
        ) from None
    except DomainError as err:
        err.field = _VISIT_FIELDS.get(err.field, err.field)
        raise


def record_visit(
    actor: User,
    *,
    mobile: str,
    name: str,
    visited_on: date,
    consultant_id: int | None = None,
    named: NamedReferrer | None = None,
    now: datetime | None = None,
) -> VisitOutcome:
    """Record a prospect's showroom visit, with the referrer the friend names (if any); the
    friend's referral at this dealer is then reported to the duty manager."""
    now = now or utcnow()
    named = named or NamedReferrer()
    owner = find_named_referrer(named)
    visit = referrals.record_showroom_visit(
        actor,
        mobile=mobile,
        name=name,
        visited_on=visited_on,
        consultant_id=consultant_id,
        now=now,
    )
    referral = db.session.scalar(select(Referral).where(Referral.friend_mobile == visit.mobile))
    registered_now = False
    if referral is None and owner is not None:
        referral = _register_at_visit(actor, owner, visit, now)
        registered_now = True
    named_other = owner is not None and referral is not None and referral.referrer_id != owner.id
    if (
        referral is not None
        and referral.dealer_id == actor.dealer_id
        and referral.status == ReferralStatus.VISITED
        and report_for(referral) is None
    ):
        report = ShowroomReport(
            referral_id=referral.id,
            dealer_id=referral.dealer_id,
            visit_id=visit.id,
            named_referrer=named.said()[:200],
            named_member_id=owner.id if owner is not None else None,
            status=ReportStatus.PENDING,
            reported_by_id=actor.id,
            reported_at=now,
        )
        db.session.add(report)
        db.session.flush()
        referrals.audit(
            actor,
            "referral.showroom_reported",
            referral,
            now,
            named=bool(owner),
            named_other=named_other,
        )
    return VisitOutcome(visit, referral, registered_now, named_other)


def report_for(referral: Referral) -> ShowroomReport | None:
    """The referral's report to the duty manager, if one was made."""
    return db.session.scalar(
        select(ShowroomReport).where(ShowroomReport.referral_id == referral.id)
    )


def report_label(status) -> str:
    """A report's state in the user's language."""
    return str(REPORT_LABELS[ReportStatus(status)])


def pending_query(actor: User):
    """The dealer's referrals waiting for the duty manager, oldest visit first. A referral that
    visited waits until a manager confirms or refuses it, whether or not the visit form
    reported it."""
    return (
        select(Referral)
        .outerjoin(ShowroomReport, ShowroomReport.referral_id == Referral.id)
        .where(
            Referral.dealer_id == actor.dealer_id,
            Referral.status == ReferralStatus.VISITED,
            or_(ShowroomReport.id.is_(None), ShowroomReport.status == ReportStatus.PENDING),
        )
        .order_by(Referral.visited_on, Referral.id)
    )


def pending_count(actor: User) -> int:
    """How many referrals wait for the duty manager of the actor's dealer."""
    return db.session.scalar(select(func.count()).select_from(pending_query(actor).subquery()))


def _waiting_referral(manager: User, referral_id: int) -> Referral:
    referral = referrals.locked(referrals.get_referral_for_staff(manager, referral_id))
    if manager.role == Role.HQ_ADMIN or referral.dealer_id != manager.dealer_id:
        raise NotFound(_l("No such referral."))
    report = report_for(referral)
    if referral.status != ReferralStatus.VISITED or (
        report is not None and report.status != ReportStatus.PENDING
    ):
        raise referrals.TransitionRefused(
            _l("This referral is no longer waiting for the duty manager.")
        )
    involved = {referral.registered_by_id, referral.consultant_id}
    if report is not None:
        involved.add(report.reported_by_id)
    if manager.id in involved:
        raise Forbidden(
            _l("You registered or served this visitor: another manager on duty must confirm it.")
        )
    return referral


def _report_of(manager: User, referral: Referral, now: datetime) -> ShowroomReport:
    report = report_for(referral)
    if report is None:
        report = ShowroomReport(
            referral_id=referral.id,
            dealer_id=referral.dealer_id,
            status=ReportStatus.PENDING,
            reported_by_id=manager.id,
            reported_at=now,
        )
        db.session.add(report)
    return report


def confirm_report(
    manager: User, referral_id: int, *, now: datetime | None = None
) -> ShowroomReport:
    """The duty manager confirms the friend came referred by this owner (报备 signed off)."""
    now = now or utcnow()
    referral = _waiting_referral(manager, referral_id)
    report = _report_of(manager, referral, now)
    SHOWROOM_REPORT.move(report, ReportStatus.CONFIRMED)
    report.decided_by_id = manager.id
    report.decided_at = now
    db.session.flush()
    referrals.audit(manager, "referral.showroom_confirmed", referral, now)
    return report


def refuse_report(
    manager: User, referral_id: int, *, reason: str, now: datetime | None = None
) -> ShowroomReport:
    """The duty manager refuses: the referral ends (withdrawn) with the reason, and the owner is
    told."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_l("Say why."), field="reason")
    referral = _waiting_referral(manager, referral_id)
    report = _report_of(manager, referral, now)
    SHOWROOM_REPORT.move(report, ReportStatus.REFUSED)
    report.decided_by_id = manager.id
    report.decided_at = now
    report.note = reason
    referrals.move(referral, ReferralStatus.WITHDRAWN)
    referral.decided_by_id = manager.id
    referral.decided_at = now
    referral.review_reason = reason
    db.session.flush()
    referrals.audit(manager, "referral.showroom_refused", referral, now, reason=reason)
    notify(
        referral.referrer,
        "referral_refused",
        lambda: (
            _l("Your referral of %(name)s was not confirmed", name=referral.friend_name),
            _l(
                "The showroom's duty manager did not confirm your referral of %(name)s: %(reason)s",
                name=referral.friend_name,
                reason=reason,
            ),
        ),
        dedupe_key=f"referral-refused:{referral.id}",
        now=now,
    )
    return report
