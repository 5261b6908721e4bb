"""Staff incentives (seed 000 提成方案): the step at each boundary, the steps' rules, the
manager's page, and who may see it."""

from datetime import date

import pytest
from sqlalchemy import select

from app.campaigns.calls.models import Campaign, CampaignStatus
from app.campaigns.results.incentives import (
    Step,
    payout_fen,
    set_incentive_steps,
    step_for,
    steps_of,
)
from app.campaigns.results.models import IncentiveTier
from app.core.audit import AuditEntry
from app.core.errors import DomainError, Forbidden
from app.extensions import db
from tests.admin.test_insight import tables_of
from tests.campaigns.factories_campaigns import make_campaign, make_group, make_target
from tests.factories import make_member, make_staff, make_vehicle, make_visit

# Seed 000, profitable-loyal: ≤10 % a ¥200 penalty, 11–18 % ¥6 per owner, ≥18 % ¥10.
LOYAL = [Step(0, 0, -20_000), Step(1_100, 600, 0), Step(1_800, 1_000, 0)]
# Low-cost: ≤6 % a ¥200 penalty, 7–12 % ¥10, ≥12 % ¥15.
LOW_COST = [Step(0, 0, -20_000), Step(700, 1_000, 0), Step(1_200, 1_500, 0)]


@pytest.mark.parametrize(
    ("participated", "invited", "lower", "pay"),
    [
        (18, 100, 1_800, 180_00),  # exactly at 18 %
        (17, 100, 1_100, 102_00),  # 17 %: the fraction just below
        (1_799, 10_000, 1_100, 10_794_00),  # one basis point below 18 %
        (11, 100, 1_100, 66_00),  # exactly at 11 %
        (1_099, 10_000, 0, -200_00),  # one basis point below 11 %
        (21, 200, 0, -200_00),  # 10.5 %: between the seed's ≤10 % and 11 %
        (10, 100, 0, -200_00),  # 10 %: the seed's "≤10 %"
        (0, 7, 0, -200_00),  # nobody came
        (2, 11, 1_800, 20_00),  # 18.18…%: an unrounded fraction above 18 %
        (1, 6, 1_100, 6_00),  # 16.66…%
        (5, 5, 1_800, 50_00),  # everybody came
    ],
)
def test_the_step_at_each_boundary(participated, invited, lower, pay):
    step = step_for(LOYAL, participated, invited)
    assert step.from_rate_bp == lower
    assert payout_fen(step, participated) == pay


@pytest.mark.parametrize(
    ("participated", "invited", "lower"),
    [(6, 100, 0), (7, 100, 700), (699, 10_000, 0), (12, 100, 1_200), (1_199, 10_000, 700)],
)
def test_the_low_cost_steps(participated, invited, lower):
    assert step_for(LOW_COST, participated, invited).from_rate_bp == lower


def test_without_targets_there_is_no_step_nor_penalty():
    assert step_for(LOYAL, 0, 0) is None
    assert payout_fen(None, 0) == 0


@pytest.fixture
def campaign_ids(seeded, dealers):
    with seeded():
        campaign = make_campaign(dealers["SZ01"])
        group = make_group(campaign, "Profitable-loyal")
        return {"campaign": campaign.id, "group": group.id}


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([Step(100, 600)], "The first step must start at 0%"),
        ([Step(0), Step(1_100), Step(1_100, 1)], "Two steps start at 11.00%"),
        ([Step(0), Step(1_800), Step(1_100)], "Steps must rise"),
        ([Step(0), Step(10_001)], "A step's success rate must be 0% to 100%."),
        ([Step(0, 100_001)], "The amount per participating owner must be ¥0 to ¥1000.00."),
        ([Step(0, -1)], "The amount per participating owner must be"),
        ([Step(0, 0, -1_000_001)], "A bonus or penalty must be between"),
        ([Step(i * 100) for i in range(11)], "At most 10 steps."),
    ],
)
def test_bad_steps_are_refused_and_nothing_is_saved(ctx, campaign_ids, steps, message):
    manager = make_staff(
        "showroom_manager", db.session.get(Campaign, campaign_ids["campaign"]).dealer_id
    )
    campaign = db.session.get(Campaign, campaign_ids["campaign"])
    set_incentive_steps(manager, campaign, group_id=None, steps=LOYAL)
    with pytest.raises(DomainError) as refused:
        set_incentive_steps(manager, campaign, group_id=None, steps=steps)
    assert message in refused.value.message
    db.session.rollback()
    assert steps_of(campaign) == {}


def test_steps_replace_the_scopes_steps_and_are_audited(ctx, campaign_ids, dealers):
    campaign = db.session.get(Campaign, campaign_ids["campaign"])
    manager = make_staff("dealer_admin", dealers["SZ01"])
    set_incentive_steps(manager, campaign, group_id=None, steps=LOW_COST)
    set_incentive_steps(manager, campaign, group_id=campaign_ids["group"], steps=LOYAL)
    set_incentive_steps(manager, campaign, group_id=campaign_ids["group"], steps=LOYAL[:2])
    assert steps_of(campaign) == {None: LOW_COST, campaign_ids["group"]: LOYAL[:2]}
    entries = list(
        db.session.scalars(select(AuditEntry).where(AuditEntry.action == "campaign.incentives_set"))
    )
    assert len(entries) == 3
    assert entries[-1].details["before"] == [
        [s.from_rate_bp, s.per_participant_fen, s.bonus_fen] for s in LOYAL
    ]
    set_incentive_steps(manager, campaign, group_id=campaign_ids["group"], steps=[])
    assert steps_of(campaign) == {None: LOW_COST}
    gz_admin = make_staff("dealer_admin", dealers["GZ01"])
    with pytest.raises(Forbidden):
        set_incentive_steps(gz_admin, campaign, group_id=None, steps=LOYAL)


