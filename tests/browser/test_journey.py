"""An owner's first day in Chromium at phone size: join, add a car, show the card, replace it.

A sales consultant checks the card's QR, decoded from a screenshot of the owner's screen, on
the scan page; after the reissue the old QR is refused.
"""

import re
from datetime import UTC, datetime
from pathlib import Path

import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from app.auth.second_factor import code_at
from tests.browser.texts import sms_code
from tests.conftest import PASSWORD, TOTP_SECRET
from tests.factories import valid_vin

DEALER_LABEL = "Dealer SZ01 (SZ01)"


def register_owner(page: Page, name: str, mobile: str) -> None:
    """Join the club through /register (the number proved by an SMS code), land in the garage."""
    page.goto("/register")
    page.fill("#mobile", mobile)
    page.get_by_role("button", name="Text me a code").click()
    expect(page.get_by_role("status")).to_contain_text("We sent a code")
    page.fill("#code", sms_code(mobile))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/register/details")
    page.fill("#name", name)
    page.select_option("#dealer_id", label=DEALER_LABEL)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.check("#privacy")
    page.get_by_role("button", name="Join").click()
    page.wait_for_url("**/me/vehicles")
    expect(page.get_by_role("heading", name="My garage")).to_be_visible()


def log_in(page: Page, mobile: str) -> None:
    """Log in through /login with the test password (and the code, for admins)."""
    page.goto("/login")
    page.fill("#mobile", mobile)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: not url.endswith("/login"))
    if page.url.endswith("/login/second-factor"):
        # Dealer admins and HQ: the code their authenticator app shows now.
        page.fill("#code", code_at(TOTP_SECRET, datetime.now(UTC)))
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(lambda url: not url.endswith("/login/second-factor"))


def fill_vehicle(page: Page, *, vin: str, plate: str, model: str = "Sagitar") -> None:
    """Fill the add-car form (colour white, dual-clutch, bought 1 May 2024)."""
    page.fill("#vin", vin)
    page.fill("#plate", plate)
    page.fill("#model", model)
    page.select_option("#colour_id", label="White")
    page.select_option("#transmission", "dual_clutch")
    page.fill("#purchased_on", "2024-05-01")


def scan(page: Page, code: str):
    """Submit ``code`` on the scan page; the result section once it is shown."""
    page.goto("/admin/scan")
    page.fill("#code", code)
    page.get_by_role("button", name="Check").click()
    result = page.locator("section.result")
    expect(result).to_be_visible()
    return result


def card_qr(page: Page, path: Path) -> str:
    """Screenshot the whole card page to ``path`` and decode the one QR code in it."""
    page.screenshot(path=path, full_page=True)
    with Image.open(path) as image:
        # QR codes only: a run of modules inside a QR can read as a 1-D barcode (ITF).
        codes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(codes) == 1, f"expected one QR code in {path.name}, found {len(codes)}"
    return codes[0].text


