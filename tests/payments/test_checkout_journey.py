"""In Chromium on a phone: an owner pays for a held place on (fake) Stripe Checkout and comes
back to a ticket. Chromium applies form-action to the redirect after a form POST, so this
also proves the checkout's origin is allowed by the page's Content-Security-Policy."""

import threading

import pytest
from playwright.sync_api import expect, sync_playwright

from app.events import services as events
from app.extensions import db
from app.members.services import get_dealer_by_code
from tests.browser import conftest as browser_fixtures
from tests.browser.test_journey import log_in
from tests.conftest import ON_CI
from tests.factories import make_member, make_staff
from tests.payments.conftest import make_paid_event, stripe_settings

pytestmark = pytest.mark.browser

# The app served on a port, as for the browser folder's journeys.
live_server = browser_fixtures.live_server

OWNER = "13700007001"


def in_own_thread(journey) -> None:
    """Run ``journey`` with a Playwright of its own: the browser folder's session-wide one may
    be running in this thread already, and one thread holds one sync Playwright."""
    failures = []

    def run():
        try:
            journey()
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=run, name="checkout-journey")
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def test_owner_pays_on_checkout_and_gets_the_ticket(live_server, fake_stripe):
    if not browser_fixtures.CHROMIUM.exists():
        if ON_CI:
            pytest.fail(f"Chromium is required on CI but {browser_fixtures.CHROMIUM} is missing")
        pytest.skip("Chromium not installed: apt-get install chromium")
    app = live_server.app
    app.config.update(stripe_settings(fake_stripe))
    with app.app_context(), app.test_request_context():
        dealer = get_dealer_by_code("SZ01")
        event = make_paid_event(
            make_staff("event_staff", dealer.id), app.extensions["clock"], capacity=5
        )
        owner = make_member(dealer.id, name="Qian Hua", mobile=OWNER)
        registration_id = events.sign_up(owner, event.id).id
        db.session.commit()

    def journey():
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(browser_fixtures.CHROMIUM), args=browser_fixtures.CHROMIUM_ARGS
            )
            try:
                context = browser.new_context(base_url=live_server.url, **browser_fixtures.PHONE)
                context.set_default_timeout(10_000)
                page = context.new_page()
                log_in(page, OWNER)
                page.goto(f"/me/tickets/{registration_id}")
                page.get_by_role("button", name="Pay ¥128.00").click()

                page.wait_for_url(f"{fake_stripe.base_url}/c/pay/*")
                expect(page.get_by_text("Amount: ¥128.00 (CNY)")).to_be_visible()
                page.get_by_role("button", name="Pay").click()

                page.wait_for_url("**/payments/return?session_id=*")
                expect(page.get_by_role("status")).to_contain_text(
                    "Payment received — your ticket is ready"
                )
                page.get_by_role("link", name="Show my ticket").click()
                page.wait_for_url(f"**/me/tickets/{registration_id}")
                expect(page.locator(".qr svg")).to_be_visible()
            finally:
                browser.close()

    in_own_thread(journey)
