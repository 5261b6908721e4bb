"""Event outreach on a phone of 390×844, in English and Chinese (issue 21): an owner's ticket
with "Add to calendar" (the file downloads) and the map link, and the organiser's invitations
page after a round; each fits the screen and passes axe. Screenshots go to
test-artifacts/outreach/."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.campaigns.calls.targeting import TargetFilters
from app.campaigns.event_invites.services import invite_owners
from app.core.clock import utcnow
from app.events.invitations import open_invitation
from app.events.models import EventInvitation, EventKind
from app.events.services import sign_up
from app.extensions import db
from app.members.services import get_dealer_by_code
from tests.browser.conftest import PHONE
from tests.browser.test_accessibility import violations
from tests.browser.test_journey import log_in
from tests.campaigns.broadcasts.helpers import owner_with_car
from tests.factories import make_event, make_staff


@pytest.fixture(scope="module")
def outreach(live_server) -> dict:
    """A lecture of SZ01 in five days, three owners invited (one opened it and signed up), and
    its organiser. Their mobiles and the ids the pages need."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        dealer_id = get_dealer_by_code("SZ01").id
        now = utcnow()
        organiser = make_staff("event_staff", dealer_id)
        event = make_event(
            organiser,
            now=now,
            kind=EventKind.LECTURE,
            title="车主讲堂：冬季用车与电瓶保养",
            place="深圳市南山区科技园北区朗山路 18 号 4S 店二楼讲堂",
            description="Winter care: batteries, tyres and the heater.",
            starts_at=now + timedelta(days=5),
            ends_at=now + timedelta(days=5, hours=2),
            registration_closes_at=now + timedelta(days=4),
            capacity=30,
        )
        owners = [
            owner_with_car(dealer_id, name, plate=f"粤B{n:05d}", marketing_opt_in=True)
            for n, name in enumerate(("Wang Xiaoming", "李娜", "Chen Jie"), start=70001)
        ]
        invite_owners(organiser, event.id, TargetFilters(plate_prefix="粤B7"), now=now)
        invitation = db.session.query(EventInvitation).filter_by(member_id=owners[0].id).one()
        open_invitation(owners[0], invitation.id, now=now)
        ticket = sign_up(owners[0], event.id, now=now)
        data = {
            "owner": owners[0].user.mobile,
            "organiser": organiser.mobile,
            "event_id": event.id,
            "ticket_id": ticket.id,
        }
        db.session.commit()
    return data


@pytest.fixture
def phone(browser, live_server):
    contexts = []

    def open_phone(mobile: str, lang: str):
        context = browser.new_context(base_url=live_server.url, accept_downloads=True, **PHONE)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        log_in(page, mobile)
        page.goto(f"/lang/{lang}?next=/")
        return page

    yield open_phone
    for context in contexts:
        context.close()


def _check(page, path) -> None:
    """Fits the width, passes axe; the whole page shot as tall as it is (the tab bar last)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url
    assert violations(page) == [], page.url
    size = page.viewport_size
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": height})
    page.screenshot(path=path)
    page.set_viewport_size(size)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_ticket_and_invitations_pages_on_a_phone(phone, outreach, artifacts, lang):
    folder = artifacts / "outreach"
    folder.mkdir(exist_ok=True)
    owner = phone(outreach["owner"], lang)
    owner.goto(f"/me/tickets/{outreach['ticket_id']}")
    calendar = owner.locator(f"a[href='/me/tickets/{outreach['ticket_id']}/calendar.ics']")
    expect(calendar).to_be_visible()
    maps = owner.locator("a.map-link")
    assert maps.get_attribute("href").startswith("https://uri.amap.com/search?keyword=")
    _check(owner, folder / f"ticket-{lang}.png")
    with owner.expect_download() as download:
        calendar.click()
    assert download.value.suggested_filename == f"event-{outreach['event_id']}.ics"
    assert "BEGIN:VEVENT" in download.value.path().read_text(encoding="utf-8")

    organiser = phone(outreach["organiser"], lang)
    organiser.goto(f"/admin/events/{outreach['event_id']}/invitations")
    organiser.locator("button[value=count]").click()
    expect(organiser.locator(".invite-plan")).to_be_visible()
    stats = organiser.locator(".funnel li strong")
    expect(stats).to_have_text(["3", "1", "1", "0"])
    _check(organiser, folder / f"invitations-{lang}.png")
