"""Fixtures for paid events: a fake Stripe on 127.0.0.1 the real `stripe` library talks to."""

from datetime import timedelta

import pytest

from app.events import services as events
from app.events.models import EventKind
from tests.payments.fake_stripe import API_KEY, WEBHOOK_SECRET, FakeStripe

PRICE_FEN = 12800


@pytest.fixture
def fake_stripe():
    """A fake Stripe API server, started for the test and stopped after it."""
    fake = FakeStripe().start()
    yield fake
    fake.stop()


def stripe_settings(fake: FakeStripe) -> dict:
    """The configuration that points the app at ``fake``."""
    return {
        "STRIPE_SECRET_KEY": API_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": fake.base_url,
        "STRIPE_PAYMENT_METHODS": "card,wechat_pay,alipay",
        # No retries: an outage the fake plays must reach the code at once (no back-off sleeps).
        "STRIPE_MAX_NETWORK_RETRIES": 0,
        "DEMO_CHECKOUT": False,
        "PAYMENT_HOLD_MINUTES": 30,
    }


@pytest.fixture
def app(app, fake_stripe):
    """The test app, configured for Stripe at the fake server."""
    app.config.update(stripe_settings(fake_stripe))
    return app


def make_paid_event(staff, clock, *, capacity: int = 1, price_fen: int = PRICE_FEN, **overrides):
    """A paid workshop of ``staff``'s dealer, open for sign-up now; capacity in seats."""
    now = clock.now()
    fields = {
        "kind": EventKind.OTHER,
        "title": "Track day at Zhuhai circuit",
        "place": "Zhuhai International Circuit",
        "starts_at": now + timedelta(days=10),
        "ends_at": now + timedelta(days=10, hours=6),
        "registration_opens_at": now - timedelta(days=1),
        "registration_closes_at": now + timedelta(days=8),
        "capacity": capacity,
        "price_fen": price_fen,
        **overrides,
    }
    return events.create_event(staff, **fields)
