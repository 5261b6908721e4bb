"""A care agent works a campaign's call list on the phone: opens an owner, shows the number to
call, records "interested" and sees the owner move out of the list still to call."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.campaigns import services
from app.campaigns.targeting import TargetFilters
from app.core.clock import local_date
from app.extensions import db
from tests.browser.test_journey import log_in
from tests.factories import make_member, make_staff, make_vehicle

AGENT_MOBILE = "13800007777"


@pytest.fixture(scope="module")
def campaign(live_server):
    """A launched SZ01 campaign of three owners' cars, all on the agent's list."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        from app.members.services import get_dealer_by_code

        dealer = get_dealer_by_code("SZ01")
        manager = make_staff("showroom_manager", dealer.id)
        agent = make_staff("care_agent", dealer.id)
        agent.mobile = AGENT_MOBILE
        for name, model in (("Guo Jing", "新君威"), ("Huang Rong", "GL8"), ("Yang Guo", "陆尊")):
            make_vehicle(make_member(dealer.id, name=name), model=model)
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
        services.add_group(manager, campaign.id, name="Every car", filters=TargetFilters())
        services.launch_campaign(manager, campaign.id, agent_ids=[agent.id])
        db.session.commit()
    return campaign


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
