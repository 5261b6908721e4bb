"""Paid events (R7): Stripe Checkout in CNY, the webhook as a trigger, refunds, expiry.

Stripe's state is the truth: a webhook or the owner's return only tells us to look, and every
look retrieves the Checkout Session from Stripe. Locks are taken event row first, then the
payment row, the same order the events services use, so two paths never wait on each other.
"""

import logging
from datetime import datetime, timedelta

import stripe
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import Conflict, DomainError, NotFound
from app.events import services as events
from app.events.models import Event, EventRegistration, RegistrationStatus
from app.extensions import db
from app.members.models import Member
from app.payments.models import PAYMENT, Payment, PaymentStatus, StripeWebhookEvent

log = logging.getLogger(__name__)


CURRENCY = "cny"
# Stripe takes a Checkout Session's expires_at from 30 minutes to 24 hours ahead; the margins
# leave room for the clocks of both sides.
SESSION_MIN_LIFETIME = timedelta(minutes=31)
SESSION_MAX_LIFETIME = timedelta(hours=23)
STRIPE_TIMEOUT_SECONDS = 20

# Allowed moves: the table beside the model (``app.payments.models.PAYMENT``).


class PaymentsNotConfigured(DomainError):
    """No Stripe keys (and no demo checkout): paid events cannot take payment online."""


class PaymentServiceDown(DomainError):
    """Stripe did not answer or refused the request; nothing was changed here."""


class WebhookRefused(DomainError):
    """A webhook delivery that is not from Stripe (bad signature) or cannot be read."""


def _not_configured() -> PaymentsNotConfigured:
    return PaymentsNotConfigured(_l("Online payment is not configured for this event yet."))


def _service_down() -> PaymentServiceDown:
    return PaymentServiceDown(
        _l("The payment service did not answer, so nothing was changed. Try again in a minute.")
    )


# --------------------------------------------------------------------------- settings


def demo_checkout_enabled() -> bool:
    """The labelled demo checkout (development only, and only without Stripe keys)."""
    config = current_app.config
    return bool(config.get("DEMO_CHECKOUT")) and not config.get("STRIPE_SECRET_KEY")


def payment_methods() -> list[str]:
    """Payment method types offered at checkout (STRIPE_PAYMENT_METHODS, comma-separated)."""
    raw = current_app.config.get("STRIPE_PAYMENT_METHODS") or "card"
    return [m.strip() for m in raw.split(",") if m.strip()]


def stripe_client() -> stripe.StripeClient:
    """A Stripe client from the configuration (one per key and API address, reused)."""
    config = current_app.config
    key = config.get("STRIPE_SECRET_KEY")
    if not key:
        raise _not_configured()
    base = config.get("STRIPE_API_BASE")
    retries = config.get("STRIPE_MAX_NETWORK_RETRIES", 2)
    clients = current_app.extensions.setdefault("stripe_clients", {})
    client = clients.get((key, base, retries))
    if client is None:
        # Retried POSTs carry an idempotency key the library adds, so a retry never charges
        # or refunds twice.
        client = stripe.StripeClient(
            key,
            base_addresses={"api": base} if base else None,
            max_network_retries=retries,
            http_client=stripe.new_default_http_client(timeout=STRIPE_TIMEOUT_SECONDS),
        )
        clients[(key, base, retries)] = client
    return client


# ---------------------------------------------------------------------------- lookups


def payment_for(registration: EventRegistration) -> Payment | None:
    """The payment of a registration, if checkout was ever opened for it."""
    return db.session.scalar(select(Payment).where(Payment.registration_id == registration.id))


def get_own_payment(
    member: Member, *, session_id: str | None = None, payment_id: int | None = None
) -> Payment:
    """The owner's payment by Checkout Session id or by id; NotFound for anyone else's."""
    if session_id:
        payment = db.session.scalar(
            select(Payment).where(Payment.checkout_session_id == session_id)
        )
    elif payment_id:
        payment = db.session.get(Payment, payment_id)
    else:
        payment = None
    if payment is None or payment.member_id != member.id:
        raise NotFound(_l("No such payment."))
    return payment


def get_own_registration(member: Member, registration_id: int) -> EventRegistration:
    """The owner's registration; NotFound for anyone else's."""
    registration = db.session.get(EventRegistration, registration_id)
    if registration is None or registration.member_id != member.id:
        raise NotFound(_l("No such registration."))
    return registration


def checkout_outcome(payment: Payment, *, now: datetime | None = None) -> str:
    """What the owner sees after checkout: "paid", "refunded", "pending" or "expired"."""
    now = now or utcnow()
    if payment.status == PaymentStatus.PAID:
        return "paid"
    if payment.status == PaymentStatus.REFUNDED:
        return "refunded"
    registration = payment.registration
    if registration.status == RegistrationStatus.PENDING and registration.payment_due_at > now:
        return "pending"
    return "expired"


