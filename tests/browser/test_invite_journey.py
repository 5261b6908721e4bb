"""The referral's front door on phones (issue 21): an owner opens their invite link and poster, a
friend opens the link in another browser and pre-registers, and the referral is the owner's —
on the owner's list, on the staff desk, and with the duty manager when the friend visits.
Every page fits 390 px and passes axe."""

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.browser.test_accessibility import violations
from tests.browser.test_journey import log_in
from tests.factories import make_member, make_staff, make_vehicle

OWNER_MOBILE = "13700002121"
FRIEND_MOBILE = "13700002122"


@pytest.fixture(scope="module")
def club(live_server):
    """Wang Lei, an owner of SZ01 with a car, and SZ01's showroom manager on duty."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        from app.members.services import get_dealer_by_code

        dealer_id = get_dealer_by_code("SZ01").id
        make_vehicle(make_member(dealer_id, name="Wang Lei", mobile=OWNER_MOBILE))
        manager = make_staff("showroom_manager", dealer_id).mobile
        db.session.commit()
    return {"manager": manager}


def _check(page, artifacts, shot: str | None = None) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url
    assert violations(page) == [], page.url
    if shot:
        page.screenshot(path=artifacts / shot, full_page=True)


def test_a_friend_pre_registers_through_an_owners_invite_link(
    club, new_phone, live_server, artifacts
):
    # The owner finds the invite link under Me, and the poster with its QR code.
    owner = new_phone()
    log_in(owner, OWNER_MOBILE)
    owner.goto("/me")
    owner.get_by_role("link", name=re.compile("My invite link")).click()
    owner.wait_for_url("**/me/invite")
    link = owner.locator("#invite-url").input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/i/CC1\.[A-Za-z0-9_-]+", link)
    _check(owner, artifacts, "phone-invite-link.png")
    owner.get_by_role("link", name="Open the poster").click()
    owner.wait_for_url("**/me/invite/poster")
    expect(owner.get_by_role("heading", level=1)).to_have_text("Wang Lei invites you")
    expect(owner.locator(".invite-poster-qr svg")).to_be_visible()
    _check(owner, artifacts, "phone-invite-poster.png")

    # The friend, on their own phone, opens the link and pre-registers.
    friend = new_phone()
    friend.goto(link)
    expect(friend.get_by_role("heading", level=1)).to_have_text("Wang Lei invites you")
    expect(friend.locator("main")).to_contain_text("What you get")
    _check(friend, artifacts, "phone-invite-landing.png")
    friend.fill("#friend_name", "Zhou Yun")
    friend.fill("#friend_mobile", FRIEND_MOBILE)
    friend.fill("#model_of_interest", "Tiguan L")
    friend.get_by_role("button", name="Pre-register").click()
    friend.wait_for_url("**/thanks")
    expect(friend.get_by_role("heading", level=1)).to_have_text("Thank you, Zhou Yun")
    _check(friend, artifacts, "phone-invite-thanks.png")

    # The referral is the owner's: on their list, with the count on their invite page.
    owner.goto("/me/referrals")
    expect(owner.locator("li.referral")).to_contain_text("Zhou Yun")
    expect(owner.locator("li.referral")).to_contain_text("Registered.")
    owner.goto("/me/invite")
    expect(owner.locator(".invite-count")).to_have_text(
        "1 friend pre-registered through your link."
    )

    # At the showroom a consultant records Zhou Yun's visit; she names Wang Lei.
    desk = new_phone()
    log_in(desk, live_server.staff_mobile)
    desk.goto("/admin/prospects")
    desk.fill("#mobile", FRIEND_MOBILE)
    desk.fill("#name", "Zhou Yun")
    desk.fill("#referrer_mobile", OWNER_MOBILE)
    _check(desk, artifacts)
    desk.get_by_role("button", name="Record the visit").click()
    expect(desk.get_by_role("status").first).to_contain_text(
        "The referral of Wang Lei waits for the duty manager's confirmation."
    )
    desk.goto("/admin/referrals")
    desk.get_by_role("link", name=re.compile("Zhou Yun")).click()
    expect(desk.locator("main")).to_contain_text("Wang Lei")
    expect(desk.locator(".front-door")).to_contain_text("through the owner's invite link")
    _check(desk, artifacts, "phone-invite-staff-referral.png")

    # The duty manager confirms it on the phone.
    manager = new_phone()
    log_in(manager, club["manager"])
    manager.get_by_role("link", name=re.compile("Referrals to confirm")).click()
    manager.wait_for_url("**/admin/showroom/referrals")
    report = manager.locator("li.showroom-report")
    expect(report).to_contain_text("Zhou Yun")
    expect(report).to_contain_text("the same owner")
    _check(manager, artifacts, "phone-duty-manager.png")
    report.get_by_role("button", name="Confirm").click()
    expect(manager.get_by_role("status").first).to_contain_text("Referral of Wang Lei confirmed.")
    expect(manager.locator("main")).to_contain_text("No referral waits for confirmation.")
    _check(manager, artifacts)
