"""Service appointments: owners book a maintenance slot (the workshop's side, where advisors
open the slots and run the day, is ``app.service.workshop``).

Rules: an owner books a slot of their dealer for one of their own cars, at least
APPOINTMENT_MIN_HOURS_AHEAD hours (default 3) before it starts, in a slot with a free place,
and a car holds at most one live booking a day. Each slot keeps its count of bookings on its
row (``booked``, CHECK booked <= capacity), changed only under a row lock, so capacity holds
when owners book at once. Locks are taken in one order everywhere: the car, the appointment,
then slots by id. A kept booking may earn the dealer's chosen reward (a labour-hour voucher),
once per appointment.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from babel.dates import format_skeleton
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.core.clock import local_date, local_midnight, utcnow
from app.core.dates import date_locale, format_local_datetime
from app.core.errors import DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.members.inbox import notify
from app.members.models import Dealer, Member, Vehicle
from app.service.models import (
    APPOINTMENT,
    Appointment,
    AppointmentSlot,
    AppointmentStatus,
)

# Where a booking may go from each state: the table beside the model.
TRANSITIONS = APPOINTMENT.transitions

STATUS_LABELS = {
    AppointmentStatus.BOOKED: _l("Booked"),
    AppointmentStatus.CANCELLED: _l("Cancelled"),
    AppointmentStatus.KEPT: _l("Kept"),
    AppointmentStatus.NO_SHOW: _l("No-show"),
}

# How far ahead an owner sees the days with free times.
BOOKING_DAYS = 21
NOTE_LENGTH = 500


class AppointmentRefused(DomainError):
    """A booking, change or cancellation that breaks a rule; ``code`` says which."""


def min_hours_ahead() -> int:
    """How many hours before a slot owners must book it (APPOINTMENT_MIN_HOURS_AHEAD)."""
    return int(current_app.config.get("APPOINTMENT_MIN_HOURS_AHEAD", 3))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which the local ``day`` begins and the next one begins."""
    return local_midnight(day), local_midnight(day + timedelta(days=1))


def status_label(status: AppointmentStatus | str) -> str:
    """ "Booked", "Kept"... in the user's language."""
    return str(STATUS_LABELS[AppointmentStatus(status)])


def car_label(vehicle: Vehicle) -> str:
    """ "Sagitar 粤B12345", or the model alone when the car has no plate."""
    return f"{vehicle.model} {vehicle.plate}" if vehicle.plate else vehicle.model


def format_day(day: date) -> str:
    """A local day with its weekday, short: "Tue 24 Nov" / "11月24日周二"."""
    return format_skeleton("MMMEd", day, locale=date_locale())


def format_when(moment: datetime) -> str:
    """A slot's local day and time: "Tue, Nov 24 09:30"."""
    return f"{format_day(local_date(moment))} {format_local_datetime(moment, 'HH:mm')}"


