"""An owner signs in with a code and resets a forgotten password, on a phone in Chromium."""

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from tests.browser.texts import sms_code
from tests.factories import make_member

OWNER_MOBILE = "13700004444"
FORGETFUL_MOBILE = "13700004446"


@pytest.fixture(scope="module")
def owner_mobile(live_server):
    """An owner of SZ01 with a proven number and the test password."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        from app.members.services import get_dealer_by_code

        make_member(get_dealer_by_code("SZ01").id, name="Sun Li", mobile=OWNER_MOBILE)
        make_member(get_dealer_by_code("SZ01").id, name="Ma Jun", mobile=FORGETFUL_MOBILE)
        db.session.commit()
    return OWNER_MOBILE


def fits_the_phone(page: Page) -> bool:
    """Nothing is wider than the phone's screen."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def prove_number(page: Page, mobile: str) -> None:
    """Type the number, ask for a code, type the code the SMS brought."""
    page.fill("#mobile", mobile)
    page.get_by_role("button", name="Text me a code").click()
    expect(page.get_by_role("status")).to_contain_text("We sent a code")
    expect(page.locator("#mobile")).to_have_attribute("readonly", "")
    page.fill("#code", sms_code(mobile))
    page.get_by_role("button", name="Continue").click()


def test_an_owner_signs_in_with_a_code(owner_mobile, new_phone, artifacts):
    page = new_phone()
    page.goto("/login")
    page.get_by_role("link", name="Sign in with a code instead").click()
    expect(page.get_by_role("heading", name="Sign in with a code")).to_be_visible()
    page.fill("#mobile", "137 0000 4444")
    page.get_by_role("button", name="Text me a code").click()
    page.fill("#code", "000000" if sms_code(owner_mobile) != "000000" else "111111")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".error")).to_contain_text("Wrong code. 4 tries left.")
    assert fits_the_phone(page)
    page.screenshot(path=artifacts / "code-login-en.png", full_page=True)
    page.fill("#code", sms_code(owner_mobile))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(lambda url: url.endswith("/"))
    page.goto("/card")
    expect(page.get_by_role("heading", name="Sun Li")).to_be_visible()


def test_a_forgotten_password_is_reset_with_a_code(owner_mobile, new_phone, artifacts):
    page = new_phone()
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    prove_number(page, FORGETFUL_MOBILE)
    page.wait_for_url("**/password/reset")
    page.fill("#password", "a-new-pass-2026")
    page.fill("#confirm", "a-new-pass-2026")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")
    page.goto("/me")  # log out sits on "Me" since the owner shell
    page.get_by_role("button", name="Log out").click()

    other = new_phone()
    other.goto("/login")
    other.fill("#mobile", FORGETFUL_MOBILE)
    other.fill("#password", "a-new-pass-2026")
    other.get_by_role("button", name="Log in").click()
    other.wait_for_url(lambda url: not url.endswith("/login"))
    other.goto("/card")
    expect(other.get_by_role("heading", name="Ma Jun")).to_be_visible()


def test_the_code_page_reads_in_chinese_at_360(browser, live_server, artifacts):
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    try:
        page = context.new_page()
        page.goto("/lang/zh?next=/login/code")
        expect(page.get_by_role("heading", name="验证码登录")).to_be_visible()
        page.fill("#mobile", "13700004445")
        page.get_by_role("button", name="发送验证码").click()
        expect(page.get_by_role("status")).to_contain_text("验证码已发送至 137****4445")
        assert fits_the_phone(page)
        page.screenshot(path=artifacts / "code-login-zh.png", full_page=True)
    finally:
        context.close()