def test_owner_joins_shows_card_and_replaces_it(new_phone, live_server, artifacts):
    owner = new_phone()
    register_owner(owner, "Chen Jing", "13700001234")
    expect(owner.get_by_role("status")).to_contain_text("Welcome to the club")

    # Add a car from the garage.
    vin = valid_vin()
    owner.get_by_role("link", name="Add a car").first.click()
    owner.wait_for_url("**/me/vehicles/new")
    fill_vehicle(owner, vin=vin, plate="粤B12345")
    owner.get_by_role("button", name="Save car").click()
    owner.wait_for_url("**/me/vehicles")
    expect(owner.get_by_role("status")).to_contain_text("Car added to your garage.")
    car = owner.locator("article.vehicle")
    expect(car).to_have_count(1)
    expect(car.get_by_role("heading")).to_have_text("Sagitar 粤B12345")
    expect(car).to_contain_text(vin)
    expect(car).to_contain_text("White")

    # The member card: name, tier, points and a QR a phone camera can read.
    owner.get_by_role("navigation", name="Main").get_by_role("link", name="Card").click()
    owner.wait_for_url("**/card")
    expect(owner.locator("#card-name")).to_have_text("Chen Jing")
    expect(owner.locator(".member-card .tier")).to_have_text("Gold")
    expect(owner.locator(".member-card .points")).to_contain_text(re.compile(r"\d+ points"))
    old_number = owner.locator(".card-number").inner_text()
    assert re.fullmatch(r"8\d{3}( \d{4}){3}", old_number)
    # The phone's own live code (its key certified by the club), not the server's token.
    expect(owner.locator("#qr-box")).to_have_attribute("data-mode", "device")
    old_token = card_qr(owner, artifacts / "card-en.png")
    assert old_token.startswith("CC2.")

    # A sales consultant of the owner's dealer checks the scanned code.
    desk = new_phone()
    log_in(desk, live_server.staff_mobile)
    result = scan(desk, old_token)
    expect(result).to_contain_text("Valid member card")
    expect(result.locator(".result-name")).to_contain_text("Chen Jing")
    expect(result).to_contain_text(old_number.replace(" ", ""))
    expect(result).to_contain_text("Sagitar 粤B12345")

    # The owner loses the phone and replaces the card.
    owner.get_by_role("link", name="Replace the card").click()
    owner.wait_for_url("**/card/reissue")
    owner.select_option("#reason", "lost")
    owner.check("#confirm")
    owner.get_by_role("button", name="Replace my card").click()
    owner.wait_for_url("**/card")
    expect(owner.get_by_role("status").first).to_contain_text("Your new card is ready")
    new_number = owner.locator(".card-number")
    expect(new_number).to_have_text(re.compile(r"8\d{3}( \d{4}){3}"))
    expect(new_number).not_to_have_text(old_number)

    # The old QR, replayed, is refused.
    result = scan(desk, old_token)
    expect(result).to_contain_text("Refused")
    expect(result).to_contain_text(
        "This card was replaced and no longer works. Ask for the current card."
    )
    expect(result).not_to_contain_text("Chen Jing")

    # The same card page in Chinese, switched from the footer; its QR is readable and valid.
    owner.get_by_role("navigation", name="Language").get_by_role("link", name="简体中文").click()
    expect(owner.locator("html")).to_have_attribute("lang", "zh-CN")
    owner.wait_for_url(re.compile(r"/card\??$"))
    expect(owner).to_have_title(re.compile("会员卡"))
    expect(owner.locator(".member-card .points")).to_contain_text("积分")
    expect(owner.locator(".member-card .tier")).to_have_text("黄金")
    expect(owner.locator("#qr-box")).to_have_attribute("data-mode", "device")
    new_token = card_qr(owner, artifacts / "card-zh.png")
    assert new_token.startswith("CC2.")
    assert new_token != old_token
    result = scan(desk, new_token)
    expect(result).to_contain_text("Valid member card")
    expect(result.locator(".result-name")).to_contain_text("Chen Jing")


def test_add_car_with_wrong_vin_check_digit_is_refused(new_phone):
    owner = new_phone()
    register_owner(owner, "Wang Fang", "13700001235")
    good = valid_vin()
    bad = good[:8] + ("X" if good[8] != "X" else "0") + good[9:]

    owner.goto("/me/vehicles/new")
    fill_vehicle(owner, vin=bad, plate="粤B54321")
    owner.get_by_role("button", name="Save car").click()

    error = owner.locator("#vin-error")
    expect(error).to_have_text("This VIN's check digit (9th character) is wrong: check for a typo.")
    expect(owner.locator("#vin")).to_have_attribute("aria-invalid", "true")
    expect(owner.locator("#vin")).to_have_attribute("aria-describedby", "vin-error")
    # The error sits in the VIN's own field, and the other answers are kept.
    expect(owner.locator(".field.has-error")).to_have_count(1)
    expect(owner.locator(".field.has-error #vin")).to_have_count(1)
    expect(owner.locator("#plate")).to_have_value("粤B54321")
    assert owner.url.endswith("/me/vehicles/new")

    owner.goto("/me/vehicles")
    expect(owner.locator("article.vehicle")).to_have_count(0)
    expect(owner.locator(".panel.empty")).to_be_visible()
