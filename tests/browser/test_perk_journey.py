"""An owner claims a partner's perk on the phone; the partner checks its QR once.

The QR is decoded from a screenshot of the owner's screen, as the partner's scanner would read
it, and pasted into the partner's check page; a second check says when it was used.
"""

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.browser.test_journey import card_qr, log_in
from tests.factories import make_member
from tests.partners.helpers import make_partner, make_partner_user, make_perk

OWNER_MOBILE = "13700008888"


@pytest.fixture(scope="module")
def hotel(live_server):
    """A group-wide hotel with a room upgrade for every tier and a diamond suite; its desk."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        from app.members.services import get_dealer_by_code

        make_member(get_dealer_by_code("SZ01").id, name="Zhou Min", mobile=OWNER_MOBILE)
        partner = make_partner(name="Longcheng Palace Hotel", address="9 Longcheng Road")
        make_perk(partner, title="Room upgrade", description="One category up.", total_limit=20)
        make_perk(partner, title="Diamond suite", min_tier_code="diamond")
        desk_mobile = make_partner_user(partner).mobile
        db.session.commit()
    return {"desk_mobile": desk_mobile}


def fits_the_phone(page) -> bool:
    """Nothing is wider than the phone's screen."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_owner_claims_a_perk_and_the_partner_checks_it_once(hotel, new_phone, artifacts):
    owner = new_phone()
    log_in(owner, OWNER_MOBILE)
    owner.goto("/perks")
    expect(owner.get_by_role("heading", level=1)).to_have_text("Partner perks")
    suite = owner.locator("li.perk", has_text="Diamond suite")
    expect(suite).to_contain_text("For Diamond members and above")
    expect(suite.get_by_role("button")).to_have_count(0)
    assert fits_the_phone(owner)

    owner.get_by_role("button", name="Claim Room upgrade").click()
    owner.wait_for_url("**/me/perks/*")
    expect(owner.get_by_role("status").first).to_contain_text("Your perk is ready")
    expect(owner.get_by_role("heading", level=1)).to_have_text("Room upgrade")
    expect(owner.locator(".voucher-status")).to_have_text("Ready to use")
    expect(owner.locator(".facts")).to_contain_text("Longcheng Palace Hotel")
    code = owner.locator(".voucher-code").inner_text()
    assert fits_the_phone(owner)
    token = card_qr(owner, artifacts / "perk-en.png")
    assert token.startswith("CC1.")

    # The hotel's front desk pastes the scanned QR text.
    desk = new_phone()
    log_in(desk, hotel["desk_mobile"])
    desk.goto("/partner")
    expect(desk.get_by_role("heading", level=1)).to_have_text("Longcheng Palace Hotel")
    desk.fill("#code", token)
    desk.get_by_role("button", name="Check").click()
    result = desk.locator("section.result")
    expect(result).to_have_class("result result-ok perk-result")
    expect(result).to_contain_text("Valid: honour this perk")
    expect(result).to_contain_text("Room upgrade")
    assert fits_the_phone(desk)
    desk.screenshot(path=artifacts / "perk-check-ok.png")

    # The same code again, typed this time: refused, saying when it was used.
    desk.fill("#code", code.lower())
    desk.get_by_role("button", name="Check").click()
    expect(result).to_have_class("result result-bad perk-result")
    expect(result).to_contain_text("Do not honour")
    expect(result).to_contain_text("Already used at")
    desk.screenshot(path=artifacts / "perk-check-used.png")

    # The month's settlement counts it.
    desk.get_by_role("link", name="Settlement").click()
    desk.wait_for_url("**/partner/settlement")
    expect(desk.get_by_role("heading", level=2).first).to_contain_text(": 1")

    # The owner sees the perk as used, without a QR.
    owner.reload()
    expect(owner.locator(".voucher-status")).to_contain_text("Used on")
    expect(owner.locator(".qr")).to_have_count(0)
    owner.get_by_role("link", name="My perks").first.click()
    owner.wait_for_url("**/me/perks")
    expect(owner.locator("#used")).to_contain_text("Room upgrade")
    expect(owner.locator("#ready")).to_contain_text("No perks to use")


def test_perk_pages_are_accessible(hotel, new_phone):
    from tests.browser.test_accessibility import violations

    owner = new_phone()
    log_in(owner, OWNER_MOBILE)
    for path in ("/perks", "/me/perks"):
        owner.goto(path)
        assert violations(owner) == [], path
    owner.get_by_role("link", name="Room upgrade").first.click()
    owner.wait_for_url("**/me/perks/*")
    assert violations(owner) == [], owner.url

    desk = new_phone()
    log_in(desk, hotel["desk_mobile"])
    desk.goto("/partner")
    desk.fill("#code", "ZZZZZ-ZZZZZ")
    desk.get_by_role("button", name="Check").click()
    expect(desk.locator("section.result")).to_contain_text("No perk has this code")
    assert violations(desk) == []
    desk.goto("/partner/settlement")
    assert violations(desk) == []
