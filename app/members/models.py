"""Dealers (chapters), members, vehicles, the managed colour and model lists, chapter
transfers, the messages the club sends an owner (inbox and outbox), and the notices staff find
on their desk."""

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, true
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.core.models import string_enum
from app.core.states import StateMachine
from app.extensions import db

if TYPE_CHECKING:
    from app.auth.models import User


class Gender(StrEnum):
    """Gender as the owner chooses to state it."""

    FEMALE = "female"
    MALE = "male"
    UNDISCLOSED = "undisclosed"


class Transmission(StrEnum):
    """Gearbox kinds the referral callback can ask about."""

    MANUAL = "manual"
    AUTOMATIC = "automatic"
    DUAL_CLUTCH = "dual_clutch"
    CVT = "cvt"
    SINGLE_SPEED = "single_speed"


class TransferStatus(StrEnum):
    """States of a chapter transfer request."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


_T = TransferStatus
# The request: decided when both sides approved or one rejected, or withdrawn by the member.
TRANSFER = StateMachine(
    TransferStatus,
    {
        _T.PENDING: {_T.APPROVED, _T.REJECTED, _T.CANCELLED},
        _T.APPROVED: set(),
        _T.REJECTED: set(),
        _T.CANCELLED: set(),
    },
    name="transfer",
)
# Each dealer's side decides once; a side is never cancelled (the request is).
_SIDE = {_T.PENDING: {_T.APPROVED, _T.REJECTED}, _T.APPROVED: set(), _T.REJECTED: set()}
TRANSFER_SIDES = {
    side: StateMachine(
        TransferStatus,
        {**_SIDE, _T.CANCELLED: set()},
        name=f"transfer_{side}_side",
        attr=f"{side}_status",
    )
    for side in ("from", "to")
}


class Dealer(db.Model):
    """A dealership and its owners' club chapter (分会)."""

    __tablename__ = "dealers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(64), default="")
    # The sales region HQ groups dealers by (华南 South, 华东 East...); set by HQ.
    region: Mapped[str] = mapped_column(String(32), default="", server_default="")

    # Its staff accounts; ``User.dealer`` is the other side, declared here so that auth's model
    # names no domain above it.
    staff: Mapped[list["User"]] = relationship(backref="dealer")


class Colour(db.Model):
    """A body colour from the managed list.

    Colours sharing a ``confusion_group`` are easily mistaken for each other (silver/grey,
    black/mocha brown, white/pearl white): the referral callback treats them as one colour.
    """

    __tablename__ = "colours"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_en: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(String(64))
    confusion_group: Mapped[str | None] = mapped_column(String(32), index=True)
    active: Mapped[bool] = mapped_column(default=True)

    def label(self, locale: str) -> str:
        """The colour's name in ``locale``."""
        return self.name_zh if locale.startswith("zh") else self.name_en


class CarModel(db.Model):
    """A car model from the managed list, and the family it belongs to.

    Models of one family (Golf, Golf GTI, Golf R) are variants of one car: the referral callback
    never names one of them as the deliberate error about another. ``key`` is the name as the
    callback compares it (``car_models.model_key``: case, spacing, hyphens and 新/全新 ignored),
    so "Golf-R" and "golf r" are one model.
    """

    __tablename__ = "car_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255), unique=True)
    family: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Member(db.Model):
    """An owner's club profile."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"), index=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    birthday: Mapped[date | None]
    gender: Mapped[Gender | None] = mapped_column(string_enum(Gender))
    occupation: Mapped[str] = mapped_column(String(120), default="")
    home_area: Mapped[str] = mapped_column(String(120), default="")
    hobbies: Mapped[str] = mapped_column(String(255), default="")
    privacy_version: Mapped[str] = mapped_column(String(16))
    privacy_accepted_at: Mapped[datetime]
    marketing_opt_in: Mapped[bool] = mapped_column(default=False)
    marketing_changed_at: Mapped[datetime | None]
    # Care channels (R8): the inbox always; e-mail when an address is given; SMS to the mobile.
    email: Mapped[str | None] = mapped_column(String(254))
    notify_email: Mapped[bool] = mapped_column(default=True, server_default=true())
    notify_sms: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime]
    # When the owner became an active member: registered with a password, or accepted the
    # invitation sent at delivery. None while the invitation is open (申请中 applying).
    joined_at: Mapped[datetime | None]

    # ``User.member`` is the other side (declared here, see ``Dealer.staff``).
    user: Mapped["User"] = relationship(backref=backref("member", uselist=False))
    dealer: Mapped[Dealer] = relationship()
    vehicles: Mapped[list["Vehicle"]] = relationship(
        back_populates="member", order_by="Vehicle.id", cascade="all, delete-orphan"
    )

    @property
    def mobile(self) -> str:
        """The owner's login mobile number."""
        return self.user.mobile


