"""The care manager on the phone: rewrites a call script (a bad placeholder is named, the
preview shows the owner's words), then composes a weather warning whose owner count follows the
filters as they change, and schedules it; the pages fit a 390 px screen."""

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.browser.test_accessibility import violations
from tests.browser.test_journey import log_in
from tests.factories import make_member, make_staff, make_vehicle


@pytest.fixture(scope="module")
def manager(live_server):
    """SZ01's admin (the care manager) and two owners who accept offers, plates 粤B and 粤A."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        from app.members.services import get_dealer_by_code

        sz = get_dealer_by_code("SZ01").id
        for name, plate in (("Gao Feng", "粤B77777"), ("Ma Lin", "粤A88888")):
            owner = make_member(sz, name=name)
            owner.marketing_opt_in = True
            make_vehicle(owner, plate=plate)
        mobile = make_staff("dealer_admin", sz).mobile
        db.session.commit()
        return mobile


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_care_manager_edits_a_script_and_schedules_a_warning(manager, new_phone):
    phone = new_phone()
    log_in(phone, manager)
    phone.goto("/admin/")
    phone.get_by_role("link", name="Care texts").click()
    phone.wait_for_url("**/admin/care/texts")
    assert _fits(phone)
    phone.locator("li", has_text="Regular-maintenance call script").get_by_role(
        "link", name="English"
    ).click()
    expect(phone.locator(".lead")).to_contain_text("the built-in text is in force")
    phone.fill("#body", "Hi {name}, {agent} here about your {modle}.")
    phone.get_by_role("button", name="Preview").click()
    expect(phone.locator("#body-error")).to_contain_text("Unknown placeholder {modle}")
    phone.fill("#body", "Hi {name}, {agent} here about your {model}.")
    phone.get_by_role("button", name="Preview").click()
    expect(phone.locator(".message-preview")).to_have_text(
        "Hi Wang Xiaoming, Li Na here about your Sagitar."
    )
    phone.get_by_role("button", name="Save as the next version").click()
    expect(phone.get_by_text("Version 1 saved: it is in force now.")).to_be_visible()
    expect(phone.locator(".text-versions li")).to_have_count(1)
    assert _fits(phone)
    assert violations(phone) == []

    phone.goto("/admin/")
    phone.get_by_role("link", name="Greetings and warnings").click()
    expect(phone.get_by_text("3 more needed")).to_be_visible()
    phone.get_by_role("link", name="New broadcast").click()
    phone.get_by_role("link", name="Start from the text: Special weather warning").click()
    count = phone.locator("#live-count")
    expect(count).to_contain_text("2 owners will receive it")
    phone.fill("#plate_prefix", "粤B")
    expect(count).to_contain_text("1 owner will receive it")  # live, without a reload
    assert _fits(phone)
    assert violations(phone) == []
    phone.get_by_role("button", name="Save the draft").click()
    expect(phone.get_by_text("Broadcast saved as a draft.")).to_be_visible()
    expect(phone.locator(".facts")).to_contain_text("plates 粤B…")
    phone.get_by_role("button", name="Schedule").click()
    expect(phone.get_by_text("Scheduled.")).to_be_visible()
    expect(phone.locator(".title-row .status")).to_have_text("Scheduled")
    assert _fits(phone)
    assert violations(phone) == []
