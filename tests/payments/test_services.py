"""Paid events: checkout at (fake) Stripe, the webhook as a trigger, refunds once, expiry."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.events import services as events
from app.events.models import EventRegistration, RegistrationStatus
from app.extensions import db
from app.payments import services
from app.payments.models import Payment, PaymentStatus, StripeWebhookEvent
from tests.factories import make_member, make_staff
from tests.payments.conftest import PRICE_FEN, make_paid_event
from tests.payments.fake_stripe import sign, webhook


@pytest.fixture
def staff(ctx, dealers):
    return make_staff("event_staff", dealers["SZ01"])


def owner(dealers, name="Owner"):
    return make_member(dealers["SZ01"], name=name)


def held_place(staff, dealers, clock, *, name="Owner", **event_fields):
    """An owner whose place at a new paid event is held until paid."""
    event = make_paid_event(staff, clock, **event_fields)
    member = owner(dealers, name)
    registration = events.sign_up(member, event.id)
    assert registration.status == RegistrationStatus.PENDING
    return member, registration


def deliver(fake, session_id, kind="checkout.session.completed"):
    """Deliver a signed webhook about the session; the delivery, to send again."""
    payload, headers = webhook(fake.event(session_id, kind))
    outcome = services.handle_webhook(payload, headers["Stripe-Signature"])
    return outcome, (payload, headers["Stripe-Signature"])


def audit_count(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action))


# ---------------------------------------------------------------------------- checkout


def test_checkout_is_opened_at_stripe_in_cny_with_the_configured_methods(
    staff, dealers, clock, fake_stripe
):
    member, registration = held_place(staff, dealers, clock)
    payment = services.start_checkout(member, registration.id)

    sent = fake_stripe.calls("POST", "/v1/checkout/sessions")[0].params
    item = sent["line_items"][0]
    assert item["price_data"] == {
        "currency": "cny",
        "unit_amount": str(PRICE_FEN),
        "product_data": {"name": "Track day at Zhuhai circuit"},
    }
    assert sent["payment_method_types"] == ["card", "wechat_pay", "alipay"]
    assert sent["payment_method_options"] == {"wechat_pay": {"client": "web"}}
    ids = {"registration_id": str(registration.id), "payment_id": str(payment.id)}
    assert sent["metadata"] == ids
    assert sent["client_reference_id"] == str(registration.id)
    assert sent["success_url"].endswith("/payments/return?session_id={CHECKOUT_SESSION_ID}")
    assert sent["success_url"].startswith("http")
    # The hold is 30 minutes but Stripe wants at least 30 from now: a minute's margin.
    assert int(sent["expires_at"]) >= (clock.now() + timedelta(minutes=31)).timestamp()
    assert payment.status == PaymentStatus.PENDING and payment.amount_fen == PRICE_FEN
    assert payment.checkout_url == fake_stripe.last_session()["url"]


def test_opening_checkout_again_reuses_the_open_session(staff, dealers, clock, fake_stripe):
    member, registration = held_place(staff, dealers, clock)
    first = services.start_checkout(member, registration.id).checkout_session_id
    again = services.start_checkout(member, registration.id).checkout_session_id
    assert again == first
    assert len(fake_stripe.calls("POST", "/v1/checkout/sessions")) == 1


def test_only_the_methods_configured_are_offered(app, staff, dealers, clock, fake_stripe):
    app.config["STRIPE_PAYMENT_METHODS"] = "card, alipay"
    member, registration = held_place(staff, dealers, clock)
    services.start_checkout(member, registration.id)
    sent = fake_stripe.calls("POST", "/v1/checkout/sessions")[0].params
    assert sent["payment_method_types"] == ["card", "alipay"]
    assert "payment_method_options" not in sent


def test_another_owner_cannot_pay_for_a_place(staff, dealers, clock):
    _, registration = held_place(staff, dealers, clock)
    with pytest.raises(services.NotFound):
        services.start_checkout(owner(dealers, "Someone else"), registration.id)


def test_stripe_down_at_checkout_says_so_and_keeps_nothing_half_done(
    staff, dealers, clock, fake_stripe
):
    member, registration = held_place(staff, dealers, clock)
    fake_stripe.fail_next("POST", "/v1/checkout/sessions")
    with pytest.raises(services.PaymentServiceDown, match="did not answer"):
        services.start_checkout(member, registration.id)
    assert registration.status == RegistrationStatus.PENDING


# ----------------------------------------------------------------------------- webhook


def test_a_paid_webhook_confirms_the_place_from_stripe(staff, dealers, clock, fake_stripe):
    member, registration = held_place(staff, dealers, clock)
    payment = services.start_checkout(member, registration.id)
    fake_stripe.mark_paid(payment.checkout_session_id)

    outcome, _ = deliver(fake_stripe, payment.checkout_session_id)

    assert outcome == "paid"
    assert registration.status == RegistrationStatus.CONFIRMED
    assert payment.status == PaymentStatus.PAID and payment.paid_at == clock.now()
    assert payment.payment_intent_id.startswith("pi_")
    # Stripe was asked: the event itself is only a trigger.
    assert fake_stripe.calls("GET", f"/v1/checkout/sessions/{payment.checkout_session_id}")


def test_the_same_webhook_twice_has_one_effect(staff, dealers, clock, fake_stripe):
    member, registration = held_place(staff, dealers, clock)
    payment = services.start_checkout(member, registration.id)
    fake_stripe.mark_paid(payment.checkout_session_id)
    _, (payload, signature) = deliver(fake_stripe, payment.checkout_session_id)
    asked = len(fake_stripe.requests)

    assert services.handle_webhook(payload, signature) == "duplicate"

    assert len(fake_stripe.requests) == asked
    assert db.session.scalar(select(func.count(StripeWebhookEvent.id))) == 1
    assert audit_count("payment.paid") == 1
    assert registration.status == RegistrationStatus.CONFIRMED


def test_an_event_that_claims_payment_is_not_believed(staff, dealers, clock, fake_stripe):
    member, registration = held_place(staff, dealers, clock)
    payment = services.start_checkout(member, registration.id)
    event = fake_stripe.event(payment.checkout_session_id)
    event["data"]["object"].update(status="complete", payment_status="paid")  # Stripe says no

    payload, headers = webhook(event)
    assert services.handle_webhook(payload, headers["Stripe-Signature"]) == "pending"
    assert (
        registration.status == RegistrationStatus.PENDING
        and payment.status == PaymentStatus.PENDING
    )


@pytest.mark.parametrize(
    "tamper",
    [
        lambda payload, header: (payload, sign(payload, "whsec_someone_else")),
        lambda payload, header: (payload.replace(b"completed", b"expired"), header),
        lambda payload, header: (payload, ""),
        lambda payload, header: (payload, sign(payload, timestamp=1_000_000_000)),  # replayed
    ],
    ids=["wrong secret", "changed body", "no signature", "too old"],
)
def test_a_webhook_that_does_not_verify_is_refused_and_changes_nothing(
    staff, dealers, clock, fake_stripe, tamper
):
    member, registration = held_place(staff, dealers, clock)
    payment = services.start_checkout(member, registration.id)
    fake_stripe.mark_paid(payment.checkout_session_id)
    payload, headers = webhook(fake_stripe.event(payment.checkout_session_id))

    with pytest.raises(services.WebhookRefused):
        services.handle_webhook(*tamper(payload, headers["Stripe-Signature"]))

    assert db.session.scalar(select(func.count(StripeWebhookEvent.id))) == 0
    assert (
        registration.status == RegistrationStatus.PENDING
        and payment.status == PaymentStatus.PENDING
    )


def test_other_events_are_recorded_and_ignored(staff, dealers, clock, fake_stripe):
    payload = json.dumps({"id": "evt_other", "type": "customer.created", "data": {}}).encode()
    assert services.handle_webhook(payload, sign(payload)) == "ignored"
    assert services.handle_webhook(payload, sign(payload)) == "duplicate"


def test_stripe_down_while_handling_a_webhook_fails_so_stripe_delivers_again(
    staff, dealers, clock, fake_stripe
):
    member, registration = held_place(staff, dealers, clock)
    payment = services.start_checkout(member, registration.id)
    fake_stripe.mark_paid(payment.checkout_session_id)
    db.session.commit()
    fake_stripe.fail_next("GET", "/v1/checkout/sessions/.*")
    with pytest.raises(services.PaymentServiceDown):
        deliver(fake_stripe, payment.checkout_session_id)
    db.session.rollback()  # the request fails: nothing of it is kept

    outcome, _ = deliver(fake_stripe, payment.checkout_session_id)
    assert outcome == "paid" and registration.status == RegistrationStatus.CONFIRMED


# ----------------------------------------------------------------------------- refunds


def paid_place(staff, dealers, clock, fake, **kw):
    member, registration = held_place(staff, dealers, clock, **kw)
    payment = services.start_checkout(member, registration.id)
    fake.mark_paid(payment.checkout_session_id)
    services.sync_session(payment.checkout_session_id)
    assert registration.status == RegistrationStatus.CONFIRMED
    return member, registration, payment


def test_cancelling_a_paid_place_refunds_it_in_full_once(staff, dealers, clock, fake_stripe):
    member, registration, payment = paid_place(staff, dealers, clock, fake_stripe)

    events.cancel_registration(member, registration.id)
    refunded = services.refund_for_cancellation(registration)
    again = services.refund_for_cancellation(registration)

    assert refunded is payment and again is payment
    assert payment.status == PaymentStatus.REFUNDED and payment.refunded_fen == PRICE_FEN
    (refund,) = fake_stripe.refunds.values()
    assert refund["amount"] == PRICE_FEN and refund["payment_intent"] == payment.payment_intent_id
    assert payment.refund_id == refund["id"]
    assert len(fake_stripe.calls("POST", "/v1/refunds")) == 1
    assert audit_count("payment.refunded") == 1


def test_a_cancellation_retried_after_a_failed_request_refunds_once(
    staff, dealers, clock, fake_stripe
):
    member, registration, payment = paid_place(staff, dealers, clock, fake_stripe)
    db.session.commit()
    events.cancel_registration(member, registration.id)
    services.refund_for_cancellation(registration)
    db.session.rollback()  # Stripe refunded, then our request failed before its commit

    assert (
        registration.status == RegistrationStatus.CONFIRMED and payment.status == PaymentStatus.PAID
    )
    events.cancel_registration(member, registration.id)
    services.refund_for_cancellation(registration)

    assert len(fake_stripe.calls("POST", "/v1/refunds")) == 2
    (refund,) = fake_stripe.refunds.values()  # the same idempotency key: one refund
    assert payment.status == PaymentStatus.REFUNDED and payment.refund_id == refund["id"]


def test_stripe_down_at_refund_time_refuses_the_cancellation(staff, dealers, clock, fake_stripe):
    member, registration, payment = paid_place(staff, dealers, clock, fake_stripe)
    events.cancel_registration(member, registration.id)
    fake_stripe.fail_next("POST", "/v1/refunds")
    with pytest.raises(services.PaymentServiceDown, match="nothing was changed"):
        services.refund_for_cancellation(registration)
    assert payment.status == PaymentStatus.PAID and not fake_stripe.refunds


def test_cancelling_an_unpaid_place_closes_its_checkout(staff, dealers, clock, fake_stripe):
    member, registration = held_place(staff, dealers, clock)
    payment = services.start_checkout(member, registration.id)
    events.cancel_registration(member, registration.id)

    assert services.refund_for_cancellation(registration) is None

    assert payment.status == PaymentStatus.EXPIRED
    assert fake_stripe.sessions[payment.checkout_session_id]["status"] == "expired"
    assert not fake_stripe.calls("POST", "/v1/refunds")


def test_paid_at_the_last_moment_then_cancelled_is_refunded(staff, dealers, clock, fake_stripe):
    member, registration = held_place(staff, dealers, clock)
    payment = services.start_checkout(member, registration.id)
    fake_stripe.mark_paid(payment.checkout_session_id)  # no webhook yet
    events.cancel_registration(member, registration.id)

    assert services.refund_for_cancellation(registration) is payment
    assert payment.status == PaymentStatus.REFUNDED and len(fake_stripe.refunds) == 1


# -------------------------------------------------------------------------------- expiry


def test_an_unpaid_place_expires_and_is_offered_to_the_next_in_line(
    staff, dealers, clock, fake_stripe
):
    member, registration = held_place(staff, dealers, clock, capacity=1)
    payment = services.start_checkout(member, registration.id)
    waiting = events.sign_up(owner(dealers, "Next"), registration.event_id)
    assert waiting.status == RegistrationStatus.WAITING

    clock.advance(minutes=29)
    assert services.expire_unpaid() == 0
    clock.advance(minutes=2)
    assert services.expire_unpaid() == 1

    assert registration.status == RegistrationStatus.EXPIRED
    assert payment.status == PaymentStatus.EXPIRED
    assert fake_stripe.sessions[payment.checkout_session_id]["status"] == "expired"
    assert waiting.status == RegistrationStatus.OFFERED
    assert services.expire_unpaid() == 0


def test_a_place_paid_just_before_the_job_runs_is_confirmed_not_expired(
    staff, dealers, clock, fake_stripe
):
    member, registration = held_place(staff, dealers, clock)
    payment = services.start_checkout(member, registration.id)
    fake_stripe.mark_paid(payment.checkout_session_id)  # the webhook is still on its way
    clock.advance(minutes=31)

    assert services.expire_unpaid() == 0

    assert (
        registration.status == RegistrationStatus.CONFIRMED and payment.status == PaymentStatus.PAID
    )
    assert not fake_stripe.calls("POST", r"/v1/checkout/sessions/\w+/expire")


def test_an_unpaid_place_without_checkout_expires_too(staff, dealers, clock):
    _, registration = held_place(staff, dealers, clock)
    clock.advance(minutes=31)
    assert services.expire_unpaid() == 1
    assert registration.status == RegistrationStatus.EXPIRED


def test_paid_after_the_hold_ran_out_and_the_place_went_is_refunded(
    staff, dealers, clock, fake_stripe
):
    member, registration = held_place(staff, dealers, clock, capacity=1)
    payment = services.start_checkout(member, registration.id)
    next_owner = owner(dealers, "Next")
    waiting = events.sign_up(next_owner, registration.event_id)
    clock.advance(minutes=31)
    # Stripe cannot be reached to close the checkout: the place goes on anyway...
    fake_stripe.fail_next("POST", r"/v1/checkout/sessions/\w+/expire")
    assert services.expire_unpaid() == 1
    events.confirm_offer(next_owner, waiting.id)
    # ...and the owner pays on the still-open page a minute later.
    clock.advance(minutes=1)
    fake_stripe.mark_paid(payment.checkout_session_id)

    outcome, _ = deliver(fake_stripe, payment.checkout_session_id)

    assert outcome == "refunded"
    assert (
        registration.status == RegistrationStatus.EXPIRED
        and waiting.status == RegistrationStatus.PENDING
    )
    (refund,) = fake_stripe.refunds.values()
    assert refund["amount"] == PRICE_FEN
    assert payment.status == PaymentStatus.REFUNDED and payment.refund_id == refund["id"]


def test_paid_after_the_hold_ran_out_with_a_place_still_free_is_confirmed(
    staff, dealers, clock, fake_stripe
):
    member, registration = held_place(staff, dealers, clock, capacity=3)
    payment = services.start_checkout(member, registration.id)
    clock.advance(minutes=31)
    fake_stripe.fail_next("POST", r"/v1/checkout/sessions/\w+/expire")
    services.expire_unpaid()
    fake_stripe.mark_paid(payment.checkout_session_id)

    assert deliver(fake_stripe, payment.checkout_session_id)[0] == "paid"
    assert registration.status == RegistrationStatus.CONFIRMED and not fake_stripe.refunds


# ------------------------------------------------------------------------ not configured


def test_without_stripe_keys_a_paid_event_says_online_payment_is_not_configured(
    app, staff, dealers, clock
):
    app.config.update(STRIPE_SECRET_KEY=None, DEMO_CHECKOUT=False)
    event = make_paid_event(staff, clock)
    with pytest.raises(events.SignUpRefused, match="Online payment is not configured"):
        events.sign_up(owner(dealers), event.id)
    assert events.places_taken(event) == 0


def test_a_held_place_cannot_be_paid_once_the_keys_are_gone(app, staff, dealers, clock):
    member, registration = held_place(staff, dealers, clock)
    app.config.update(STRIPE_SECRET_KEY=None, DEMO_CHECKOUT=False)
    with pytest.raises(services.PaymentsNotConfigured, match="not configured"):
        services.start_checkout(member, registration.id)


def test_the_demo_checkout_marks_paid_without_stripe(app, staff, dealers, clock, fake_stripe):
    app.config.update(STRIPE_SECRET_KEY=None, DEMO_CHECKOUT=True)
    member, registration = held_place(staff, dealers, clock)
    payment = services.start_checkout(member, registration.id)
    assert payment.provider == "demo" and payment.checkout_url is None

    services.complete_demo_payment(member, payment.id)

    assert (
        payment.status == PaymentStatus.PAID and registration.status == RegistrationStatus.CONFIRMED
    )
    assert not fake_stripe.requests
    events.cancel_registration(member, registration.id)
    assert services.refund_for_cancellation(registration).status == PaymentStatus.REFUNDED


def test_the_demo_checkout_is_closed_when_stripe_is_configured(staff, dealers, clock):
    member, registration = held_place(staff, dealers, clock)
    payment = services.start_checkout(member, registration.id)
    with pytest.raises(services.NotFound):
        services.complete_demo_payment(member, payment.id)
    assert db.session.get(EventRegistration, registration.id).status == RegistrationStatus.PENDING
    assert db.session.get(Payment, payment.id).status == PaymentStatus.PENDING
