"""What an owner sees of the events (R7): the list with places left and their own place, why
they may not sign up, their tickets, their place on the waiting list, whether they may cancel.
The rules that change places are in app/events/services.py."""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.core.clock import utcnow
from app.core.errors import DomainError, NotFound
from app.events.models import REGISTRATION as MACHINE
from app.events.models import (
    Event,
    EventKind,
    EventRegistration,
    RegistrationStatus,
)
from app.events.services import (
    ACTIVE,
    EVENTS_PER_PAGE,
    check_eligibility,
    places_taken_by_event,
)
from app.extensions import db
from app.members.models import Member


@dataclass(frozen=True)
class EventCard:
    """An event as an owner sees it in the list: places left and their own registration."""

    event: Event
    places_left: int
    mine: EventRegistration | None


def upcoming_events(
    member: Member, *, kind: EventKind | None = None, page: int = 1, now: datetime | None = None
):
    """The member's dealer's events that have not ended, soonest first, a page at a time."""
    now = now or utcnow()
    query = (
        select(Event)
        .where(Event.dealer_id == member.dealer_id, Event.ends_at > now)
        .order_by(Event.starts_at, Event.id)
    )
    if kind is not None:
        query = query.where(Event.kind == kind)
    result = db.paginate(query, page=page, per_page=EVENTS_PER_PAGE, error_out=False)
    events = list(result.items)
    taken = places_taken_by_event([e.id for e in events])
    mine = {
        r.event_id: r
        for r in db.session.scalars(
            select(EventRegistration).where(
                EventRegistration.member_id == member.id,
                EventRegistration.event_id.in_([e.id for e in events]),
                EventRegistration.status.in_(ACTIVE),
            )
        )
    }
    result.cards = [
        EventCard(e, max(e.capacity - taken.get(e.id, 0), 0), mine.get(e.id)) for e in events
    ]
    return result


def get_member_event(member: Member, event_id: int) -> Event:
    """An event of the member's dealer, or NotFound."""
    event = db.session.get(Event, event_id)
    if event is None or event.dealer_id != member.dealer_id:
        raise NotFound(_l("No such event."))
    return event


def own_registration(member: Member, event: Event) -> EventRegistration | None:
    """The member's live registration for ``event``, if any."""
    return db.session.scalar(
        select(EventRegistration).where(
            EventRegistration.event_id == event.id,
            EventRegistration.member_id == member.id,
            EventRegistration.status.in_(ACTIVE),
        )
    )


def why_not_eligible(event: Event, member: Member) -> str | None:
    """The reason the member cannot sign up for ``event`` (tier, model), else None."""
    try:
        check_eligibility(event, member)
    except DomainError as err:
        return str(err.message)
    return None


def get_own_registration(member: Member, registration_id: int) -> EventRegistration:
    """One of the member's registrations, or NotFound (another owner's is not found)."""
    registration = db.session.get(EventRegistration, registration_id)
    if registration is None or registration.member_id != member.id:
        raise NotFound(_l("No such registration."))
    return registration


def waiting_position(registration: EventRegistration) -> int | None:
    """1 for the first in line; None when not waiting."""
    if registration.status != RegistrationStatus.WAITING:
        return None
    ahead = db.session.scalar(
        select(func.count(EventRegistration.id)).where(
            EventRegistration.event_id == registration.event_id,
            EventRegistration.status == RegistrationStatus.WAITING,
            (EventRegistration.created_at < registration.created_at)
            | (
                (EventRegistration.created_at == registration.created_at)
                & (EventRegistration.id < registration.id)
            ),
        )
    )
    return ahead + 1


def can_cancel(registration: EventRegistration, *, now: datetime | None = None) -> bool:
    """Whether the owner may still cancel online."""
    now = now or utcnow()
    event = registration.event
    return (
        registration.status in ACTIVE
        and now < (event.cancel_until or event.registration_closes_at)
        and MACHINE.can(registration, RegistrationStatus.CANCELLED)
    )


def shows_gate_code(registration: EventRegistration, *, now: datetime | None = None) -> bool:
    """A confirmed ticket shows its QR code for the gate until the event is over."""
    over = registration.event.ends_at <= (now or utcnow())
    return registration.status == RegistrationStatus.CONFIRMED and not over


def tickets_for(member: Member, *, now: datetime | None = None) -> dict[str, list]:
    """The member's registrations: upcoming (live), past, and cancelled or lapsed."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(EventRegistration)
        .join(Event, Event.id == EventRegistration.event_id)
        .where(EventRegistration.member_id == member.id)
        .order_by(Event.starts_at.desc(), EventRegistration.id.desc())
    ).all()
    lists = {"upcoming": [], "past": [], "ended": []}
    for r in rows:
        if r.status in (RegistrationStatus.CANCELLED, RegistrationStatus.EXPIRED):
            lists["ended"].append(r)
        elif r.event.ends_at <= now:
            lists["past"].append(r)
        else:
            lists["upcoming"].append(r)
    lists["upcoming"].reverse()  # the next one first
    return lists
