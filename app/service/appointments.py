"""Service appointments: owners book a maintenance slot, advisors run the workshop's day.

Rules: an owner books a slot of their dealer for one of their own cars, at least
APPOINTMENT_MIN_HOURS_AHEAD hours (default 3) before it starts, in a slot with a free place,
and a car holds at most one live booking a day. Each slot keeps its count of bookings on its
row (``booked``, CHECK booked <= capacity), changed only under a row lock, so capacity holds
when owners book at once. Locks are taken in one order everywhere: the car, the appointment,
then slots by id. A kept booking may earn the dealer's chosen reward (a labour-hour voucher),
once per appointment.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from flask import current_app
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.care.services import notify
from app.core.audit import record_audit
from app.core.clock import local_date, local_midnight, utcnow
from app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.members.models import Dealer, Member, Vehicle
from app.rewards.models import Reward, RewardKind
from app.rewards.services import issue_free_voucher
from app.service.models import (
    APPOINTMENT,
    Appointment,
    AppointmentSettings,
    AppointmentSlot,
    AppointmentStatus,
)

A = AppointmentStatus
# Where a booking may go from each state: the table beside the model.
TRANSITIONS = APPOINTMENT.transitions

STATUS_LABELS = {
    A.BOOKED: _l("Booked"),
    A.CANCELLED: _l("Cancelled"),
    A.KEPT: _l("Kept"),
    A.NO_SHOW: _l("No-show"),
}

MAX_CAPACITY = 50
MAX_SLOTS_AT_ONCE = 96
MIN_EVERY_MINUTES = 5
MAX_EVERY_MINUTES = 720
# How far ahead an owner sees the days with free times.
BOOKING_DAYS = 21
MAX_DAYS_AHEAD = 366
NOTE_LENGTH = 500


class AppointmentRefused(DomainError):
    """A booking, change or cancellation that breaks a rule; ``code`` says which."""


def min_hours_ahead() -> int:
    """How many hours before a slot owners must book it (APPOINTMENT_MIN_HOURS_AHEAD)."""
    return int(current_app.config.get("APPOINTMENT_MIN_HOURS_AHEAD", 3))


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))


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
    """A local day with its weekday, short: "Tue, Nov 24" / "11月24日周二"."""
    return format_skeleton("MMMEd", day, locale=get_locale())


def format_when(moment: datetime) -> str:
    """A slot's local day and time: "Tue, Nov 24 09:30"."""
    return f"{format_day(local_date(moment))} {format_datetime(moment, 'HH:mm')}"


