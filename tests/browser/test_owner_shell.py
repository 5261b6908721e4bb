"""The owner's shell on phones of 390×844 and 360×740, in English and Chinese: the tab bar on
every owner page with the current tab marked, no sideways scrolling, tap targets of 44 px or
more on the shell's parts, axe clean on home, tier and service history; screenshots of them.

Every other tap target of every owner page is held to 44 px by test_phone_fit.py."""

from datetime import date, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe

from app.core.clock import utcnow
from app.events.models import EventKind
from app.events.services import sign_up
from app.extensions import db
from app.loyalty.ledger import post_points
from app.loyalty.models import EntryKind
from app.loyalty.services import account_for
from app.members.inbox import notify
from app.members.services import get_dealer_by_code
from app.service.services import refund_visit
from tests.browser.conftest import PHONE
from tests.browser.test_journey import log_in
from tests.factories import (
    make_event,
    make_member,
    make_reward,
    make_staff,
    make_vehicle,
    record_car_visit,
)
from tests.partners.helpers import make_partner, make_perk

AXE = Axe()
PHONES = {"390": {"width": 390, "height": 844}, "360": {"width": 360, "height": 740}}
# The shell's own parts: each must be a target of 44 × 44 px at least.
SHELL_TARGETS = (
    ".tabbar a, .topbar-inbox, .card-summary, .car-row, .more, .shortcuts a, .news a, "
    ".menu a, .add-car .btn, .footer .lang a, main form button"
)
SMALL_TARGETS_JS = """selector => [...document.querySelectorAll(selector)]
  .filter(e => e.offsetParent !== null || getComputedStyle(e).position === 'fixed')
  .map(e => [e, e.getBoundingClientRect()])
  .filter(([e, r]) => r.width < 44 || r.height < 44)
  .map(([e, r]) => `${e.tagName.toLowerCase()}${e.className ? '.' + e.className : ''} `
    + `"${(e.innerText || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 40)}" `
    + `${Math.round(r.width)}x${Math.round(r.height)}`)"""


