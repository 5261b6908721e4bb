"""Member benefits on the phone (issue 21): the owner's tier page shows what the tier gives and
what is left this year; staff at the counter check the owner's card, open their benefits and
record a car wash; the count goes down on both sides. Every page fits 390 px and passes axe."""

import re

import pytest
from playwright.sync_api import expect

from app.cards.services import active_card
from app.extensions import db
from tests.browser.test_accessibility import violations
from tests.browser.test_journey import log_in
from tests.factories import make_member, make_staff, make_vehicle

OWNER_MOBILE = "13700002121"


@pytest.fixture(scope="module")
def counter(live_server):
    """A gold owner of SZ01 with a car, and a service advisor of SZ01: (card number, mobile)."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        from app.members.services import get_dealer_by_code

        dealer_id = get_dealer_by_code("SZ01").id
        owner = make_member(dealer_id, name="Gao Yan", mobile=OWNER_MOBILE)
        make_vehicle(owner)
        number = active_card(owner).number
        advisor = make_staff("service_advisor", dealer_id).mobile
        db.session.commit()
    return number, advisor


def _check(page, artifacts=None, shot: str | None = None) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url
    assert violations(page) == [], page.url
    if shot:
        page.screenshot(path=artifacts / shot, full_page=True)


def test_the_owner_sees_the_benefits_and_staff_record_one_at_the_counter(
    counter, new_phone, artifacts
):
    number, advisor_mobile = counter
    owner = new_phone()
    log_in(owner, OWNER_MOBILE)
    owner.goto("/me/tier")
    mine = owner.locator(".my-benefit", has_text="Car wash")
    expect(mine).to_contain_text("2 of 2 left")
    expect(owner.locator("#tier-diamond").locator("..")).to_contain_text("Half-price labour")
    _check(owner, artifacts, "phone-tier-benefits.png")
    owner.goto("/card")
    expect(owner.locator(".card-benefits")).to_contain_text("Car wash")
    _check(owner)

    # At the counter: the card checks, its benefits show, the advisor opens them.
    desk = new_phone()
    log_in(desk, advisor_mobile)
    desk.goto("/admin/scan")
    desk.fill("#code", number)
    desk.get_by_role("button", name="Check").click()
    expect(desk.locator(".result-ok")).to_contain_text("Gao Yan")
    expect(desk.locator(".scan-benefits")).to_contain_text("2 of 2 left")
    _check(desk, artifacts, "phone-scan-benefits.png")
    desk.get_by_role("link", name="Benefits: record a use").click()
    desk.wait_for_url(re.compile(r"/admin/members/\d+/benefits$"))
    wash = desk.locator("#benefit-car-wash")
    wash.get_by_text("Record a use").click()
    wash.get_by_label("Note").fill("Before the weekend trip")
    _check(desk, artifacts, "phone-counter-benefits.png")
    wash.get_by_role("button", name="Record the use").click()
    expect(desk.get_by_role("status").first).to_contain_text("Recorded: Car wash.")
    expect(desk.locator("#benefit-car-wash")).to_contain_text("1 of 2 left")
    expect(desk.locator(".benefit-history")).to_contain_text("Before the weekend trip")
    _check(desk, artifacts, "phone-counter-recorded.png")

    owner.goto("/me/tier")
    expect(owner.locator(".my-benefit", has_text="Car wash")).to_contain_text("1 of 2 left")
