"""A sales consultant grades a retained owner on the phone, sees which of their owners are
overdue for a care contact and logs the call; the page fits a 390 px screen."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.auth.services import get_user_by_mobile
from app.campaigns.grading.services import grade_owner
from app.core.clock import utcnow
from app.extensions import db
from tests.browser.test_accessibility import violations
from tests.browser.test_journey import log_in
from tests.factories import make_member, make_vehicle


@pytest.fixture(scope="module")
def owners(live_server):
    """Two retained owners of SZ01: one not graded, one graded A 40 days ago (overdue)."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        from app.members.services import get_dealer_by_code

        sz = get_dealer_by_code("SZ01").id
        make_vehicle(make_member(sz, name="Gao Feng"))
        late = make_member(sz, name="Ma Lin")
        make_vehicle(late)
        consultant = get_user_by_mobile(live_server.staff_mobile)
        grade_owner(consultant, late.id, grade="A", reason="VIP", now=utcnow() - timedelta(40))
        db.session.commit()


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_consultant_grades_an_owner_and_logs_an_overdue_call(owners, new_phone, live_server):
    phone = new_phone()
    log_in(phone, live_server.staff_mobile)
    phone.goto("/admin/")
    phone.get_by_role("link", name="ABC owner care").click()
    phone.wait_for_url("**/admin/campaigns/grading")
    expect(phone.locator(".lead").first).to_contain_text("1 of your owners is overdue")
    overdue = phone.locator("#table-overdue tbody tr")
    expect(overdue).to_have_count(1)
    expect(overdue.first).to_contain_text("Ma Lin")
    expect(overdue.first.locator("td").first).to_have_text("10")
    assert _fits(phone)
    assert violations(phone) == []

    # Grade the owner nobody graded yet.
    phone.get_by_role("link", name="Retained owners").click()
    phone.get_by_role("link", name="Gao Feng").click()
    phone.select_option("#grade", "B")
    phone.fill("#reason", "Services here, no referrals yet")
    phone.get_by_role("button", name="Save the grade").click()
    expect(phone.get_by_text("Gao Feng graded B.")).to_be_visible()
    expect(phone.locator(".facts")).to_contain_text("Contact every 60 days.")
    assert _fits(phone)
    assert violations(phone) == []

    # Call the overdue owner: not reached first, then reached.
    phone.goto("/admin/campaigns/grading")
    phone.get_by_role("link", name="Ma Lin").click()
    expect(phone.locator(".badge-warn")).to_have_text("10 days overdue")
    phone.get_by_role("button", name="Not reached").click()
    expect(phone.locator(".badge-warn")).to_have_text("10 days overdue")
    phone.fill("#note", "Birthday visit booked")
    phone.get_by_role("button", name="Reached", exact=True).click()
    expect(phone.get_by_text("Contact logged.")).to_be_visible()
    expect(phone.locator(".badge-warn")).to_have_count(0)
    expect(phone.locator("section", has_text="Contacts")).to_contain_text("Birthday visit booked")
    assert _fits(phone)

    phone.goto("/admin/campaigns/grading")
    expect(phone.get_by_text("No overdue care")).to_be_visible()
    phone.get_by_role("link", name="Retained owners").click()
    assert violations(phone) == []
