"""After a visit, on the phone (issue 20): the owner rates the visit low, which opens a complaint;
a care agent of the dealer notes and resolves it; the owner reads the resolution and confirms.
Every page fits 390 px and passes axe."""

import re

import pytest
from playwright.sync_api import expect

from app.core.clock import local_date
from app.extensions import db
from tests.browser.test_accessibility import violations
from tests.browser.test_journey import log_in
from tests.factories import make_member, make_staff, make_vehicle, record_car_visit

OWNER_MOBILE = "13700002020"


@pytest.fixture(scope="module")
def visited(live_server):
    """An owner of SZ01 whose car was serviced today (a questionnaire waits), and a care agent
    of SZ01: the agent's mobile."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        from app.members.services import get_dealer_by_code

        dealer_id = get_dealer_by_code("SZ01").id
        owner = make_member(dealer_id, name="Lin Tao", mobile=OWNER_MOBILE)
        record_car_visit(make_vehicle(owner), "RO-J20", local_date())
        agent = make_staff("care_agent", dealer_id).mobile
        db.session.commit()
    return agent


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _check(page, artifacts=None, shot: str | None = None) -> None:
    assert _fits(page), page.url
    assert violations(page) == [], page.url
    if shot:
        page.screenshot(path=artifacts / shot, full_page=True)


def test_a_low_score_opens_a_complaint_that_staff_resolve_and_the_owner_confirms(
    visited, new_phone, artifacts
):
    owner = new_phone()
    log_in(owner, OWNER_MOBILE)
    owner.get_by_role("link", name=re.compile(r"How was your visit on")).click()
    owner.wait_for_url("**/questionnaire")
    expect(owner.get_by_role("heading", level=1)).to_have_text("How was your visit?")
    _check(owner, artifacts, "phone-questionnaire.png")

    # A 3 of 10, a 2 for the advisor, a comment: too low, a complaint case opens.
    owner.locator("input[name=score][value='3']").check()
    owner.locator("input[name=advisor_rating][value='2']").check()
    owner.fill("#comment", "The car waited two hours and nobody called me.")
    owner.get_by_role("button", name="Send my answers").click()
    owner.wait_for_url("**/me/complaints/*")
    expect(owner.get_by_role("status").first).to_contain_text("your dealer will call you")
    expect(owner.locator(".status")).to_have_text("Received")
    expect(owner.locator(".complaint-text").first).to_contain_text("waited two hours")
    case_url = owner.url
    _check(owner, artifacts, "phone-complaint-received.png")

    # A care agent of the dealer finds it on the desk, notes and resolves it.
    agent = new_phone()
    log_in(agent, visited)
    agent.goto("/admin/")
    agent.get_by_role("link", name=re.compile("Complaints")).click()
    agent.wait_for_url("**/admin/care/complaints*")
    _check(agent, artifacts, "phone-complaints-staff-list.png")
    agent.get_by_role("link", name=re.compile("Lin Tao")).click()
    expect(agent.locator(".complaint-text")).to_contain_text("waited two hours")
    _check(agent)
    agent.fill("#body", "Called Mr Lin, apologised; the wait was a booking mix-up.")
    agent.get_by_role("button", name="Add the note").click()
    expect(agent.get_by_role("status").first).to_contain_text("Note added.")
    expect(agent.locator(".status")).to_have_text("Being handled")
    agent.fill(
        "#resolution", "We apologised and refunded the labour hour; bookings now get a call."
    )
    agent.get_by_role("button", name="Resolve and tell the owner").click()
    expect(agent.get_by_role("status").first).to_contain_text("Resolved")
    _check(agent, artifacts, "phone-complaint-staff.png")

    # The owner reads what was done (not the staff note) and confirms it is settled.
    owner.goto(case_url)
    expect(owner.locator(".status")).to_have_text("Resolved: please confirm")
    expect(owner.get_by_text("refunded the labour hour")).to_be_visible()
    expect(owner.get_by_text("booking mix-up")).to_have_count(0)
    _check(owner, artifacts, "phone-complaint-resolved.png")
    owner.get_by_role("button", name="Yes, it is settled").click()
    expect(owner.get_by_role("status").first).to_contain_text("the complaint is closed")
    expect(owner.locator(".status")).to_have_text("Closed")
    _check(owner)

    # The questionnaire now shows the answer; the list of complaints shows the closed case.
    owner.goto("/me/feedback")
    expect(owner.locator(".complaints")).to_contain_text("Closed")
    _check(owner, artifacts, "phone-feedback.png")

    # Raising one from "me": an empty complaint is refused with the reason, next to the field.
    owner.get_by_role("link", name="Raise a complaint").click()
    owner.get_by_role("button", name="Send the complaint").click()
    expect(owner.locator("#text-error")).to_contain_text("Tell us what went wrong.")
    _check(owner, artifacts, "phone-complaint-new.png")
