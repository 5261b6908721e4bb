"""A self-drive trip's logistics (issue 21, R7, seed 002): car numbers, the convoy's lead and
tail cars, the route with its stops; what the printed sheet and the owner's ticket show.

Car numbers follow the sign-up order of the confirmed cars (seed 002: 报名原则:以先后顺序) and
are provisional until the organisers fix them, which they do when they print the stickers
(张贴车贴、序号): a cancellation before that closes the gap, so the stickers run 1…N. Once fixed,
a number never changes and is never given to another car, since it is on a sticker on the
car's windscreen; a cancelled car leaves its number empty, and a car confirmed later (from the
waiting list) takes the next number after the highest, provisional until fixed in turn.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.dates import format_local_datetime
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.forms import is_visible_text
from app.core.permissions import STAFF_ROLES
from app.events.checkin import checkin_window
from app.events.models import Event, EventKind, EventRegistration, RegistrationStatus
from app.events.trip_models import TripCarNumber, TripPlan, TripStop
from app.events.tripday import event_for_staff
from app.extensions import db
from app.members.models import Member

MAX_STOPS = 30
NAME_LENGTH, ADDRESS_LENGTH, NOTE_LENGTH, CONVOY_NOTE_LENGTH = 80, 200, 300, 120
LEAD, TAIL = "lead", "tail"


def trip_for_staff(actor: User, event_id: int) -> Event:
    """A self-drive trip of the actor's dealer (any for HQ); NotFound otherwise."""
    event = event_for_staff(actor, event_id)
    if event.kind != EventKind.TRIP:
        raise NotFound(_l("Car numbers, the convoy and the route are for self-drive trips."))
    return event


def _not_over(event: Event, now: datetime) -> None:
    if now >= event.ends_at:
        raise Conflict(_l("The trip is over: its plan can no longer change."))


def plan_for(event: Event) -> TripPlan | None:
    """The trip's plan (convoy, numbers fixed), if anything was set."""
    return db.session.scalar(select(TripPlan).where(TripPlan.event_id == event.id))


def _plan(event: Event, actor: User, now: datetime) -> TripPlan:
    plan = plan_for(event)
    if plan is None:
        plan = TripPlan(event_id=event.id, lead_note="", tail_note="")
        db.session.add(plan)
    plan.updated_at, plan.updated_by_id = now, actor.id
    return plan


# --------------------------------------------------------------------------- car numbers


@dataclass(frozen=True)
class CarNumber:
    """A car's number, and whether it is fixed (on the sticker) or may still change."""

    number: int
    fixed: bool


def _confirmed(event: Event) -> list[EventRegistration]:
    return list(
        db.session.scalars(
            select(EventRegistration)
            .where(
                EventRegistration.event_id == event.id,
                EventRegistration.status == RegistrationStatus.CONFIRMED,
            )
            .options(
                joinedload(EventRegistration.member).joinedload(Member.user),
                joinedload(EventRegistration.vehicle),
            )
            .order_by(EventRegistration.created_at, EventRegistration.id)
        )
    )


def _fixed(event: Event) -> dict[int, int]:
    return dict(
        db.session.execute(
            select(TripCarNumber.registration_id, TripCarNumber.number).where(
                TripCarNumber.event_id == event.id
            )
        ).all()
    )


def car_numbers(
    event: Event, confirmed: list[EventRegistration] | None = None
) -> dict[int, CarNumber]:
    """Every confirmed car's number by registration id: fixed ones as fixed, the others in
    sign-up order after the highest fixed number."""
    fixed = _fixed(event)
    following = max(fixed.values(), default=0)
    numbers = {}
    for registration in _confirmed(event) if confirmed is None else confirmed:
        if registration.id in fixed:
            numbers[registration.id] = CarNumber(fixed[registration.id], True)
        else:
            following += 1
            numbers[registration.id] = CarNumber(following, False)
    return numbers


def unfixed_count(event: Event) -> int:
    """How many confirmed cars have no fixed number yet (what "fix the numbers" would fix)."""
    return sum(1 for number in car_numbers(event).values() if not number.fixed)


