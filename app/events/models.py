"""Events, registrations (confirmed, waiting, offered), tickets and check-ins (R7)."""

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.images import HasCover, cover_check
from app.core.models import string_enum
from app.core.states import StateMachine
from app.extensions import db
from app.members.models import Member, Vehicle


class EventKind(StrEnum):
    """Self-drive trips count capacity in cars; other events in seats."""

    TRIP = "trip"
    LECTURE = "lecture"
    OTHER = "other"


class RegistrationStatus(StrEnum):
    """A place is confirmed, or waited for; an offered place must be confirmed in time."""

    CONFIRMED = "confirmed"
    PENDING = "pending_payment"  # a paid event's place, held until paid or expires_at passes
    WAITING = "waiting"
    OFFERED = "offered"  # promoted from the waiting list, to confirm before offer_expires_at
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # an offer or a payment hold that ran out, or still waiting at the end


def _not_checked_in(registration) -> object | None:
    """A checked-in ticket stays: its owner came (and was given the attendance points)."""
    if registration.id is not None and db.session.scalar(
        select(CheckIn.id).where(CheckIn.registration_id == registration.id)
    ):
        return _l("This ticket is checked in: the registration cannot be cancelled.")
    return None


_R = RegistrationStatus
# A new registration starts waiting and is given its place at once when one is free.
REGISTRATION = StateMachine(
    RegistrationStatus,
    {
        _R.WAITING: {_R.CONFIRMED, _R.PENDING, _R.OFFERED, _R.CANCELLED, _R.EXPIRED},
        _R.OFFERED: {_R.CONFIRMED, _R.PENDING, _R.CANCELLED, _R.EXPIRED},
        _R.PENDING: {_R.CONFIRMED, _R.CANCELLED, _R.EXPIRED},
        _R.CONFIRMED: {_R.CANCELLED},
        # Paid after the hold ran out, while a place is still free.
        _R.EXPIRED: {_R.CONFIRMED},
        _R.CANCELLED: set(),
    },
    name="registration",
    guards={_R.CANCELLED: _not_checked_in},
)


