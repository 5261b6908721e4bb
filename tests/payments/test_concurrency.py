"""On PostgreSQL: refunds and webhook deliveries that race each other still act once."""

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.errors import Conflict
from app.events import services as events
from app.events.models import EventRegistration, RegistrationStatus
from app.extensions import db
from app.members.models import Member
from app.payments import services
from app.payments.models import Payment, PaymentStatus, StripeWebhookEvent
from tests.factories import make_dealer, make_member, make_staff
from tests.payments.conftest import make_paid_event, stripe_settings
from tests.payments.fake_stripe import webhook
from tests.test_postgres_concurrency import race

pytestmark = pytest.mark.postgres


@pytest.fixture
def stripe_pg_app(pg_app, fake_stripe):
    pg_app.config.update(stripe_settings(fake_stripe))
    return pg_app


def open_checkout(app) -> dict:
    """An owner with a held place and an open checkout: ids."""
    with app.app_context(), app.test_request_context():
        dealer = make_dealer("SZ01")
        staff = make_staff("event_staff", dealer.id)
        event = make_paid_event(staff, app.extensions["clock"], capacity=2)
        member = make_member(dealer.id)
        registration = events.sign_up(member, event.id)
        payment = services.start_checkout(member, registration.id)
        db.session.commit()
        return {
            "member": member.id,
            "registration": registration.id,
            "session": payment.checkout_session_id,
        }


def test_the_owner_pressing_cancel_twice_at_once_gets_one_refund(stripe_pg_app, fake_stripe):
    app = stripe_pg_app
    ids = open_checkout(app)
    fake_stripe.mark_paid(ids["session"])
    with app.app_context(), app.test_request_context():
        services.sync_session(ids["session"])
        db.session.commit()

    def cancel():
        member = db.session.get(Member, ids["member"])
        registration = events.cancel_registration(member, ids["registration"])
        return services.refund_for_cancellation(registration)

    results = race(app, cancel, racers=4)

    assert sum(isinstance(r, Payment) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, Payment))
    assert len(fake_stripe.calls("POST", "/v1/refunds")) == 1
    assert len(fake_stripe.refunds) == 1
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert payment.status == PaymentStatus.REFUNDED
        assert payment.refund_id == next(iter(fake_stripe.refunds))


def test_webhook_deliveries_racing_each_other_confirm_once(stripe_pg_app, fake_stripe):
    app = stripe_pg_app
    ids = open_checkout(app)
    fake_stripe.mark_paid(ids["session"])
    # Two events about the same session, each delivered twice, all at the same moment.
    deliveries = []
    for kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        payload, headers = webhook(fake_stripe.event(ids["session"], kind))
        deliveries += [(payload, headers["Stripe-Signature"])] * 2
    queue = iter(deliveries)

    results = race(app, lambda: services.handle_webhook(*next(queue)), racers=len(deliveries))

    assert not [r for r in results if isinstance(r, Exception)]
    assert results.count("duplicate") == 2
    with app.app_context():
        assert db.session.scalar(select(func.count(StripeWebhookEvent.id))) == 2
        paid_entries = select(func.count(AuditEntry.id)).where(AuditEntry.action == "payment.paid")
        assert db.session.scalar(paid_entries) == 1
        registration = db.session.get(EventRegistration, ids["registration"])
        assert registration.status == RegistrationStatus.CONFIRMED
