"""Name checks (R12): a DMS delivery named a proven owner differently from their profile.

The stored name stays until staff of the owner's dealer decide: keep it, or take the DMS's.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound
from app.core.permissions import Role
from app.extensions import db
from app.members.models import Member, NameMismatch, Vehicle

KEPT = "kept"
RENAMED = "renamed"


def open_name_check(member: Member, vehicle: Vehicle) -> NameMismatch | None:
    """The open name check a delivery of ``vehicle`` raised for ``member``, if any."""
    return db.session.scalar(
        select(NameMismatch).where(
            NameMismatch.member_id == member.id,
            NameMismatch.vehicle_id == vehicle.id,
            NameMismatch.resolved_at.is_(None),
        )
    )


def flag_name_mismatch(
    actor: User | None,
    member: Member,
    vehicle: Vehicle,
    *,
    dms_name: str,
    now: datetime | None = None,
) -> NameMismatch:
    """Queue a name check for staff: the DMS named ``member`` ``dms_name`` (once per car)."""
    existing = open_name_check(member, vehicle)
    if existing is not None:
        return existing
    now = now or utcnow()
    mismatch = NameMismatch(
        member_id=member.id,
        dealer_id=member.dealer_id,
        vehicle_id=vehicle.id,
        stored_name=member.name,
        dms_name=dms_name.strip()[:64],
        created_at=now,
    )
    db.session.add(mismatch)
    db.session.flush()
    record_audit(
        actor,
        "delivery.name_mismatch",
        subject=member,
        dealer_id=member.dealer_id,
        details={
            "name_check_id": mismatch.id,
            "vehicle_id": vehicle.id,
            "stored_name": mismatch.stored_name,
            "dms_name": mismatch.dms_name,
        },
        now=now,
    )
    return mismatch


def _scoped(actor: User, dealer_id: int | None = None) -> Select:
    query = select(NameMismatch).where(NameMismatch.resolved_at.is_(None))
    if actor.role != Role.HQ_ADMIN:
        return query.where(NameMismatch.dealer_id == actor.dealer_id)
    if dealer_id is not None:
        query = query.where(NameMismatch.dealer_id == dealer_id)
    return query


def open_name_checks(actor: User, *, dealer_id: int | None = None) -> Select:
    """The open name checks ``actor`` may decide, newest first (HQ: every dealer's, or one)."""
    return (
        _scoped(actor, dealer_id)
        .options(
            joinedload(NameMismatch.member).joinedload(Member.dealer),
            joinedload(NameMismatch.vehicle),
        )
        .order_by(NameMismatch.created_at.desc(), NameMismatch.id.desc())
    )


def count_open_name_checks(actor: User) -> int:
    """How many name checks wait for ``actor``'s dealer (HQ: for every dealer)."""
    return db.session.scalar(select(func.count()).select_from(_scoped(actor).subquery()))


def resolve_name_check(
    actor: User, check_id: int, *, rename: bool, now: datetime | None = None
) -> NameMismatch:
    """Keep the stored name, or rename the owner to the DMS's name; once, audited."""
    from app.members.services import rename_member

    now = now or utcnow()
    check = db.session.get(NameMismatch, check_id, with_for_update=True)
    if check is None or (actor.role != Role.HQ_ADMIN and check.dealer_id != actor.dealer_id):
        raise NotFound(_l("No such name check."))
    if check.resolved_at is not None:
        raise Conflict(_l("This name check was already resolved."))
    member = check.member
    before = member.name
    if rename:
        rename_member(member, check.dms_name)
    check.resolution = RENAMED if rename else KEPT
    check.resolved_at = now
    check.resolved_by_id = actor.id
    db.session.flush()
    record_audit(
        actor,
        "member.name_check_resolved",
        subject=member,
        dealer_id=check.dealer_id,
        details={
            "name_check_id": check.id,
            "resolution": check.resolution,
            "name_before": before,
            "name_after": member.name,
            "dms_name": check.dms_name,
        },
        now=now,
    )
    return check
