"""A payment for a paid event's place, and the Stripe webhook events already handled."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import string_enum
from app.core.states import StateMachine
from app.events.models import EventRegistration
from app.extensions import db


class PaymentStatus(StrEnum):
    """Where a payment stands; Stripe's state is the truth, fetched on every trigger."""

    PENDING = "pending"  # checkout opened, not paid yet
    PAID = "paid"
    EXPIRED = "expired"  # not paid in time: the place was freed
    REFUNDED = "refunded"


# EXPIRED → PAID: Stripe took the money after the hold ran out (the place is confirmed if still
# free, else refunded); EXPIRED → PENDING: a new checkout while still held.
PAYMENT = StateMachine(
    PaymentStatus,
    {
        PaymentStatus.PENDING: {PaymentStatus.PAID, PaymentStatus.EXPIRED},
        PaymentStatus.EXPIRED: {PaymentStatus.PENDING, PaymentStatus.PAID},
        PaymentStatus.PAID: {PaymentStatus.REFUNDED},
        PaymentStatus.REFUNDED: set(),
    },
    name="payment",
)


class Payment(db.Model):
    """One Stripe Checkout session for one registration, in fen (CNY)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refund_range"),
        UniqueConstraint("registration_id", name="uq_payments_registration"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("event_registrations.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"), index=True)
    amount_fen: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="cny")
    status: Mapped[PaymentStatus] = mapped_column(
        string_enum(PaymentStatus),
        index=True,
    )
    # "demo" when the labelled demo checkout was used (no Stripe keys, development only).
    provider: Mapped[str] = mapped_column(String(16), default="stripe")
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(String(1000))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    refunded_fen: Mapped[int] = mapped_column(default=0)
    refunded_at: Mapped[datetime | None]

    registration: Mapped[EventRegistration] = relationship()


class StripeWebhookEvent(db.Model):
    """A webhook event handled once: the same event delivered twice changes nothing."""

    __tablename__ = "stripe_webhook_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime]
