"""The workshop's side of service appointments: advisors open times and set their capacity,
see the day's bookings, mark each kept (the dealer's chosen reward follows, once) or a no-show,
and choose that reward. Owners' bookings are in ``app.service.appointments``.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.members.models import Dealer, Member
from app.rewards.models import Reward, RewardKind
from app.service.appointments import (
    TRANSITIONS,
    AppointmentRefused,
    day_bounds,
    lock_row,
)
from app.service.kept_reward import reward_kept
from app.service.models import (
    APPOINTMENT,
    DEFAULT_REWARD_MIN_SPEND_FEN,
    Appointment,
    AppointmentSettings,
    AppointmentSlot,
    AppointmentStatus,
)

MAX_CAPACITY = 50
MAX_SLOTS_AT_ONCE = 96
MIN_EVERY_MINUTES = 5
MAX_EVERY_MINUTES = 720
MAX_DAYS_AHEAD = 366
# ¥100,000: far above any visit, below what a typo of extra zeros would give.
MAX_MIN_SPEND_FEN = 10_000_000


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))


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
    slot = lock_row(AppointmentSlot, slot_id)
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
            if appointment.status == AppointmentStatus.CANCELLED:
                sheet.cancelled += 1
            else:
                sheet.appointments.append(appointment)
    return list(sheets.values())


# ------------------------------------------------------------------------- staff: the day


def get_staff_appointment(actor: User, appointment_id: int) -> Appointment:
    """An appointment at the staff member's dealer, or NotFound."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.slot.dealer_id != actor.dealer_id:
        raise NotFound(_l("No such appointment."))
    return appointment


_ALREADY = {
    AppointmentStatus.KEPT: _l("This appointment is already marked as kept."),
    AppointmentStatus.NO_SHOW: _l("This appointment is already marked as a no-show."),
    AppointmentStatus.CANCELLED: _l("The owner cancelled this appointment."),
}


def close_appointment(
    actor: User, appointment_id: int, outcome: AppointmentStatus, *, now: datetime | None = None
) -> Appointment:
    """Mark a booking kept (the car came; the dealer's reward is given once) or a no-show."""
    now = now or utcnow()
    outcome = AppointmentStatus(outcome)
    if outcome not in (AppointmentStatus.KEPT, AppointmentStatus.NO_SHOW):
        raise ValueError(outcome)
    get_staff_appointment(actor, appointment_id)
    appointment = lock_row(Appointment, appointment_id)
    before = appointment.status
    if outcome not in TRANSITIONS[before]:
        if before == outcome or before == AppointmentStatus.CANCELLED:
            raise Conflict(_ALREADY[before])
        raise Conflict(_l("A kept appointment cannot become a no-show."))
    starts_at = appointment.slot.starts_at
    if outcome == AppointmentStatus.KEPT and local_date(now) < local_date(starts_at):
        raise AppointmentRefused(
            _l("A booking can be marked as kept from its day on."), code="too_early"
        )
    if outcome == AppointmentStatus.NO_SHOW and now < starts_at:
        raise AppointmentRefused(
            _l("A booking can be marked as a no-show once its time has come."), code="too_early"
        )
    APPOINTMENT.move(appointment, outcome)
    appointment.closed_at = now
    appointment.closed_by_id = actor.id
    db.session.flush()
    details = {"before": before.value}
    if outcome == AppointmentStatus.KEPT:
        voucher = reward_kept(appointment, now)
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


# ----------------------------------------------------------------------------- settings


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
    actor: User,
    *,
    kept_reward_id: int | None,
    reward_min_spend_fen: int | None = None,
    now: datetime | None = None,
) -> AppointmentSettings:
    """Choose the reward a kept booking at the actor's dealer earns (None: no reward) and the
    spend of the day's visit it takes (None: unchanged; 0: none)."""
    now = now or utcnow()
    dealer_id = _staff_dealer(actor)
    if kept_reward_id is not None:
        reward = db.session.get(Reward, kept_reward_id)
        if reward is None or reward.dealer_id not in (None, dealer_id) or not reward.active:
            raise ValidationFailed(
                _l("Choose a reward offered at your dealer."), field="kept_reward_id"
            )
    if reward_min_spend_fen is not None and not 0 <= reward_min_spend_fen <= MAX_MIN_SPEND_FEN:
        raise ValidationFailed(
            _l("Give a spend from 0 to %(max)s yuan.", max=MAX_MIN_SPEND_FEN // 100),
            field="reward_min_spend",
        )
    settings = db.session.execute(
        select(AppointmentSettings)
        .where(AppointmentSettings.dealer_id == dealer_id)
        .with_for_update()
    ).scalar_one_or_none()
    if settings is None:
        settings = AppointmentSettings(
            dealer_id=dealer_id, reward_min_spend_fen=DEFAULT_REWARD_MIN_SPEND_FEN
        )
        db.session.add(settings)
    before = (settings.kept_reward_id, settings.reward_min_spend_fen)
    settings.kept_reward_id = kept_reward_id
    if reward_min_spend_fen is not None:
        settings.reward_min_spend_fen = reward_min_spend_fen
    db.session.flush()
    after = (settings.kept_reward_id, settings.reward_min_spend_fen)
    if before != after:
        record_audit(
            actor,
            "appointment.settings_changed",
            dealer_id=dealer_id,
            details={
                "kept_reward_id": [before[0], after[0]],
                "reward_min_spend_fen": [before[1], after[1]],
            },
            now=now,
        )
    return settings
