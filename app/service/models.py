"""Service visits recorded by a service advisor or pushed by the dealer's DMS."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import string_enum
from app.core.states import StateMachine
from app.extensions import db
from app.members.models import Member, Vehicle


class ServiceCategory(StrEnum):
    """What the visit was for; each category has its own earning rate."""

    MAINTENANCE = "maintenance"
    REPAIR = "repair"
    ACCIDENT = "accident"
    OTHER = "other"


class VisitStatus(StrEnum):
    """A visit stands until it is refunded (its points are then reversed)."""

    RECORDED = "recorded"
    REFUNDED = "refunded"


# A refund is final: a corrected repair order is recorded as a new visit.
VISIT = StateMachine(
    VisitStatus,
    {VisitStatus.RECORDED: {VisitStatus.REFUNDED}, VisitStatus.REFUNDED: set()},
    name="visit",
)


class ServiceVisit(db.Model):
    """One repair order (RO) of a member's car at a dealer."""

    __tablename__ = "service_visits"
    __table_args__ = (
        UniqueConstraint("dealer_id", "ro_number", name="uq_service_visits_dealer_ro"),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        CheckConstraint("mileage_km >= 0", name="mileage_not_negative"),
        CheckConstraint("points_awarded >= 0", name="points_not_negative"),
        # The insight reports: a car's and an owner's last visit, and an event attendee's
        # visits in its window (the dealer and amount in the index, so it answers alone).
        # Refunded visits never count there, and are left out.
        Index(
            "ix_service_visits_vehicle_counted",
            "vehicle_id",
            "visited_on",
            postgresql_where=text("status <> 'refunded'"),
            sqlite_where=text("status <> 'refunded'"),
        ),
        # A window of days (campaign results, call lists, reports): the visits from the
        # index alone, wherever their rows lie.
        Index(
            "ix_service_visits_day",
            "visited_on",
            "dealer_id",
            "vehicle_id",
            "member_id",
            "amount_fen",
            "status",
        ),
        Index(
            "ix_service_visits_member_counted",
            "member_id",
            "visited_on",
            "dealer_id",
            "amount_fen",
            "category",
            postgresql_where=text("status <> 'refunded'"),
            sqlite_where=text("status <> 'refunded'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    ro_number: Mapped[str] = mapped_column(String(32))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    visited_on: Mapped[date]
    mileage_km: Mapped[int]
    amount_fen: Mapped[int]
    category: Mapped[ServiceCategory] = mapped_column(string_enum(ServiceCategory))
    points_awarded: Mapped[int] = mapped_column(default=0)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("points_entries.id"))
    status: Mapped[VisitStatus] = mapped_column(
        string_enum(VisitStatus), default=VisitStatus.RECORDED
    )
    refunded_at: Mapped[datetime | None]
    points_reversed: Mapped[int | None]
    source: Mapped[str] = mapped_column(String(16))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]

    member: Mapped[Member] = relationship()
    vehicle: Mapped[Vehicle] = relationship()


class VisitAmendment(db.Model):
    """A corrected repair order (from the DMS or the service desk): the figures before and
    after, and the points reversed and earned afresh. Numbered 1, 2... per visit."""

    __tablename__ = "visit_amendments"
    __table_args__ = (
        UniqueConstraint("visit_id", "number", name="uq_visit_amendments_visit_number"),
        CheckConstraint("number > 0", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("service_visits.id"), index=True)
    number: Mapped[int]
    before: Mapped[dict] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(200))
    points_reversed: Mapped[int]
    points_awarded: Mapped[int]
    source: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


# A visit that counts (not refunded), written as the partial indexes' own predicate: a bound
# parameter would keep PostgreSQL and SQLite from using them.
COUNTED_VISIT = ServiceVisit.status != literal_column(f"'{VisitStatus.REFUNDED.value}'")


class AppointmentSlot(db.Model):
    """A time a dealer's workshop takes maintenance bookings, with how many cars it can take."""

    __tablename__ = "appointment_slots"
    __table_args__ = (
        UniqueConstraint("dealer_id", "starts_at", name="uq_appointment_slots_dealer_start"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    capacity: Mapped[int]
    # Live bookings, kept on the row (locked when booking) so capacity holds under load.
    booked: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class AppointmentStatus(StrEnum):
    """A booking is kept, missed or cancelled."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    KEPT = "kept"
    NO_SHOW = "no_show"


_A = AppointmentStatus
# Where a booking may go from each state; a kept booking stays kept (its voucher is given).
APPOINTMENT = StateMachine(
    AppointmentStatus,
    {
        _A.BOOKED: {_A.CANCELLED, _A.KEPT, _A.NO_SHOW},
        # The owner turned up late after all.
        _A.NO_SHOW: {_A.KEPT},
        _A.KEPT: set(),
        _A.CANCELLED: set(),
    },
    name="appointment",
)


class Appointment(db.Model):
    """An owner's maintenance booking of a slot for one car."""

    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("appointment_slots.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    status: Mapped[AppointmentStatus] = mapped_column(
        string_enum(AppointmentStatus), default=AppointmentStatus.BOOKED
    )
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The staff member who booked for the owner (service desk, care agent); None: the owner.
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The labour-hour voucher a kept booking earned, if the dealer offers one.
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("vouchers.id"))

    slot: Mapped[AppointmentSlot] = relationship()
    member: Mapped[Member] = relationship()
    vehicle: Mapped[Vehicle] = relationship()


# 预约保养客户,整体消费满100送20工时卷 (seed 002): the reward once the visit's spend reaches ¥100.
DEFAULT_REWARD_MIN_SPEND_FEN = 10_000


class AppointmentSettings(db.Model):
    """Per dealer: the reward (e.g. a labour-hour voucher) a kept appointment earns, and the
    spend of the car's visit that day it takes (0: the kept booking alone earns it)."""

    __tablename__ = "appointment_settings"
    __table_args__ = (CheckConstraint("reward_min_spend_fen >= 0", name="min_spend_not_negative"),)

    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"), primary_key=True)
    kept_reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id"))
    reward_min_spend_fen: Mapped[int] = mapped_column(
        default=DEFAULT_REWARD_MIN_SPEND_FEN, server_default=str(DEFAULT_REWARD_MIN_SPEND_FEN)
    )
