"""An owner finds a self-drive trip on the phone, signs up with family and opens the ticket.

The ticket's QR is decoded from a screenshot, as the gate's camera would read it, and must
hold a token the server signed for this registration. A second owner lands on the waiting
list and takes the place the first one gives up; at the gate, event staff check that owner in
from a photo of the owner's screen.
"""

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.core.clock import utcnow
from app.events.models import Event, EventRegistration
from app.extensions import db
from tests.browser.test_journey import card_qr, log_in
from tests.factories import make_event, make_member, make_staff, make_vehicle

FIRST, SECOND = "13700005555", "13700005556"


@pytest.fixture(scope="module")
def trip(live_server):
    """A one-car trip of SZ01 open for registration, and two owners with a car each."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        from app.members.services import get_dealer_by_code

        dealer = get_dealer_by_code("SZ01")
        organiser = make_staff("event_staff", dealer.id)
        now = utcnow()
        event = make_event(
            organiser,
            now=now,
            description="Two days by the lake, a barbecue and a night under the stars.",
            capacity=1,
            attendance_points=300,
            waiver_text="I drive my own car at my own risk and follow the lead car.",
        )
        for name, mobile in (("Huang Min", FIRST), ("Ma Lin", SECOND)):
            make_vehicle(make_member(dealer.id, name=name, mobile=mobile), model="Tiguan")
        db.session.commit()
        return event.id, organiser.mobile


def _sign_up(page, companions: str, names: str = "") -> None:
    page.get_by_role("link", name="Events").first.click()
    page.wait_for_url("**/events")
    page.get_by_role("link", name="Lake Dongjiang self-drive").click()
    expect(page.get_by_text("I drive my own car at my own risk")).to_be_visible()
    page.select_option("#companions", companions)
    if names:
        page.fill("#companion_names", names)
    page.check("#accept_waiver")
    page.locator("form.panel button[type=submit]").click()
    page.wait_for_url("**/me/tickets/*")


def test_owner_signs_up_and_opens_the_ticket_then_the_waiting_list_moves_up(
    trip, new_phone, live_server, artifacts
):
    trip, organiser = trip
    owner = new_phone()
    log_in(owner, FIRST)
    # Without the waiver the sign-up is refused and says why.
    owner.goto(f"/events/{trip}")
    owner.locator("form.panel button[type=submit]").click()
    expect(owner.locator(".error")).to_contain_text("Accept the waiver to join a trip.")

    _sign_up(owner, "2", "Li Mei, Huang Xiao")
    expect(owner.get_by_role("status").first).to_contain_text("You are in.")
    expect(owner.locator(".facts")).to_contain_text("You and 2 companions (Li Mei, Huang Xiao)")
    token = card_qr(owner, artifacts / "event-ticket.png")
    app = live_server.app
    with app.app_context():
        registration = db.session.scalar(
            select(EventRegistration).where(EventRegistration.event_id == trip)
        )
        claims = app.extensions["token_signer"].verify(token, kind="ticket", now=utcnow())
    assert claims.subject_id == registration.id

    other = new_phone()
    log_in(other, SECOND)
    _sign_up(other, "0")
    expect(other.locator(".ticket")).to_contain_text("You are number 1 on the waiting list.")
    other.screenshot(path=artifacts / "event-waiting.png", full_page=True)

    owner.get_by_role("button", name="Cancel my registration").click()
    owner.get_by_role("dialog").get_by_role("button", name="Cancel my registration").click()
    expect(owner.get_by_role("status").first).to_contain_text("goes to the next in line")

    other.reload()
    expect(other.locator(".ticket")).to_contain_text("A place is free for you.")
    other.get_by_role("button", name="Take the place").click()
    expect(other.get_by_role("status").first).to_contain_text("The place is yours.")
    screen = artifacts / "event-ticket-promoted.png"
    assert card_qr(other, screen).startswith("CC1.")

    # The trip day: the gate opens CHECKIN_OPENS_HOURS_BEFORE (2 h) before the start.
    with app.app_context():
        event = db.session.get(Event, trip)
        event.starts_at = utcnow() + timedelta(hours=1)
        event.ends_at = event.starts_at + timedelta(days=1)
        event.registration_closes_at = utcnow()
        db.session.commit()

    gate = new_phone()
    log_in(gate, organiser)
    gate.goto(f"/admin/events/{trip}")
    gate.get_by_role("link", name="Check-in at the gate").click()
    # Ready once the attendee list and keys are on the phone.
    gate.wait_for_function(
        "id => localStorage.getItem(`carclub.gate.${id}.data`) !== null", arg=trip
    )
    gate.set_input_files("#gate-photo", str(screen))
    result = gate.locator("#gate-result .gate-result")
    expect(result.locator(".gate-title")).to_have_text("✓ Checked in")
    expect(result.locator(".gate-name")).to_have_text("Ma Lin")
    gate.screenshot(path=artifacts / "event-gate.png")
    with app.app_context():
        from app.events.models import CheckIn
        from app.loyalty.services import account_for
        from app.members.models import Member

        (check,) = db.session.scalars(select(CheckIn).where(CheckIn.event_id == trip)).all()
        member = db.session.scalar(select(Member).where(Member.name == "Ma Lin"))
        assert db.session.get(EventRegistration, check.registration_id).member_id == member.id
        assert account_for(member).balance == 300
