"""Campaign pages: a manager makes a campaign and its groups (live count, overlap confirmed),
launches it; agents work their call list; permissions and dealer scoping."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.campaigns.calls import groups, services
from app.campaigns.calls.models import Campaign, CampaignCall, CampaignGroup, CampaignTarget
from app.campaigns.calls.targeting import TargetFilters
from app.core.audit import AuditEntry
from app.extensions import db
from app.members.models import Member
from app.members.services import decide_transfer, request_transfer
from tests.campaigns.campaign_helpers import STARTS, build_fleet, campaign_data
from tests.conftest import login
from tests.factories import make_dealer, make_staff


@pytest.fixture
def world(app, seeded):
    """The fleet, two care agents of SZ01, one of GZ01, GZ01's admin: ids and mobiles."""
    with seeded():
        fleet = build_fleet(make_dealer("SZ01").id, make_dealer("GZ01").id)
        people = {
            "manager": fleet.manager,
            "agent": make_staff("care_agent", fleet.sz),
            "agent2": make_staff("care_agent", fleet.sz),
            "gz_agent": make_staff("care_agent", fleet.gz),
            "gz_admin": make_staff("dealer_admin", fleet.gz),
            "consultant": make_staff("sales_consultant", fleet.sz),
            "hq": make_staff("hq_admin", None),
        }
        ids = {name: user.id for name, user in people.items()}
        mobiles = {name: user.mobile for name, user in people.items()}
        owners = {name: owner.id for name, owner in fleet.owners.items()}
    return {"ids": ids, "mobiles": mobiles, "owners": owners, "sz": fleet.sz, "gz": fleet.gz}


def client_of(app, world, who):
    client = app.test_client()
    login(client, world["mobiles"][who])
    return client


def _text(response) -> str:
    return response.get_data(as_text=True)


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


FORM = {
    "name": "Summer air-conditioning care",
    "starts_on": STARTS.isoformat(),
    "ends_on": "2027-02-28",
    "goal_visits": "700",
    "goal_revenue_yuan": "7300000",
    "goal_success_rate_pct": "18",
    "offer": "预约礼 CD",
    "reward_id": "0",
    "call_script": "Hello!",
    "second_round_days": "14",
}


def test_a_manager_creates_a_campaign_and_bad_input_saves_nothing(app, world):
    manager = client_of(app, world, "manager")
    response = manager.post("/admin/campaigns/new", data={**FORM, "ends_on": "2026-11-01"})
    assert response.status_code == 200
    assert "The campaign must end on or after the day it starts." in _text(response)
    response = manager.post("/admin/campaigns/new", data={**FORM, "goal_success_rate_pct": "120"})
    assert "A success rate is 1 to 100 %." in _text(response)
    assert _count(app, Campaign) == 0

    response = manager.post("/admin/campaigns/new", data=FORM)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/groups/new")
    with app.app_context():
        campaign = db.session.scalars(select(Campaign)).one()
        assert (campaign.dealer_id, campaign.goal_revenue_fen) == (world["sz"], 730_000_000)
    page = _text(manager.get("/admin/campaigns"))
    assert "Summer air-conditioning care" in page
    assert "Draft" in page


def _draft(app, world, **overrides) -> int:
    with app.app_context(), app.test_request_context():
        manager = db.session.get(User, world["ids"]["manager"])
        campaign = services.create_campaign(manager, campaign_data(**overrides))
        db.session.commit()
        return campaign.id


