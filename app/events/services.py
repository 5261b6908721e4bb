"""Events (R7): sign-up with capacity and a waiting list, offers, tickets, check-in."""

import uuid
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.core.identifiers import random_code
from app.core.images import KEEP_COVER, cover_columns
from app.core.permissions import Role
from app.core.signals import place_cancelled
from app.events.models import REGISTRATION as MACHINE
from app.events.models import (
    CheckIn,
    Event,
    EventKind,
    EventRegistration,
    RegistrationStatus,
)
from app.extensions import db
from app.loyalty.ledger import entry_by_key, post_points, refund_debit
from app.loyalty.models import EntryKind
from app.loyalty.services import account_for
from app.loyalty.tiers import tier_at_least
from app.members.models import Member, Vehicle

# Statuses that hold a place: counted against capacity.
HOLDS_PLACE = (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED, RegistrationStatus.PENDING)
# Statuses of a live registration: the owner may cancel it, and not sign up twice.
ACTIVE = (
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.WAITING,
    RegistrationStatus.OFFERED,
    RegistrationStatus.PENDING,
)


class SignUpRefused(DomainError):
    """A sign-up that breaks a rule of the event."""


# ------------------------------------------------------------------------------ events


def create_event(actor: User, *, now: datetime | None = None, cover=KEEP_COVER, **fields) -> Event:
    """Staff create an event of their dealer (``cover``: a stored picture, app/core/images.py)."""
    now = now or utcnow()
    _validate_event(fields)
    fields.update(cover_columns(cover))
    event = Event(dealer_id=actor.dealer_id, created_by_id=actor.id, created_at=now, **fields)
    db.session.add(event)
    db.session.flush()
    details = {"cover": event.cover_key} if event.cover_key else None
    record_audit(
        actor, "event.created", subject=event, dealer_id=event.dealer_id, details=details, now=now
    )
    return event


def _validate_event(fields: dict) -> None:
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
    cancel_until = fields.get("cancel_until")
    if cancel_until is not None and cancel_until > fields["starts_at"]:
        raise ValidationFailed(
            _l("Cancellations must end before the event starts."), field="cancel_until"
        )
    if fields.get("capacity", 0) <= 0:
        raise ValidationFailed(_l("Give the number of places."), field="capacity")
    if fields.get("kind") == EventKind.TRIP and not (fields.get("waiver_text") or "").strip():
        raise ValidationFailed(
            _l("A self-drive trip needs a waiver for owners to accept."), field="waiver_text"
        )
    if fields.get("price_fen") and fields.get("deposit_points"):
        raise ValidationFailed(_l("A paid event takes no points deposit."), field="deposit_points")


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
            .where(
                EventRegistration.event_id == event.id,
                EventRegistration.status == RegistrationStatus.WAITING,
            )
            .order_by(EventRegistration.created_at, EventRegistration.id)
        )
    )


EVENTS_PER_PAGE = 10


def places_taken_by_event(event_ids: list[int]) -> dict[int, int]:
    """Places held per event, in one query (trips count cars, others seats)."""
    if not event_ids:
        return {}
    per = case((Event.kind == EventKind.TRIP, 1), else_=1 + EventRegistration.companions)
    rows = db.session.execute(
        select(EventRegistration.event_id, func.sum(per))
        .join(Event, Event.id == EventRegistration.event_id)
        .where(EventRegistration.event_id.in_(event_ids), EventRegistration.status.in_(HOLDS_PLACE))
        .group_by(EventRegistration.event_id)
    ).all()
    return {event_id: int(total) for event_id, total in rows}


# ---------------------------------------------------------------------------- sign-up


def check_eligibility(event: Event, member: Member) -> None:
    if event.dealer_id != member.dealer_id:
        raise NotFound(_l("No such event."))
    if not tier_at_least(account_for(member).tier_code, event.min_tier_code):
        raise SignUpRefused(_l("This event is for members of a higher tier."))
    if event.model_filter and not any(
        v.model.casefold() == event.model_filter.casefold() for v in member.vehicles
    ):
        raise SignUpRefused(
            _l("This event is for owners of a %(model)s.", model=event.model_filter)
        )