@pytest.fixture(scope="module")
def owner(live_server) -> dict:
    """An owner at platinum by points of 11 months ago, with two cars (one with visits, one
    refunded, one just delivered), an event ticket, an open event, a message, points expiring
    soon, and perks and rewards of every tier; and an owner with no car yet."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        dealer = get_dealer_by_code("SZ01")
        now = utcnow()
        today = now.date()
        member = make_member(dealer.id, name="Wang Fang")
        account = account_for(member)
        post_points(
            account.id,
            5600,
            kind=EntryKind.EARN,
            source="event",
            qualifying=True,
            now=now - timedelta(days=330),
        )
        post_points(
            account.id, 300, kind=EntryKind.EARN, source="goodwill", now=now - timedelta(days=710)
        )
        account.review_on = today + timedelta(days=60)
        car = make_vehicle(
            member,
            model="Sagitar",
            purchased_on=date(2025, 6, 18),
            delivered_on=date(2025, 6, 20),
        )
        car.insurance_expires_on = date(2027, 6, 19)
        car.inspection_due_on = date(2027, 6, 30)
        record_car_visit(car, "RO-2210", today - timedelta(days=50), mileage_km=9_820)
        record_car_visit(
            car,
            "RO-2291",
            today - timedelta(days=20),
            mileage_km=10_460,
            amount_fen=125_000,
            category="repair",
        )
        refund_visit(None, dealer_id=dealer.id, ro_number="RO-2291")
        record_car_visit(
            car,
            "RO-2305",
            today - timedelta(days=12),
            mileage_km=10_610,
            amount_fen=36_800,
            category="repair",
        )
        make_vehicle(
            member,
            model="Tiguan L",
            purchased_on=today - timedelta(days=30),
            delivered_on=today - timedelta(days=28),
        )
        staff = make_staff("event_staff", dealer.id)
        trip = make_event(staff, now=now, title="Lake Dongjiang self-drive")
        sign_up(member, trip.id, vehicle_id=car.id, accept_waiver=True)
        make_event(
            staff,
            now=now,
            kind=EventKind.LECTURE,
            title="Winter care lecture",
            place="Showroom",
            starts_at=now + timedelta(days=14),
            ends_at=now + timedelta(days=14, hours=2),
            waiver_text="",
        )
        notify(
            member,
            "welcome",
            lambda: ("Your winter check", "Free battery test this month."),
            dedupe_key="shell-welcome",
        )
        hotel = make_partner(name="Seaview Hotel")
        make_perk(hotel, title="Late checkout")
        make_perk(hotel, title="Suite upgrade", min_tier_code="diamond")
        make_reward(name="Car wash", cost_points=800)
        make_reward(name="Fuel card ¥100", cost_points=3000, min_tier_code="platinum")
        make_reward(name="Detailing", cost_points=6000, min_tier_code="diamond")
        newcomer = make_member(dealer.id, name="Zhao Min")
        info = {
            "mobile": member.user.mobile,
            "car": car.id,
            "newcomer": newcomer.user.mobile,
        }
        db.session.commit()
    return info


@pytest.fixture
def phone(browser, live_server):
    """Open a logged-in phone of a size, in a language; closed after the test."""
    contexts = []

    def open_phone(mobile: str, size: str = "390", lang: str = "en"):
        context = browser.new_context(
            base_url=live_server.url, **{**PHONE, "viewport": PHONES[size]}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        log_in(page, mobile)
        page.goto(f"/lang/{lang}?next=/")
        return page

    yield open_phone
    for context in contexts:
        context.close()


def owner_pages(owner) -> dict[str, str]:
    """Each owner page checked, and the tab it belongs to."""
    return {
        "/": "/",
        "/card": "/card",
        "/events": "/events",
        "/rewards": "/rewards",
        "/me/points": "/me",
        "/me": "/me",
        "/me/tier": "/me",
        f"/me/vehicles/{owner['car']}": "/me",
    }


def check_shell(page, path: str, tab: str) -> None:
    """Open ``path``; assert the tab bar, its current tab, no sideways scroll and 44 px targets
    in the shell's parts."""
    page.goto(path)
    bar = page.get_by_role("navigation", name=page.locator(".tabbar").get_attribute("aria-label"))
    assert bar.is_visible(), path
    assert bar.locator("a").count() == 5, path
    current = bar.locator("a[aria-current=page]")
    assert current.count() == 1 and current.get_attribute("href") == tab, path
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
    assert page.evaluate(SMALL_TARGETS_JS, SHELL_TARGETS) == [], path
    # The tab bar hides nothing: the page's end scrolls clear of it.
    # Scrolled and measured in one go: the card's script may still be filling the page in.
    footer_end, bar_top = page.evaluate(
        """() => {
        window.scrollTo(0, document.documentElement.scrollHeight);
        return [document.querySelector('footer').getBoundingClientRect().bottom,
                document.querySelector('.tabbar').getBoundingClientRect().top];
    }"""
    )
    assert footer_end <= bar_top + 1, path


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("size", ["390", "360"])
def test_the_tab_bar_is_on_every_owner_page(phone, owner, size, lang):
    page = phone(owner["mobile"], size, lang)
    for path, tab in owner_pages(owner).items():
        check_shell(page, path, tab)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_home_card_tier_and_service_history_are_accessible(phone, owner, artifacts, lang):
    page = phone(owner["mobile"], "390", lang)
    folder = artifacts / "shell"
    folder.mkdir(exist_ok=True)
    for path, name in (
        ("/", "home"),
        ("/card", "card"),
        ("/me/tier", "tier"),
        (f"/me/vehicles/{owner['car']}", "service-history"),
        ("/me", "me"),
    ):
        page.goto(path)
        results = AXE.run(page).response["violations"]
        assert [f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}" for v in results] == [], path
        screenshot(page, folder / f"{name}-{lang}.png")


def screenshot(page, path) -> None:
    """The whole page as a phone shows it scrolled to each part, the tab bar at the bottom;
    and the first screen alone (``*-screen.png``, the manifest's screenshots)."""
    page.screenshot(path=path.with_name(f"{path.stem}-screen.png"))
    size = page.viewport_size
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": height})
    page.screenshot(path=path)
    page.set_viewport_size(size)


def test_a_new_owner_sees_add_your_car_first(phone, owner, size="360"):
    page = phone(owner["newcomer"], size)
    check_shell(page, "/", "/")
    add = page.get_by_role("link", name="Add a car")
    card = page.locator(".card-summary")
    assert add.bounding_box()["y"] < card.bounding_box()["y"]
    assert add.bounding_box()["y"] + add.bounding_box()["height"] < PHONES[size]["height"]
