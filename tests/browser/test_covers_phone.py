"""Staff put a cover on an event from the phone; the owner's event page shows it at 390 x 844
without moving anything as it arrives, and without scrolling sideways."""

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from app.core.clock import utcnow
from app.extensions import db
from tests.browser.test_journey import log_in
from tests.factories import make_event, make_member, make_staff

OWNER = "13700007777"

# The layout shifts the page has had so far, as Chromium reports them.
LAYOUT_SHIFT = """() => new Promise(resolve => {
  let total = 0;
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
  }).observe({type: "layout-shift", buffered: true});
  setTimeout(() => resolve(total), 300);
})"""


def scenic(path, size=(2400, 1600)) -> None:
    """A photo-like JPEG: an evening sky over a lake and a road to the hills."""
    width, height = size
    picture = Image.new("RGB", size)
    draw = ImageDraw.Draw(picture)
    for y in range(height):
        t = y / height
        sky = (int(40 + 200 * t), int(90 + 80 * t), int(160 - 60 * t))
        draw.line([(0, y), (width, y)], fill=sky if t < 0.55 else (30, 70, 110))
    draw.polygon([(0, height * 0.6), (width * 0.35, height * 0.35), (width * 0.7, height * 0.6)],
                 fill=(40, 60, 50))  # fmt: skip
    draw.polygon([(width * 0.45, height), (width * 0.55, height * 0.6), (width * 0.6, height * 0.6),
                  (width * 0.85, height)], fill=(70, 70, 75))  # fmt: skip
    picture.save(path, "JPEG", quality=90)


@pytest.fixture(scope="module")
def event(live_server):
    app = live_server.app
    with app.app_context(), app.test_request_context():
        from app.members.services import get_dealer_by_code

        dealer = get_dealer_by_code("SZ01")
        organiser = make_staff("event_staff", dealer.id)
        event = make_event(
            organiser,
            now=utcnow(),
            title="Lake Dongjiang self-drive",
            description="Two days by the lake, a barbecue and a night under the stars.",
        )
        make_member(dealer.id, name="Lin Hua", mobile=OWNER)
        db.session.commit()
        return event.id, organiser.mobile


def test_the_event_page_shows_the_cover_without_shifting(new_phone, event, artifacts, tmp_path):
    event_id, organiser = event
    photo = tmp_path / "lake.jpg"
    scenic(photo)
    staff = new_phone()
    log_in(staff, organiser)
    staff.goto(f"/admin/events/{event_id}/edit")
    staff.set_input_files("#cover", str(photo))
    staff.get_by_role("button", name="Save").click()
    expect(staff.get_by_text("The event is saved.")).to_be_visible()

    owner = new_phone()
    log_in(owner, OWNER)
    owner.goto(f"/events/{event_id}")
    hero = owner.locator("img.event-hero")
    expect(hero).to_be_visible()
    owner.wait_for_function("document.querySelector('img.event-hero').complete")
    # A 3x phone picks the 960-pixel rendition; the box is 2:1 across the page.
    assert hero.evaluate("img => img.currentSrc").endswith("-960.webp")
    assert hero.evaluate("img => img.naturalWidth") > 0
    box = hero.bounding_box()
    assert abs(box["width"] - 2 * box["height"]) < 2
    assert owner.evaluate(LAYOUT_SHIFT) == 0
    assert owner.evaluate("document.documentElement.scrollWidth") <= 390
    owner.screenshot(path=str(artifacts / "event-cover-phone.png"))

    owner.goto("/events")
    card = owner.locator("img.event-cover").first
    expect(card).to_be_visible()
    assert owner.evaluate(LAYOUT_SHIFT) == 0
    assert owner.evaluate("document.documentElement.scrollWidth") <= 390
    owner.screenshot(path=str(artifacts / "events-cover-phone.png"))
