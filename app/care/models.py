"""In-app messages to members."""

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


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


class CareReminder(db.Model):
    """A care moment found by the daily job (R8): created once per member/car, kind and date."""

    __tablename__ = "care_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    kind: Mapped[str] = mapped_column(String(32))
    due_on: Mapped[date] = mapped_column(index=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]


class CareTask(db.Model):
    """An owner for a care agent to call (first maintenance, lost customers...)."""

    __tablename__ = "care_tasks"
    __table_args__ = (Index("ix_care_tasks_dealer_status_due", "dealer_id", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("care_reminders.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(12), default="open")  # reached, sms_sent, closed
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class CareCall(db.Model):
    """One call of a care task: reached or not, when, by whom."""

    __tablename__ = "care_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("care_tasks.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    called_at: Mapped[datetime]
    reached: Mapped[bool]
    note: Mapped[str] = mapped_column(String(500), default="")