def can_pay(registration: EventRegistration, *, now: datetime | None = None) -> bool:
    """The place is held and unpaid, and its hold has not run out."""
    now = now or utcnow()
    return registration.status == RegistrationStatus.PENDING and registration.payment_due_at > now


def _lock_event(event_id: int) -> None:
    db.session.execute(select(Event.id).where(Event.id == event_id).with_for_update())


def _lock_payment(registration_id: int) -> Payment | None:
    return db.session.execute(
        select(Payment)
        .where(Payment.registration_id == registration_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _move(payment: Payment, status: PaymentStatus) -> None:
    PAYMENT.move(payment, status, message=_l("This payment cannot change that way."))


def _owner(payment: Payment):
    return db.session.get(Member, payment.member_id).user


# --------------------------------------------------------------------------- checkout


def start_checkout(member: Member, registration_id: int, *, now: datetime | None = None) -> Payment:
    """Open (or reuse) the Stripe Checkout session that pays for the owner's held place."""
    now = now or utcnow()
    registration = get_own_registration(member, registration_id)
    _lock_event(registration.event_id)
    db.session.refresh(registration)
    payment = _lock_payment(registration.id)
    if payment is not None and payment.status == PaymentStatus.PAID:
        raise Conflict(_l("This place is already paid."))
    if registration.status != RegistrationStatus.PENDING:
        raise Conflict(_l("This place is not waiting for a payment."))
    if registration.payment_due_at <= now:
        raise Conflict(_l("The time to pay for this place ran out."))
    if not events.payments_enabled():
        raise _not_configured()
    event = registration.event
    if payment is None:
        payment = Payment(
            registration_id=registration.id,
            member_id=member.id,
            dealer_id=event.dealer_id,
            amount_fen=event.price_fen,
            currency=CURRENCY,
            status=PaymentStatus.PENDING,
            created_at=now,
            expires_at=registration.payment_due_at,
        )
        db.session.add(payment)
        db.session.flush()
    if demo_checkout_enabled():
        payment.provider = "demo"
        if payment.status == PaymentStatus.EXPIRED:
            _move(payment, PaymentStatus.PENDING)
        payment.expires_at = registration.payment_due_at
        db.session.flush()
        return payment

    if payment.status == PaymentStatus.PENDING and payment.checkout_session_id:
        session = _retrieve(payment.checkout_session_id)
        if session.get("status") == "open":
            return payment
        if _is_paid(session):
            _record_paid(payment, session, now)
            return payment
    _open_session(payment, registration, now)
    return payment


def _open_session(payment: Payment, registration: EventRegistration, now: datetime) -> None:
    event = registration.event
    expires = min(
        max(registration.payment_due_at, now + SESSION_MIN_LIFETIME), now + SESSION_MAX_LIFETIME
    )
    methods = payment_methods()
    params = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": CURRENCY,
                    "unit_amount": event.price_fen,
                    "product_data": {"name": event.title},
                },
            }
        ],
        "payment_method_types": methods,
        "success_url": url_for("payments.checkout_return", _external=True)
        # Stripe fills in the placeholder; url_for would escape its braces.
        + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": url_for(
            "payments.checkout_cancelled", registration_id=registration.id, _external=True
        ),
        "expires_at": int(expires.timestamp()),
        "client_reference_id": str(registration.id),
        "metadata": {"registration_id": str(registration.id), "payment_id": str(payment.id)},
        "payment_intent_data": {
            "metadata": {"registration_id": str(registration.id), "payment_id": str(payment.id)}
        },
    }
    if "wechat_pay" in methods:
        # WeChat Pay in Checkout needs the client kind: a QR code for the browser.
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    try:
        session = stripe_client().v1.checkout.sessions.create(params=params)
    except stripe.StripeError as err:
        log.warning("Stripe refused a checkout session for payment %s: %s", payment.id, err)
        raise _service_down() from err
    if payment.status == PaymentStatus.EXPIRED:
        _move(payment, PaymentStatus.PENDING)
    payment.provider = "stripe"
    payment.amount_fen = event.price_fen
    payment.checkout_session_id = session.id
    payment.checkout_url = session.url
    payment.expires_at = expires
    db.session.flush()


def _retrieve(session_id: str):
    try:
        return stripe_client().v1.checkout.sessions.retrieve(session_id)
    except stripe.StripeError as err:
        log.warning("Stripe did not return checkout session %s: %s", session_id, err)
        raise _service_down() from err


def _retrieve_or_nothing(session_id: str):
    try:
        return stripe_client().v1.checkout.sessions.retrieve(session_id)
    except stripe.StripeError as err:
        log.warning("Stripe did not return checkout session %s: %s", session_id, err)
        return {}


