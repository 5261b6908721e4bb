"""An owner spends points on a reward on the phone; the counter redeems the voucher's QR once.

The QR is decoded from a screenshot of the owner's screen, as a scanner at the counter would
read it, and pasted into the staff redemption page.
"""

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.browser.test_journey import card_qr, log_in
from tests.factories import give_points, make_member, make_reward

OWNER_MOBILE = "13700007777"


@pytest.fixture(scope="module")
def shop(live_server):
    """An owner of SZ01 with 2,000 points, and an 800-point car wash in the catalog."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        from app.members.services import get_dealer_by_code

        owner = make_member(get_dealer_by_code("SZ01").id, name="Sun Li", mobile=OWNER_MOBILE)
        give_points(owner, 2000)
        make_reward(name="Car wash voucher", cost_points=800, stock=5, validity_days=90)
        make_reward(name="Maintenance package", cost_points=20000, stock=5)
        db.session.commit()


def test_owner_redeems_a_reward_and_the_counter_uses_the_voucher_once(
    shop, new_phone, live_server, artifacts
):
    owner = new_phone()
    log_in(owner, OWNER_MOBILE)
    owner.get_by_role("link", name="Rewards").first.click()
    owner.wait_for_url("**/rewards")
    expect(owner.locator(".panel .points")).to_contain_text("2000 points")
    package = owner.locator("li.reward", has_text="Maintenance package")
    expect(package).to_contain_text("You need 18000 more points")
    expect(package.get_by_role("button")).to_have_count(0)

    # Redeeming asks first, in the confirmation sheet.
    owner.get_by_role("button", name="Redeem Car wash voucher").click()
    sheet = owner.get_by_role("dialog", name="Spend 800 points on “Car wash voucher”?")
    sheet.get_by_role("button", name="Spend 800 points").click()
    owner.wait_for_url("**/me/vouchers/*")
    expect(owner.get_by_role("status").first).to_contain_text("Your voucher is ready")
    expect(owner.get_by_role("heading", level=1)).to_have_text("Car wash voucher")
    expect(owner.locator(".voucher-status")).to_have_text("Ready to use")
    code = owner.locator(".voucher-code").inner_text()
    token = card_qr(owner, artifacts / "voucher-en.png")
    assert token.startswith("CC1.")

    # A sales consultant of the dealer pastes the scanned QR text at the counter.
    desk = new_phone()
    log_in(desk, live_server.staff_mobile)
    desk.goto("/admin/")
    desk.get_by_role("link", name="Redeem a voucher").first.click()
    desk.wait_for_url("**/admin/vouchers/redeem")
    desk.fill("#code", token)
    desk.get_by_role("button", name="Redeem").click()
    result = desk.locator("section.result")
    expect(result).to_contain_text("Voucher redeemed")
    expect(result).to_contain_text("Car wash voucher")
    expect(result).to_contain_text("Sun Li")

    # The same voucher again, typed this time: refused, with when it was used.
    desk.fill("#code", code.lower())
    desk.get_by_role("button", name="Redeem").click()
    expect(result).to_contain_text("Refused")
    expect(result).to_contain_text("This voucher was already used.")
    expect(result).to_contain_text("Used on")

    # The owner sees the voucher as used, without a QR or a cancel button.
    owner.reload()
    expect(owner.locator(".voucher-status")).to_contain_text("Used on")
    expect(owner.locator(".qr")).to_have_count(0)
    expect(owner.get_by_role("button", name="Cancel the voucher")).to_have_count(0)
    owner.get_by_role("link", name="My vouchers").first.click()
    owner.wait_for_url("**/me/vouchers")
    used = owner.locator("#used")
    expect(used).to_contain_text("Car wash voucher")
    expect(used).to_contain_text("Used on")
    expect(owner.locator("#active")).to_contain_text("No vouchers to use")


def test_reward_pages_are_accessible(shop, new_phone, live_server):
    from tests.browser.test_accessibility import violations

    owner = new_phone()
    log_in(owner, OWNER_MOBILE)
    owner.goto("/rewards")
    assert violations(owner) == []
    owner.get_by_role("button", name="Redeem Car wash voucher").click()
    owner.get_by_role("dialog").get_by_role("button", name="Spend 800 points").click()
    owner.wait_for_url("**/me/vouchers/*")
    assert violations(owner) == [], owner.url
    owner.goto("/me/vouchers")
    assert violations(owner) == []

    desk = new_phone()
    log_in(desk, live_server.staff_mobile)
    desk.goto("/admin/vouchers/redeem")
    desk.fill("#code", "ZZZZZ-ZZZZZ")
    desk.get_by_role("button", name="Redeem").click()
    expect(desk.locator("section.result")).to_contain_text("No voucher has this code")
    assert violations(desk) == []