def test_the_group_form_counts_live_and_saves_after_the_overlap_is_confirmed(app, world):
    other = _draft(app, world, name="Winter check")
    with app.app_context(), app.test_request_context():
        manager = db.session.get(User, world["ids"]["manager"])
        groups.add_group(manager, other, name="All", filters=TargetFilters(models=("新君威",)))
        db.session.commit()
    campaign_id = _draft(app, world)
    manager = client_of(app, world, "manager")
    page = _text(manager.get(f"/admin/campaigns/{campaign_id}/groups/new"))
    assert "5 cars match · 5 owners" in page
    assert "campaign-count.js" in page
    assert "Only owners who accepted marketing messages are invited." in page
    unknown = manager.get(
        f"/admin/campaigns/{campaign_id}/groups/count.json", query_string={"models": "Model X"}
    )
    assert unknown.status_code == 422
    assert unknown.get_json()["field"] == "models"
    assert "No owner of the dealer drives Model X" in unknown.get_json()["error"]

    answer = manager.get(
        f"/admin/campaigns/{campaign_id}/groups/count.json",
        query_string={"plate_prefix": "粤B", "age_min": "2", "age_max": "5"},
    ).get_json()
    assert (answer["cars"], answer["owners"], answer["text"]) == (3, 3, "3 cars match · 3 owners")
    assert answer["overlap_owners"] == 2
    assert answer["overlap_campaigns"] == ["Winter check"]
    bad = manager.get(
        f"/admin/campaigns/{campaign_id}/groups/count.json",
        query_string={"age_min": "5", "age_max": "2"},
    )
    assert bad.status_code == 422
    assert bad.get_json()["field"] == "age_max"
    page = _text(
        manager.post(
            f"/admin/campaigns/{campaign_id}/groups/new",
            data={"age_min": "5", "age_max": "2", "action": "count"},
        )
    )
    # Once beside the field and once in the error summary at the top, which links to it.
    assert page.count("The youngest age must not be above the oldest.") == 2
    assert "Please correct 1 answer:" in page
    page = _text(
        manager.post(
            f"/admin/campaigns/{campaign_id}/groups/new",
            data={"name": "Odd", "age_min": "5", "age_max": "2", "action": "save"},
        )
    )
    # Once beside the field and once in the error summary at the top, which links to it.
    assert page.count("The youngest age must not be above the oldest.") == 2
    assert "Please correct 1 answer:" in page

    # Without JavaScript: the Count button.
    form = {"name": "盈利忠诚", "plate_prefix": "粤B", "age_min": "2", "age_max": "5"}
    page = _text(
        manager.post(f"/admin/campaigns/{campaign_id}/groups/new", data={**form, "action": "count"})
    )
    assert "3 cars match · 3 owners" in page
    assert _count(app, CampaignGroup) == 1

    page = _text(
        manager.post(f"/admin/campaigns/{campaign_id}/groups/new", data={**form, "action": "save"})
    )
    assert "2 of these owners are also targets of Winter check" in page
    assert _count(app, CampaignGroup) == 1

    response = manager.post(
        f"/admin/campaigns/{campaign_id}/groups/new",
        data={**form, "action": "save", "confirm_overlap": "y"},
    )
    assert response.status_code == 302
    page = _text(manager.get(f"/admin/campaigns/{campaign_id}"))
    assert "盈利忠诚" in page
    assert "3 cars" in page
    assert "2–5 years old · plates 粤B…" in page

    empty = manager.post(
        f"/admin/campaigns/{campaign_id}/groups/new",
        data={"name": "Nobody", "plate_prefix": "沪A", "action": "save"},
    )
    assert "No car matches these filters" in _text(empty)
    assert _count(app, CampaignGroup) == 2


def _launched(app, world) -> int:
    campaign_id = _draft(app, world, starts_on=date(2026, 11, 1))
    with app.app_context(), app.test_request_context():
        manager = db.session.get(User, world["ids"]["manager"])
        groups.add_group(manager, campaign_id, name="All", filters=TargetFilters())
        db.session.commit()
    manager = client_of(app, world, "manager")
    response = manager.post(
        f"/admin/campaigns/{campaign_id}/launch",
        data={"agents": [world["ids"]["agent"], world["ids"]["agent2"]]},
    )
    assert response.status_code == 302
    return campaign_id


def _targets(app, campaign_id, agent_id):
    with app.app_context():
        return list(
            db.session.scalars(
                select(CampaignTarget.id).where(
                    CampaignTarget.campaign_id == campaign_id, CampaignTarget.agent_id == agent_id
                )
            )
        )