def _is_paid(session) -> bool:
    return session.get("status") == "complete" and session.get("payment_status") == "paid"


def _record_paid(payment: Payment, session, now: datetime) -> None:
    """Stripe says paid: record it, confirm the place, refund at once if the place is gone."""
    if session.get("amount_total") != payment.amount_fen or session.get("currency") != CURRENCY:
        # Never confirm a place for a different sum; staff see the entry and sort it out.
        log.error("Checkout session %s paid a different amount", session.get("id"))
        record_audit(
            None,
            "payment.amount_mismatch",
            subject=payment,
            dealer_id=payment.dealer_id,
            details={
                "session": session.get("id"),
                "amount_total": session.get("amount_total"),
                "currency": session.get("currency"),
            },
            now=now,
            durable=True,
        )
        return
    _move(payment, PaymentStatus.PAID)
    payment.paid_at = now
    payment.payment_intent_id = session.get("payment_intent")
    db.session.flush()
    record_audit(
        _owner(payment),
        "payment.paid",
        subject=payment,
        dealer_id=payment.dealer_id,
        details={"amount_fen": payment.amount_fen, "session": session.get("id")},
        now=now,
    )
    if not events.confirm_paid(payment.registration_id, now=now):
        _refund(payment, now, why="place_gone")


def sync_session(session_id: str, *, now: datetime | None = None) -> Payment | None:
    """Look the Checkout Session up at Stripe and bring its payment (and place) up to date."""
    now = now or utcnow()
    found = db.session.scalar(select(Payment).where(Payment.checkout_session_id == session_id))
    if found is None:
        return None
    _lock_event(found.registration.event_id)
    payment = _lock_payment(found.registration_id)
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.EXPIRED):
        return payment  # settled already: the same news twice changes nothing
    session = _retrieve(session_id)
    if _is_paid(session):
        _record_paid(payment, session, now)
    elif session.get("status") == "expired" and payment.status == PaymentStatus.PENDING:
        _move(payment, PaymentStatus.EXPIRED)
        db.session.flush()
    return payment


# ---------------------------------------------------------------------------- webhook


def handle_webhook(payload: bytes, signature_header: str, *, now: datetime | None = None) -> str:
    """Verify a Stripe webhook, handle its event once, and say what was done."""
    now = now or utcnow()
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise WebhookRefused(_l("Stripe webhooks are not configured."))
    try:
        event = stripe.Webhook.construct_event(payload, signature_header or "", secret)
    except (stripe.SignatureVerificationError, ValueError) as err:
        log.warning("Refused a webhook delivery: %s", err)
        raise WebhookRefused(_l("The webhook signature does not verify.")) from err
    if db.session.get(StripeWebhookEvent, event.id) is not None:
        return "duplicate"
    db.session.add(StripeWebhookEvent(id=event.id, type=event.type, received_at=now))
    try:
        db.session.flush()
    except IntegrityError:
        # The same event delivered twice at once: the other delivery handles it.
        db.session.rollback()
        return "duplicate"
    if not event.type.startswith("checkout.session."):
        return "ignored"
    # The event is only a trigger: the session is read again from Stripe.
    payment = sync_session(event["data"]["object"]["id"], now=now)
    return "unknown_session" if payment is None else payment.status.value


# ---------------------------------------------------------------------------- refunds


def _refund(payment: Payment, now: datetime, *, why: str) -> None:
    """Give the whole amount back, once: the Stripe idempotency key and the row lock see to it."""
    refund_id = None
    if payment.provider == "stripe":
        try:
            refund = stripe_client().v1.refunds.create(
                params={
                    "payment_intent": payment.payment_intent_id,
                    "amount": payment.amount_fen,
                    "reason": "requested_by_customer",
                    "metadata": {
                        "payment_id": str(payment.id),
                        "registration_id": str(payment.registration_id),
                    },
                },
                options={"idempotency_key": f"refund-payment-{payment.id}"},
            )
            refund_id = refund.id
        except stripe.InvalidRequestError as err:
            if err.code != "charge_already_refunded":
                log.warning("Stripe refused the refund of payment %s: %s", payment.id, err)
                raise _service_down() from err
            # Refunded at Stripe already (a key older than Stripe keeps them): record it.
            log.warning("Payment %s was refunded at Stripe already", payment.id)
        except stripe.StripeError as err:
            log.warning("Stripe did not refund payment %s: %s", payment.id, err)
            raise _service_down() from err
    _move(payment, PaymentStatus.REFUNDED)
    payment.refund_id = refund_id
    payment.refunded_fen = payment.amount_fen
    payment.refunded_at = now
    db.session.flush()
    record_audit(
        _owner(payment),
        "payment.refunded",
        subject=payment,
        dealer_id=payment.dealer_id,
        details={"amount_fen": payment.amount_fen, "refund": refund_id, "why": why},
        now=now,
    )