def fix_car_numbers(
    actor: User, event_id: int, *, expected: int | None, now: datetime | None = None
) -> int:
    """Fix the numbers of the confirmed cars that have none yet, as the page showed them
    (``expected`` cars); returns how many were fixed. Audited."""
    now = now or utcnow()
    event = trip_for_staff(actor, event_id)
    _not_over(event, now)
    # Two organisers fixing at once: the second waits here, then finds the list changed.
    db.session.execute(select(Event.id).where(Event.id == event.id).with_for_update()).scalar_one()
    numbers = {rid: n for rid, n in car_numbers(event).items() if not n.fixed}
    if expected is not None and expected != len(numbers):
        raise Conflict(
            _l("The list of cars changed since the page was opened: check it and fix again.")
        )
    if not numbers:
        raise Conflict(_l("Every confirmed car already has its number."))
    for registration_id, number in numbers.items():
        db.session.add(
            TripCarNumber(
                event_id=event.id,
                registration_id=registration_id,
                number=number.number,
                fixed_at=now,
            )
        )
    plan = _plan(event, actor, now)
    first = plan.numbers_fixed_at is None
    plan.numbers_fixed_at, plan.numbers_fixed_by_id = now, actor.id
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            _l("The list of cars changed since the page was opened: check it and fix again.")
        ) from None
    record_audit(
        actor,
        "event.car_numbers_fixed",
        subject=event,
        dealer_id=event.dealer_id,
        details={
            "numbers": {str(rid): n.number for rid, n in numbers.items()},
            "first_time": first,
        },
        now=now,
    )
    return len(numbers)


# ------------------------------------------------------------------------------- convoy


@dataclass(frozen=True)
class ConvoyCar:
    """The lead or tail car as attendees read it."""

    who: str  # the staff member's name, or "Car 3" of an attendee
    car: str  # the attendee's model and plate (empty for staff: the note says it)
    note: str
    is_staff: bool
    gone: bool  # the attendee chosen has cancelled since


def staff_choices(event: Event) -> list[User]:
    """The dealer's active staff, who may drive the lead or tail car."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.dealer_id == event.dealer_id,
                User.role.in_(STAFF_ROLES),
                User.active.is_(True),
                User.deleted_at.is_(None),
            )
            .order_by(User.name, User.id)
        )
    )


def convoy_value(plan: TripPlan | None, position: str) -> str:
    """The form's value for the lead or tail: ``staff:7``, ``car:12`` or empty."""
    if plan is None:
        return ""
    staff_id = getattr(plan, f"{position}_staff_id")
    registration_id = getattr(plan, f"{position}_registration_id")
    if staff_id:
        return f"staff:{staff_id}"
    return f"car:{registration_id}" if registration_id else ""


def _holder(event: Event, value: str, field: str) -> tuple[int | None, int | None]:
    """``(staff_id, registration_id)`` for a form value; refused when not one of the trip's."""
    kind, _sep, raw = (value or "").partition(":")
    if not value:
        return None, None
    holder_id = int(raw) if raw.isdigit() and len(raw) <= 9 else None
    if kind == "staff" and holder_id is not None:
        user = db.session.get(User, holder_id)
        if user in staff_choices(event):
            return holder_id, None
    elif kind == "car" and holder_id is not None:
        registration = db.session.get(EventRegistration, holder_id)
        if (
            registration is not None
            and registration.event_id == event.id
            and registration.status == RegistrationStatus.CONFIRMED
        ):
            return None, holder_id
    raise ValidationFailed(
        _l("Choose a staff member of the dealer or a confirmed car of this trip."), field=field
    )


def _note(text: str | None, field: str) -> str:
    note = (text or "").strip()
    if len(note) > CONVOY_NOTE_LENGTH:
        raise ValidationFailed(
            _l("Keep it under %(n)d characters.", n=CONVOY_NOTE_LENGTH), field=field
        )
    return note


def set_convoy(
    actor: User,
    event_id: int,
    *,
    lead: str,
    lead_note: str = "",
    tail: str,
    tail_note: str = "",
    now: datetime | None = None,
) -> TripPlan:
    """Choose the lead and the tail car (a staff member's car or an attendee's); audited."""
    now = now or utcnow()
    event = trip_for_staff(actor, event_id)
    _not_over(event, now)
    lead_staff, lead_car = _holder(event, lead, "lead")
    tail_staff, tail_car = _holder(event, tail, "tail")
    values = {
        "lead_staff_id": lead_staff,
        "lead_registration_id": lead_car,
        "lead_note": _note(lead_note, "lead_note"),
        "tail_staff_id": tail_staff,
        "tail_registration_id": tail_car,
        "tail_note": _note(tail_note, "tail_note"),
    }
    if (lead_staff or lead_car) and (lead_staff, lead_car) == (tail_staff, tail_car):
        raise ValidationFailed(_l("The tail car cannot also lead the convoy."), field="tail")
    for position, staff_id in ((LEAD, lead_staff), (TAIL, tail_staff)):
        if staff_id and not values[f"{position}_note"]:
            raise ValidationFailed(
                _l("Say which car attendees look for, e.g. white SUV 鲁B·88888."),
                field=f"{position}_note",
            )
    plan = _plan(event, actor, now)
    before = {key: getattr(plan, key, None) for key in values}
    for key, value in values.items():
        setattr(plan, key, value)
    db.session.flush()
    record_audit(
        actor,
        "event.convoy_set",
        subject=event,
        dealer_id=event.dealer_id,
        details={"before": before, "after": values},
        now=now,
    )
    return plan


