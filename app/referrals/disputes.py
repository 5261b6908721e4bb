"""An owner disputes a fraud outcome; a manager reviews it with the call recording and decides
(seed 002, 三、处罚办法):

    "客户造假:取消奖励,如客户有异议,邀请客户到店,并向客户提供甄别录音。"

The owner disputes once, within ``REFERRAL_DISPUTE_DAYS`` of the outcome. The dealer's admin
(or HQ, for any dealer) reviews it, naming the recording they listened to with the owner; a
manager who handled the referral (registered, sold, checked, called or decided it) does not
review it. Upheld, the outcome stands. Overturned, the referral is approved through the one
decision path (``services.decide``), which rewards it as it would have been rewarded, once; the
staff flags its fraud outcome raised are withdrawn.
"""

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from app.auth.models import User
from app.core.clock import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.members.inbox import notify
from app.members.models import Member
from app.members.scope import dealer_scope, sees_dealer
from app.referrals import services as referrals
from app.referrals.models import (
    REFERRAL_DISPUTE,
    DisputeStatus,
    Referral,
    ReferralDispute,
    ReferralStatus,
    StaffFlag,
)

DISPUTE_LABELS = {
    DisputeStatus.OPEN: _l("under review"),
    DisputeStatus.UPHELD: _l("upheld: the outcome stands"),
    DisputeStatus.OVERTURNED: _l("overturned: approved and rewarded"),
}
MAX_REASON = 2000


def dispute_label(status) -> str:
    """A dispute's state in the user's language."""
    return str(DISPUTE_LABELS[DisputeStatus(status)])


def dispute_for(referral: Referral) -> ReferralDispute | None:
    """The referral's dispute, if the owner opened one."""
    return db.session.scalar(
        select(ReferralDispute).where(ReferralDispute.referral_id == referral.id)
    )


def dispute_deadline(referral: Referral) -> datetime | None:
    """The last moment the owner may dispute the referral's fraud outcome."""
    if referral.status != ReferralStatus.FRAUD or referral.decided_at is None:
        return None
    return referral.decided_at + timedelta(days=current_app.config["REFERRAL_DISPUTE_DAYS"])


def can_dispute(referral: Referral, *, now: datetime | None = None) -> bool:
    """The owner may still dispute this referral's outcome."""
    deadline = dispute_deadline(referral)
    return deadline is not None and (now or utcnow()) <= deadline and dispute_for(referral) is None


def open_dispute(
    member: Member, referral_id: int, *, reason: str = "", now: datetime | None = None
) -> ReferralDispute:
    """The owner disputes their referral's fraud outcome (once, in time), with an optional word."""
    now = now or utcnow()
    referral = db.session.get(Referral, referral_id)
    if referral is None or referral.referrer_id != member.id:
        raise NotFound(_l("No such referral."))
    referral = referrals.locked(referral)
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise ValidationFailed(_l("Keep it under %(n)s characters.", n=MAX_REASON), field="reason")
    if dispute_for(referral) is not None:
        raise Conflict(_l("You already disputed this outcome: a referral is disputed once."))
    deadline = dispute_deadline(referral)
    if deadline is None:
        raise ValidationFailed(_l("Only a referral found not genuine can be disputed."))
    if now > deadline:
        raise ValidationFailed(
            _l(
                "The time to dispute this outcome ended on %(day)s.",
                day=deadline.date().isoformat(),
            )
        )
    dispute = ReferralDispute(
        referral_id=referral.id,
        member_id=member.id,
        dealer_id=referral.dealer_id,
        reason=reason,
        status=DisputeStatus.OPEN,
        opened_at=now,
    )
    db.session.add(dispute)
    db.session.flush()
    referrals.audit(member.user, "referral.disputed", referral, now, dispute=dispute.id)
    return dispute


