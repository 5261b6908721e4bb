"""On a 390 px phone: a manager reads a campaign's results and incentives, an agent records a
satisfaction callback; nothing is wider than the screen (tables scroll in their wrapper)."""

from datetime import date, timedelta

import pytest

from app.extensions import db
from tests.browser.test_accessibility import violations
from tests.browser.test_journey import log_in
from tests.campaigns.factories_campaigns import make_campaign, make_group, make_target
from tests.factories import make_dealer, make_member, make_staff, make_vehicle, make_visit

pytestmark = pytest.mark.browser


def fits_the_phone(page) -> bool:
    """Nothing is wider than the phone's screen."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture(scope="module")
def campaign(live_server):
    """An ended campaign of SZ01 (the real clock: it ended yesterday) with twelve targets of
    long-named models, half of whom came, a manager and the agent of all of them."""
    today = date.today()
    with live_server.app.app_context(), live_server.app.test_request_context():
        sz = make_dealer("SZ01")
        agent = make_staff("care_agent", sz.id)
        agent.name = "Agent Li Xiaoming"
        manager = make_staff("showroom_manager", sz.id)
        first, last = today - timedelta(days=30), today - timedelta(days=1)
        row = make_campaign(sz.id, name="Summer air-con care", starts_on=first, ends_on=last)
        groups = [make_group(row, "Profitable-loyal"), make_group(row, "Low-cost")]
        for i in range(12):
            owner = make_member(sz.id, name=f"Owner {i}")
            car = make_vehicle(owner, model="Buick LaCrosse 28T Avenir edition")
            make_target(groups[i % 2], car, agent_id=agent.id, age_years=i % 7)
            if i % 2 == 0:
                make_visit(owner, first + timedelta(days=i), "maintenance", 123_456_78)
        db.session.commit()
        return {"id": row.id, "manager": manager.mobile, "agent": agent.mobile}


def test_results_incentives_and_callbacks_on_a_phone(new_phone, campaign):
    page = new_phone()
    log_in(page, campaign["manager"])
    page.goto(f"/admin/campaigns/{campaign['id']}/results")
    assert page.locator("#table-groups").is_visible()
    assert page.locator("svg.insight-bar").count() > 0
    assert fits_the_phone(page)
    assert violations(page) == []
    page.goto(f"/admin/campaigns/{campaign['id']}/incentives")
    page.fill("#steps-0-from_pct", "0")
    page.fill("#steps-0-bonus_yuan", "-200")
    page.fill("#steps-1-from_pct", "18")
    page.fill("#steps-1-per_yuan", "10")
    page.get_by_role("button", name="Save the steps").click()
    page.wait_for_selector("text=Incentive steps saved.")
    assert page.locator("#table-incentive_totals").inner_text().count("Agent Li Xiaoming") == 1
    assert fits_the_phone(page)
    assert violations(page) == []

    agent = new_phone()
    log_in(agent, campaign["agent"])
    agent.goto("/admin/")
    agent.get_by_role("link", name="Satisfaction callbacks").click()
    agent.get_by_role("link", name="Callbacks").click()
    first = agent.locator(".survey-target").first
    first.get_by_label("Yes").first.check()
    first.locator("input[name=satisfied][value=yes]").check()
    first.get_by_role("button", name="Record the callback").click()
    agent.wait_for_selector("text=Callback recorded.")
    assert "reached, satisfied" in agent.locator(".survey-target").first.inner_text()
    assert fits_the_phone(agent)
    assert violations(agent) == []
