"""A care agent's day on the phone (issue 20): a lost owner's recall call booked into a free
service time, which the owner then finds in their appointments; and a 48-hour callback after a
visit, not reached once, then reached. Every page fits 390 px and passes axe."""

import re
from datetime import date, time, timedelta

import pytest
from playwright.sync_api import expect

from app.core.clock import local_date
from app.extensions import db
from tests.browser.test_accessibility import violations
from tests.browser.test_journey import log_in
from tests.care.helpers import add_visit, make_car, make_owner
from tests.factories import make_member, make_staff, make_vehicle, record_car_visit


@pytest.fixture(scope="module")
def desk(live_server):
    """In SZ01: an owner unseen for 120 days whom the daily care job turned into a recall call,
    an owner serviced today (the 48-hour callback), free service times tomorrow and a care
    agent. Their mobiles."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        from app.care.schedule import run_daily
        from app.members.services import get_dealer_by_code
        from app.service.workshop import add_slots

        dealer_id = get_dealer_by_code("SZ01").id
        today = local_date()
        lost = make_owner(dealer_id, name="Lost Liu", marketing_opt_in=True)
        car = make_car(lost, purchased_on=date(2024, 5, 1), delivered_on=date(2024, 5, 3))
        add_visit(car, on=today - timedelta(days=120), km=9_000)
        mobiles = {"lost": lost.user.mobile}
        db.session.commit()
        run_daily()
        visited = make_member(dealer_id, name="Chen Callback")
        record_car_visit(make_vehicle(visited), "RO-J21", today)
        add_slots(
            make_staff("service_advisor", dealer_id),
            day=today + timedelta(days=1),
            first=time(9),
            last=time(10),
            every_minutes=30,
            capacity=2,
        )
        mobiles["agent"] = make_staff("care_agent", dealer_id).mobile
        db.session.commit()
    return mobiles


def _check(page, artifacts=None, shot: str | None = None) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url
    assert violations(page) == [], page.url
    if shot:
        page.screenshot(path=artifacts / shot, full_page=True)


def _open_task(agent, name: str, kind: str) -> None:
    agent.goto("/admin/")
    agent.get_by_role("link", name=re.compile("Owners to call today")).click()
    agent.wait_for_url("**/admin/care/tasks")
    agent.get_by_role("link").filter(has_text=name).filter(has_text=kind).click()
    agent.wait_for_url("**/admin/care/tasks/*")


def test_a_recall_call_books_a_free_time_the_owner_then_sees(desk, new_phone, artifacts):
    agent = new_phone()
    log_in(agent, desk["agent"])
    _open_task(agent, "Lost Liu", "Lost owner recall")
    facts = agent.locator(".facts")
    expect(facts).to_contain_text("Recall class")
    expect(facts).to_contain_text("Local, in warranty")
    expect(facts).to_contain_text("Last seen")
    _check(agent, artifacts, "phone-care-recall-task.png")

    agent.get_by_label("Reached: booked a visit").check()
    times = agent.get_by_label("Book a service time")
    chosen = times.locator("option").nth(1)
    expect(chosen).to_contain_text("09:00")
    times.select_option(chosen.get_attribute("value"))
    agent.get_by_role("button", name="Log the call").click()
    agent.wait_for_url("**/admin/care/tasks")
    expect(agent.get_by_role("status").first).to_contain_text("Reached")
    expect(agent.get_by_text("The service time is booked and the owner is told.")).to_be_visible()
    expect(agent.locator(".care-tasks")).not_to_contain_text("Lost Liu")
    _check(agent, artifacts, "phone-care-recall-booked.png")

    # The owner finds the time in their appointments, told it was booked for them, and may
    # cancel it there.
    owner = new_phone()
    log_in(owner, desk["lost"])
    owner.goto("/me/appointments")
    booked = owner.locator(".appointments .appointment").first
    expect(booked).to_contain_text("09:00")
    expect(booked.locator(".appointment-status")).to_have_text("Booked")
    expect(booked.get_by_role("button", name="Cancel")).to_be_visible()
    _check(owner, artifacts, "phone-care-recall-owner-appointment.png")


def test_a_48_hour_callback_not_reached_then_reached(desk, new_phone, artifacts):
    agent = new_phone()
    log_in(agent, desk["agent"])
    _open_task(agent, "Chen Callback", "Call by")
    _check(agent, artifacts, "phone-care-callback-task.png")

    agent.get_by_role("button", name="Not reached").click()
    expect(agent.get_by_role("status").first).to_contain_text("Try again at another time")
    expect(agent.locator(".attempts")).to_contain_text("not reached")
    expect(agent.get_by_role("button", name="Reached: satisfied")).to_be_visible()
    _check(agent)

    agent.fill("#note", "Happy with the service, asked about winter tyres.")
    agent.get_by_role("button", name="Reached: satisfied").click()
    agent.wait_for_url("**/admin/care/tasks")
    expect(agent.get_by_role("status").first).to_contain_text("Reached")
    expect(agent.locator(".care-tasks")).not_to_contain_text("Chen Callback")
    _check(agent, artifacts, "phone-care-callback-done.png")