def staff_query(actor: User, *, status: DisputeStatus | None = DisputeStatus.OPEN):
    """Disputes the actor may review (their dealer's; every dealer's for HQ), oldest first."""
    query = select(ReferralDispute).order_by(ReferralDispute.opened_at, ReferralDispute.id)
    scope = dealer_scope(actor)
    if scope is not None:
        query = query.where(ReferralDispute.dealer_id == scope)
    if status is not None:
        query = query.where(ReferralDispute.status == status)
    return query


def open_count(actor: User) -> int:
    """How many disputes wait for the actor's review."""
    return db.session.scalar(select(func.count()).select_from(staff_query(actor).subquery()))


def get_dispute_for_staff(actor: User, dispute_id: int) -> ReferralDispute:
    """A dispute of the actor's dealer (any for HQ); NotFound otherwise."""
    dispute = db.session.get(ReferralDispute, dispute_id)
    if dispute is None or not sees_dealer(actor, dispute.dealer_id):
        raise NotFound(_l("No such dispute."))
    return dispute


def handled_by(referral: Referral) -> set[int]:
    """Everyone who handled the referral before the dispute."""
    return {
        i
        for i in (
            referral.registered_by_id,
            referral.consultant_id,
            referral.licence_checked_by_id,
            referral.decided_by_id,
            *(a.agent_id for a in referral.attempts),
            *(q.answered_by_id for q in referral.questions),
        )
        if i is not None
    }


def decide_dispute(
    manager: User,
    dispute_id: int,
    *,
    overturn: bool,
    recording_ref: str,
    note: str,
    now: datetime | None = None,
) -> ReferralDispute:
    """Uphold the fraud outcome or overturn it (approve and reward, once), with the recording
    reviewed and the reason the owner is told."""
    now = now or utcnow()
    dispute = get_dispute_for_staff(manager, dispute_id)
    referral = referrals.locked(dispute.referral)
    db.session.refresh(dispute)
    if dispute.status != DisputeStatus.OPEN:
        raise referrals.TransitionRefused(_l("This dispute was already decided."))
    if manager.id in handled_by(referral):
        raise Forbidden(_l("You handled this referral: another manager must review the dispute."))
    recording_ref, note = (recording_ref or "").strip(), (note or "").strip()
    if not recording_ref and referral.callee is not None:
        raise ValidationFailed(_l("Name the call recording you reviewed."), field="recording_ref")
    if not note:
        raise ValidationFailed(_l("Say why: the owner is told."), field="note")
    REFERRAL_DISPUTE.move(dispute, DisputeStatus.OVERTURNED if overturn else DisputeStatus.UPHELD)
    dispute.recording_ref = recording_ref or None
    dispute.decision_note = note
    dispute.decided_by_id = manager.id
    dispute.decided_at = now
    db.session.flush()
    if overturn:
        cleared = db.session.execute(
            delete(StaffFlag).where(StaffFlag.referral_id == referral.id)
        ).rowcount
        referrals.audit(
            manager,
            "referral.dispute_overturned",
            referral,
            now,
            recording_ref=recording_ref,
            flags_withdrawn=cleared,
        )
        referrals.decide(manager, referral, fraud=False, now=now, dispute=dispute.id)
    else:
        referrals.audit(
            manager, "referral.dispute_upheld", referral, now, recording_ref=recording_ref
        )
    _tell_owner(dispute, referral, now)
    return dispute


def _tell_owner(dispute: ReferralDispute, referral: Referral, now: datetime) -> None:
    overturned = dispute.status == DisputeStatus.OVERTURNED
    note, name = dispute.decision_note, referral.friend_name
    notify(
        referral.referrer,
        "referral_dispute",
        lambda: (
            _l("Your dispute: the referral of %(name)s is approved", name=name)
            if overturned
            else _l("Your dispute: the outcome for %(name)s stands", name=name),
            _l("We reviewed the call recording. %(note)s", note=note),
        ),
        dedupe_key=f"referral-dispute:{dispute.id}",
        now=now,
    )