def refund_for_cancellation(
    registration: EventRegistration, *, now: datetime | None = None
) -> Payment | None:
    """After a cancellation: refund a paid place in full (once); close an unpaid checkout.

    Returns the refunded payment, or None when nothing had been paid.
    """
    now = now or utcnow()
    if registration.status != RegistrationStatus.CANCELLED:
        raise Conflict(_l("Only a cancelled registration is refunded."))
    _lock_event(registration.event_id)
    payment = _lock_payment(registration.id)
    if payment is None or payment.status == PaymentStatus.EXPIRED:
        return None
    if payment.status == PaymentStatus.PENDING:
        _close_checkout(payment, now)
    if payment.status == PaymentStatus.PAID:
        _refund(payment, now, why="cancelled")
    return payment if payment.status == PaymentStatus.REFUNDED else None


def refund_cancelled_places(member: Member, *, now: datetime | None = None) -> int:
    """The owner's account is being deleted and its places were cancelled: each still paid is
    refunded in full, each checkout still open is closed. Returns how many were refunded."""
    now = now or utcnow()
    registrations = db.session.scalars(
        select(EventRegistration)
        .join(Payment, Payment.registration_id == EventRegistration.id)
        .where(
            EventRegistration.member_id == member.id,
            EventRegistration.status == RegistrationStatus.CANCELLED,
            Payment.status.in_([PaymentStatus.PAID, PaymentStatus.PENDING]),
        )
        .order_by(EventRegistration.id)
    ).all()
    return sum(refund_for_cancellation(r, now=now) is not None for r in registrations)


def _close_checkout(payment: Payment, now: datetime) -> None:
    """An unpaid checkout whose place is going: unless Stripe says it was paid after all (then
    the payment is recorded and, the place being gone, refunded), expire it at Stripe."""
    if payment.provider == "stripe" and payment.checkout_session_id:
        try:
            session = stripe_client().v1.checkout.sessions.retrieve(payment.checkout_session_id)
            if session.get("status") == "open":
                session = stripe_client().v1.checkout.sessions.expire(payment.checkout_session_id)
        except stripe.InvalidRequestError:
            # Not open any more: completed between the two calls, or expired by Stripe.
            session = _retrieve_or_nothing(payment.checkout_session_id)
        except stripe.StripeError as err:
            # The place is released anyway; should the owner still pay, the payment is
            # confirmed if a place is free, otherwise refunded (sync_session).
            log.warning("Could not close checkout %s: %s", payment.checkout_session_id, err)
            session = {}
        if _is_paid(session):
            _record_paid(payment, session, now)
            return
    _move(payment, PaymentStatus.EXPIRED)
    db.session.flush()


# ---------------------------------------------------------------------------- the job


def expire_unpaid(*, now: datetime | None = None) -> int:
    """The job: unpaid places past their hold expire and go to the next in line.

    Stripe is asked first whether the place was paid meanwhile (then it is confirmed).
    Returns how many places were freed.
    """
    now = now or utcnow()
    freed = 0
    for registration_id in events.unpaid_due(now=now):
        registration = db.session.get(EventRegistration, registration_id)
        _lock_event(registration.event_id)
        payment = _lock_payment(registration_id)
        if payment is not None and payment.status == PaymentStatus.PENDING:
            _close_checkout(payment, now)
            if payment.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
                continue
        if events.release_unpaid(registration_id, now=now):
            freed += 1
    return freed


# ------------------------------------------------------------------------------- demo


def complete_demo_payment(
    member: Member, payment_id: int, *, now: datetime | None = None
) -> Payment:
    """The labelled demo checkout (development without Stripe keys): mark the place paid."""
    now = now or utcnow()
    if not demo_checkout_enabled():
        raise NotFound(_l("No such payment."))
    found = get_own_payment(member, payment_id=payment_id)
    if found.provider != "demo":
        raise NotFound(_l("No such payment."))
    _lock_event(found.registration.event_id)
    payment = _lock_payment(found.registration_id)
    if payment.status == PaymentStatus.PAID:
        return payment
    if payment.status != PaymentStatus.PENDING:
        raise Conflict(_l("This checkout is closed."))
    _move(payment, PaymentStatus.PAID)
    payment.paid_at = now
    db.session.flush()
    record_audit(
        member.user,
        "payment.paid",
        subject=payment,
        dealer_id=payment.dealer_id,
        details={"amount_fen": payment.amount_fen, "demo": True},
        now=now,
    )
    if not events.confirm_paid(payment.registration_id, now=now):
        _refund(payment, now, why="place_gone")
    return payment