# A car's warranty when its record gives no date: this many months from delivery (or purchase).
# The one default: care reminders, the lost-customer list and campaign targeting all use it.
DEFAULT_WARRANTY_MONTHS = 36


class Vehicle(db.Model):
    """An owner's car."""

    __tablename__ = "vehicles"
    __table_args__ = (CheckConstraint("length(vin) = 17", name="vin_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    vin: Mapped[str] = mapped_column(String(17), unique=True)
    plate: Mapped[str | None] = mapped_column(String(8), unique=True)
    model: Mapped[str] = mapped_column(String(64))
    colour_id: Mapped[int] = mapped_column(ForeignKey("colours.id"))
    transmission: Mapped[Transmission] = mapped_column(string_enum(Transmission))
    purchased_on: Mapped[date]
    delivered_on: Mapped[date | None]
    # Care dates (R8): None where unknown (the warranty then runs DEFAULT_WARRANTY_MONTHS from
    # delivery, or purchase: app/members/warranty.py).
    warranty_until: Mapped[date | None]
    insurance_expires_on: Mapped[date | None]
    inspection_due_on: Mapped[date | None]
    created_at: Mapped[datetime]

    member: Mapped[Member] = relationship(back_populates="vehicles")
    colour: Mapped[Colour] = relationship()


class ChapterTransfer(db.Model):
    """A member's request to move to another dealer's chapter.

    The releasing dealer (``from``) and the receiving dealer (``to``) each approve their side;
    the member moves when both have approved, and either rejecting rejects the request. HQ may
    decide a side in a dealer's place (audited as an override).
    """

    __tablename__ = "chapter_transfers"
    __table_args__ = (
        CheckConstraint("from_dealer_id <> to_dealer_id", name="different_dealers"),
        CheckConstraint(
            "from_status IN ('pending', 'approved', 'rejected') "
            "AND to_status IN ('pending', 'approved', 'rejected')",
            name="side_status_values",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    from_dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    to_dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    status: Mapped[TransferStatus] = mapped_column(
        string_enum(TransferStatus), default=TransferStatus.PENDING
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Each dealer's side: pending, approved or rejected, by whom and when.
    from_status: Mapped[TransferStatus] = mapped_column(
        string_enum(TransferStatus), default=TransferStatus.PENDING, server_default="pending"
    )
    from_decided_at: Mapped[datetime | None]
    from_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_status: Mapped[TransferStatus] = mapped_column(
        string_enum(TransferStatus), default=TransferStatus.PENDING, server_default="pending"
    )
    to_decided_at: Mapped[datetime | None]
    to_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    member: Mapped[Member] = relationship()
    from_dealer: Mapped[Dealer] = relationship(foreign_keys=[from_dealer_id])
    to_dealer: Mapped[Dealer] = relationship(foreign_keys=[to_dealer_id])


class NameMismatch(db.Model):
    """A DMS delivery named the buyer differently from the owner its proven mobile belongs to.

    The stored name is kept (R12: never silently overwritten or dropped); staff of the dealer
    see both names on the member desk and either keep the stored name or take the DMS's.
    """

    __tablename__ = "name_mismatches"
    __table_args__ = (
        CheckConstraint(
            "resolution IS NULL OR resolution IN ('kept', 'renamed')", name="resolution_values"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    stored_name: Mapped[str] = mapped_column(String(64))
    dms_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(String(16))

    member: Mapped[Member] = relationship()
    vehicle: Mapped["Vehicle | None"] = relationship()


class Notification(db.Model):
    """A message in the member's in-app inbox; ``dedupe_key`` makes each one send once."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_member_read", "member_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class StaffNotice(db.Model):
    """A notice on a staff member's desk (an overdue complaint escalated to the dealer admin);
    ``dedupe_key`` makes each one once, however often the job that writes it runs."""

    __tablename__ = "staff_notices"
    __table_args__ = (Index("ix_staff_notices_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # Where the notice leads (a path of the staff pages), or "".
    link: Mapped[str] = mapped_column(String(200), default="")
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class OutboxMessage(db.Model):
    """A message to send on one channel (in-app, e-mail, SMS), once; retried with back-off."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # in_app, email, sms
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    marketing: Mapped[bool] = mapped_column(default=False)
    # One message per channel and reason: a rerun of a job never queues it twice.
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # sent, failed, skipped
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]


class RuleAnnouncement(db.Model):
    """A dated change HQ announced to members (earning rules, tiers, referral terms, member
    benefits; R2): the daily job puts it in every owner's inbox once, and if HQ withdraws it
    after that, says so once (``members/announcements.py``). ``version_id`` names the version
    row of its kind, which a withdrawal may delete: no foreign key."""

    __tablename__ = "rule_announcements"
    __table_args__ = (
        Index("ix_rule_announcements_version", "kind", "version_id"),
        Index("ix_rule_announcements_told", "told_at", "withdrawn_told_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    version_id: Mapped[int]
    effective_from: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    told_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_told_at: Mapped[datetime | None]
