"""Events (R7): sign-up with capacity and a waiting list, offers, tickets, check-in."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.core.permissions import Role
from app.core.tokens import TokenError
from app.events.models import (
    CheckIn,
    Event,
    EventKind,
    EventRegistration,
    RegistrationStatus,
    ScanConflict,
)
from app.extensions import db
from app.loyalty.ledger import post_points
from app.loyalty.models import EntryKind, Tier
from app.loyalty.services import account_for
from app.members.models import Member, Vehicle

R = RegistrationStatus
HOLDS_PLACE = (R.CONFIRMED, R.OFFERED)


class SignUpRefused(DomainError):
    """A sign-up that breaks a rule of the event."""


# ------------------------------------------------------------------------------ events


def create_event(actor: User, *, now: datetime | None = None, **fields) -> Event:
    """Staff create an event of their dealer."""
    now = now or utcnow()
    if fields["ends_at"] <= fields["starts_at"]:
        raise ValidationFailed(_l("The event must end after it starts."), field="ends_at")
    if fields["registration_closes_at"] <= fields["registration_opens_at"]:
        raise ValidationFailed(
            _l("Registration must close after it opens."), field="registration_closes_at"
        )
    if fields["registration_closes_at"] > fields["starts_at"]:
        raise ValidationFailed(
            _l("Registration must close before the event starts."), field="registration_closes_at"
        )
    if fields.get("capacity", 0) <= 0:
        raise ValidationFailed(_l("Give the number of places."), field="capacity")
    event = Event(dealer_id=actor.dealer_id, created_by_id=actor.id, created_at=now, **fields)
    db.session.add(event)
    db.session.flush()
    record_audit(actor, "event.created", subject=event, dealer_id=event.dealer_id, now=now)
    return event


def _lock_event(event_id: int) -> Event:
    event = db.session.execute(
        select(Event)
        .where(Event.id == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if event is None:
        raise NotFound(_l("No such event."))
    return event


def places_taken(event: Event) -> int:
    """Cars (trips) or seats (driver and companions) held by confirmed and offered places."""
    per = 1 if event.kind == EventKind.TRIP else 1 + EventRegistration.companions
    return db.session.scalar(
        select(func.coalesce(func.sum(per), 0)).where(
            EventRegistration.event_id == event.id, EventRegistration.status.in_(HOLDS_PLACE)
        )
    )


def _places_needed(event: Event, companions: int) -> int:
    return 1 if event.kind == EventKind.TRIP else 1 + companions


def waiting_list(event: Event) -> list[EventRegistration]:
    """Who waits for a place, first come first served."""
    return list(
        db.session.scalars(
            select(EventRegistration)
            .where(EventRegistration.event_id == event.id, EventRegistration.status == R.WAITING)
            .order_by(EventRegistration.created_at, EventRegistration.id)
        )
    )


# ---------------------------------------------------------------------------- sign-up


def _check_eligibility(event: Event, member: Member) -> None:
    if event.dealer_id != member.dealer_id:
        raise NotFound(_l("No such event."))
    if event.min_tier_code:
        ranks = dict(db.session.execute(select(Tier.code, Tier.rank)).all())
        if ranks[account_for(member).tier_code] < ranks[event.min_tier_code]:
            raise SignUpRefused(_l("This event is for members of a higher tier."))
    if event.model_filter and not any(
        v.model.casefold() == event.model_filter.casefold() for v in member.vehicles
    ):
        raise SignUpRefused(
            _l("This event is for owners of a %(model)s.", model=event.model_filter)
        )


def sign_up(
    member: Member,
    event_id: int,
    *,
    companions: int = 0,
    companion_names: str = "",
    vehicle_id: int | None = None,
    accept_waiver: bool = False,
    now: datetime | None = None,
) -> EventRegistration:
    """Take a place, first come first served, or join the waiting list when it is full."""
    now = now or utcnow()
    # Every sign-up of this event queues on the event row: capacity is counted once at a time.
    event = _lock_event(event_id)
    _check_eligibility(event, member)
    if not event.registration_opens_at <= now < event.registration_closes_at:
        raise SignUpRefused(_l("Registration for this event is not open."))
    if not 0 <= companions <= event.max_companions:
        raise SignUpRefused(
            _l("You can bring up to %(n)s companions.", n=event.max_companions), field="companions"
        )
    if db.session.scalar(
        select(EventRegistration.id).where(
            EventRegistration.event_id == event.id,
            EventRegistration.member_id == member.id,
            EventRegistration.status.in_((R.CONFIRMED, R.WAITING, R.OFFERED)),
        )
    ):
        raise Conflict(_l("You are already signed up for this event."))
    vehicle = None
    if event.kind == EventKind.TRIP:
        vehicle = db.session.get(Vehicle, vehicle_id) if vehicle_id else None
        if vehicle is None or vehicle.member_id != member.id:
            raise SignUpRefused(_l("Choose the car you will drive."), field="vehicle_id")
        if not accept_waiver:
            raise SignUpRefused(_l("Accept the waiver to join a trip."), field="accept_waiver")
    if event.price_fen and not current_app.config.get("STRIPE_SECRET_KEY"):
        raise SignUpRefused(_l("Online payment is not configured for this event yet."))
    full = places_taken(event) + _places_needed(event, companions) > event.capacity
    registration = EventRegistration(
        event_id=event.id,
        member_id=member.id,
        vehicle_id=vehicle.id if vehicle else None,
        companions=companions,
        companion_names=(companion_names or "").strip()[:200],
        status=R.WAITING if full else R.CONFIRMED,
        waiver_accepted_at=now if accept_waiver else None,
        created_at=now,
        confirmed_at=None if full else now,
        ticket_uuid=str(uuid.uuid4()),
    )
    db.session.add(registration)
    db.session.flush()
    return registration


def _promote(event: Event, now: datetime) -> list[EventRegistration]:
    """Offer freed places to the waiting list in order; each offer must be confirmed in time."""
    offered = []
    for waiting in waiting_list(event):
        if places_taken(event) + _places_needed(event, waiting.companions) > event.capacity:
            break
        waiting.status = R.OFFERED
        waiting.offered_at = now
        waiting.offer_expires_at = now + timedelta(hours=event.offer_hours)
        db.session.flush()
        offered.append(waiting)
    return offered


def cancel_registration(
    member: Member, registration_id: int, *, now: datetime | None = None
) -> EventRegistration:
    """The owner cancels (until the cut-off); a freed place is offered to the next in line."""
    now = now or utcnow()
    found = db.session.get(EventRegistration, registration_id)
    if found is None or found.member_id != member.id:
        raise NotFound(_l("No such registration."))
    event = _lock_event(found.event_id)
    registration = db.session.get(EventRegistration, registration_id, populate_existing=True)
    if registration.status not in (R.CONFIRMED, R.WAITING, R.OFFERED):
        raise Conflict(_l("This registration is already cancelled."))
    if now >= (event.cancel_until or event.registration_closes_at):
        raise SignUpRefused(_l("It is too late to cancel online: please call the dealer."))
    held = registration.status in HOLDS_PLACE
    registration.status = R.CANCELLED
    registration.cancelled_at = now
    db.session.flush()
    if held:
        _promote(event, now)
    return registration


def confirm_offer(
    member: Member, registration_id: int, *, now: datetime | None = None
) -> EventRegistration:
    """Take the place offered from the waiting list, before the offer runs out."""
    now = now or utcnow()
    found = db.session.get(EventRegistration, registration_id)
    if found is None or found.member_id != member.id:
        raise NotFound(_l("No such registration."))
    _lock_event(found.event_id)
    registration = db.session.get(EventRegistration, registration_id, populate_existing=True)
    if registration.status != R.OFFERED:
        raise Conflict(_l("There is no place waiting for you to confirm."))
    if now >= registration.offer_expires_at:
        raise SignUpRefused(_l("The offer ran out; the place went to the next in line."))
    registration.status = R.CONFIRMED
    registration.confirmed_at = now
    db.session.flush()
    return registration


def expire_offers(*, now: datetime | None = None) -> int:
    """The job: offers not confirmed in time lapse and pass to the next in line."""
    now = now or utcnow()
    event_ids = db.session.scalars(
        select(EventRegistration.event_id)
        .where(EventRegistration.status == R.OFFERED, EventRegistration.offer_expires_at <= now)
        .distinct()
        .order_by(EventRegistration.event_id)
    ).all()
    lapsed = 0
    for event_id in event_ids:
        event = _lock_event(event_id)
        for registration in db.session.scalars(
            select(EventRegistration).where(
                EventRegistration.event_id == event_id,
                EventRegistration.status == R.OFFERED,
                EventRegistration.offer_expires_at <= now,
            )
        ):
            registration.status = R.EXPIRED
            lapsed += 1
        db.session.flush()
        _promote(event, now)
    return lapsed


# ------------------------------------------------------------------- tickets and check-in


def ticket_token(registration: EventRegistration, *, now: datetime | None = None) -> str:
    """The signed token in the ticket's QR (kind "ticket"; it does not expire)."""
    return current_app.extensions["token_signer"].sign(
        "ticket", registration.id, now=now or utcnow()
    )


