"""The owner's payment pages, the Stripe webhook endpoint and the demo checkout."""

import http.client
import re
from html import unescape
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.events import services as events
from app.events.models import EventRegistration, RegistrationStatus
from app.extensions import db
from app.members.models import Member
from app.payments.models import Payment, PaymentStatus, StripeWebhookEvent
from tests.conftest import login
from tests.factories import make_member, make_staff
from tests.payments.conftest import make_paid_event
from tests.payments.fake_stripe import sign, webhook

PAID_TEXT = "Payment received — your ticket is ready"


def text(response) -> str:
    """The visible text of the page's main part, tags removed and whitespace squeezed."""
    html = response.get_data(as_text=True)
    html = re.search(r"<main\b.*?</main>", html, flags=re.S)[0]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


@pytest.fixture
def paid_event(seeded, dealers, clock):
    """A paid event of SZ01 with one seat (id)."""
    with seeded():
        staff = make_staff("event_staff", dealers["SZ01"])
        return make_paid_event(staff, clock, capacity=1).id


def hold_place(app, member_id: int, event_id: int) -> int:
    """Sign the member up: their place is held until paid (the registration id)."""
    with app.app_context(), app.test_request_context():
        registration = events.sign_up(db.session.get(Member, member_id), event_id)
        db.session.commit()
        return registration.id


@pytest.fixture
def held(app, member, paid_event) -> int:
    """Zhang Wei's held place at the paid event (registration id)."""
    return hold_place(app, member["id"], paid_event)


def registration_status(app, registration_id: int) -> RegistrationStatus:
    with app.app_context():
        return db.session.get(EventRegistration, registration_id).status


def payment_of(app, registration_id: int) -> Payment:
    with app.app_context():
        payment = db.session.scalar(
            select(Payment).where(Payment.registration_id == registration_id)
        )
        db.session.expunge(payment)
        return payment


def start_paying(client, registration_id: int):
    response = client.post(f"/me/registrations/{registration_id}/pay")
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def deliver(client, fake, session_id: str):
    payload, headers = webhook(fake.event(session_id))
    return client.post("/payments/stripe/webhook", data=payload, headers=headers)


# ---------------------------------------------------------------------------- checkout


def test_pay_sends_the_owner_to_stripe_checkout(member_client, held, fake_stripe):
    response = start_paying(member_client, held)
    session = fake_stripe.last_session()
    assert response.headers["Location"] == session["url"]
    assert session["amount_total"] == 12800 and session["currency"] == "cny"
    # The browser may follow a form's redirect to the checkout's origin.
    page = member_client.get(f"/me/tickets/{held}")
    assert f"form-action 'self' {fake_stripe.base_url};" in page.headers["Content-Security-Policy"]


def test_the_owner_pays_on_the_checkout_page_and_comes_back_to_a_ticket(
    member_client, held, fake_stripe
):
    checkout = urlsplit(start_paying(member_client, held).headers["Location"])
    # The browser on Stripe's page presses Pay; Stripe sends it back to success_url.
    conn = http.client.HTTPConnection(checkout.hostname, checkout.port, timeout=5)
    conn.request("POST", checkout.path, body="", headers={"Content-Length": "0"})
    back = conn.getresponse()
    conn.close()
    assert back.status == 303
    success = urlsplit(back.headers["Location"])

    page = member_client.get(f"{success.path}?{success.query}")

    assert page.status_code == 200
    assert PAID_TEXT in text(page)
    assert f'href="/me/tickets/{held}"' in page.get_data(as_text=True)


def test_the_return_page_shows_the_same_before_and_after_the_webhook(
    app, client, member_client, member, dealers, clock, seeded, fake_stripe
):
    with seeded():
        staff = make_staff("event_staff", dealers["SZ01"])
        event_id = make_paid_event(staff, clock, capacity=2).id
        other = make_member(dealers["SZ01"], name="Zhang Wei")  # the same name in the footer
        other_id, other_mobile = other.id, other.user.mobile
    other_client = app.test_client()
    login(other_client, other_mobile)
    pages = []
    for owner_client, member_id, webhook_first in (
        (member_client, member["id"], False),
        (other_client, other_id, True),
    ):
        registration_id = hold_place(app, member_id, event_id)
        start_paying(owner_client, registration_id)
        session_id = fake_stripe.last_session()["id"]
        fake_stripe.mark_paid(session_id)
        if webhook_first:
            assert deliver(client, fake_stripe, session_id).status_code == 200
        page = owner_client.get(f"/payments/return?session_id={session_id}")
        assert registration_status(app, registration_id) == RegistrationStatus.CONFIRMED
        if not webhook_first:
            assert deliver(client, fake_stripe, session_id).status_code == 200
            assert text(owner_client.get(f"/payments/return?session_id={session_id}")) == text(page)
        pages.append(text(page).replace(f"/me/tickets/{registration_id}", "TICKET"))
    assert PAID_TEXT in pages[0]
    assert pages[0] == pages[1]


