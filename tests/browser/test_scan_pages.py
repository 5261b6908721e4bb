"""Every page where staff scan has the gate's camera scanner (issue 18), at phone size: the card
check, the voucher counter and the partner check show it beside the field for a typed code,
take a typed code, allow the camera in their Permissions-Policy (other pages forbid it), and the
counter's camera reads a voucher's QR."""

import pytest
from playwright.sync_api import expect

from app.cards.services import active_card
from app.extensions import db
from app.members.services import get_dealer_by_code
from app.partners.claims import claim_perk
from app.rewards.services import issue_free_voucher, voucher_token
from tests.browser.conftest import PHONE, launch_with_camera
from tests.browser.test_accessibility import violations
from tests.browser.test_checkin_gate import qr_png, y4m_of
from tests.browser.test_journey import log_in
from tests.factories import make_member, make_reward, make_staff
from tests.partners.helpers import make_partner, make_partner_user, make_perk


@pytest.fixture(scope="module")
def counter(live_server) -> dict:
    """An SZ01 owner with two vouchers and a claimed perk; a service advisor; a partner desk."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        dealer = get_dealer_by_code("SZ01")
        member = make_member(dealer.id, name="Sun Li")
        reward = make_reward(dealer.id, name="Car wash")
        typed = issue_free_voucher(member, reward, source="test", key="typed")
        filmed = issue_free_voucher(member, reward, source="test", key="filmed")
        partner = make_partner(name="Harbour Cafe")
        perk = make_perk(partner, title="Free coffee")
        claim = claim_perk(member, perk.id)
        info = {
            "advisor": make_staff("service_advisor", dealer.id).mobile,
            "desk": make_partner_user(partner).mobile,
            "card_number": active_card(member).number,
            "voucher_code": typed.code,
            "voucher_qr": voucher_token(filmed),
            "perk_code": claim.code,
        }
        db.session.commit()
    return info


def assert_scanner(page, start: str, photo: str) -> None:
    expect(page.get_by_role("button", name=start)).to_be_visible()
    expect(page.get_by_text(photo)).to_be_visible()
    expect(page.locator("[data-scanner-error]")).to_be_hidden()


def camera_allowed(response) -> bool:
    return "camera=(self)" in response.headers["permissions-policy"]


def test_the_card_check_has_the_camera_and_takes_a_typed_number(new_phone, counter):
    page = new_phone()
    log_in(page, counter["advisor"])
    response = page.goto("/admin/scan")
    assert camera_allowed(response)
    assert_scanner(page, "Scan the card with the camera", "Read a photo of the card")
    assert violations(page) == []
    number = counter["card_number"]
    page.fill("#code", " ".join(number[i : i + 4] for i in range(0, 16, 4)))
    page.get_by_role("button", name="Check").click()
    result = page.locator("#card-check-result section.result")
    expect(result).to_contain_text("Valid member card")
    expect(result).to_contain_text("Sun Li")


def test_the_voucher_counter_has_the_camera_and_takes_a_typed_code(new_phone, counter):
    page = new_phone()
    log_in(page, counter["advisor"])
    response = page.goto("/admin/vouchers/redeem")
    assert camera_allowed(response)
    assert_scanner(page, "Scan the voucher with the camera", "Read a photo of the voucher")
    assert violations(page) == []
    code = counter["voucher_code"]
    page.fill("#code", f"{code[:5]}-{code[5:]}".lower())
    page.get_by_role("button", name="Redeem").click()
    expect(page.locator("section.result")).to_contain_text("Voucher redeemed")
    # Pages without scanning forbid the camera.
    assert not camera_allowed(page.goto("/admin/"))


def test_the_partner_check_has_the_camera_and_takes_a_typed_code(new_phone, counter):
    page = new_phone()
    log_in(page, counter["desk"])
    response = page.goto("/partner")
    assert camera_allowed(response)
    assert_scanner(page, "Scan the perk code with the camera", "Read a photo of the perk code")
    assert violations(page) == []
    page.fill("#code", counter["perk_code"].lower())
    page.get_by_role("button", name="Check").click()
    expect(page.locator("section.result")).to_contain_text("Valid: honour this perk")


def test_the_counters_camera_reads_a_voucher(browser, live_server, counter, tmp_path, artifacts):
    png, video = tmp_path / "voucher.png", tmp_path / "camera.y4m"
    qr_png(counter["voucher_qr"], png)
    y4m_of(png, video)
    camera_browser = launch_with_camera(browser, video)
    try:
        context = camera_browser.new_context(
            base_url=live_server.url, permissions=["camera"], **PHONE
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        log_in(page, counter["advisor"])
        page.goto("/admin/vouchers/redeem")
        page.get_by_role("button", name="Scan the voucher with the camera").click()
        # The code read is sent as if typed: the page comes back with the answer.
        expect(page.locator("section.result")).to_contain_text("Voucher redeemed")
        page.screenshot(path=artifacts / "voucher-camera-redeemed.png")
        context.close()
    finally:
        camera_browser.close()


def test_a_blocked_camera_says_what_to_do(browser, live_server, counter):
    context = browser.new_context(base_url=live_server.url, **PHONE)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        log_in(page, counter["desk"])
        page.goto("/partner")
        # Headless Chromium without a fake device: no camera, or permission refused.
        page.get_by_role("button", name="Scan the perk code with the camera").click()
        error = page.locator("[data-scanner-error]")
        expect(error).to_be_visible()
        expect(error).to_contain_text("type the code")
    finally:
        context.close()
