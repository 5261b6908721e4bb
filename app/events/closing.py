"""Places that end without the owner: their account is deleted, or the event is over.

Both go through the registration's state machine and the services' deposit return and
promotion, so a freed place still goes to the next in line and a deposit comes back once.
"""

from datetime import datetime

from sqlalchemy import and_, exists, literal, select
from sqlalchemy.orm import aliased

from app.core.clock import utcnow
from app.events.models import REGISTRATION as MACHINE
from app.events.models import CheckIn, Event, EventRegistration, RegistrationStatus
from app.events.services import (
    ACTIVE,
    _cancel,
    _lock_registration,
    checked_in_at,
    return_deposit,
)
from app.extensions import db
from app.loyalty.models import PointsEntry
from app.loyalty.reconcile import Breach
from app.members.models import Member

# Places still waited for when the event is over: they lapse (a pending payment lapses with
# its hold, in ``payments.expire_unpaid``).
STILL_WAITING = (RegistrationStatus.WAITING, RegistrationStatus.OFFERED)


def withdraw_member(member: Member, *, now: datetime | None = None) -> list[EventRegistration]:
    """Cancel every live place and waiting-list place of the member at events not ended yet,
    whatever the owner's cut-off (their account is being deleted); a checked-in ticket stays.
    Deposits return and freed places go to the next in line; the caller refunds paid places
    (``payments.refund_for_cancellation``). Returns the registrations cancelled."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(EventRegistration.id)
        .join(Event, Event.id == EventRegistration.event_id)
        .where(
            EventRegistration.member_id == member.id,
            EventRegistration.status.in_(ACTIVE),
            Event.ends_at > now,
        )
        .order_by(EventRegistration.id)
    ).all()
    cancelled = []
    for registration_id in ids:
        event, registration = _lock_registration(registration_id, member)
        if registration.status not in ACTIVE or checked_in_at(registration) is not None:
            continue
        cancelled.append(_cancel(event, registration, now))
    return cancelled


def lapse_after_event(*, now: datetime | None = None) -> int:
    """The job: once an event is over, the waiting list and open offers lapse and their points
    deposits come back, once (a rerun finds nothing). Returns how many lapsed."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(EventRegistration.id)
        .join(Event, Event.id == EventRegistration.event_id)
        .where(Event.ends_at <= now, EventRegistration.status.in_(STILL_WAITING))
        .order_by(EventRegistration.event_id, EventRegistration.id)
    ).all()
    lapsed = 0
    for registration_id in ids:
        _event, registration = _lock_registration(registration_id)
        if registration.status not in STILL_WAITING:
            continue
        MACHINE.move(registration, RegistrationStatus.EXPIRED)
        db.session.flush()
        return_deposit(registration, now=now)
        lapsed += 1
    return lapsed


def deposit_breaches(now: datetime) -> list[Breach]:
    """The ledger's ``deposits`` invariant (app/loyalty/reconcile.py): every ended event's points
    deposits were returned, or kept from an owner who held a confirmed place and did not come."""
    # A deposit may be kept only from an owner who held a place and did not come (R7).
    keeps_deposit = (RegistrationStatus.CONFIRMED,)
    deposit = aliased(PointsEntry)
    returned = aliased(PointsEntry)
    kept = and_(
        EventRegistration.status.in_(keeps_deposit),
        ~exists().where(CheckIn.registration_id == EventRegistration.id),
    )
    rows = db.session.execute(
        select(
            deposit.account_id,
            EventRegistration.member_id,
            Event.id,
            EventRegistration.id,
            EventRegistration.status,
        )
        .join(Event, Event.id == EventRegistration.event_id)
        .join(
            deposit, deposit.idempotency_key == literal("deposit:") + EventRegistration.ticket_uuid
        )
        .outerjoin(
            returned,
            returned.idempotency_key == literal("deposit-return:") + EventRegistration.ticket_uuid,
        )
        .where(Event.ends_at <= now, Event.deposit_points > 0, returned.id.is_(None), ~kept)
        .order_by(Event.id, EventRegistration.id)
    ).all()
    return [
        Breach(
            "deposits",
            account_id,
            member_id,
            f"event {event_id} ended; registration {reg_id} ({status.value}) holds its deposit",
        )
        for account_id, member_id, event_id, reg_id, status in rows
    ]