def test_launch_from_the_page_and_the_detail_shows_agents_and_results_link(app, world):
    campaign_id = _launched(app, world)
    manager = client_of(app, world, "manager")
    page = _text(manager.get(f"/admin/campaigns/{campaign_id}"))
    assert "Launched" in page
    assert f'href="/admin/campaigns/{campaign_id}/results"' in page
    assert len(_targets(app, campaign_id, world["ids"]["agent"])) == 3
    assert len(_targets(app, campaign_id, world["ids"]["agent2"])) == 2
    # Nothing to launch twice; the edit page sends back.
    manager.post(f"/admin/campaigns/{campaign_id}/launch", data={"agents": [world["ids"]["agent"]]})
    page = _text(manager.get(f"/admin/campaigns/{campaign_id}"))
    assert "A launched campaign cannot be launched." in page
    assert manager.get(f"/admin/campaigns/{campaign_id}/edit").status_code == 302


def test_an_agent_works_the_call_list(app, world):
    campaign_id = _launched(app, world)
    mine = _targets(app, campaign_id, world["ids"]["agent"])
    theirs = _targets(app, campaign_id, world["ids"]["agent2"])
    agent = client_of(app, world, "agent")
    page = _text(agent.get("/admin/campaigns/calls", query_string={"view": "all"}))
    assert "My call list" in page
    assert page.count('class="list call-list"') == 1
    for target_id in mine:
        assert f"/admin/campaigns/calls/{target_id}" in page
    for target_id in theirs:
        assert f"/admin/campaigns/calls/{target_id}" not in page

    # Alpha's car came for service in the window (10 November): no call needed.
    came = mine[0]
    assert "no call needed" in _text(agent.get(f"/admin/campaigns/calls/{came}"))
    assert f"/admin/campaigns/calls/{came}" not in _text(agent.get("/admin/campaigns/calls"))
    target = mine[1]
    assert f"/admin/campaigns/calls/{target}" in _text(agent.get("/admin/campaigns/calls"))
    page = _text(agent.get(f"/admin/campaigns/calls/{target}"))
    assert "Hello, this is your Buick service centre" in page
    assert "tel:" not in page
    agent.post(f"/admin/campaigns/calls/{target}/reveal")
    page = _text(agent.get(f"/admin/campaigns/calls/{target}"))
    assert 'href="tel:' in page
    with app.app_context():
        assert db.session.scalar(
            select(func.count()).where(AuditEntry.action == "member.mobile_revealed")
        )

    response = agent.post(f"/admin/campaigns/calls/{target}", data={"outcome": "interested"})
    assert response.status_code == 302
    page = _text(agent.get(response.headers["Location"]))
    assert "Call recorded: Interested." in page
    assert f"/admin/campaigns/calls/{target}" not in page  # no longer "to call"
    page = _text(agent.get("/admin/campaigns/calls", query_string={"outcome": "interested"}))
    assert f"/admin/campaigns/calls/{target}" in page

    # Another agent's owner: not found (name, plate and notes unseen), nothing saved.
    with app.app_context():
        name = db.session.get(Member, db.session.get(CampaignTarget, theirs[0]).member_id).name
    response = agent.get(f"/admin/campaigns/calls/{theirs[0]}")
    assert response.status_code == 404
    assert name not in _text(response)
    response = agent.post(f"/admin/campaigns/calls/{theirs[0]}", data={"outcome": "booked"})
    assert response.status_code == 404
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(CampaignCall)
                .where(CampaignCall.target_id == theirs[0])
            )
            == 0
        )
        reveals = db.session.scalar(
            select(func.count()).where(AuditEntry.action == "member.mobile_revealed")
        )
    assert agent.post(f"/admin/campaigns/calls/{theirs[0]}/reveal").status_code == 404
    with app.app_context():
        assert reveals == db.session.scalar(
            select(func.count()).where(AuditEntry.action == "member.mobile_revealed")
        )
    # The manager opens any owner of the dealer's lists.
    manager = client_of(app, world, "manager")
    assert manager.get(f"/admin/campaigns/calls/{theirs[0]}").status_code == 200