def _lock(model, row_id: int):
    return db.session.execute(
        select(model)
        .where(model.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _staff_dealer(actor: User) -> int:
    if actor.dealer_id is None:
        raise NotFound(_l("Appointments are kept per dealer."))
    return actor.dealer_id


# ----------------------------------------------------------------------------- slots (staff)


@dataclass(frozen=True)
class SlotsAdded:
    """The slots a batch created, and how many of its times already had a slot."""

    added: list[AppointmentSlot]
    existing: int


def slot_times(day: date, first: time, last: time, every_minutes: int) -> list[datetime]:
    """The UTC start of each slot from ``first`` to ``last`` (local, both included) on ``day``."""
    zone = _zone()
    start = datetime.combine(day, first)
    end = datetime.combine(day, last)
    times = []
    moment = start
    while moment <= end and len(times) <= MAX_SLOTS_AT_ONCE:
        times.append(moment.replace(tzinfo=zone).astimezone(UTC))
        moment += timedelta(minutes=every_minutes)
    return times


def add_slots(
    actor: User,
    *,
    day: date,
    first: time,
    last: time,
    every_minutes: int,
    capacity: int,
    now: datetime | None = None,
) -> SlotsAdded:
    """Open the workshop's times on a local day, every ``every_minutes`` from ``first`` to
    ``last``, each taking ``capacity`` cars; times that already have a slot stay as they are."""
    now = now or utcnow()
    dealer_id = _staff_dealer(actor)
    if day < local_date(now):
        raise ValidationFailed(_l("Choose today or a later day."), field="day")
    if day > local_date(now) + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationFailed(_l("Choose a day within %(n)s days.", n=MAX_DAYS_AHEAD), field="day")
    if last < first:
        raise ValidationFailed(_l("The last time must not be before the first."), field="last")
    if not MIN_EVERY_MINUTES <= every_minutes <= MAX_EVERY_MINUTES:
        raise ValidationFailed(
            _l(
                "Give a step of %(min)s to %(max)s minutes.",
                min=MIN_EVERY_MINUTES,
                max=MAX_EVERY_MINUTES,
            ),
            field="every_minutes",
        )
    if not 0 < capacity <= MAX_CAPACITY:
        raise ValidationFailed(
            _l("A time takes 1 to %(max)s cars.", max=MAX_CAPACITY), field="capacity"
        )
    times = slot_times(day, first, last, every_minutes)
    if len(times) > MAX_SLOTS_AT_ONCE:
        raise ValidationFailed(
            _l("Add at most %(max)s times at once.", max=MAX_SLOTS_AT_ONCE),
            field="every_minutes",
        )
    if times[0] <= now:
        raise ValidationFailed(_l("The first time has already passed."), field="first")
    # Two advisors adding the same day queue on the dealer row, so neither trips on the other.
    db.session.execute(select(Dealer.id).where(Dealer.id == dealer_id).with_for_update())
    taken = set(
        db.session.scalars(
            select(AppointmentSlot.starts_at).where(
                AppointmentSlot.dealer_id == dealer_id, AppointmentSlot.starts_at.in_(times)
            )
        )
    )
    added = []
    for starts_at in times:
        if starts_at in taken:
            continue
        slot = AppointmentSlot(
            dealer_id=dealer_id,
            starts_at=starts_at,
            capacity=capacity,
            booked=0,
            created_by_id=actor.id,
            created_at=now,
        )
        db.session.add(slot)
        added.append(slot)
    db.session.flush()
    if added:
        record_audit(
            actor,
            "appointment.slots_added",
            dealer_id=dealer_id,
            details={
                "day": day.isoformat(),
                "times": [format(s.starts_at.astimezone(_zone()), "%H:%M") for s in added],
                "capacity": capacity,
            },
            now=now,
        )
    return SlotsAdded(added, len(times) - len(added))


def get_staff_slot(actor: User, slot_id: int) -> AppointmentSlot:
    """A slot of the staff member's dealer, or NotFound (another dealer's is not found)."""
    slot = db.session.get(AppointmentSlot, slot_id)
    if slot is None or slot.dealer_id != actor.dealer_id:
        raise NotFound(_l("No such time."))
    return slot


def change_capacity(
    actor: User, slot_id: int, capacity: int, *, now: datetime | None = None
) -> AppointmentSlot:
    """Change how many cars a time takes; never below the cars already booked for it."""
    now = now or utcnow()
    get_staff_slot(actor, slot_id)
    slot = _lock(AppointmentSlot, slot_id)
    if slot.starts_at <= now:
        raise AppointmentRefused(_l("This time has passed."), field="capacity", code="past")
    if not 0 < capacity <= MAX_CAPACITY:
        raise ValidationFailed(
            _l("A time takes 1 to %(max)s cars.", max=MAX_CAPACITY), field="capacity"
        )
    if capacity < slot.booked:
        raise AppointmentRefused(
            _l(
                "%(n)s cars are booked for this time: the capacity cannot be lower.",
                n=slot.booked,
            ),
            field="capacity",
            code="below_booked",
        )
    before = slot.capacity
    slot.capacity = capacity
    db.session.flush()
    record_audit(
        actor,
        "appointment.capacity_changed",
        subject=slot,
        dealer_id=slot.dealer_id,
        details={"before": before, "after": capacity},
        now=now,
    )
    return slot


@dataclass
class SlotSheet:
    """One time of the day as the advisor sees it: its live bookings and cancellations."""

    slot: AppointmentSlot
    appointments: list[Appointment] = field(default_factory=list)
    cancelled: int = 0


def day_sheet(actor: User, day: date) -> list[SlotSheet]:
    """The staff member's dealer's times on a local day, each with its bookings."""
    dealer_id = _staff_dealer(actor)
    start, end = day_bounds(day)
    slots = db.session.scalars(
        select(AppointmentSlot)
        .where(
            AppointmentSlot.dealer_id == dealer_id,
            AppointmentSlot.starts_at >= start,
            AppointmentSlot.starts_at < end,
        )
        .order_by(AppointmentSlot.starts_at)
    ).all()
    sheets = {slot.id: SlotSheet(slot) for slot in slots}
    if sheets:
        rows = db.session.scalars(
            select(Appointment)
            .options(
                selectinload(Appointment.member).selectinload(Member.user),
                selectinload(Appointment.vehicle),
            )
            .where(Appointment.slot_id.in_(sheets))
            .order_by(Appointment.created_at, Appointment.id)
        )
        for appointment in rows:
            sheet = sheets[appointment.slot_id]
            if appointment.status == A.CANCELLED:
                sheet.cancelled += 1
            else:
                sheet.appointments.append(appointment)
    return list(sheets.values())


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
            Appointment.status == A.BOOKED,
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
    return _lock(Vehicle, vehicle.id)


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
    note = (note or "").strip()
    if len(note) > NOTE_LENGTH:
        raise ValidationFailed(
            _l("Keep the note to %(n)s characters.", n=NOTE_LENGTH), field="note"
        )
    vehicle = _own_car(member, vehicle_id)
    slot = _lock(AppointmentSlot, slot_id)
    _check_bookable(slot, member, now)
    _check_one_a_day(vehicle, slot)
    slot.booked += 1
    appointment = Appointment(
        slot=slot,
        member_id=member.id,
        vehicle_id=vehicle.id,
        status=A.BOOKED,
        note=note,
        created_at=now,
    )
    db.session.add(appointment)
    db.session.flush()
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


def _own_live_appointment(member: Member, appointment_id: int, now: datetime) -> Appointment:
    found = get_own_appointment(member, appointment_id)
    _lock(Vehicle, found.vehicle_id)
    appointment = _lock(Appointment, found.id)
    if appointment.status == A.CANCELLED:
        raise AppointmentRefused(
            _l("This appointment is already cancelled."), code="already_cancelled"
        )
    if appointment.status != A.BOOKED:
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
    locked = {sid: _lock(AppointmentSlot, sid) for sid in sorted({old_id, slot_id})}
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
    slot = _lock(AppointmentSlot, appointment.slot_id)
    APPOINTMENT.move(appointment, A.CANCELLED)
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
    return appointment.status == A.BOOKED and appointment.slot.starts_at > (now or utcnow())


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
        if appointment.status == A.CANCELLED:
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


# ------------------------------------------------------------------------- staff: the day


def get_staff_appointment(actor: User, appointment_id: int) -> Appointment:
    """An appointment at the staff member's dealer, or NotFound."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.slot.dealer_id != actor.dealer_id:
        raise NotFound(_l("No such appointment."))
    return appointment


_ALREADY = {
    A.KEPT: _l("This appointment is already marked as kept."),
    A.NO_SHOW: _l("This appointment is already marked as a no-show."),
    A.CANCELLED: _l("The owner cancelled this appointment."),
}


def close_appointment(
    actor: User, appointment_id: int, outcome: AppointmentStatus, *, now: datetime | None = None
) -> Appointment:
    """Mark a booking kept (the car came; the dealer's reward is given once) or a no-show."""
    now = now or utcnow()
    outcome = AppointmentStatus(outcome)
    if outcome not in (A.KEPT, A.NO_SHOW):
        raise ValueError(outcome)
    get_staff_appointment(actor, appointment_id)
    appointment = _lock(Appointment, appointment_id)
    before = appointment.status
    if outcome not in TRANSITIONS[before]:
        if before == outcome or before == A.CANCELLED:
            raise Conflict(_ALREADY[before])
        raise Conflict(_l("A kept appointment cannot become a no-show."))
    starts_at = appointment.slot.starts_at
    if outcome == A.KEPT and local_date(now) < local_date(starts_at):
        raise AppointmentRefused(
            _l("A booking can be marked as kept from its day on."), code="too_early"
        )
    if outcome == A.NO_SHOW and now < starts_at:
        raise AppointmentRefused(
            _l("A booking can be marked as a no-show once its time has come."), code="too_early"
        )
    APPOINTMENT.move(appointment, outcome)
    appointment.closed_at = now
    appointment.closed_by_id = actor.id
    db.session.flush()
    details = {"before": before.value}
    if outcome == A.KEPT:
        voucher = _reward_kept(appointment, now)
        if voucher is not None:
            details["voucher_id"] = voucher.id
    record_audit(
        actor,
        f"appointment.{outcome.value}",
        subject=appointment,
        dealer_id=appointment.slot.dealer_id,
        details=details,
        now=now,
    )
    return appointment


def _reward_kept(appointment: Appointment, now: datetime):
    """The dealer's reward for a kept booking, if it offers one, once per appointment."""
    if appointment.voucher_id is not None:
        return None
    reward = kept_reward(appointment.slot.dealer_id)
    if reward is None or not reward.active:
        return None
    voucher = issue_free_voucher(
        appointment.member, reward, source="appointment", key=str(appointment.id), now=now
    )
    appointment.voucher_id = voucher.id
    db.session.flush()
    notify(
        appointment.member,
        "appointment_reward",
        lambda: (
            _l("Thank you for coming"),
            _l("Your kept appointment earned a voucher: %(reward)s.", reward=reward.name),
        ),
        dedupe_key=f"appointment:{appointment.id}:reward",
        now=now,
    )
    return voucher


# ----------------------------------------------------------------------------- settings


def settings_for(dealer_id: int) -> AppointmentSettings | None:
    """The dealer's appointment settings, if any were saved."""
    return db.session.get(AppointmentSettings, dealer_id)


def kept_reward(dealer_id: int) -> Reward | None:
    """The reward a kept booking at the dealer earns, or None."""
    settings = settings_for(dealer_id)
    if settings is None or settings.kept_reward_id is None:
        return None
    return db.session.get(Reward, settings.kept_reward_id)


def reward_choices(actor: User) -> list[Reward]:
    """Rewards a kept booking may earn: offered ones of the dealer or group-wide,
    labour-hour vouchers first."""
    dealer_id = _staff_dealer(actor)
    return list(
        db.session.scalars(
            select(Reward)
            .where(
                Reward.active.is_(True),
                or_(Reward.dealer_id.is_(None), Reward.dealer_id == dealer_id),
            )
            .order_by((Reward.kind != RewardKind.LABOUR_VOUCHER), Reward.name, Reward.id)
        )
    )


def save_appointment_settings(
    actor: User, *, kept_reward_id: int | None, now: datetime | None = None
) -> AppointmentSettings:
    """Choose the reward a kept booking at the actor's dealer earns (None: no reward)."""
    now = now or utcnow()
    dealer_id = _staff_dealer(actor)
    if kept_reward_id is not None:
        reward = db.session.get(Reward, kept_reward_id)
        if reward is None or reward.dealer_id not in (None, dealer_id) or not reward.active:
            raise ValidationFailed(
                _l("Choose a reward offered at your dealer."), field="kept_reward_id"
            )
    settings = db.session.execute(
        select(AppointmentSettings)
        .where(AppointmentSettings.dealer_id == dealer_id)
        .with_for_update()
    ).scalar_one_or_none()
    if settings is None:
        settings = AppointmentSettings(dealer_id=dealer_id)
        db.session.add(settings)
    before = settings.kept_reward_id
    settings.kept_reward_id = kept_reward_id
    db.session.flush()
    if before != kept_reward_id:
        record_audit(
            actor,
            "appointment.settings_changed",
            dealer_id=dealer_id,
            details={"kept_reward_id": [before, kept_reward_id]},
            now=now,
        )
    return settings


def live_bookings(slot: AppointmentSlot) -> int:
    """Bookings of the slot that are not cancelled: what ``booked`` must always equal."""
    return db.session.scalar(
        select(func.count(Appointment.id)).where(
            Appointment.slot_id == slot.id, Appointment.status != A.CANCELLED
        )
    )