def test_only_managers_set_steps_and_never_on_a_closed_campaign(ctx, campaign_ids, dealers):
    campaign = db.session.get(Campaign, campaign_ids["campaign"])
    for role in ("care_agent", "sales_consultant"):
        with pytest.raises(Forbidden, match="Only a manager may set staff incentives"):
            set_incentive_steps(
                make_staff(role, dealers["SZ01"]), campaign, group_id=None, steps=LOYAL
            )
    manager = make_staff("showroom_manager", dealers["SZ01"])
    set_incentive_steps(manager, campaign, group_id=None, steps=LOYAL)
    campaign.status = CampaignStatus.CLOSED
    with pytest.raises(DomainError, match="This campaign is closed"):
        set_incentive_steps(manager, campaign, group_id=None, steps=LOW_COST)
    with pytest.raises(DomainError, match="This campaign is closed"):
        set_incentive_steps(manager, campaign, group_id=campaign_ids["group"], steps=LOW_COST)
    db.session.expire_all()
    assert steps_of(campaign) == {None: LOYAL}


def test_a_manager_sets_steps_on_the_page_and_sees_each_agents_pay(
    app, seeded, dealers, staff_factory, campaign_ids
):
    with seeded():
        campaign = db.session.get(Campaign, campaign_ids["campaign"])
        agent = make_staff("care_agent", dealers["SZ01"])
        agent.name = "Agent Li"
        group = campaign.groups[0]
        # 100 targets of Agent Li, 18 of them come: exactly 18 %.
        for i in range(100):
            owner = make_member(dealers["SZ01"], name=f"Owner {i}")
            car = make_vehicle(owner)
            make_target(group, car, agent_id=agent.id)
            if i < 18:
                make_visit(owner, date(2026, 11, 10), "maintenance", 10_000)
    manager = staff_factory("showroom_manager")
    url = f"/admin/campaigns/{campaign_ids['campaign']}/incentives"
    form = {
        "scope": str(campaign_ids["group"]),
        "steps-0-from_pct": "0",
        "steps-0-bonus_yuan": "-200",
        "steps-1-from_pct": "11",
        "steps-1-per_yuan": "6",
        "steps-2-from_pct": "18",
        "steps-2-per_yuan": "10",
    }
    response = manager.post(url, data=form)
    assert response.status_code == 302
    tables = tables_of(manager.get(response.headers["Location"]).get_data(as_text=True))
    assert tables["table-incentives"][1] == [
        "Agent Li",
        "Profitable-loyal",
        "100",
        "18",
        "18.0%",
        "18.00%",
        "10.00",
        "0.00",
        "180.00",
    ]
    assert tables["table-incentive_totals"][1:] == [["Agent Li", "180.00"], ["Total", "180.00"]]

    # A duplicate step, a rate with three decimals: refused with the reason, nothing saved.
    bad = {**form, "steps-2-from_pct": "11"}
    html = manager.post(url, data=bad).get_data(as_text=True)
    assert "Two steps start at 11.00%: each step needs its own rate." in html
    html = manager.post(url, data={**form, "steps-2-from_pct": "18.005"}).get_data(as_text=True)
    assert "Use at most two decimals." in html
    html = manager.post(url, data={**form, "steps-3-per_yuan": "5"}).get_data(as_text=True)
    assert "Give each step the success rate it starts from." in html
    with app.app_context():
        assert db.session.scalar(select(db.func.count(IncentiveTier.id))) == 3


def test_agents_never_see_incentives(staff_factory, campaign_ids):
    agent = staff_factory("care_agent")
    url = f"/admin/campaigns/{campaign_ids['campaign']}"
    assert agent.get(f"{url}/incentives").status_code == 403
    assert agent.get(f"{url}/results.csv?table=incentives").status_code == 403


def test_the_scope_in_the_address_picks_the_steps_to_change(staff_factory, campaign_ids):
    manager = staff_factory("showroom_manager")
    url = f"/admin/campaigns/{campaign_ids['campaign']}/incentives"
    group = campaign_ids["group"]
    form = {"scope": str(group), "steps-0-from_pct": "0", "steps-1-from_pct": "11"}
    assert manager.post(url, data={**form, "steps-1-per_yuan": "6"}).status_code == 302
    chosen = manager.get(f"{url}?scope={group}").get_data(as_text=True)
    assert f'<option selected value="{group}">' in chosen and 'value="11.00"' in chosen
    for other in ("", "x", "\u0663", str(group + 1000)):
        whole = manager.get(f"{url}?scope={other}")
        assert whole.status_code == 200
        assert f'<option selected value="{group}">' not in whole.get_data(as_text=True)
        assert 'value="11.00"' not in whole.get_data(as_text=True)
    for no_row in ("0", "-1", str(2**31)):
        assert manager.get(f"{url}?scope={no_row}").status_code == 404
