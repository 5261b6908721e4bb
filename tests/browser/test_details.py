"""The details an owner's thumb finds on a phone (390×844): the chosen tab or filter is marked
and looks chosen, a refused form shows its errors in the first screen and reads them out, the
confirmation sheet asks before a destructive step and sends it once, every field is a 44 px
field, and the pages touched stay axe clean."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from demo.seed import DEMO_OWNER, EVENT_STAFF_MOBILE, PARTNER_MOBILE
from tests.browser.demo_world import demo_log_in, seed_demo_world

AXE = Axe()
# A demo owner of SZ01 with a car, not signed up to the demo trip.
SZ01_OWNER = "13900000003"
BACKGROUND_JS = "e => getComputedStyle(e).backgroundColor"


@pytest.fixture(scope="module")
def demo(live_server) -> None:
    """The demo data, and the demo owner with one of most things (tests/browser/demo_world.py)."""
    seed_demo_world(live_server.app)


def violations(page) -> list[str]:
    """axe-core's violations on the current page, one line each."""
    found = AXE.run(page).response["violations"]
    return [f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}" for v in found]


def assert_chosen(page, nav_name: str, chosen: str) -> None:
    """In the tabs named ``nav_name`` only ``chosen`` is current, and it looks unlike the rest."""
    nav = page.get_by_role("navigation", name=nav_name)
    current = nav.locator("a[aria-current]")
    expect(current).to_have_count(1)
    expect(current).to_contain_text(chosen)
    other = nav.locator("a:not([aria-current])").first
    assert current.evaluate(BACKGROUND_JS) != other.evaluate(BACKGROUND_JS), nav_name


def test_the_chosen_tab_or_filter_is_marked_and_looks_chosen(new_phone, demo):
    owner = new_phone()
    demo_log_in(owner, DEMO_OWNER)
    owner.goto("/events")
    assert_chosen(owner, "Event types", "All")
    types = owner.get_by_role("navigation", name="Event types")
    types.get_by_role("link", name="Self-drive trip").click()
    owner.wait_for_url("**/events?kind=trip")
    assert_chosen(owner, "Event types", "Self-drive trip")
    for path, name, first, then in (
        ("/me/vouchers", "Voucher groups", "To use", "Used"),
        ("/me/perks", "Perk groups", "To use", "Expired"),
    ):
        owner.goto(path)
        assert_chosen(owner, name, first)
        owner.get_by_role("navigation", name=name).get_by_role("link", name=then).click()
        assert_chosen(owner, name, then)
        assert violations(owner) == [], path

    staff = new_phone()
    demo_log_in(staff, EVENT_STAFF_MOBILE)
    staff.goto("/admin/events?when=past")
    assert_chosen(staff, "When", "Past")
    partner = new_phone()
    demo_log_in(partner, PARTNER_MOBILE)
    partner.goto("/partner/settlement")
    assert_chosen(partner, "Partner", "Settlement")


def test_a_refused_sign_up_shows_and_reads_out_its_error_in_the_first_screen(new_phone, demo):
    owner = new_phone()
    demo_log_in(owner, SZ01_OWNER)
    owner.goto("/events")
    owner.get_by_role("link", name=re.compile("Lake Dongjiang self-drive")).click()
    owner.locator("form.panel button[type=submit]").click()  # the waiver is not accepted
    summary = owner.get_by_role("alert").first
    expect(summary).to_contain_text("Accept the waiver to join a trip.")
    expect(summary).to_be_focused()
    box = summary.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 844
    # Its link leads to the field to correct.
    summary.get_by_role("link").click()
    expect(owner.locator("#accept_waiver")).to_be_focused()
    assert violations(owner) == []


def test_the_confirmation_sheet_asks_first_and_sends_once(new_phone, demo):
    owner = new_phone()
    demo_log_in(owner, DEMO_OWNER)
    posts = []
    owner.on("request", lambda r: r.method == "POST" and "/withdraw" in r.url and posts.append(r))
    owner.goto("/me/referrals")
    withdraw = owner.get_by_role("button", name="Withdraw")
    sheet = owner.get_by_role("dialog", name="Withdraw the referral of Qian Yu?")

    # Esc, then "Go back": nothing is sent, the focus comes back to the button.
    withdraw.click()
    expect(sheet).to_be_visible()
    expect(sheet.get_by_role("button", name="Go back")).to_be_focused()
    assert violations(owner) == []
    owner.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    expect(withdraw).to_be_focused()
    withdraw.click()
    sheet.get_by_role("button", name="Go back").click()
    expect(sheet).to_be_hidden()
    assert posts == []

    # The confirm button says what it does; a double tap sends the form once.
    withdraw.click()
    confirm = sheet.get_by_role("button", name="Withdraw")
    expect(confirm).to_be_visible()
    with owner.expect_navigation():
        confirm.evaluate("b => { b.click(); b.click(); }")
    expect(owner.get_by_role("status").first).to_be_visible()
    assert len(posts) == 1
    expect(owner.get_by_role("button", name="Withdraw")).to_have_count(0)


def test_the_sheet_speaks_chinese(new_phone, demo):
    owner = new_phone()
    demo_log_in(owner, DEMO_OWNER)
    owner.goto("/lang/zh?next=/me/vehicles")
    owner.get_by_role("button", name="移除").first.click()
    sheet = owner.get_by_role("dialog")
    expect(sheet.get_by_role("button", name="移除这辆车")).to_be_visible()
    expect(sheet.get_by_role("button", name="返回")).to_be_visible()
    owner.keyboard.press("Escape")
    expect(sheet).to_be_hidden()


def test_every_field_is_a_44_px_field(new_phone, demo):
    owner = new_phone()
    demo_log_in(owner, DEMO_OWNER)
    owner.goto("/me/profile")
    name = owner.locator("#name").bounding_box()
    owner.goto("/me/notifications")
    email = owner.locator("input[type=email]").bounding_box()
    assert email["height"] >= 44
    assert abs(email["width"] - name["width"]) <= 1
    assert violations(owner) == []
    # Each kind of field on the add-a-car form: text, date, select.
    owner.goto("/me/vehicles/new")
    heights = owner.eval_on_selector_all(
        "main form input:not([type=hidden]):not([type=checkbox]), main form select",
        "es => es.map(e => [e.type, e.getBoundingClientRect().height])",
    )
    assert heights and all(h >= 44 for _, h in heights), heights