def _car_label(registration: EventRegistration, number: CarNumber | None) -> tuple[str, str]:
    who = str(_l("Car %(n)s", n=number.number)) if number else str(_l("A car"))
    car = registration.vehicle
    return who, " ".join(filter(None, [car.model, car.plate])) if car else ""


def convoy(event: Event, numbers: dict[int, CarNumber] | None = None) -> dict[str, ConvoyCar]:
    """The lead and tail cars that are set, as attendees read them."""
    plan = plan_for(event)
    if plan is None:
        return {}
    numbers = car_numbers(event) if numbers is None else numbers
    found = {}
    for position in (LEAD, TAIL):
        note = getattr(plan, f"{position}_note") or ""
        staff_id = getattr(plan, f"{position}_staff_id")
        registration_id = getattr(plan, f"{position}_registration_id")
        if staff_id:
            user = db.session.get(User, staff_id)
            found[position] = ConvoyCar(user.name, "", note, True, False)
        elif registration_id:
            registration = db.session.get(EventRegistration, registration_id)
            who, car = _car_label(registration, numbers.get(registration_id))
            gone = registration.status != RegistrationStatus.CONFIRMED
            found[position] = ConvoyCar(who, car, note, False, gone)
    return found


# -------------------------------------------------------------------------------- route


def route(event: Event) -> list[TripStop]:
    """The trip's stops in order."""
    return list(
        db.session.scalars(
            select(TripStop)
            .where(TripStop.event_id == event.id)
            .order_by(TripStop.position, TripStop.id)
        )
    )


def stop_for_staff(actor: User, event_id: int, stop_id: int) -> TripStop:
    """A stop of a trip the actor may plan; NotFound otherwise."""
    event = trip_for_staff(actor, event_id)
    stop = db.session.get(TripStop, stop_id)
    if stop is None or stop.event_id != event.id:
        raise NotFound(_l("No such stop."))
    return stop


def _stop_fields(event: Event, name, address, planned_at, note) -> dict:
    """The stop's fields, checked: a visible name, lengths, a time within the trip."""
    name, address, note = ((value or "").strip() for value in (name, address, note))
    if not name or not is_visible_text(name):
        raise ValidationFailed(_l("Name the stop, e.g. 大泽山葡萄采摘园."), field="name")
    for field, value, limit in (
        ("name", name, NAME_LENGTH),
        ("address", address, ADDRESS_LENGTH),
        ("note", note, NOTE_LENGTH),
    ):
        if len(value) > limit:
            raise ValidationFailed(_l("Keep it under %(n)d characters.", n=limit), field=field)
    if planned_at is not None:
        opens, ends = checkin_window(event)
        if not opens <= planned_at <= ends:
            raise ValidationFailed(
                _l(
                    "Plan the stop during the trip: from %(start)s to %(end)s.",
                    start=format_local_datetime(opens, "short"),
                    end=format_local_datetime(ends, "short"),
                ),
                field="planned_at",
            )
    return {"name": name, "address": address, "planned_at": planned_at, "note": note}


def _check_times(stops: list[TripStop], field: str | None = "planned_at") -> None:
    """Refuse a route whose planned times go back in time from one stop to a later one."""
    latest = None
    for stop in stops:
        if stop.planned_at is None:
            continue
        if latest is not None and stop.planned_at < latest.planned_at:
            raise ValidationFailed(
                _l(
                    "“%(stop)s” would be planned before “%(earlier)s”, which comes first on "
                    "the route: change the time or the order.",
                    stop=stop.name,
                    earlier=latest.name,
                ),
                field=field,
            )
        latest = stop


def _stop_state(stop: TripStop) -> dict:
    return {
        "name": stop.name,
        "address": stop.address,
        "planned_at": stop.planned_at.isoformat() if stop.planned_at else None,
        "note": stop.note,
    }


def _audit_stop(actor, action: str, event: Event, stop: TripStop, now, **more) -> None:
    details = {"stop_id": stop.id, "position": stop.position, **_stop_state(stop), **more}
    record_audit(actor, action, subject=event, dealer_id=event.dealer_id, details=details, now=now)


