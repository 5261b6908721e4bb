"""The managed list of reasons owners give for not coming (issue 20; seed 002: 记录、分析流失原因,
未回厂原因): what agents pick on a recall or maintenance call, what the recall and return-rate
reports count.

Group-wide reasons (``dealer_id`` None; the migration installs the first ones) are HQ's; a dealer
admin adds, renames and deactivates their own dealer's (``can_manage_dealer_row``, as rewards
and partners). A reason that a call used is never deleted, only deactivated: the reports keep
naming it.
"""

import secrets
from datetime import datetime

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from app.care.models import CallOutcome, LostReason
from app.core.audit import apply_changes, record_audit
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.permissions import can_manage_dealer_row
from app.extensions import db
from app.members.scope import dealer_scope, sees_dealer


def reason_label(reason: LostReason) -> str:
    """The reason in the current language."""
    return reason.label(str(get_locale() or "zh"))


def reasons_for(dealer_id: int | None, *, active_only: bool = True) -> list[LostReason]:
    """The group's reasons and the dealer's own (every dealer's for None), in list order."""
    query = select(LostReason).order_by(LostReason.position, LostReason.id)
    if dealer_id is not None:
        query = query.where(or_(LostReason.dealer_id.is_(None), LostReason.dealer_id == dealer_id))
    if active_only:
        query = query.where(LostReason.active)
    return list(db.session.scalars(query))


def reasons_shown_to(actor) -> list[LostReason]:
    """The reasons a staff member's list shows: HQ every one, a dealer's staff the group's and
    their dealer's."""
    dealer_id = dealer_scope(actor)
    return reasons_for(dealer_id, active_only=False)


def get_reason_for_staff(actor, reason_id: int) -> LostReason:
    """A reason the actor sees; NotFound for another dealer's."""
    reason = db.session.get(LostReason, reason_id)
    if reason is None or (
        reason.dealer_id is not None and not sees_dealer(actor, reason.dealer_id)
    ):
        raise NotFound(_l("No such reason."))
    return reason


def usable_reason(dealer_id: int, reason_id: int | None) -> LostReason | None:
    """The active reason ``reason_id`` of the group or of ``dealer_id``; None for None."""
    if reason_id is None:
        return None
    reason = db.session.get(LostReason, reason_id)
    if reason is None or not reason.active or reason.dealer_id not in (None, dealer_id):
        raise ValidationFailed(_l("Choose a reason from the list."), field="reason_id")
    return reason


def in_use(reason: LostReason) -> bool:
    """Whether a call recorded this reason."""
    return (
        db.session.scalar(select(CallOutcome.id).where(CallOutcome.reason_id == reason.id).limit(1))
        is not None
    )


def _labels(label_en: str, label_zh: str) -> tuple[str, str]:
    label_en, label_zh = (label_en or "").strip(), (label_zh or "").strip()
    if not (label_en or label_zh):
        raise ValidationFailed(_l("Name the reason in English or Chinese."), field="label_zh")
    return label_en or label_zh, label_zh or label_en


def save_reason(
    actor,
    reason: LostReason | None,
    *,
    label_en: str,
    label_zh: str,
    position: int,
    active: bool,
    needs_text: bool,
    asks_workshop: bool,
    now: datetime | None = None,
) -> LostReason:
    """Add a reason (HQ: for every dealer; a dealer admin: for their dealer) or change one the
    actor may manage. Audited."""
    now = now or utcnow()
    label_en, label_zh = _labels(label_en, label_zh)
    values = {
        "label_en": label_en,
        "label_zh": label_zh,
        "position": position,
        "active": active,
        "needs_text": needs_text,
        "asks_workshop": asks_workshop,
    }
    if reason is None:
        dealer_id = dealer_scope(actor)
        if not can_manage_dealer_row(actor, dealer_id):
            raise Conflict(_l("Only HQ and dealer admins manage the reasons."))
        reason = LostReason(code=f"r-{secrets.token_hex(6)}", dealer_id=dealer_id, created_at=now)
        db.session.add(reason)
        changes = apply_changes(reason, values)
        action = "care.reason_added"
    else:
        if not can_manage_dealer_row(actor, reason.dealer_id):
            raise Conflict(_l("This reason is HQ's: ask HQ to change it."))
        changes = apply_changes(reason, values)
        action = "care.reason_changed"
    db.session.flush()
    if changes:
        record_audit(
            actor, action, subject=reason, dealer_id=reason.dealer_id, details=changes, now=now
        )
    return reason


def delete_reason(actor, reason_id: int, *, now: datetime | None = None) -> None:
    """Delete a reason no call used (a used one is deactivated instead). Audited."""
    reason = get_reason_for_staff(actor, reason_id)
    if not can_manage_dealer_row(actor, reason.dealer_id):
        raise Conflict(_l("This reason is HQ's: ask HQ to change it."))
    if in_use(reason):
        raise Conflict(_l("Calls recorded this reason: deactivate it instead."))
    record_audit(
        actor,
        "care.reason_deleted",
        dealer_id=reason.dealer_id,
        details={"code": reason.code, "label_en": reason.label_en, "label_zh": reason.label_zh},
        now=now,
    )
    db.session.delete(reason)
    db.session.flush()