def test_the_address_alone_confirms_nothing(app, member_client, held, fake_stripe):
    start_paying(member_client, held)
    session_id = fake_stripe.last_session()["id"]  # not paid at Stripe

    page = member_client.get(f"/payments/return?session_id={session_id}")

    assert "Payment not finished yet" in text(page)
    assert PAID_TEXT not in text(page)
    assert registration_status(app, held) == RegistrationStatus.PENDING
    assert f'action="/me/registrations/{held}/pay"' in page.get_data(as_text=True)


def test_the_return_page_when_stripe_cannot_be_reached(app, member_client, held, fake_stripe):
    start_paying(member_client, held)
    session_id = fake_stripe.last_session()["id"]
    fake_stripe.mark_paid(session_id)
    fake_stripe.fail_next("GET", "/v1/checkout/sessions/.*")

    page = member_client.get(f"/payments/return?session_id={session_id}")

    assert page.status_code == 200
    assert "could not reach the payment service" in text(page)
    assert PAID_TEXT in text(member_client.get(f"/payments/return?session_id={session_id}"))


def test_only_the_owner_sees_their_payment(
    app, member_client, held, fake_stripe, dealers, seeded, staff_client
):
    start_paying(member_client, held)
    session_id = fake_stripe.last_session()["id"]
    with seeded():
        stranger = make_member(dealers["SZ01"], name="Stranger").user.mobile
    stranger_client = app.test_client()
    login(stranger_client, stranger)

    assert stranger_client.get(f"/payments/return?session_id={session_id}").status_code == 404
    assert stranger_client.get("/payments/return?session_id=cs_made_up").status_code == 404
    assert stranger_client.get(f"/payments/cancelled?registration_id={held}").status_code == 404
    assert stranger_client.post(f"/me/registrations/{held}/pay").status_code == 404
    assert staff_client.get(f"/payments/return?session_id={session_id}").status_code == 403
    assert app.test_client().post(f"/me/registrations/{held}/pay").status_code == 302  # login


def test_leaving_checkout_keeps_the_place_held(member_client, held, fake_stripe):
    start_paying(member_client, held)
    cancel_url = urlsplit(fake_stripe.last_session()["cancel_url"])

    page = member_client.get(f"{cancel_url.path}?{cancel_url.query}")

    assert "You left the payment page without paying" in text(page)
    assert "is held until" in text(page)
    assert f'action="/me/registrations/{held}/pay"' in page.get_data(as_text=True)


def test_paying_twice_reuses_the_checkout_and_a_paid_place_is_not_charged_again(
    member_client, held, fake_stripe
):
    first = start_paying(member_client, held).headers["Location"]
    assert start_paying(member_client, held).headers["Location"] == first
    fake_stripe.mark_paid(fake_stripe.last_session()["id"])
    # Paid in the other tab: Stripe says so when the open checkout is looked up.
    again = start_paying(member_client, held)
    assert "/payments/return" in again.headers["Location"]
    assert PAID_TEXT in text(member_client.get(again.headers["Location"]))
    third = member_client.post(f"/me/registrations/{held}/pay", follow_redirects=True)
    assert "already paid" in text(third)
    assert len(fake_stripe.calls("POST", "/v1/checkout/sessions")) == 1


# ----------------------------------------------------------------------------- webhook


def test_the_webhook_confirms_once_and_refuses_a_bad_signature(
    app, client, held, member_client, fake_stripe
):
    start_paying(member_client, held)
    session_id = fake_stripe.last_session()["id"]
    fake_stripe.mark_paid(session_id)
    payload, headers = webhook(fake_stripe.event(session_id))

    forged = {**headers, "Stripe-Signature": sign(payload, "whsec_not_ours")}
    refused = client.post("/payments/stripe/webhook", data=payload, headers=forged)
    assert refused.status_code == 400
    assert registration_status(app, held) == RegistrationStatus.PENDING
    with app.app_context():
        assert db.session.scalar(select(func.count(StripeWebhookEvent.id))) == 0

    for _ in range(2):  # Stripe delivers an event more than once
        response = client.post("/payments/stripe/webhook", data=payload, headers=headers)
        assert response.status_code == 200
    assert registration_status(app, held) == RegistrationStatus.CONFIRMED
    assert payment_of(app, held).status == PaymentStatus.PAID
    with app.app_context():
        assert db.session.scalar(select(func.count(StripeWebhookEvent.id))) == 1
    assert len(fake_stripe.calls("GET", f"/v1/checkout/sessions/{session_id}")) == 1