def test_an_owner_moved_to_another_dealer_is_no_longer_shown_nor_revealed(app, world):
    campaign_id = _launched(app, world)
    target_id = _targets(app, campaign_id, world["ids"]["agent"])[1]
    agent = client_of(app, world, "agent")
    assert agent.get(f"/admin/campaigns/calls/{target_id}").status_code == 200
    with app.app_context():
        owner = db.session.get(Member, db.session.get(CampaignTarget, target_id).member_id)
        transfer = request_transfer(owner, to_dealer_id=world["gz"], reason="Moved to Guangzhou")
        decide_transfer(db.session.get(User, world["ids"]["hq"]), transfer.id, approve=True)
        db.session.commit()
    page = _text(agent.get("/admin/campaigns/calls", query_string={"view": "all"}))
    assert f"/admin/campaigns/calls/{target_id}" not in page
    assert agent.get(f"/admin/campaigns/calls/{target_id}").status_code == 404
    assert agent.post(f"/admin/campaigns/calls/{target_id}/reveal").status_code == 404
    manager = client_of(app, world, "manager")
    assert manager.get(f"/admin/campaigns/calls/{target_id}").status_code == 404


def test_who_may_open_what(app, world):
    campaign_id = _launched(app, world)
    target = _targets(app, campaign_id, world["ids"]["agent"])[0]
    agent = client_of(app, world, "agent")
    assert agent.get("/admin/campaigns").status_code == 403
    assert agent.post(f"/admin/campaigns/calls/{target}/assign").status_code == 403
    assert agent.get(f"/admin/campaigns/{campaign_id}").status_code == 403
    assert "My call list" in _text(agent.get("/admin/"))
    consultant = client_of(app, world, "consultant")
    assert consultant.get("/admin/campaigns/calls").status_code == 403
    assert client_of(app, world, "hq").get(f"/admin/campaigns/{campaign_id}").status_code == 200
    manager = client_of(app, world, "manager")
    assert 'href="/admin/campaigns">Campaigns' in _text(manager.get("/admin/"))


@pytest.mark.parametrize(
    ("who", "method", "path"),
    [
        ("gz_admin", "GET", "/admin/campaigns/{c}"),
        ("gz_admin", "GET", "/admin/campaigns/{c}/edit"),
        ("gz_admin", "GET", "/admin/campaigns/{c}/groups/count.json"),
        ("gz_admin", "POST", "/admin/campaigns/{c}/close"),
        ("gz_admin", "GET", "/admin/campaigns/calls/{t}"),
        ("gz_admin", "POST", "/admin/campaigns/calls/{t}"),
        ("gz_agent", "GET", "/admin/campaigns/calls/{t}"),
        ("gz_agent", "POST", "/admin/campaigns/calls/{t}/reveal"),
    ],
)
def test_another_dealers_staff_get_not_found(app, world, who, method, path):
    campaign_id = _launched(app, world)
    target = _targets(app, campaign_id, world["ids"]["agent"])[0]
    client = client_of(app, world, who)
    response = client.open(
        path.format(c=campaign_id, t=target), method=method, data={"outcome": "booked"}
    )
    assert response.status_code == 404
    assert "Zhang" not in _text(response)
    page = _text(client.get("/admin/campaigns/calls" if who == "gz_agent" else "/admin/campaigns"))
    assert "Summer air-conditioning care" not in page


def test_hq_picks_the_dealer_of_a_new_campaign(app, world):
    hq = client_of(app, world, "hq")
    page = _text(hq.get("/admin/campaigns/new"))
    assert 'name="dealer_id"' in page
    response = hq.post("/admin/campaigns/new", data={**FORM, "dealer_id": str(world["gz"])})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(Campaign.dealer_id)).one() == world["gz"]
    # A dealer's manager has no dealer to pick.
    assert 'name="dealer_id"' not in _text(
        client_of(app, world, "manager").get("/admin/campaigns/new")
    )