# A ticket's short code: 8 characters of CODE_ALPHABET (31**8, about 8.5e11, per event).
TICKET_CODE_LENGTH = 8


def new_ticket_code(event_id: int) -> str:
    """A short code no other registration of the event has."""
    while True:
        code = random_code(TICKET_CODE_LENGTH)
        taken = db.session.scalar(
            select(EventRegistration.id).where(
                EventRegistration.event_id == event_id, EventRegistration.ticket_code == code
            )
        )
        if taken is None:
            return code


def format_ticket_code(code: str) -> str:
    """K7QX-2MXP: how a ticket's short code is shown."""
    return f"{code[:4]}-{code[4:]}" if code else ""


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
    check_eligibility(event, member)
    if not registration_open(event, now=now):
        raise SignUpRefused(_l("Registration for this event is not open."))
    if not 0 <= companions <= event.max_companions:
        raise SignUpRefused(
            _l("You can bring up to %(n)s companions.", n=event.max_companions), field="companions"
        )
    if db.session.scalar(
        select(EventRegistration.id).where(
            EventRegistration.event_id == event.id,
            EventRegistration.member_id == member.id,
            EventRegistration.status.in_(ACTIVE),
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
    if event.price_fen and not payments_enabled():
        raise SignUpRefused(_l("Online payment is not configured for this event yet."))
    full = places_taken(event) + _places_needed(event, companions) > event.capacity
    registration = EventRegistration(
        event_id=event.id,
        member_id=member.id,
        vehicle_id=vehicle.id if vehicle else None,
        companions=companions,
        companion_names=(companion_names or "").strip()[:200],
        status=RegistrationStatus.WAITING,
        waiver_accepted_at=now if accept_waiver else None,
        created_at=now,
        ticket_uuid=str(uuid.uuid4()),
        ticket_code=new_ticket_code(event.id),
    )
    db.session.add(registration)
    db.session.flush()
    if not full:
        _hold_place(event, registration, now)
    if event.deposit_points and not event.price_fen:
        # InsufficientPoints from the ledger says how many points the owner has.
        post_points(
            account_for(member).id,
            -event.deposit_points,
            kind=EntryKind.REDEEM,
            source="event_deposit",
            key=_deposit_key(registration),
            reference=event.title[:64],
            dealer_id=event.dealer_id,
            now=now,
        )
    return registration


def payments_enabled() -> bool:
    """Paid events need Stripe keys (or, in development, the labelled demo checkout)."""
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") or config.get("DEMO_CHECKOUT"))


def _hold_place(event: Event, registration: EventRegistration, now: datetime) -> None:
    """Give ``registration`` its place: confirmed, or held until paid for a paid event."""
    if event.price_fen:
        MACHINE.move(registration, RegistrationStatus.PENDING)
        minutes = current_app.config.get("PAYMENT_HOLD_MINUTES", 30)
        registration.payment_due_at = now + timedelta(minutes=minutes)
    else:
        MACHINE.move(registration, RegistrationStatus.CONFIRMED)
        registration.confirmed_at = now
    db.session.flush()


def _deposit_key(registration: EventRegistration) -> str:
    return f"deposit:{registration.ticket_uuid}"


def return_deposit(registration: EventRegistration, *, actor=None, now: datetime) -> None:
    """Give a points deposit back (check-in, or a cancellation in time), once."""
    deposit = entry_by_key(_deposit_key(registration))
    if deposit is not None:
        refund_debit(
            deposit.id,
            key=f"deposit-return:{registration.ticket_uuid}",
            reason="event deposit returned",
            actor=actor,
            now=now,
        )


def _lock_registration(
    registration_id: int, member: Member | None = None
) -> tuple[Event, EventRegistration]:
    """Lock the registration's event (every change of places queues there), then reload the
    registration; another owner's registration is not found."""
    found = db.session.get(EventRegistration, registration_id)
    if found is None or (member is not None and found.member_id != member.id):
        raise NotFound(_l("No such registration."))
    event = _lock_event(found.event_id)
    return event, db.session.get(EventRegistration, registration_id, populate_existing=True)


def _promote(event: Event, now: datetime) -> list[EventRegistration]:
    """Offer freed places to the waiting list in order; each offer must be confirmed in time.
    Nothing is offered once the event is over (its waiting list lapses)."""
    offered = []
    if event.ends_at <= now:
        return offered
    for waiting in waiting_list(event):
        if places_taken(event) + _places_needed(event, waiting.companions) > event.capacity:
            break
        MACHINE.move(waiting, RegistrationStatus.OFFERED)
        waiting.offered_at = now
        waiting.offer_expires_at = now + timedelta(hours=event.offer_hours)
        db.session.flush()
        _tell_offered(waiting, now)
        offered.append(waiting)
    return offered


def _tell_offered(registration: EventRegistration, now: datetime) -> None:
    from app.core.dates import format_local_datetime
    from app.members.inbox import notify

    event = registration.event
    notify(
        registration.member,
        "event_offer",
        lambda: (
            _l("A place is free for you: %(title)s", title=event.title),
            _l(
                "Confirm it in My tickets before %(when)s, or it goes to the next in line.",
                when=format_local_datetime(registration.offer_expires_at, "short"),
            ),
        ),
        dedupe_key=f"event-offer:{registration.id}:{registration.offered_at.isoformat()}",
        now=now,
    )


def _cancel(event: Event, registration: EventRegistration, now: datetime) -> EventRegistration:
    """Cancel a live or waiting place: the deposit comes back, a freed place goes to the next."""
    held = registration.status in HOLDS_PLACE
    MACHINE.move(registration, RegistrationStatus.CANCELLED)
    registration.cancelled_at = now
    db.session.flush()
    return_deposit(registration, now=now)
    if held:
        _promote(event, now)
    return registration


def cancel_registration(
    member: Member, registration_id: int, *, now: datetime | None = None
) -> EventRegistration:
    """The owner cancels (until the cut-off); a freed place is offered to the next in line."""
    now = now or utcnow()
    event, registration = _lock_registration(registration_id, member)
    if registration.status not in ACTIVE:
        raise Conflict(_l("This registration is already cancelled."))
    if now >= (event.cancel_until or event.registration_closes_at):
        raise SignUpRefused(_l("It is too late to cancel online: please call the dealer."))
    return _cancel(event, registration, now)


def cancel_own_place(member: Member, registration_id: int, *, now: datetime | None = None) -> bool:
    """The owner cancels their place (``cancel_registration``) and a paid one is refunded by
    payments, which answers ``place_cancelled`` (app/core/signals.py). True when refunded."""
    now = now or utcnow()
    registration = cancel_registration(member, registration_id, now=now)
    answers = place_cancelled.send(registration, now=now)
    return any(refund is not None for _receiver, refund in answers)


def confirm_offer(
    member: Member, registration_id: int, *, now: datetime | None = None
) -> EventRegistration:
    """Take the place offered from the waiting list, before the offer runs out."""
    now = now or utcnow()
    _event, registration = _lock_registration(registration_id, member)
    if registration.status != RegistrationStatus.OFFERED:
        raise Conflict(_l("There is no place waiting for you to confirm."))
    if now >= registration.offer_expires_at:
        raise SignUpRefused(_l("The offer ran out; the place went to the next in line."))
    _hold_place(registration.event, registration, now)
    return registration


def confirm_paid(registration_id: int, *, now: datetime | None = None) -> bool:
    """A payment arrived: confirm the held place. False when the place is gone (refund it)."""
    now = now or utcnow()
    event, registration = _lock_registration(registration_id)
    if registration.status == RegistrationStatus.CONFIRMED:
        return True
    if registration.status == RegistrationStatus.PENDING:
        MACHINE.move(registration, RegistrationStatus.CONFIRMED)
        registration.confirmed_at = now
        db.session.flush()
        return True
    # Paid after the hold ran out: confirm if a place is still free, else it must be refunded.
    if registration.status == RegistrationStatus.EXPIRED and (
        places_taken(event) + _places_needed(event, registration.companions) <= event.capacity
    ):
        MACHINE.move(registration, RegistrationStatus.CONFIRMED)
        registration.confirmed_at = now
        db.session.flush()
        return True
    return False


def release_unpaid(registration_id: int, *, now: datetime | None = None) -> bool:
    """An unpaid place past its due time expires and goes to the next in line."""
    now = now or utcnow()
    event, registration = _lock_registration(registration_id)
    if registration.status != RegistrationStatus.PENDING or registration.payment_due_at > now:
        return False
    MACHINE.move(registration, RegistrationStatus.EXPIRED)
    db.session.flush()
    _promote(event, now)
    return True


def unpaid_due(*, now: datetime | None = None) -> list[int]:
    """Registrations whose payment hold has run out, oldest first."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(EventRegistration.id)
            .where(
                EventRegistration.status == RegistrationStatus.PENDING,
                EventRegistration.payment_due_at <= now,
            )
            .order_by(EventRegistration.payment_due_at, EventRegistration.id)
        )
    )


def expire_offers(*, now: datetime | None = None) -> int:
    """The job: offers not confirmed in time lapse and pass to the next in line."""
    now = now or utcnow()
    event_ids = db.session.scalars(
        select(EventRegistration.event_id)
        .where(
            EventRegistration.status == RegistrationStatus.OFFERED,
            EventRegistration.offer_expires_at <= now,
        )
        .distinct()
        .order_by(EventRegistration.event_id)
    ).all()
    lapsed = 0
    for event_id in event_ids:
        event = _lock_event(event_id)
        for registration in db.session.scalars(
            select(EventRegistration).where(
                EventRegistration.event_id == event_id,
                EventRegistration.status == RegistrationStatus.OFFERED,
                EventRegistration.offer_expires_at <= now,
            )
        ):
            MACHINE.move(registration, RegistrationStatus.EXPIRED)
            return_deposit(registration, now=now)
            lapsed += 1
        db.session.flush()
        _promote(event, now)
    return lapsed


# ---------------------------------------------------------------------------- browsing


KIND_LABELS = {
    EventKind.TRIP: _l("Self-drive trip"),
    EventKind.LECTURE: _l("Owner lecture"),
    EventKind.OTHER: _l("Club event"),
}

STATUS_LABELS = {
    RegistrationStatus.CONFIRMED: _l("Confirmed"),
    RegistrationStatus.PENDING: _l("Waiting for payment"),
    RegistrationStatus.WAITING: _l("On the waiting list"),
    RegistrationStatus.OFFERED: _l("A place is offered to you"),
    RegistrationStatus.CANCELLED: _l("Cancelled"),
    RegistrationStatus.EXPIRED: _l("Lapsed"),
}


# ------------------------------------------------------------------------------- staff


def staff_events(actor: User, *, past: bool = False, page: int = 1, now: datetime | None = None):
    """The events the staff member organises (their dealer's; HQ sees all), a page at a time."""
    now = now or utcnow()
    query = select(Event)
    if actor.role != Role.HQ_ADMIN:
        query = query.where(Event.dealer_id == actor.dealer_id)
    if past:
        query = query.where(Event.ends_at <= now).order_by(Event.starts_at.desc(), Event.id)
    else:
        query = query.where(Event.ends_at > now).order_by(Event.starts_at, Event.id)
    result = db.paginate(query, page=page, per_page=EVENTS_PER_PAGE * 2, error_out=False)
    result.counts = registration_counts([e.id for e in result.items])
    return result


def registration_counts(event_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per event: registrations by status, plus "places" held and "checked_in"."""
    counts: dict[int, dict[str, int]] = {i: {"places": 0, "checked_in": 0} for i in event_ids}
    if not event_ids:
        return counts
    for event_id, status, n in db.session.execute(
        select(EventRegistration.event_id, EventRegistration.status, func.count())
        .where(EventRegistration.event_id.in_(event_ids))
        .group_by(EventRegistration.event_id, EventRegistration.status)
    ):
        counts[event_id][RegistrationStatus(status).value] = n
    for event_id, taken in places_taken_by_event(event_ids).items():
        counts[event_id]["places"] = taken
    for event_id, n in db.session.execute(
        select(CheckIn.event_id, func.count())
        .where(CheckIn.event_id.in_(event_ids))
        .group_by(CheckIn.event_id)
    ):
        counts[event_id]["checked_in"] = n
    return counts


def get_staff_event(actor: User, event_id: int) -> Event:
    """An event the staff member may organise, or NotFound (another dealer's is not found)."""
    event = db.session.get(Event, event_id)
    if event is None or (actor.role != Role.HQ_ADMIN and event.dealer_id != actor.dealer_id):
        raise NotFound(_l("No such event."))
    return event


# The type, price and deposit stay as owners signed up for them.
EDITABLE = (
    "title",
    "description",
    "place",
    "starts_at",
    "ends_at",
    "registration_opens_at",
    "registration_closes_at",
    "cancel_until",
    "capacity",
    "max_companions",
    "min_tier_code",
    "model_filter",
    "attendance_points",
    "waiver_text",
    "cover_url",
    "cover_key",
    "cover_width",
    "cover_height",
    "offer_hours",
)


def update_event(
    actor: User, event_id: int, *, now: datetime | None = None, cover=KEEP_COVER, **fields
) -> Event:
    """Staff change an event; capacity never drops below the places already held. ``cover``:
    a new stored picture, None to remove it, or KEEP_COVER."""
    now = now or utcnow()
    get_staff_event(actor, event_id)
    event = _lock_event(event_id)
    fields.update(cover_columns(cover))
    changes = {k: v for k, v in fields.items() if k in EDITABLE and getattr(event, k) != v}
    _validate_event({**{k: getattr(event, k) for k in EDITABLE}, **changes})
    if "capacity" in changes and changes["capacity"] < places_taken(event):
        raise ValidationFailed(
            _l(
                "%(n)s places are already taken: the capacity cannot be lower.",
                n=places_taken(event),
            ),
            field="capacity",
        )
    for name, value in changes.items():
        setattr(event, name, value)
    db.session.flush()
    if changes:
        record_audit(
            actor,
            "event.updated",
            subject=event,
            dealer_id=event.dealer_id,
            details={"fields": sorted(changes), **_cover_change(changes)},
            now=now,
        )
        if "capacity" in changes:
            _promote(event, now)
    return event


def _cover_change(changes: dict) -> dict:
    """The audit's note of a new or removed picture."""
    return {"cover": changes["cover_key"]} if "cover_key" in changes else {}


def registration_open(event: Event, *, now: datetime | None = None) -> bool:
    """Whether owners can sign up right now."""
    now = now or utcnow()
    return event.registration_opens_at <= now < event.registration_closes_at


def checked_in_at(registration: EventRegistration) -> datetime | None:
    """When the ticket was checked in at the gate, if it was."""
    return db.session.scalar(
        select(CheckIn.checked_in_at).where(CheckIn.registration_id == registration.id)
    )


def registrations_with_status(event: Event, status: RegistrationStatus) -> list:
    """The event's registrations in ``status``, oldest first."""
    return list(
        db.session.scalars(
            select(EventRegistration)
            .where(EventRegistration.event_id == event.id, EventRegistration.status == status)
            .order_by(EventRegistration.created_at, EventRegistration.id)
        )
    )
