"""`make run`'s demo data: a launched campaign on the demo care agent's call list, made once."""

from sqlalchemy import func, select

from app.campaigns.calls.models import Campaign, CampaignStatus, CampaignTarget
from app.extensions import db
from tests.conftest import login


def test_the_demo_care_agent_has_a_call_list(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        campaign = db.session.scalars(select(Campaign)).one()
        assert campaign.status == CampaignStatus.LAUNCHED
        targets = db.session.scalar(select(func.count()).select_from(CampaignTarget))
    assert targets > 0

    agent = app.test_client()
    login(agent, "13800000003", "carclub-demo")
    page = agent.get("/admin/campaigns/calls", query_string={"view": "all"}).get_data(as_text=True)
    assert "空调养护 Air-conditioning care" in page
    assert page.count("/admin/campaigns/calls/") >= min(targets, 20)
