"""A care agent works a campaign's call list on the phone: opens an owner, shows the number to
call, records "interested" and sees the owner move out of the list still to call."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.campaigns.calls import groups, services
from app.campaigns.calls.targeting import TargetFilters
from app.core.clock import local_date
from app.extensions import db
from tests.browser.test_journey import log_in
from tests.factories import make_member, make_staff, make_vehicle

AGENT_MOBILE = "13800007777"
MANAGER_MOBILE = "13800007778"


@pytest.fixture(scope="module")
def campaign(live_server):
    """A launched SZ01 campaign of three owners' cars, all on the agent's list."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        from app.members.services import get_dealer_by_code

        dealer = get_dealer_by_code("SZ01")
        manager = make_staff("showroom_manager", dealer.id)
        manager.mobile = MANAGER_MOBILE
        agent = make_staff("care_agent", dealer.id)
        agent.mobile = AGENT_MOBILE
        for name, model in (("Guo Jing", "新君威"), ("Huang Rong", "GL8"), ("Yang Guo", "陆尊")):
            owner = make_member(dealer.id, name=name)
            owner.marketing_opt_in = True  # campaigns invite and call only these owners
            make_vehicle(owner, model=model)
        today = local_date()
        campaign = services.create_campaign(
            manager,
            services.CampaignData(
                name="Air-conditioning care",
                starts_on=today - timedelta(days=3),
                ends_on=today + timedelta(days=60),
                offer="预约礼: a CD",
                call_script="Hello, this is your service centre: a free air-conditioning check…",
            ),
        )
        groups.add_group(manager, campaign.id, name="Every car", filters=TargetFilters())
        services.launch_campaign(manager, campaign.id, agent_ids=[agent.id])
        draft = services.create_campaign(
            manager,
            services.CampaignData(
                name="Tyre week",
                starts_on=today + timedelta(days=70),
                ends_on=today + timedelta(days=77),
            ),
        )
        db.session.commit()
        return {"draft": draft.id, "launched": campaign.id}


def fits_the_phone(page) -> bool:
    """Nothing is wider than the 390 px screen."""
    return page.evaluate("document.documentElement.scrollWidth <= 390")


def test_agent_records_interested_on_the_phone(campaign, new_phone, artifacts):
    phone = new_phone()
    log_in(phone, AGENT_MOBILE)
    phone.get_by_role("link", name="My call list").first.click()
    phone.wait_for_url("**/admin/campaigns/calls")
    expect(phone.get_by_role("heading", level=1)).to_have_text("My call list")
    items = phone.locator(".call-list li")
    expect(items).to_have_count(3)
    assert fits_the_phone(phone)
    phone.screenshot(path=artifacts / "campaign-calls.png", full_page=True)

    first = items.first
    name = first.locator("strong").inner_text()
    first.get_by_role("link").click()
    phone.wait_for_url("**/admin/campaigns/calls/*")
    expect(phone.get_by_role("heading", level=1)).to_have_text(name)
    expect(phone.locator(".script")).to_contain_text("free air-conditioning check")
    expect(phone.locator("a[href^='tel:']")).to_have_count(0)
    phone.get_by_role("button", name="Show the number to call").click()
    expect(phone.locator("a[href^='tel:']")).to_have_count(1)
    assert fits_the_phone(phone)
    phone.screenshot(path=artifacts / "campaign-call.png", full_page=True)

    phone.fill("#note", "Will come on Saturday if he can")
    phone.get_by_role("button", name="Interested").click()
    phone.wait_for_url("**/admin/campaigns/calls")
    expect(phone.get_by_role("status").first).to_contain_text("Call recorded: Interested.")
    expect(items).to_have_count(2)
    expect(phone.locator(".call-list")).not_to_contain_text(name)
    assert fits_the_phone(phone)

    # Under "All" the owner is there with the outcome.
    phone.get_by_role("link", name=re.compile(r"^All \d+$")).click()
    row = phone.locator(".call-list li", has_text=name)
    expect(row.locator(".chip")).to_have_text("Interested")
    assert fits_the_phone(phone)


def test_manager_sees_the_count_change_with_the_filters(campaign, new_phone):
    phone = new_phone()
    log_in(phone, MANAGER_MOBILE)
    phone.get_by_role("link", name="Campaigns").first.click()
    phone.wait_for_url("**/admin/campaigns")
    phone.get_by_role("link", name="Tyre week").click()
    phone.get_by_role("link", name="Add a group").click()
    phone.wait_for_url(f"**/admin/campaigns/{campaign['draft']}/groups/new")
    count = phone.locator("#live-count")
    expect(count).to_have_text("3 cars match · 3 owners")
    assert fits_the_phone(phone)

    phone.fill("#plate_prefix", "粤A")
    expect(count).to_have_text("0 cars match · 0 owners")
    phone.fill("#plate_prefix", "")
    phone.get_by_label("GL8").check()
    phone.get_by_label("陆尊").check()
    expect(count).to_have_text("2 cars match · 2 owners")

    phone.fill("#name", "Vans and Royaum")
    phone.get_by_role("button", name="Save the group").click()
    phone.wait_for_url(f"**/admin/campaigns/{campaign['draft']}")
    expect(phone.locator(".campaign-groups")).to_contain_text("Vans and Royaum")
    expect(phone.locator(".campaign-groups")).to_contain_text("2 cars")
    assert fits_the_phone(phone)


def test_campaign_pages_are_accessible(campaign, new_phone):
    from tests.browser.test_accessibility import violations

    agent = new_phone()
    log_in(agent, AGENT_MOBILE)
    agent.goto("/admin/campaigns/calls?view=all")
    assert violations(agent) == []
    agent.locator(".call-list a").first.click()
    agent.wait_for_url("**/admin/campaigns/calls/*")
    assert violations(agent) == []

    manager = new_phone()
    log_in(manager, MANAGER_MOBILE)
    for path in (
        "/admin/campaigns",
        "/admin/campaigns/new",
        f"/admin/campaigns/{campaign['draft']}",
        f"/admin/campaigns/{campaign['draft']}/groups/new",
        f"/admin/campaigns/{campaign['launched']}",
    ):
        manager.goto(path)
        assert violations(manager) == [], path
        assert fits_the_phone(manager), path
