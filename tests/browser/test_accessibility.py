"""axe-core finds no accessibility violations on the pages owners and staff use most."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.test_journey import log_in, register_owner

AXE = Axe()


def violations(page) -> list[str]:
    """axe-core's violations on the current page, one readable line each."""
    results = AXE.run(page)
    return [
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


@pytest.mark.parametrize("path", ["/", "/login", "/register"])
def test_public_pages_are_accessible(new_phone, path):
    page = new_phone()
    page.goto(path)
    assert violations(page) == []


def test_a_form_with_errors_is_accessible(new_phone):
    page = new_phone()
    page.goto("/register")
    page.click("form button[type=submit]")
    assert page.locator(".error").count() >= 3
    assert violations(page) == []


def test_owner_pages_are_accessible(new_phone):
    page = new_phone()
    register_owner(page, "Access Owner", "13700005555")
    for path in (
        "/",
        "/card",
        "/me/vehicles",
        "/me/vehicles/new",
        "/me/profile",
        "/me/chapter",
        "/me/points",
        "/me/tier",
        "/me/inbox",
    ):
        page.goto(path)
        assert violations(page) == [], path


def test_staff_pages_are_accessible(new_phone, live_server):
    page = new_phone()
    log_in(page, live_server.staff_mobile)
    for path in ("/admin/", "/admin/members", "/admin/members?q=zz", "/admin/scan"):
        page.goto(path)
        assert violations(page) == [], path
    page.fill("textarea", "CC1.forged")
    page.click("form button[type=submit]")
    assert page.locator(".result-bad").is_visible()
    assert violations(page) == []