@dataclass(frozen=True)
class CheckInResult:
    """What the gate shows: checked_in, already_checked_in, invalid, wrong_event, cancelled."""

    status: str
    registration: EventRegistration | None = None
    checked_in_at: datetime | None = None


def _staff_event(actor: User | None, event_id: int, dealer_id: int | None) -> Event:
    event = db.session.get(Event, event_id)
    scope = (
        dealer_id if actor is None else (None if actor.role == Role.HQ_ADMIN else actor.dealer_id)
    )
    if event is None or (scope is not None and event.dealer_id != scope):
        raise NotFound(_l("No such event."))
    return event


def check_in(
    actor: User | None,
    *,
    event_id: int,
    ticket: str,
    nonce: str | None = None,
    dealer_id: int | None = None,
    now: datetime | None = None,
) -> CheckInResult:
    """Check a scanned ticket in, once; the attendance points are awarded once."""
    now = now or utcnow()
    event = _staff_event(actor, event_id, dealer_id)
    try:
        claims = current_app.extensions["token_signer"].verify(ticket, kind="ticket", now=now)
    except TokenError:
        return CheckInResult("invalid")
    found = db.session.get(EventRegistration, claims.subject_id)
    if found is None:
        return CheckInResult("invalid")
    if found.event_id != event.id:
        return CheckInResult("wrong_event", found)
    if found.status != R.CONFIRMED:
        return CheckInResult("cancelled", found)
    # Scans of one ticket queue on its row: two phones cannot both check it in.
    registration = db.session.execute(
        select(EventRegistration)
        .where(EventRegistration.id == found.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if nonce and (replayed := db.session.scalar(select(CheckIn).where(CheckIn.nonce == nonce))):
        return CheckInResult("checked_in", registration, replayed.checked_in_at)
    done = db.session.scalar(select(CheckIn).where(CheckIn.registration_id == registration.id))
    if done is not None:
        if nonce and not db.session.scalar(
            select(ScanConflict.id).where(ScanConflict.nonce == nonce)
        ):
            db.session.add(
                ScanConflict(
                    registration_id=registration.id,
                    scanned_at=now,
                    staff_id=getattr(actor, "id", None),
                    nonce=nonce,
                )
            )
            db.session.flush()
        return CheckInResult("already_checked_in", registration, done.checked_in_at)
    check = CheckIn(
        registration_id=registration.id,
        event_id=event.id,
        checked_in_at=now,
        staff_id=getattr(actor, "id", None),
        nonce=nonce,
    )
    db.session.add(check)
    db.session.flush()
    if event.attendance_points:
        post_points(
            account_for(registration.member).id,
            event.attendance_points,
            kind=EntryKind.EARN,
            source="event",
            key=f"ticket:{registration.ticket_uuid}",
            reference=event.title[:64],
            qualifying=True,
            actor=actor,
            now=now,
        )
    return CheckInResult("checked_in", registration, now)
