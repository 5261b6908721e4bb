"""A self-drive trip's logistics (issue 21, seed 002): the convoy's lead and tail cars, the
route with its stops, and the car numbers once the organisers fix them.

Seed 002 (海马骑士自驾游): "对参与活动的车辆进行安全检查并张贴车贴、序号以及小国旗" (the cars get
a sticker with their number the day before), "4S店安排2辆车,带头车、收尾车" (the dealer's two
cars lead and close the convoy) and "活动路线:一汽海马润桥4S店—青岛路—…—大泽山葡萄采摘园".
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

# A convoy position is held by a staff member's car, an attendee's car, or nobody yet.
_ONE_HOLDER = "NOT ({0}_staff_id IS NOT NULL AND {0}_registration_id IS NOT NULL)"


class TripPlan(db.Model):
    """One per trip: who leads and who closes the convoy, and when the numbers were fixed."""

    __tablename__ = "trip_plans"
    __table_args__ = (
        CheckConstraint(_ONE_HOLDER.format("lead"), name="one_lead"),
        CheckConstraint(_ONE_HOLDER.format("tail"), name="one_tail"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), unique=True)
    lead_staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lead_registration_id: Mapped[int | None] = mapped_column(ForeignKey("event_registrations.id"))
    # What attendees look for and whom they call: "white SUV 鲁B·88888, Mr Wang 138…".
    lead_note: Mapped[str] = mapped_column(String(120), default="")
    tail_staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    tail_registration_id: Mapped[int | None] = mapped_column(ForeignKey("event_registrations.id"))
    tail_note: Mapped[str] = mapped_column(String(120), default="")
    # Until then the numbers follow the sign-up order; from then on they never change.
    numbers_fixed_at: Mapped[datetime | None]
    numbers_fixed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class TripStop(db.Model):
    """A stop (or a road taken) on the trip's route, in order."""

    __tablename__ = "trip_stops"
    __table_args__ = (
        CheckConstraint("position > 0", name="position_positive"),
        Index("ix_trip_stops_event_position", "event_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(200), default="")
    planned_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(String(300), default="")


class TripCarNumber(db.Model):
    """A car's number on the trip, fixed: kept (never given to another car) even if it cancels."""

    __tablename__ = "trip_car_numbers"
    __table_args__ = (
        UniqueConstraint("event_id", "number", name="uq_trip_car_numbers_event_number"),
        CheckConstraint("number > 0", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("event_registrations.id"), unique=True)
    number: Mapped[int]
    fixed_at: Mapped[datetime]
