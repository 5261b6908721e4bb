"""Staff book for owners (主动预约, seed 002: "对于接近保养时间和里程的客户进行主动预约(使用预约
话术),预约成功后填写预约登记表"): the service desk or a care agent books a maintenance time for
an owner of their dealer, on the phone or at the counter.

The owner's own rules hold (``app.service.appointments``): a car of theirs, a slot of their
dealer with a free place, at least APPOINTMENT_MIN_HOURS_AHEAD hours ahead (seed 002: "预约必须在
3小时之前来店预约"), one booking a car a day. The appointment records who booked it, the owner is
told in their inbox (and SMS) and cancels it as any booking of theirs. Booking the same car
into the same time again answers the booking already made (a double submit, a retried call).
"""

from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import local_date, local_midnight, utcnow
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.core.permissions import has_permission
from app.extensions import db
from app.members.models import Member, Vehicle
from app.service.appointments import (
    BOOKING_DAYS,
    AppointmentRefused,
    _book,
    _bookable_query,
    _checked_note,
    _tell,
    lock_row,
    open_days,
)
from app.service.models import Appointment, AppointmentSlot, AppointmentStatus

PERMISSION = "appointments.book_for_owner"


def get_bookable_owner(actor: User, member_id: int | None) -> Member:
    """An owner of the staff member's own dealer, or NotFound (another dealer's owner too:
    a booking is a time of the owner's dealer, so HQ books none)."""
    member = db.session.get(Member, member_id) if member_id else None
    if member is None or actor.dealer_id is None or member.dealer_id != actor.dealer_id:
        raise NotFound(_l("No such owner."))
    return member


def owner_cars(member: Member) -> list[Vehicle]:
    """The owner's cars, oldest first: the ones staff may book for."""
    return list(
        db.session.scalars(
            select(Vehicle).where(Vehicle.member_id == member.id).order_by(Vehicle.id)
        )
    )


def owner_open_days(member: Member, *, now: datetime | None = None) -> list[tuple[date, int]]:
    """The days with a time staff may book for the owner (the owner's own rules)."""
    return open_days(member, now=now)


# A call's list of times: enough for the coming weeks, short enough for a phone's picker.
MAX_SLOTS_LISTED = 120


def free_slots_ahead(member: Member, *, now: datetime | None = None) -> list[AppointmentSlot]:
    """The times staff may book for the owner over the coming weeks, soonest first (the list
    a campaign call or a care task picks from)."""
    now = now or utcnow()
    until = local_midnight(local_date(now) + timedelta(days=BOOKING_DAYS))
    query = _bookable_query(member, now).where(AppointmentSlot.starts_at < until)
    return list(
        db.session.scalars(query.order_by(AppointmentSlot.starts_at).limit(MAX_SLOTS_LISTED))
    )


def times_to_offer(
    actor: User, member: Member, *, now: datetime | None = None
) -> list[AppointmentSlot]:
    """The free times a call's form offers to book for the owner (``free_slots_ahead``); none
    when the caller does not book for owners or the owner is another dealer's."""
    if not has_permission(actor, PERMISSION) or member.dealer_id != actor.dealer_id:
        return []
    return free_slots_ahead(member, now=now)


def _owner_car(member: Member, vehicle_id: int | None) -> Vehicle:
    vehicle = db.session.get(Vehicle, vehicle_id) if vehicle_id else None
    if vehicle is None or vehicle.member_id != member.id:
        raise AppointmentRefused(
            _l("Choose one of the owner's cars."), field="vehicle_id", code="not_their_car"
        )
    return lock_row(Vehicle, vehicle.id)


def book_for_owner(
    actor: User,
    member: Member,
    vehicle_id: int | None = None,
    slot_id: int | None = None,
    *,
    note: str = "",
    source: str = "desk",
    now: datetime | None = None,
) -> Appointment:
    """Book a maintenance time for an owner of the actor's dealer; the owner is told."""
    now = now or utcnow()
    if not has_permission(actor, PERMISSION):
        raise Forbidden(_l("Your role does not book service times."))
    member = get_bookable_owner(actor, member.id)
    note = _checked_note(note)
    vehicle = _owner_car(member, vehicle_id)
    if slot_id is None:
        raise AppointmentRefused(_l("Choose a time."), field="slot_id", code="no_slot")
    again = db.session.scalar(
        select(Appointment).where(
            Appointment.vehicle_id == vehicle.id,
            Appointment.slot_id == slot_id,
            Appointment.status == AppointmentStatus.BOOKED,
        )
    )
    if again is not None:
        return again
    appointment = _book(member, vehicle, slot_id, note, now=now, booked_by_id=actor.id)
    _tell(
        appointment,
        "appointment_booked",
        _l("Your dealer booked a service appointment for you"),
        _l(
            "%(car)s at %(dealer)s, %(when)s. "
            "If the time does not suit you, cancel it in My appointments."
        ),
        dedupe_key=f"appointment:{appointment.id}:booked",
        now=now,
    )
    record_audit(
        actor,
        "appointment.booked_for_owner",
        subject=appointment,
        dealer_id=member.dealer_id,
        details={
            "member_id": member.id,
            "vehicle_id": vehicle.id,
            "slot_id": appointment.slot_id,
            "source": source,
        },
        now=now,
    )
    return appointment


def book_during_call(
    actor: User,
    member: Member,
    vehicle_id: int | None,
    slot_id: int,
    *,
    booked: bool,
    booked_as: str,
    source: str,
    now: datetime | None = None,
) -> Appointment:
    """Book the time chosen on a call (a campaign call, a care task) in the call's transaction:
    only with the call's "booked" outcome (``booked_as``, its label), else the time is refused
    on its field; a time that is gone is the form's error, not a missing page."""
    if not booked:
        raise ValidationFailed(
            _l("To book the chosen time, record the call as “%(outcome)s”.", outcome=booked_as),
            field="slot_id",
        )
    try:
        return book_for_owner(actor, member, vehicle_id, slot_id, source=source, now=now)
    except NotFound:
        raise ValidationFailed(_l("No such time. Choose another one."), field="slot_id") from None