def add_stop(
    actor: User,
    event_id: int,
    *,
    name: str,
    address: str = "",
    planned_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> TripStop:
    """Add a stop at the end of the route; audited."""
    now = now or utcnow()
    event = trip_for_staff(actor, event_id)
    _not_over(event, now)
    fields = _stop_fields(event, name, address, planned_at, note)
    stops = route(event)
    if len(stops) >= MAX_STOPS:
        raise Conflict(_l("A route has at most %(n)d stops.", n=MAX_STOPS))
    stop = TripStop(event_id=event.id, position=len(stops) + 1, **fields)
    _check_times([*stops, stop])
    db.session.add(stop)
    db.session.flush()
    _audit_stop(actor, "event.trip_stop_added", event, stop, now)
    return stop


def update_stop(
    actor: User,
    event_id: int,
    stop_id: int,
    *,
    name: str,
    address: str = "",
    planned_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> TripStop:
    """Change a stop; audited with what it was."""
    now = now or utcnow()
    stop = stop_for_staff(actor, event_id, stop_id)
    event = db.session.get(Event, stop.event_id)
    _not_over(event, now)
    fields = _stop_fields(event, name, address, planned_at, note)
    before = _stop_state(stop)
    for key, value in fields.items():
        setattr(stop, key, value)
    _check_times(route(event))
    db.session.flush()
    _audit_stop(actor, "event.trip_stop_changed", event, stop, now, before=before)
    return stop


def remove_stop(actor: User, event_id: int, stop_id: int, *, now: datetime | None = None) -> None:
    """Take a stop off the route (the later ones move up); audited."""
    now = now or utcnow()
    stop = stop_for_staff(actor, event_id, stop_id)
    event = db.session.get(Event, stop.event_id)
    _not_over(event, now)
    _audit_stop(actor, "event.trip_stop_removed", event, stop, now)
    db.session.delete(stop)
    db.session.flush()
    for position, later in enumerate(route(event), start=1):
        later.position = position
    db.session.flush()


def move_stop(
    actor: User, event_id: int, stop_id: int, *, up: bool, now: datetime | None = None
) -> TripStop:
    """Swap a stop with the one before (``up``) or after it; refused if the times would go
    backwards. Audited."""
    now = now or utcnow()
    stop = stop_for_staff(actor, event_id, stop_id)
    event = db.session.get(Event, stop.event_id)
    _not_over(event, now)
    stops = route(event)
    index = stops.index(stop)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(stops):
        raise Conflict(_l("This stop is already at that end of the route."))
    stops[index], stops[other] = stops[other], stops[index]
    _check_times(stops, field=None)
    for position, each in enumerate(stops, start=1):
        each.position = position
    db.session.flush()
    _audit_stop(actor, "event.trip_stop_moved", event, stop, now, up=up)
    return stop


# ------------------------------------------------------------------ sheet and ticket


@dataclass(frozen=True)
class TripTicket:
    """What the owner's ticket shows of the trip: their car's number, the convoy, the route."""

    number: CarNumber | None
    convoy: dict[str, ConvoyCar]
    stops: list[TripStop]


def trip_ticket(registration: EventRegistration) -> TripTicket | None:
    """The trip part of an owner's ticket (None for other events and places not confirmed)."""
    event = registration.event
    if event.kind != EventKind.TRIP or registration.status != RegistrationStatus.CONFIRMED:
        return None
    numbers = car_numbers(event)
    return TripTicket(numbers.get(registration.id), convoy(event, numbers), route(event))


def fixed_count(event: Event) -> int:
    """How many numbers were ever fixed (cancelled cars' included)."""
    return db.session.scalar(
        select(func.count(TripCarNumber.id)).where(TripCarNumber.event_id == event.id)
    )


def numbered_cars(event: Event) -> list[tuple[CarNumber, EventRegistration]]:
    """The confirmed cars in number order, as the printed sheet lists them."""
    confirmed = _confirmed(event)
    numbers = car_numbers(event, confirmed)
    cars = [(numbers[r.id], r) for r in confirmed]
    return sorted(cars, key=lambda pair: pair[0].number)


def convoy_choices(event: Event) -> list[tuple[str, str]]:
    """What the lead and tail may be: nobody yet, a staff member of the dealer, a car."""
    choices = [("", str(_l("Not chosen yet")))]
    choices += [
        (f"staff:{user.id}", str(_l("%(name)s (staff)", name=user.name)))
        for user in staff_choices(event)
    ]
    for number, registration in numbered_cars(event):
        who, car = _car_label(registration, number)
        label = " · ".join(filter(None, [who, registration.member.name, car]))
        choices.append((f"car:{registration.id}", label))
    return choices
