"""axe-core finds no accessibility violations on the pages owners and staff use most."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from app.core.clock import utcnow
from app.events.models import EventKind
from app.events.services import sign_up
from app.extensions import db
from app.members.services import get_dealer_by_code
from tests.browser.test_journey import log_in, register_owner
from tests.factories import make_event, make_member, make_staff, make_vehicle

AXE = Axe()
# Full-page screenshots at 390x844 of the pages `make audit` scores, to look at after a change.
SHOTS = {"/": "phone-home.png", "/card": "phone-card.png"}


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
    page.fill("#mobile", "1234")
    page.click("form button[type=submit]")
    # count() does not wait for the answer to the form: the message does.
    expect(page.locator("#mobile-error")).to_contain_text("11 digits")
    assert violations(page) == []


def test_owner_pages_are_accessible(new_phone, artifacts):
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
        if path in SHOTS:
            page.screenshot(path=artifacts / SHOTS[path], full_page=True)


def test_staff_pages_are_accessible(new_phone, live_server):
    page = new_phone()
    log_in(page, live_server.staff_mobile)
    for path in ("/admin/", "/admin/members", "/admin/members?q=zz", "/admin/scan"):
        page.goto(path)
        assert violations(page) == [], path
    page.fill("textarea", "CC1.forged")
    page.click("form button[type=submit]")
    expect(page.locator(".result-bad")).to_be_visible()
    assert violations(page) == []


@pytest.fixture(scope="module")
def events(live_server) -> dict:
    """SZ01's trip (one owner signed up with a companion), a paid dinner and a lecture with a
    points deposit; an owner who has not signed up; their event staff member."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        dealer = get_dealer_by_code("SZ01")
        staff = make_staff("event_staff", dealer.id)
        now = utcnow()
        trip = make_event(
            staff,
            now=now,
            description="Two days by the lake.\nA barbecue and a night under the stars.",
            attendance_points=300,
        )
        dinner = make_event(
            staff, now=now, kind=EventKind.OTHER, title="Members' dinner", price_fen=19_900
        )
        lecture = make_event(
            staff, now=now, kind=EventKind.LECTURE, title="Winter care", deposit_points=50
        )
        driver = make_member(dealer.id, name="Access Driver")
        registration = sign_up(
            driver,
            trip.id,
            vehicle_id=make_vehicle(driver).id,
            companions=1,
            companion_names="Li Mei",
            accept_waiver=True,
        )
        newcomer = make_member(dealer.id, name="Access Newcomer")
        make_vehicle(newcomer)
        info = {
            "trip": trip.id,
            "dinner": dinner.id,
            "lecture": lecture.id,
            "registration": registration.id,
            "driver": driver.user.mobile,
            "newcomer": newcomer.user.mobile,
            "staff": staff.mobile,
        }
        db.session.commit()
    return info


def test_event_pages_are_accessible(new_phone, events, artifacts):
    page = new_phone()
    log_in(page, events["driver"])
    shots = {
        "/events": "phone-events.png",
        f"/events/{events['trip']}": "phone-event.png",
        f"/me/tickets/{events['registration']}": "phone-ticket.png",
    }
    for path in (
        "/events",
        "/events?kind=trip",
        f"/events/{events['trip']}",
        f"/events/{events['dinner']}",
        f"/events/{events['lecture']}",
        "/me/tickets",
        f"/me/tickets/{events['registration']}",
    ):
        page.goto(path)
        assert violations(page) == [], path
        if path in shots:
            page.screenshot(path=artifacts / shots[path], full_page=True)


def test_the_sign_up_form_is_accessible_with_and_without_errors(new_phone, events):
    page = new_phone()
    log_in(page, events["newcomer"])
    page.goto(f"/events/{events['trip']}")
    expect(page.locator("#accept_waiver")).to_be_visible()
    assert violations(page) == []
    page.locator("form.panel button[type=submit]").click()
    expect(page.locator(".error").first).to_be_visible()
    assert violations(page) == []


def test_the_gate_is_accessible(new_phone, events, artifacts):
    page = new_phone()
    log_in(page, events["staff"])
    for path in ("/admin/events", f"/admin/events/{events['trip']}"):
        page.goto(path)
        assert violations(page) == [], path
    page.goto(f"/admin/events/{events['trip']}/checkin")
    # Once the attendee list and keys are on the phone, as at a real gate.
    page.wait_for_function(
        "id => localStorage.getItem(`carclub.gate.${id}.data`) !== null", arg=events["trip"]
    )
    expect(page.get_by_role("button", name="Scan tickets with the camera")).to_be_visible()
    assert violations(page) == []
    page.screenshot(path=artifacts / "phone-gate.png", full_page=True)
    page.fill("#ticket", "CC1.forged")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.locator("#gate-result .gate-result")).to_have_class("gate-result gate-bad")
    assert violations(page) == []