def test_the_webhook_asks_stripe_to_deliver_again_when_stripe_cannot_be_reached(
    app, client, held, member_client, fake_stripe
):
    start_paying(member_client, held)
    session_id = fake_stripe.last_session()["id"]
    fake_stripe.mark_paid(session_id)
    fake_stripe.fail_next("GET", "/v1/checkout/sessions/.*")
    payload, headers = webhook(fake_stripe.event(session_id))

    assert client.post("/payments/stripe/webhook", data=payload, headers=headers).status_code == 503
    assert client.post("/payments/stripe/webhook", data=payload, headers=headers).status_code == 200
    assert registration_status(app, held) == RegistrationStatus.CONFIRMED


# ----------------------------------------------------------------------------- refunds


def test_cancelling_a_paid_place_refunds_once_even_when_the_owner_presses_twice(
    app, member_client, held, fake_stripe
):
    start_paying(member_client, held)
    fake_stripe.mark_paid(fake_stripe.last_session()["id"])
    member_client.get(f"/payments/return?session_id={fake_stripe.last_session()['id']}")

    first = member_client.post(f"/me/tickets/{held}/cancel", follow_redirects=True)
    second = member_client.post(f"/me/tickets/{held}/cancel", follow_redirects=True)

    assert "refunded" in text(first)
    assert "already cancelled" in text(second)
    (refund,) = fake_stripe.refunds.values()
    assert refund["amount"] == 12800
    payment = payment_of(app, held)
    assert payment.status == PaymentStatus.REFUNDED and payment.refund_id == refund["id"]


def test_a_cancellation_stripe_cannot_refund_is_not_made(app, member_client, held, fake_stripe):
    start_paying(member_client, held)
    fake_stripe.mark_paid(fake_stripe.last_session()["id"])
    member_client.get(f"/payments/return?session_id={fake_stripe.last_session()['id']}")
    fake_stripe.fail_next("POST", "/v1/refunds")

    page = member_client.post(f"/me/tickets/{held}/cancel", follow_redirects=True)

    assert "did not answer" in text(page)
    assert registration_status(app, held) == RegistrationStatus.CONFIRMED
    assert payment_of(app, held).status == PaymentStatus.PAID


# ------------------------------------------------------------------------ not configured


def test_without_stripe_keys_a_paid_event_says_online_payment_is_not_configured(
    app, member_client, paid_event
):
    app.config.update(STRIPE_SECRET_KEY=None, DEMO_CHECKOUT=False)

    assert "Online payment is not configured" in text(member_client.get(f"/events/{paid_event}"))
    refused = member_client.post(f"/events/{paid_event}/sign-up", data={"companions": "0"})
    assert refused.status_code == 422
    assert "Online payment is not configured" in text(refused)
    with app.app_context():
        assert db.session.scalar(select(func.count(EventRegistration.id))) == 0


def test_a_held_place_without_stripe_keys_says_online_payment_is_not_configured(
    app, member_client, held
):
    app.config.update(STRIPE_SECRET_KEY=None, DEMO_CHECKOUT=False)
    response = member_client.post(f"/me/registrations/{held}/pay", follow_redirects=True)
    assert "Online payment is not configured" in text(response)
    assert registration_status(app, held) == RegistrationStatus.PENDING


def test_the_demo_checkout_is_labelled_and_marks_the_place_paid(
    app, member_client, held, fake_stripe
):
    app.config.update(STRIPE_SECRET_KEY=None, DEMO_CHECKOUT=True)

    response = start_paying(member_client, held)
    assert "/payments/demo/" in response.headers["Location"]
    page = member_client.get(response.headers["Location"])
    assert "Demo checkout — no money moves" in text(page)
    paid = member_client.post(response.headers["Location"], follow_redirects=True)

    assert PAID_TEXT in text(paid)
    assert registration_status(app, held) == RegistrationStatus.CONFIRMED
    assert not fake_stripe.requests
    app.config["DEMO_CHECKOUT"] = False  # testing and production
    assert member_client.get(response.headers["Location"]).status_code == 404
