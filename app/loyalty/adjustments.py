"""Goodwill points and corrections by staff: a reason, a daily cap, a second approval (R4)."""

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import local_date, local_midnight, utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.permissions import Role
from app.extensions import db
from app.loyalty.ledger import post_points
from app.loyalty.models import (
    ADJUSTMENT,
    AdjustmentStatus,
    EntryKind,
    PointsAccount,
    PointsAdjustment,
)
from app.members.models import Member

APPROVER_ROLES = {Role.DEALER_ADMIN, Role.HQ_ADMIN}


def _local_day_start(now: datetime) -> datetime:
    return local_midnight(local_date(now))


def given_today(actor, now: datetime) -> int:
    """Points (either sign) the staff member has given or asked for since local midnight."""
    start = _local_day_start(now)
    return db.session.scalar(
        select(func.coalesce(func.sum(func.abs(PointsAdjustment.points)), 0)).where(
            PointsAdjustment.requested_by_id == actor.id,
            PointsAdjustment.requested_at >= start,
            PointsAdjustment.requested_at < start + timedelta(days=1),
            PointsAdjustment.status != AdjustmentStatus.REJECTED,
        )
    )


def _post(adjustment: PointsAdjustment, actor, now: datetime) -> None:
    entry = post_points(
        adjustment.account_id,
        adjustment.points,
        kind=EntryKind.ADJUST,
        source="goodwill",
        key=f"adjustment:{adjustment.id}",
        reason=adjustment.reason,
        actor=actor,
        dealer_id=adjustment.dealer_id,
        now=now,
    )
    adjustment.entry_id = entry.id
    ADJUSTMENT.move(adjustment, AdjustmentStatus.POSTED)


def request_adjustment(
    actor, member: Member, *, points: int, reason: str, now: datetime | None = None
) -> PointsAdjustment:
    """Give (or take back) points with a reason; large amounts wait for a second staff member."""
    now = now or utcnow()
    cfg = current_app.config
    reason = (reason or "").strip()
    if points == 0:
        raise ValidationFailed(_l("Enter a number of points other than 0."), field="points")
    if len(reason) < 5:
        raise ValidationFailed(_l("Say why, in a few words."), field="reason")
    if actor.role != Role.HQ_ADMIN and member.dealer_id != actor.dealer_id:
        raise NotFound(_l("No such member."))
    # Lock the requester's row: simultaneous requests cannot both squeeze under the cap.
    db.session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    already = given_today(actor, now)
    if already + abs(points) > cfg["GOODWILL_DAILY_CAP"]:
        raise ValidationFailed(
            _l(
                "Your daily limit is %(cap)s points; %(left)s are left today.",
                cap=cfg["GOODWILL_DAILY_CAP"],
                left=max(0, cfg["GOODWILL_DAILY_CAP"] - already),
            ),
            field="points",
        )
    account = db.session.scalar(select(PointsAccount).where(PointsAccount.member_id == member.id))
    adjustment = PointsAdjustment(
        account_id=account.id,
        dealer_id=member.dealer_id,
        points=points,
        reason=reason,
        status=AdjustmentStatus.PENDING,
        requested_by_id=actor.id,
        requested_at=now,
    )
    db.session.add(adjustment)
    db.session.flush()
    if abs(points) <= cfg["GOODWILL_APPROVAL_THRESHOLD"]:
        _post(adjustment, actor, now)
    record_audit(
        actor,
        "points.adjustment_requested",
        subject=adjustment,
        dealer_id=member.dealer_id,
        details={"points": points, "reason": reason, "status": adjustment.status.value},
        now=now,
    )
    return adjustment


def decide_adjustment(
    approver, adjustment_id: int, *, approve: bool, now: datetime | None = None
) -> PointsAdjustment:
    """A second staff member (dealer admin or HQ, not the requester) approves or rejects."""
    now = now or utcnow()
    adjustment = db.session.get(PointsAdjustment, adjustment_id, with_for_update=True)
    if adjustment is None or (
        approver.role != Role.HQ_ADMIN and adjustment.dealer_id != approver.dealer_id
    ):
        raise NotFound(_l("No such adjustment."))
    if approver.role not in APPROVER_ROLES:
        raise Forbidden(_l("Only a dealer admin or HQ can approve adjustments."))
    if approver.id == adjustment.requested_by_id:
        raise Forbidden(_l("Someone other than the requester must approve it."))
    if adjustment.status != AdjustmentStatus.PENDING:
        raise Conflict(_l("This adjustment was already decided."))
    adjustment.decided_by_id = approver.id
    adjustment.decided_at = now
    if approve:
        _post(adjustment, approver, now)
    else:
        ADJUSTMENT.move(adjustment, AdjustmentStatus.REJECTED)
    db.session.flush()
    record_audit(
        approver,
        "points.adjustment_approved" if approve else "points.adjustment_rejected",
        subject=adjustment,
        dealer_id=adjustment.dealer_id,
        details={"points": adjustment.points},
        now=now,
    )
    return adjustment


def pending_adjustments(actor):
    """Adjustments waiting for approval that ``actor`` may decide: rows of
    (adjustment, member, requester)."""
    query = (
        select(PointsAdjustment, Member, User)
        .join(PointsAccount, PointsAccount.id == PointsAdjustment.account_id)
        .join(Member, Member.id == PointsAccount.member_id)
        .join(User, User.id == PointsAdjustment.requested_by_id)
        .where(PointsAdjustment.status == AdjustmentStatus.PENDING)
        .order_by(PointsAdjustment.requested_at)
    )
    if actor.role != Role.HQ_ADMIN:
        query = query.where(PointsAdjustment.dealer_id == actor.dealer_id)
    return query
