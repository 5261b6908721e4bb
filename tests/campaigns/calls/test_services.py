"""Campaign rules: target filters one by one and combined against a hand-built fleet, the live
count against the saved list, refusals that save nothing, the overlap warning, the launch (even
split, invitations once, none without the marketing opt-in), calls and the second round."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.campaigns.calls import calling, invitations, services
from app.campaigns.calls.groups import OverlapNotConfirmed, add_group, preview_group
from app.campaigns.calls.models import (
    CallOutcome,
    Campaign,
    CampaignCall,
    CampaignGroup,
    CampaignStatus,
    CampaignTarget,
)
from app.campaigns.calls.targeting import TargetFilters, count_matches, matching_cars
from app.core.audit import AuditEntry
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.members.models import Member, Notification, OutboxMessage
from app.members.services import decide_transfer, request_transfer, set_marketing_consent
from tests.campaigns.campaign_helpers import (
    ENDS,
    STARTS,
    build_fleet,
    campaign_data,
    targets_of,
)
from tests.conftest import NOW
from tests.factories import (
    make_dealer,
    make_member,
    make_reward,
    make_staff,
    make_vehicle,
    make_visit,
)

TODAY = date(2026, 11, 23)


@pytest.fixture
def fleet(ctx):
    return build_fleet(make_dealer("SZ01").id, make_dealer("GZ01").id)


def refuse(error, match, service, *args, **kwargs):
    """Call ``service`` expecting ``error``; undo what it did, as the request would."""
    savepoint = db.session.begin_nested()
    with pytest.raises(error, match=match) as refused:
        service(*args, **kwargs)
    savepoint.rollback()
    return refused.value


def _names(fleet, filters: TargetFilters) -> set[str]:
    rows = db.session.execute(matching_cars(fleet.sz, filters, starts_on=STARTS, today=TODAY)).all()
    by_car = {car.id: name for name, car in fleet.cars.items()}
    return {by_car[row.vehicle_id] for row in rows}


EVERY_SZ01 = {"Alpha", "Bravo", "Charlie", "Delta", "Echo"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (TargetFilters(), EVERY_SZ01),
        (TargetFilters(segment="profitable_loyal"), {"Alpha"}),
        (TargetFilters(segment="mystery_opportunity"), {"Bravo", "Charlie", "Delta", "Echo"}),
        (TargetFilters(tiers=("platinum", "diamond")), {"Bravo", "Delta"}),
        (TargetFilters(models=("新君威", "GL8")), {"Alpha", "Bravo", "Delta"}),
        (TargetFilters(age_min=2, age_max=5), {"Alpha", "Delta", "Echo"}),
        (TargetFilters(age_max=1), {"Bravo"}),
        (TargetFilters(age_min=7), {"Charlie"}),
        (TargetFilters(plate_prefix="粤B"), {"Alpha", "Charlie", "Delta", "Echo"}),
        # Charlie's visit three days ago was refunded: it does not count.
        (
            TargetFilters(last_visit="none_for", last_visit_days=30),
            {"Bravo", "Charlie", "Delta", "Echo"},
        ),
        (TargetFilters(last_visit="within", last_visit_days=30), {"Alpha"}),
        (TargetFilters(last_visit="within", last_visit_days=60), {"Alpha", "Echo"}),
        # Delta's entered warranty end beats the 3-year default.
        (TargetFilters(warranty="in"), {"Bravo", "Echo"}),
        (TargetFilters(warranty="out"), {"Alpha", "Charlie", "Delta"}),
        # Seed 000's profitable-loyal group: 2–5 years, 粤B, the Regal/LaCrosse/GL8/Royaum.
        (
            TargetFilters(
                age_min=2, age_max=5, plate_prefix="粤B", models=("新君威", "新君越", "GL8", "陆尊")
            ),
            {"Alpha", "Delta", "Echo"},
        ),
        (
            TargetFilters(age_min=2, age_max=5, plate_prefix="粤B", warranty="in", tiers=("gold",)),
            {"Echo"},
        ),
        (TargetFilters(segment="profitable_loyal", warranty="in"), set()),
    ],
    # Sorted names: a set's order changes with the hash seed, and the test workers must agree.
    ids=lambda value: ",".join(sorted(value)) if isinstance(value, set) else str(value),
)
def test_filters_select_the_dealers_cars(fleet, filters, expected):
    assert _names(fleet, filters) == expected
    count = count_matches(fleet.sz, filters, starts_on=STARTS, today=TODAY)
    assert (count.cars, count.owners) == (len(expected), len(expected))


def test_live_count_equals_the_saved_targets_and_snapshots_the_car(fleet):
    campaign = services.create_campaign(fleet.manager, campaign_data())
    filters = TargetFilters(age_min=2, age_max=5, plate_prefix="粤B")
    preview = preview_group(campaign, filters)
    group = add_group(fleet.manager, campaign.id, name="盈利忠诚 2–5", filters=filters)
    targets = targets_of(campaign.id)
    assert preview.cars == len(targets) == 3
    alpha = next(t for t in targets if t.vehicle_id == fleet.cars["Alpha"].id)
    assert (alpha.vin, alpha.model, alpha.age_years, alpha.segment) == (
        fleet.cars["Alpha"].vin,
        "新君威",
        4,
        "profitable_loyal",
    )
    assert {t.group_id for t in targets} == {group.id}
    assert group.filters["plate_prefix"] == "粤B"


def test_a_car_of_an_earlier_group_is_not_added_twice(fleet):
    campaign = services.create_campaign(fleet.manager, campaign_data())
    add_group(fleet.manager, campaign.id, name="Regal", filters=TargetFilters(models=("新君威",)))
    assert preview_group(campaign, TargetFilters()).cars == 3
    second = add_group(fleet.manager, campaign.id, name="Rest", filters=TargetFilters())
    targets = targets_of(campaign.id)
    assert len(targets) == 5
    assert len({t.vehicle_id for t in targets}) == 5
    assert sum(t.group_id == second.id for t in targets) == 3


def test_an_empty_selection_is_refused_and_nothing_saved(fleet):
    campaign = services.create_campaign(fleet.manager, campaign_data())
    refuse(
        ValidationFailed,
        "No car matches these filters",
        add_group,
        fleet.manager,
        campaign.id,
        name="Shanghai",
        filters=TargetFilters(plate_prefix="沪A"),
    )
    assert db.session.scalar(select(func.count()).select_from(CampaignGroup)) == 0
    assert db.session.scalar(select(func.count()).select_from(CampaignTarget)) == 0
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 1


def test_overlapping_campaigns_warn_and_save_only_once_confirmed(fleet):
    earlier = services.create_campaign(
        fleet.manager,
        campaign_data(name="Winter check", starts_on=date(2026, 11, 1), ends_on=STARTS),
    )
    add_group(fleet.manager, earlier.id, name="Regal", filters=TargetFilters(models=("新君威",)))
    # A campaign of a window that does not touch the new one's does not count.
    services.create_campaign(
        fleet.manager,
        campaign_data(name="Spring", starts_on=date(2027, 3, 1), ends_on=date(2027, 3, 31)),
    )
    campaign = services.create_campaign(fleet.manager, campaign_data())
    preview = preview_group(campaign, TargetFilters(plate_prefix="粤B"))
    assert (preview.overlap_owners, preview.overlap_campaigns) == (2, ("Winter check",))

    refused = refuse(
        OverlapNotConfirmed,
        "2 of these owners are also targets of Winter check",
        add_group,
        fleet.manager,
        campaign.id,
        name="粤B",
        filters=TargetFilters(plate_prefix="粤B"),
    )
    assert refused.field == "confirm_overlap"
    assert targets_of(campaign.id) == []
    assert campaign.groups == []

    add_group(
        fleet.manager,
        campaign.id,
        name="粤B",
        filters=TargetFilters(plate_prefix="粤B"),
        confirm_overlap=True,
    )
    assert len(targets_of(campaign.id)) == 4


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"ends_on": date(2026, 11, 30)}, "ends_on", "must end on or after"),
        ({"ends_on": date(2027, 12, 2)}, "ends_on", "at most 366 days"),
        ({"goal_success_rate_pct": 0}, "goal_success_rate_pct", "1 to 100"),
        ({"goal_success_rate_pct": 101}, "goal_success_rate_pct", "1 to 100"),
        ({"goal_visits": 0}, "goal_visits", "Participating visits"),
        ({"goal_revenue_fen": 0}, "goal_revenue_yuan", "revenue goal"),
        ({"second_round_days": 0}, "second_round_days", "1 to 90 days"),
        ({"name": "  "}, "name", "name"),
    ],
)
def test_bad_campaigns_are_refused(fleet, overrides, field, message):
    with pytest.raises(ValidationFailed, match=message) as refused:
        services.create_campaign(fleet.manager, campaign_data(**overrides))
    assert refused.value.field == field
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_a_reward_must_be_active_and_of_the_dealer_or_the_group(fleet):
    mine, theirs = make_reward(fleet.sz), make_reward(fleet.gz)
    stopped = make_reward(None, active=False)
    for reward in (theirs, stopped):
        with pytest.raises(ValidationFailed, match="active reward"):
            services.create_campaign(fleet.manager, campaign_data(reward_id=reward.id))
    assert services.create_campaign(fleet.manager, campaign_data(reward_id=mine.id)).reward_id


def test_dealer_staff_make_campaigns_of_their_own_dealer_hq_picks_one(fleet):
    campaign = services.create_campaign(fleet.manager, campaign_data(), dealer_id=fleet.gz)
    assert campaign.dealer_id == fleet.sz
    hq = make_staff("hq_admin", None)
    with pytest.raises(ValidationFailed, match="Choose the dealer"):
        services.create_campaign(hq, campaign_data())
    assert services.create_campaign(hq, campaign_data(), dealer_id=fleet.gz).dealer_id == fleet.gz
    with pytest.raises(Forbidden):
        services.create_campaign(make_staff("care_agent", fleet.sz), campaign_data())


def _agents(fleet, n):
    return [make_staff("care_agent", fleet.sz) for _ in range(n)]


def _many_owners(fleet, count, model):
    for i in range(count):
        owner = make_member(fleet.sz, name=f"{model} owner {i}")
        owner.marketing_opt_in = True
        make_vehicle(owner, model=model, plate=f"粤C{i:04d}{model[:1]}")


def test_launch_splits_the_list_evenly_with_a_share_of_every_group(fleet):
    _many_owners(fleet, 6, "Regal")
    campaign = services.create_campaign(fleet.manager, campaign_data())
    first = add_group(
        fleet.manager, campaign.id, name="Regal", filters=TargetFilters(models=("Regal",))
    )
    second = add_group(
        fleet.manager, campaign.id, name="粤B", filters=TargetFilters(plate_prefix="粤B")
    )
    agents = _agents(fleet, 3)
    services.launch_campaign(fleet.manager, campaign.id, agent_ids=[a.id for a in agents])
    targets = targets_of(campaign.id)
    assert len(targets) == 10
    sizes = sorted(sum(t.agent_id == a.id for t in targets) for a in agents)
    assert sizes == [3, 3, 4]
    for agent in agents:
        groups = {t.group_id for t in targets if t.agent_id == agent.id}
        assert groups == {first.id, second.id}
    assert all(t.invited_at == NOW for t in targets)
    assert campaign.status == CampaignStatus.LAUNCHED
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"campaign.created", "campaign.group_added", "campaign.launched"} <= actions


def test_launch_needs_targets_agents_of_the_dealer_and_a_draft(fleet):
    campaign = services.create_campaign(fleet.manager, campaign_data())
    agent = _agents(fleet, 1)[0]
    with pytest.raises(ValidationFailed, match="Add a target group"):
        services.launch_campaign(fleet.manager, campaign.id, agent_ids=[agent.id])
    add_group(fleet.manager, campaign.id, name="All", filters=TargetFilters())
    gz_agent = make_staff("care_agent", fleet.gz)
    for agent_ids in ([], [gz_agent.id], [fleet.manager.id]):
        with pytest.raises(ValidationFailed, match="care agents"):
            services.launch_campaign(fleet.manager, campaign.id, agent_ids=agent_ids)
    assert campaign.status == CampaignStatus.DRAFT
    services.launch_campaign(fleet.manager, campaign.id, agent_ids=[agent.id])
    with pytest.raises(ValidationFailed, match="launched campaign cannot be launched"):
        services.launch_campaign(fleet.manager, campaign.id, agent_ids=[agent.id])
    with pytest.raises(ValidationFailed, match="can no longer change"):
        services.update_campaign(fleet.manager, campaign.id, campaign_data(name="Renamed"))
    with pytest.raises(ValidationFailed, match="can no longer change"):
        add_group(fleet.manager, campaign.id, name="More", filters=TargetFilters())


def test_invitations_are_queued_once_per_owner_and_never_without_marketing_consent(fleet):
    # Alpha has two cars in the campaign: one invitation all the same.
    make_vehicle(fleet.owners["Alpha"], model="GL8", plate="粤B10009")
    fleet.owners["Echo"].notify_sms = False
    campaign = services.create_campaign(fleet.manager, campaign_data())
    add_group(fleet.manager, campaign.id, name="All", filters=TargetFilters())
    # Bravo withdraws the marketing consent after the group was saved.
    fleet.owners["Bravo"].marketing_opt_in = False
    agent = _agents(fleet, 1)[0]
    services.launch_campaign(fleet.manager, campaign.id, agent_ids=[agent.id])
    assert len(targets_of(campaign.id)) == 6
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == invitations.INVITATION_KIND)
    ).all()
    by_owner = {}
    for row in rows:
        by_owner.setdefault(row.member_id, []).append(row)
    alpha, bravo, echo = (fleet.owners[n].id for n in ("Alpha", "Bravo", "Echo"))
    # Inbox and SMS, once each for Alpha's two cars; Echo turned SMS off; none by e-mail.
    assert sorted(r.channel for r in by_owner[alpha]) == ["in_app", "sms"]
    assert {r.channel for r in by_owner[echo]} == {"in_app"}
    assert {r.status for r in by_owner[bravo]} == {"skipped"}
    assert all(r.marketing for r in rows)
    assert {r.dedupe_key for r in by_owner[alpha]} == {
        f"campaign:{campaign.id}:member:{alpha}:round:1:{channel}" for channel in ("in_app", "sms")
    }
    inbox = db.session.scalars(select(Notification.member_id)).all()
    assert bravo not in inbox
    assert sorted(inbox) == sorted(
        o.id for name, o in fleet.owners.items() if name not in ("Bravo", "Gz")
    )
    assert "Summer air-conditioning care" in rows[0].subject
    # Queued again (a rerun): nothing new.
    assert invitations.queue_invitations(campaign) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == len(rows)


def test_every_car_of_an_owner_goes_to_one_agent_and_owners_split_evenly(fleet):
    # Six Regal owners, the first three with a second car, a 粤B one (in the second group).
    _many_owners(fleet, 6, "Regal")
    regal_owners = db.session.scalars(
        select(Member).where(Member.name.like("Regal owner %")).order_by(Member.id)
    ).all()
    for i, owner in enumerate(regal_owners[:3]):
        make_vehicle(owner, model="陆尊", plate=f"粤B9{i:04d}")
    campaign = services.create_campaign(fleet.manager, campaign_data())
    first = add_group(
        fleet.manager, campaign.id, name="Regal", filters=TargetFilters(models=("Regal",))
    )
    add_group(fleet.manager, campaign.id, name="粤B", filters=TargetFilters(plate_prefix="粤B"))
    agents = _agents(fleet, 4)
    services.launch_campaign(fleet.manager, campaign.id, agent_ids=[a.id for a in agents])
    targets = targets_of(campaign.id)
    assert len(targets) == 13
    agent_of_owner = {}
    for target in targets:
        agent_of_owner.setdefault(target.member_id, set()).add(target.agent_id)
    assert all(len(agents_) == 1 for agents_ in agent_of_owner.values())
    # Owners, not cars, are split: 10 owners among 4 agents, 2 or 3 each, and of the
    # first group's 6 owners 1 or 2 each.
    owners_of = {a.id: {t.member_id for t in targets if t.agent_id == a.id} for a in agents}
    assert sorted(len(o) for o in owners_of.values()) == [2, 2, 3, 3]
    first_owners = {
        a: {t.member_id for t in targets if t.agent_id == a and t.group_id == first.id}
        for a in owners_of
    }
    assert sorted(len(o) for o in first_owners.values()) == [1, 1, 2, 2]


def test_owners_without_marketing_consent_are_never_targets(fleet):
    fleet.owners["Bravo"].marketing_opt_in = False
    campaign = services.create_campaign(fleet.manager, campaign_data())
    preview = preview_group(campaign, TargetFilters())
    assert (preview.cars, preview.owners) == (4, 4)
    add_group(fleet.manager, campaign.id, name="All", filters=TargetFilters())
    members = {t.member_id for t in targets_of(campaign.id)}
    assert fleet.owners["Bravo"].id not in members
    assert len(members) == 4


def test_the_window_stays_once_the_campaign_has_groups(fleet):
    campaign = services.create_campaign(fleet.manager, campaign_data())
    add_group(fleet.manager, campaign.id, name="All", filters=TargetFilters())
    for overrides, field in (
        ({"ends_on": ENDS + timedelta(days=30)}, "ends_on"),
        ({"starts_on": STARTS + timedelta(days=1)}, "starts_on"),
    ):
        refused = refuse(
            ValidationFailed,
            "Remove the target groups before changing the window",
            services.update_campaign,
            fleet.manager,
            campaign.id,
            campaign_data(name="Renamed", **overrides),
        )
        assert refused.field == field
        db.session.expire_all()
        campaign = db.session.get(Campaign, campaign.id)
        assert (campaign.name, campaign.starts_on, campaign.ends_on) == (
            "Summer air-conditioning care",
            STARTS,
            ENDS,
        )
    # Other details still change.
    services.update_campaign(fleet.manager, campaign.id, campaign_data(name="Renamed"))
    assert campaign.name == "Renamed"


@pytest.mark.parametrize(
    "starts_on",
    [date(1, 1, 1), date(2025, 11, 22), date(2028, 11, 24), date(9999, 1, 1)],
    ids=str,
)
def test_a_start_more_than_a_year_back_or_two_ahead_is_refused(fleet, starts_on):
    data = campaign_data(starts_on=starts_on, ends_on=starts_on)
    with pytest.raises(ValidationFailed, match="starts between 2025-11-23 and 2028-11-23") as no:
        services.create_campaign(fleet.manager, data)
    assert no.value.field == "starts_on"
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0
    campaign = services.create_campaign(fleet.manager, campaign_data())
    with pytest.raises(ValidationFailed, match="starts between"):
        services.update_campaign(fleet.manager, campaign.id, data)
    assert campaign.starts_on == STARTS


@pytest.mark.parametrize("starts_on", [date(2025, 11, 23), date(2028, 11, 23)], ids=str)
def test_the_bounds_of_the_start_are_allowed_and_filter_by_age(fleet, starts_on):
    campaign = services.create_campaign(
        fleet.manager, campaign_data(starts_on=starts_on, ends_on=starts_on)
    )
    filters = TargetFilters(age_min=1, warranty="out")
    assert preview_group(campaign, filters).cars >= 0


def test_an_old_draft_keeps_its_start_when_other_details_change(fleet):
    campaign = services.create_campaign(fleet.manager, campaign_data())
    # A year and more later the draft is still edited (its start is left as it was).
    later = NOW + timedelta(days=800)
    services.update_campaign(fleet.manager, campaign.id, campaign_data(name="Later"), now=later)
    assert campaign.name == "Later"


def test_models_must_be_the_dealers_and_at_most_thirty(fleet):
    campaign = services.create_campaign(fleet.manager, campaign_data())
    for models, message in (
        (("新君威", "Model X"), "No owner of the dealer drives Model X"),
        (tuple(f"M{i}" for i in range(31)), "Choose at most 30 models"),
    ):
        refused = refuse(
            ValidationFailed,
            message,
            add_group,
            fleet.manager,
            campaign.id,
            name="Models",
            filters=TargetFilters(models=models),
        )
        assert refused.field == "models"
    make_vehicle(fleet.owners["Gz"], model="Envision", plate="粤B77777")
    refuse(
        ValidationFailed,
        "No owner of the dealer drives Envision",
        add_group,
        fleet.manager,
        campaign.id,
        name="Models",
        filters=TargetFilters(models=("Envision",)),
    )
    assert targets_of(campaign.id) == []
    add_group(fleet.manager, campaign.id, name="Regal", filters=TargetFilters(models=("新君威",)))
    assert len(targets_of(campaign.id)) == 2


@pytest.fixture
def launched(fleet):
    """A launched campaign of every SZ01 car, split between two agents."""
    campaign = services.create_campaign(fleet.manager, campaign_data(starts_on=TODAY))
    add_group(fleet.manager, campaign.id, name="All", filters=TargetFilters())
    agents = _agents(fleet, 2)
    services.launch_campaign(fleet.manager, campaign.id, agent_ids=[a.id for a in agents])
    return campaign, agents


def _target(campaign, fleet, name) -> CampaignTarget:
    return next(t for t in targets_of(campaign.id) if t.vehicle_id == fleet.cars[name].id)


def _agent(agents, target):
    return next(a for a in agents if a.id == target.agent_id)


def test_an_agent_cannot_record_a_call_of_another_agents_owner(fleet, launched):
    campaign, agents = launched
    target = _target(campaign, fleet, "Alpha")
    other = next(a for a in agents if a.id != target.agent_id)
    refuse(
        Forbidden,
        "another agent's call list",
        calling.record_call,
        other,
        target.id,
        outcome="booked",
    )
    assert db.session.scalar(select(func.count()).select_from(CampaignCall)) == 0
    assert db.session.get(CampaignTarget, target.id).outcome is None
    # The manager may record for any target of the dealer.
    call = calling.record_call(fleet.manager, target.id, outcome="booked", note="Saturday 10:00")
    assert (call.outcome, call.round, target.outcome) == (
        CallOutcome.BOOKED,
        1,
        CallOutcome.BOOKED,
    )


def test_a_call_needs_a_known_outcome_and_a_running_campaign(fleet, launched):
    campaign, agents = launched
    target = _target(campaign, fleet, "Alpha")
    agent = _agent(agents, target)
    with pytest.raises(ValidationFailed, match="Choose what the call achieved"):
        calling.record_call(agent, target.id, outcome="maybe")
    gz_manager = make_staff("dealer_admin", fleet.gz)
    with pytest.raises(NotFound):
        calling.record_call(gz_manager, target.id, outcome="booked")
    later = NOW + timedelta(days=120)
    services.close_campaign(fleet.manager, campaign.id, now=later)
    with pytest.raises(ValidationFailed, match="only while the campaign runs"):
        calling.record_call(agent, target.id, outcome="booked", now=later)


def _view(actor, view, now):
    return {t.id for t in db.session.scalars(calling.call_list(actor, view=view, now=now))}


def test_interested_but_not_come_are_called_again_after_the_second_round_delay(fleet, launched):
    campaign, agents = launched
    waits = _target(campaign, fleet, "Bravo")
    comes = _target(campaign, fleet, "Delta")
    booked = _target(campaign, fleet, "Charlie")
    for target, outcome in ((waits, "interested"), (comes, "interested"), (booked, "booked")):
        calling.record_call(_agent(agents, target), target.id, outcome=outcome)
    assert waits.second_round_on == TODAY + timedelta(days=14)
    # Delta's car comes for service inside the window; Bravo's only at another dealer, which
    # does not count for this dealer's campaign (as on the results page).
    make_visit(fleet.owners["Delta"], TODAY + timedelta(days=3), "maintenance", 40_000)
    make_visit(
        fleet.owners["Bravo"],
        TODAY + timedelta(days=3),
        "maintenance",
        40_000,
        dealer_id=fleet.gz,
    )

    day13, day14 = NOW + timedelta(days=13), NOW + timedelta(days=14)
    assert _view(fleet.manager, "second", day13) == set()
    assert _view(fleet.manager, "second", day14) == {waits.id}
    assert _view(fleet.manager, "came", day14) == {comes.id}
    agent = _agent(agents, waits)
    assert waits.id in _view(agent, "second", day14)
    assert waits.id not in _view(next(a for a in agents if a is not agent), "second", day14)

    call = calling.record_call(agent, waits.id, outcome="booked", now=day14)
    assert (call.round, waits.round, waits.outcome) == (2, 2, CallOutcome.BOOKED)
    assert _view(fleet.manager, "second", day14) == set()
    assert _view(fleet.manager, "round2", day14) == {waits.id}
    counts = calling.call_list_counts(fleet.manager, now=day14)
    assert counts == {"todo": 2, "second": 0, "round2": 1, "came": 1, "all": 5}


def test_agents_see_their_own_list_managers_the_dealers(fleet, launched):
    campaign, agents = launched
    mine = {t.id for t in targets_of(campaign.id) if t.agent_id == agents[0].id}
    assert _view(agents[0], "all", NOW) == mine
    assert len(_view(fleet.manager, "all", NOW)) == 5
    assert _view(make_staff("dealer_admin", fleet.gz), "all", NOW) == set()


def test_managers_move_one_owner_or_a_batch(fleet, launched):
    campaign, agents = launched
    first, second = agents
    target = next(t for t in targets_of(campaign.id) if t.agent_id == first.id)
    calling.reassign_target(fleet.manager, campaign.id, target.id, second.id)
    assert target.agent_id == second.id
    calling.record_call(second, target.id, outcome="declined")
    assert sum(t.agent_id == second.id for t in targets_of(campaign.id)) == 3
    moved = calling.move_targets(
        fleet.manager, campaign.id, from_agent_id=second.id, to_agent_id=first.id, count=50
    )
    # Only owners not yet called move: the declined one stays.
    assert moved == 2
    assert [t.id for t in targets_of(campaign.id) if t.agent_id == second.id] == [target.id]
    with pytest.raises(ValidationFailed, match="care agent"):
        calling.reassign_target(fleet.manager, campaign.id, target.id, fleet.manager.id)
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "campaign.target_reassigned" in actions
    assert "campaign.targets_moved" in actions


def test_a_campaign_closes_only_after_its_window(fleet, launched):
    campaign = launched[0]
    with pytest.raises(ValidationFailed, match="close it after its window"):
        services.close_campaign(fleet.manager, campaign.id, now=NOW)
    after = NOW + timedelta(days=(ENDS - TODAY).days + 1)
    services.close_campaign(fleet.manager, campaign.id, now=after)
    assert campaign.status == CampaignStatus.CLOSED
    assert campaign.closed_at == after
    with pytest.raises(ValidationFailed, match="closed campaign cannot be closed"):
        services.close_campaign(fleet.manager, campaign.id, now=after)


def test_a_draft_closes_never(fleet):
    campaign = services.create_campaign(fleet.manager, campaign_data())
    with pytest.raises(ValidationFailed, match="draft campaign cannot be closed"):
        services.close_campaign(fleet.manager, campaign.id, now=NOW + timedelta(days=400))


def test_an_owner_who_withdraws_marketing_consent_is_neither_called_nor_texted(fleet, launched):
    """PIPL: consent can be withdrawn at any time, and the campaign stops at once: the owner
    leaves the agents' lists and the invitation queued for them is not sent."""
    from app.members.outbox import send_due

    campaign, agents = launched
    target = _target(campaign, fleet, "Alpha")
    agent = _agent(agents, target)
    assert target.id in _view(agent, "all", NOW)
    assert set_marketing_consent(fleet.owners["Alpha"], False, now=NOW)

    assert target.id not in _view(agent, "all", NOW)
    assert target.id not in _view(fleet.manager, "all", NOW)
    assert calling.call_list_counts(fleet.manager, now=NOW)["all"] == 4
    send_due(now=NOW + timedelta(days=1))
    texts = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.member_id == fleet.owners["Alpha"].id, OutboxMessage.channel == "sms"
        )
    ).all()
    assert texts and {(m.status, m.last_error) for m in texts} == {
        ("skipped", "no marketing consent")
    }
    others = db.session.scalars(
        select(OutboxMessage.status).where(
            OutboxMessage.member_id == fleet.owners["Bravo"].id, OutboxMessage.channel == "sms"
        )
    ).all()
    assert others == ["sent"]


def test_an_owner_moved_to_another_dealer_leaves_the_call_lists(fleet, launched):
    campaign, agents = launched
    target = _target(campaign, fleet, "Alpha")
    agent = _agent(agents, target)
    transfer = request_transfer(fleet.owners["Alpha"], to_dealer_id=fleet.gz, reason="Moved")
    decide_transfer(make_staff("hq_admin", None), transfer.id, approve=True)
    assert fleet.owners["Alpha"].dealer_id == fleet.gz
    assert target.id not in _view(fleet.manager, "all", NOW)
    assert target.id not in _view(agent, "all", NOW)
    assert calling.call_list_counts(fleet.manager, now=NOW)["all"] == 4
    refuse(
        ValidationFailed,
        "moved to another dealer",
        calling.record_call,
        agent,
        target.id,
        outcome="booked",
    )
    assert db.session.scalar(select(func.count()).select_from(CampaignCall)) == 0
    # The campaign's own list (and so its results) still holds the car it invited.
    assert target.id in {t.id for t in targets_of(campaign.id)}