def lock_row(model, row_id: int):
    """The row, locked for update and read afresh."""
    return db.session.execute(
        select(model)
        .where(model.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


# ------------------------------------------------------------------------- owners: booking


def _check_bookable(slot: AppointmentSlot | None, member: Member, now: datetime) -> None:
    if slot is None or slot.dealer_id != member.dealer_id:
        raise NotFound(_l("No such time. Choose another one."), field="slot_id")
    if slot.starts_at <= now:
        raise AppointmentRefused(
            _l("This time has passed. Choose a later one."), field="slot_id", code="past"
        )
    hours = min_hours_ahead()
    if slot.starts_at - now < timedelta(hours=hours):
        raise AppointmentRefused(
            _l("Book at least %(n)s hours ahead. Choose a later time.", n=hours),
            field="slot_id",
            code="too_soon",
        )
    if slot.booked >= slot.capacity:
        raise AppointmentRefused(
            _l("This time is fully booked. Choose another one."), field="slot_id", code="full"
        )


def _check_one_a_day(
    vehicle: Vehicle, slot: AppointmentSlot, *, except_id: int | None = None
) -> None:
    day = local_date(slot.starts_at)
    start, end = day_bounds(day)
    query = (
        select(Appointment.id)
        .join(AppointmentSlot, Appointment.slot_id == AppointmentSlot.id)
        .where(
            Appointment.vehicle_id == vehicle.id,
            Appointment.status == AppointmentStatus.BOOKED,
            AppointmentSlot.starts_at >= start,
            AppointmentSlot.starts_at < end,
        )
    )
    if except_id is not None:
        query = query.where(Appointment.id != except_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise AppointmentRefused(
            _l(
                "%(car)s is already booked on %(day)s. Change that appointment instead.",
                car=car_label(vehicle),
                day=format_day(day),
            ),
            field="slot_id",
            code="same_day",
        )


def _own_car(member: Member, vehicle_id: int | None) -> Vehicle:
    vehicle = db.session.get(Vehicle, vehicle_id) if vehicle_id else None
    if vehicle is None or vehicle.member_id != member.id:
        raise AppointmentRefused(
            _l("Choose one of your own cars."), field="vehicle_id", code="not_your_car"
        )
    # One booking at a time per car: the same-day check then sees every other booking.
    return lock_row(Vehicle, vehicle.id)


def book_appointment(
    member: Member,
    *,
    slot_id: int,
    vehicle_id: int,
    note: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Book a maintenance time of the member's dealer for one of their cars."""
    now = now or utcnow()
    note = _checked_note(note)
    vehicle = _own_car(member, vehicle_id)
    appointment = _book(member, vehicle, slot_id, note, now=now)
    _tell(
        appointment,
        "appointment_booked",
        _l("Service appointment booked"),
        _l(
            "%(car)s at %(dealer)s, %(when)s. You can change or cancel it in My appointments.",
        ),
        dedupe_key=f"appointment:{appointment.id}:booked",
        now=now,
    )
    return appointment


def _checked_note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_LENGTH:
        raise ValidationFailed(
            _l("Keep the note to %(n)s characters.", n=NOTE_LENGTH), field="note"
        )
    return note


def _book(
    member: Member,
    vehicle: Vehicle,
    slot_id: int,
    note: str,
    *,
    now: datetime,
    booked_by_id: int | None = None,
) -> Appointment:
    slot = lock_row(AppointmentSlot, slot_id)
    _check_bookable(slot, member, now)
    _check_one_a_day(vehicle, slot)
    slot.booked += 1
    appointment = Appointment(
        slot=slot,
        member_id=member.id,
        vehicle_id=vehicle.id,
        status=AppointmentStatus.BOOKED,
        note=note,
        created_at=now,
        booked_by_id=booked_by_id,
    )
    db.session.add(appointment)
    db.session.flush()
    return appointment


def _own_live_appointment(member: Member, appointment_id: int, now: datetime) -> Appointment:
    found = get_own_appointment(member, appointment_id)
    lock_row(Vehicle, found.vehicle_id)
    appointment = lock_row(Appointment, found.id)
    if appointment.status == AppointmentStatus.CANCELLED:
        raise AppointmentRefused(
            _l("This appointment is already cancelled."), code="already_cancelled"
        )
    if appointment.status != AppointmentStatus.BOOKED:
        raise AppointmentRefused(_l("This appointment is closed."), code="closed")
    if appointment.slot.starts_at <= now:
        raise AppointmentRefused(
            _l("This appointment has begun. Please call your dealer."), code="begun"
        )
    return appointment


def change_appointment(
    member: Member, appointment_id: int, *, slot_id: int, now: datetime | None = None
) -> Appointment:
    """Move the member's booking to another free time (same rules as a new booking)."""
    now = now or utcnow()
    appointment = _own_live_appointment(member, appointment_id, now)
    if slot_id == appointment.slot_id:
        raise AppointmentRefused(
            _l("You are already booked at this time."), field="slot_id", code="same_slot"
        )
    old_id = appointment.slot_id
    locked = {sid: lock_row(AppointmentSlot, sid) for sid in sorted({old_id, slot_id})}
    new_slot, old_slot = locked[slot_id], locked[old_id]
    _check_bookable(new_slot, member, now)
    _check_one_a_day(appointment.vehicle, new_slot, except_id=appointment.id)
    old_slot.booked -= 1
    new_slot.booked += 1
    appointment.slot = new_slot
    db.session.flush()
    _tell(
        appointment,
        "appointment_changed",
        _l("Service appointment moved"),
        _l("%(car)s at %(dealer)s, now %(when)s."),
        now=now,
    )
    return appointment


def cancel_appointment(
    member: Member, appointment_id: int, *, now: datetime | None = None
) -> Appointment:
    """Cancel the member's booking before its time; the place goes back to the slot."""
    now = now or utcnow()
    appointment = _own_live_appointment(member, appointment_id, now)
    slot = lock_row(AppointmentSlot, appointment.slot_id)
    APPOINTMENT.move(appointment, AppointmentStatus.CANCELLED)
    slot.booked -= 1
    appointment.cancelled_at = now
    db.session.flush()
    _tell(
        appointment,
        "appointment_cancelled",
        _l("Service appointment cancelled"),
        _l("%(car)s at %(dealer)s, %(when)s: cancelled."),
        dedupe_key=f"appointment:{appointment.id}:cancelled",
        now=now,
    )
    return appointment


def _tell(appointment: Appointment, kind: str, title, body, *, now: datetime, **kwargs) -> None:
    slot, vehicle = appointment.slot, appointment.vehicle
    dealer = db.session.get(Dealer, slot.dealer_id)

    def render():
        return title, str(body) % {
            "car": car_label(vehicle),
            "dealer": dealer.name,
            "when": format_when(slot.starts_at),
        }

    notify(appointment.member, kind, render, now=now, **kwargs)


# --------------------------------------------------------------------- owners: what they see


def get_own_appointment(member: Member, appointment_id: int) -> Appointment:
    """One of the member's appointments, or NotFound (another owner's is not found)."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.member_id != member.id:
        raise NotFound(_l("No such appointment."))
    return appointment


def can_change(appointment: Appointment, *, now: datetime | None = None) -> bool:
    """Booked and not yet begun: the owner may still move or cancel it."""
    return appointment.status == AppointmentStatus.BOOKED and appointment.slot.starts_at > (
        now or utcnow()
    )


@dataclass(frozen=True)
class AppointmentLists:
    """The member's appointments: coming up (soonest first), past and cancelled (newest first)."""

    upcoming: list[Appointment]
    past: list[Appointment]
    cancelled: list[Appointment]


def appointments_for(member: Member, *, now: datetime | None = None) -> AppointmentLists:
    """The member's appointments in three groups."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(Appointment)
        .join(AppointmentSlot, Appointment.slot_id == AppointmentSlot.id)
        .options(selectinload(Appointment.slot), selectinload(Appointment.vehicle))
        .where(Appointment.member_id == member.id)
        .order_by(AppointmentSlot.starts_at.desc(), Appointment.id.desc())
        .limit(100)
    ).all()
    upcoming, past, cancelled = [], [], []
    for appointment in rows:
        if appointment.status == AppointmentStatus.CANCELLED:
            cancelled.append(appointment)
        elif can_change(appointment, now=now):
            upcoming.append(appointment)
        else:
            past.append(appointment)
    return AppointmentLists(upcoming[::-1], past, cancelled)


def _bookable_query(member: Member, now: datetime):
    return select(AppointmentSlot).where(
        AppointmentSlot.dealer_id == member.dealer_id,
        AppointmentSlot.starts_at >= now + timedelta(hours=min_hours_ahead()),
        AppointmentSlot.booked < AppointmentSlot.capacity,
    )


def open_days(
    member: Member, *, now: datetime | None = None, except_slot_id: int | None = None
) -> list[tuple[date, int]]:
    """The coming local days with a time the member can book, and how many places each has."""
    now = now or utcnow()
    until = local_midnight(local_date(now) + timedelta(days=BOOKING_DAYS))
    query = _bookable_query(member, now).where(AppointmentSlot.starts_at < until)
    if except_slot_id is not None:
        query = query.where(AppointmentSlot.id != except_slot_id)
    days: dict[date, int] = {}
    for slot in db.session.scalars(query.order_by(AppointmentSlot.starts_at)):
        day = local_date(slot.starts_at)
        days[day] = days.get(day, 0) + slot.capacity - slot.booked
    return list(days.items())


def bookable_slots(
    member: Member, day: date, *, now: datetime | None = None, except_slot_id: int | None = None
) -> list[AppointmentSlot]:
    """The times on a local day the member can book now (far enough ahead, not full)."""
    start, end = day_bounds(day)
    query = _bookable_query(member, now or utcnow()).where(
        AppointmentSlot.starts_at >= start, AppointmentSlot.starts_at < end
    )
    if except_slot_id is not None:
        query = query.where(AppointmentSlot.id != except_slot_id)
    return list(db.session.scalars(query.order_by(AppointmentSlot.starts_at)))


def live_bookings(slot: AppointmentSlot) -> int:
    """Bookings of the slot that are not cancelled: what ``booked`` must always equal."""
    return db.session.scalar(
        select(func.count(Appointment.id)).where(
            Appointment.slot_id == slot.id, Appointment.status != AppointmentStatus.CANCELLED
        )
    )