class Event(HasCover, db.Model):
    """A club event of one dealer."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("max_companions >= 0", name="companions_not_negative"),
        CheckConstraint("price_fen >= 0", name="price_not_negative"),
        CheckConstraint("attendance_points >= 0", name="points_not_negative"),
        CheckConstraint("deposit_points >= 0", name="deposit_not_negative"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("registration_closes_at > registration_opens_at", name="window_order"),
        Index("ix_events_dealer_starts", "dealer_id", "starts_at"),
        cover_check(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    kind: Mapped[EventKind] = mapped_column(string_enum(EventKind))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    registration_opens_at: Mapped[datetime]
    registration_closes_at: Mapped[datetime]
    # Owners may cancel until this moment (default: the registration's close).
    cancel_until: Mapped[datetime | None]
    # Cars for trips, seats otherwise.
    capacity: Mapped[int]
    max_companions: Mapped[int] = mapped_column(default=0)
    min_tier_code: Mapped[str | None] = mapped_column(ForeignKey("tiers.code"))
    model_filter: Mapped[str | None] = mapped_column(String(64))
    price_fen: Mapped[int] = mapped_column(default=0)
    attendance_points: Mapped[int] = mapped_column(default=0)
    # A free event may hold a small points deposit at sign-up, returned at check-in (R7).
    deposit_points: Mapped[int] = mapped_column(default=0, server_default="0")
    waiver_text: Mapped[str] = mapped_column(Text, default="")
    # An address typed before pictures were uploaded; shown while there is no ``cover``.
    cover_url: Mapped[str | None] = mapped_column(String(500))
    # Hours a promoted waiting-list place stays offered (R7: 48 h by default).
    offer_hours: Mapped[int] = mapped_column(default=48)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    # One occurrence of a series created in one step (app/events/series.py); None: on its own.
    series_id: Mapped[int | None] = mapped_column(ForeignKey("event_series.id"), index=True)


class EventRegistration(db.Model):
    """An owner's sign-up (with companions and, for trips, the car)."""

    __tablename__ = "event_registrations"
    __table_args__ = (
        CheckConstraint("companions >= 0", name="companions_not_negative"),
        # With the owner, so the insight reports read an event's attendees from the index alone.
        Index("ix_event_registrations_event_status", "event_id", "status", "id", "member_id"),
        # The ticket's short code is typed at its event's gate: unique per event.
        UniqueConstraint("event_id", "ticket_code", name="uq_event_registrations_event_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    companions: Mapped[int] = mapped_column(default=0)
    companion_names: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[RegistrationStatus] = mapped_column(string_enum(RegistrationStatus))
    waiver_accepted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    offered_at: Mapped[datetime | None]
    offer_expires_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    # A paid event's place is held until this moment; unpaid, it expires and frees the place.
    payment_due_at: Mapped[datetime | None]
    # An opaque id for the ticket; the QR carries a signed token of the registration.
    ticket_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    # What the owner reads out or staff type when the QR cannot be scanned (e.g. K7QX2MXP).
    ticket_code: Mapped[str] = mapped_column(String(8))

    event: Mapped[Event] = relationship()
    member: Mapped[Member] = relationship()
    vehicle: Mapped[Vehicle | None] = relationship()


class CheckIn(db.Model):
    """A ticket checked in at the gate (once); ``nonce`` makes a replayed upload harmless."""

    __tablename__ = "check_ins"
    __table_args__ = (UniqueConstraint("registration_id", name="uq_check_ins_registration"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("event_registrations.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    checked_in_at: Mapped[datetime]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    nonce: Mapped[str | None] = mapped_column(String(64), unique=True)
    # online or offline (a scan: ticket, short code or member card), manual (a tap on the list)
    source: Mapped[str] = mapped_column(String(16), default="online")


class ScanConflict(db.Model):
    """A second scan of a checked-in ticket (another phone, offline): reported, not counted."""

    __tablename__ = "scan_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("event_registrations.id"), index=True)
    scanned_at: Mapped[datetime]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    nonce: Mapped[str | None] = mapped_column(String(64), unique=True)


class SafetyCheck(db.Model):
    """A trip car's safety check before departure (seed 002), recorded by staff."""

    __tablename__ = "safety_checks"
    __table_args__ = (UniqueConstraint("registration_id", name="uq_safety_checks_registration"),)

    ITEMS = ("tyres", "lights", "brakes", "fluids", "fuel")

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("event_registrations.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    tyres_ok: Mapped[bool]
    lights_ok: Mapped[bool]
    brakes_ok: Mapped[bool]
    fluids_ok: Mapped[bool]
    fuel_ok: Mapped[bool]
    passed: Mapped[bool]
    notes: Mapped[str] = mapped_column(String(500), default="")
    checked_at: Mapped[datetime]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    registration: Mapped[EventRegistration] = relationship()


class LectureEvaluation(db.Model):
    """An attendee's evaluation of a lecture: a rating and comments, once per registration."""

    __tablename__ = "lecture_evaluations"
    __table_args__ = (
        UniqueConstraint("registration_id", name="uq_lecture_evaluations_registration"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("event_registrations.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    rating: Mapped[int]
    comments: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime]

    registration: Mapped[EventRegistration] = relationship()
    questions: Mapped[list["LectureQuestion"]] = relationship(
        back_populates="evaluation", order_by="LectureQuestion.id"
    )


class LectureQuestion(db.Model):
    """A question raised in an evaluation; staff answer it within 48 hours (R7)."""

    __tablename__ = "lecture_questions"
    __table_args__ = (Index("ix_lecture_questions_open", "event_id", "answered_at", "asked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("lecture_evaluations.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime]
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    evaluation: Mapped[LectureEvaluation] = relationship(back_populates="questions")


class EventSeries(db.Model):
    """Events created in one step, one every ``every_weeks`` weeks (车主讲堂 twice a month);
    each occurrence is an ordinary event that names its series."""

    __tablename__ = "event_series"
    __table_args__ = (
        CheckConstraint("every_weeks BETWEEN 1 AND 8", name="every_weeks_range"),
        CheckConstraint("occurrences >= 2", name="occurrences_several"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    every_weeks: Mapped[int]
    occurrences: Mapped[int]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class EventInvitation(db.Model):
    """An owner invited to an event (once per event and owner), and when they opened the
    invitation; whether they signed up and came is read from their registration and check-in."""

    __tablename__ = "event_invitations"
    __table_args__ = (
        UniqueConstraint("event_id", "member_id", name="uq_event_invitations_event_member"),
        Index("ix_event_invitations_member", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    invited_at: Mapped[datetime]
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime | None]

    event: Mapped[Event] = relationship()
    member: Mapped[Member] = relationship()
