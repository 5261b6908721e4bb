"""The reward a kept appointment earns (预约保养客户,整体消费满100送20工时卷, seed 002): the
dealer's chosen reward, once per appointment, when the booking is kept and the car's visits at
the dealer on the booking's day add up to the dealer's spend threshold (AppointmentSettings,
default ¥100; 0 asks for no visit). Labour is never discounted (工时费一律不打折): the reward is
a voucher given afterwards, not a price cut on the repair order.

Whichever comes second gives it: marking the booking kept (``app.service.workshop``) or the
visit (recorded or amended, ``app.service.services``) that reaches the threshold. A voucher
once given stays; a later refund of the visit does not take it back.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.core.clock import local_date
from app.extensions import db
from app.members.inbox import notify
from app.rewards.models import Reward
from app.rewards.services import issue_free_voucher
from app.service.appointments import day_bounds, lock_row
from app.service.models import (
    COUNTED_VISIT,
    DEFAULT_REWARD_MIN_SPEND_FEN,
    Appointment,
    AppointmentSettings,
    AppointmentSlot,
    AppointmentStatus,
    ServiceVisit,
)


def settings_for(dealer_id: int) -> AppointmentSettings | None:
    """The dealer's appointment settings, if any were saved."""
    return db.session.get(AppointmentSettings, dealer_id)


def kept_reward(dealer_id: int) -> Reward | None:
    """The reward a kept booking at the dealer earns, or None."""
    settings = settings_for(dealer_id)
    if settings is None or settings.kept_reward_id is None:
        return None
    return db.session.get(Reward, settings.kept_reward_id)


def reward_min_spend_fen(dealer_id: int) -> int:
    """The spend (fen) of the car's visits on the booking's day the reward takes."""
    settings = settings_for(dealer_id)
    return DEFAULT_REWARD_MIN_SPEND_FEN if settings is None else settings.reward_min_spend_fen


def day_spend_fen(appointment: Appointment) -> int:
    """What the booked car spent at the dealer on the booking's local day (counted visits)."""
    day = local_date(appointment.slot.starts_at)
    return db.session.scalar(
        select(func.coalesce(func.sum(ServiceVisit.amount_fen), 0)).where(
            ServiceVisit.vehicle_id == appointment.vehicle_id,
            ServiceVisit.dealer_id == appointment.slot.dealer_id,
            ServiceVisit.visited_on == day,
            COUNTED_VISIT,
        )
    )


def reward_kept(appointment: Appointment, now: datetime):
    """Give the dealer's reward for a kept booking once its day's spend reaches the threshold;
    the voucher, or None (no reward offered, threshold not reached, or already given)."""
    if appointment.voucher_id is not None or appointment.status != AppointmentStatus.KEPT:
        return None
    dealer_id = appointment.slot.dealer_id
    reward = kept_reward(dealer_id)
    if reward is None or not reward.active:
        return None
    threshold = reward_min_spend_fen(dealer_id)
    if threshold and day_spend_fen(appointment) < threshold:
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


def reward_after_visit(visit: ServiceVisit, now: datetime) -> list:
    """A visit recorded or amended: reward the car's kept bookings of that day it now
    qualifies; the vouchers given."""
    start, end = day_bounds(visit.visited_on)
    ids = db.session.scalars(
        select(Appointment.id)
        .join(AppointmentSlot, Appointment.slot_id == AppointmentSlot.id)
        .where(
            Appointment.vehicle_id == visit.vehicle_id,
            Appointment.status == AppointmentStatus.KEPT,
            Appointment.voucher_id.is_(None),
            AppointmentSlot.dealer_id == visit.dealer_id,
            AppointmentSlot.starts_at >= start,
            AppointmentSlot.starts_at < end,
        )
        .order_by(Appointment.id)
    ).all()
    given = []
    for appointment_id in ids:
        voucher = reward_kept(lock_row(Appointment, appointment_id), now)
        if voucher is not None:
            given.append(voucher)
    return given
