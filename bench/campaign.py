"""``flask bench campaign``: a campaign of SZ01 at scale on a seeded bench database, its service
calls timed (``make bench``).

Through the real services, as SZ01's dealer admin: a campaign whose window began
CAMPAIGN_DAYS_AGO days ago (made and launched the day before it began, so the seeded history's
visits inside the window are its participation), a target group of every car 1 to 5 years old
(tens of thousands of cars at 100,000 owners), launched to every care agent of SZ01 (the
invitations queued); its incentive steps (seed 000's profitable-loyal ones). Then in bulk, as
if the agents had worked since: invitation calls for CALLED_SHARE of the targets (second rounds
included) and satisfaction callbacks for half the participating targets. Last, a second,
draft campaign whose window overlaps the first, for the live count (which then also counts the
overlap).

It returns (and the command writes as JSON) the ids, the seconds the timed calls took with
their commit, and the logins the page timings need.
"""

import random
import time
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, exists, func, select, update

from app.auth.models import User
from app.campaigns.calls import groups, services
from app.campaigns.calls.models import CallOutcome, CampaignCall, CampaignTarget
from app.campaigns.calls.participation import participating_visits
from app.campaigns.calls.targeting import TargetFilters
from app.campaigns.results import incentives
from app.campaigns.results.models import SurveyCall
from app.core.clock import local_date, local_midnight, utcnow
from app.core.permissions import Role
from app.extensions import db
from app.hq.months import current_month
from app.members.models import Dealer
from bench.seed import DEALER_CODE, RANDOM_SEED, write_rows

CAMPAIGN_DAYS_AGO, CAMPAIGN_DAYS = 14, 30
GROUP = TargetFilters(age_min=1, age_max=5)
# The live count's filter: a C3 group, an age band and a model (seed 000's 盈利忠诚 2–5 yr).
COUNT_QUERY = "segment=split_loyal&age_min=2&age_max=5&models=Sagitar"
CALLED_SHARE = 0.7
# Outcomes of a first call: (outcome, cumulative weight).
OUTCOMES = (
    (CallOutcome.NOT_REACHED, 0.30),
    (CallOutcome.INTERESTED, 0.55),
    (CallOutcome.BOOKED, 0.75),
    (CallOutcome.DECLINED, 0.95),
    (CallOutcome.WRONG_NUMBER, 1.0),
)
SURVEYED_SHARE = 0.5
# Seed 000's profitable-loyal steps: from 0 % a ¥200 penalty, from 11 % ¥6, from 18 % ¥10.
STEPS = (
    incentives.Step(0, 0, -20_000),
    incentives.Step(1_100, 600, 0),
    incentives.Step(1_800, 1_000, 0),
)


def _timed(work):
    """(seconds, result) of ``work()`` and its commit."""
    start = time.perf_counter()
    result = work()
    db.session.commit()
    return round(time.perf_counter() - start, 3), result


def _at(day: date, hours: float) -> datetime:
    return local_midnight(day) + timedelta(hours=hours)


def bench_campaign(*, now: datetime | None = None) -> dict:
    """Make, time and fill the campaigns (commits); see the module's docstring."""
    from demo.seed import DEMO_PASSWORD, STAFF

    now = now or utcnow()
    today = local_date(now)
    dealer = db.session.scalar(select(Dealer).where(Dealer.code == DEALER_CODE))
    admin_mobile, agent_mobile = (
        next(m for m, role, code, _ in STAFF if role == wanted and code == DEALER_CODE)
        for wanted in (Role.DEALER_ADMIN, Role.CARE_AGENT)
    )
    hq_mobile = next(m for m, role, _code, _ in STAFF if role == Role.HQ_ADMIN)
    admin = db.session.scalar(select(User).where(User.mobile == admin_mobile))
    starts_on = today - timedelta(days=CAMPAIGN_DAYS_AGO)
    ends_on = starts_on + timedelta(days=CAMPAIGN_DAYS - 1)
    made = _at(starts_on - timedelta(days=1), 10)
    campaign = services.create_campaign(
        admin,
        services.CampaignData(
            name="Autumn maintenance check",
            starts_on=starts_on,
            ends_on=ends_on,
            offer="A free 30-point check and 10% off parts.",
            call_script="Introduce the offer, then ask for a day to come in.",
            goal_visits=10_000,
            goal_revenue_fen=500_000_000,
            goal_success_rate_pct=18,
        ),
        now=made,
    )
    db.session.commit()
    seconds = {}
    seconds["add_group"], group = _timed(
        lambda: groups.add_group(
            admin,
            campaign.id,
            name="Cars 1–5 years old",
            filters=GROUP,
            goal_success_rate_pct=18,
            now=made,
        )
    )
    targets = db.session.scalar(
        select(func.count()).where(CampaignTarget.campaign_id == campaign.id)
    )
    agents = [agent.id for agent in services.care_agents(dealer.id)]
    seconds["launch"], queued = _timed(
        lambda: services.launch_campaign(
            admin, campaign.id, agent_ids=agents, now=made + timedelta(hours=1)
        )
    )
    incentives.set_incentive_steps(admin, campaign, group_id=None, steps=list(STEPS), now=made)
    calls = _calls(campaign, today)
    surveys = _surveys(campaign, today)
    db.session.commit()
    draft = services.create_campaign(
        admin,
        services.CampaignData(
            name="Winter tyre week",
            starts_on=today + timedelta(days=7),
            ends_on=today + timedelta(days=20),
            offer="Winter tyres fitted free.",
        ),
        now=now,
    )
    db.session.commit()
    return {
        "campaign_id": campaign.id,
        "group_id": group.id,
        "draft_id": draft.id,
        "count_query": COUNT_QUERY,
        "targets": targets,
        "agents": len(agents),
        "invitations": queued,
        "calls": calls,
        "surveys": surveys,
        "seconds": seconds,
        "last_month": current_month(now).shift(-1).key,
        "hq": {"mobile": hq_mobile, "password": DEMO_PASSWORD},
        "agent": {"mobile": agent_mobile, "password": DEMO_PASSWORD},
    }


def _calls(campaign, today: date) -> int:
    """Invitation calls of CALLED_SHARE of the targets since the launch, in bulk, and each
    called target's last outcome, round and second-round day as ``record_call`` leaves them."""
    rng = random.Random(RANDOM_SEED + 9)  # noqa: S311 - reproducible data  # nosec B311
    first_day = campaign.starts_on.toordinal()
    last_day = today.toordinal() - 1
    next_id = (db.session.scalar(select(func.max(CampaignCall.id))) or 0) + 1
    rows, changes = [], []
    targets = db.session.execute(
        select(CampaignTarget.id, CampaignTarget.agent_id)
        .where(CampaignTarget.campaign_id == campaign.id)
        .order_by(CampaignTarget.id)
    ).all()
    for target_id, agent_id in targets:
        if rng.random() >= CALLED_SHARE:
            continue
        day = first_day + int(rng.random() * (last_day - first_day + 1))
        roll = rng.random()
        outcome = next(o for o, weight in OUTCOMES if roll < weight)
        round_, second_on = 1, None
        calls = [(day, 1, outcome)]
        if outcome == CallOutcome.INTERESTED:
            second_on = day + campaign.second_round_days
            if second_on <= last_day and rng.random() < 0.6:
                roll = rng.random()
                calls.append((second_on, 2, next(o for o, w in OUTCOMES if roll < w)))
        for call_day, call_round, call_outcome in calls:
            rows.append(
                (
                    next_id,
                    target_id,
                    agent_id,
                    call_round,
                    _at(date.fromordinal(call_day), 9 + rng.random() * 9),
                    call_outcome.value,
                    "",
                )
            )
            next_id += 1
        round_, outcome = calls[-1][1], calls[-1][2]
        changes.append(
            {
                "target": target_id,
                "new_outcome": outcome.value,
                "new_round": round_,
                # A second call keeps the day the first one set, as ``record_call`` does.
                "second_on": date.fromordinal(second_on) if second_on else None,
            }
        )
    connection = db.session.connection()
    columns = ("id", "target_id", "agent_id", "round", "called_at", "outcome", "note")
    write_rows(connection, CampaignCall.__table__, columns, rows)
    table = CampaignTarget.__table__
    db.session.execute(
        update(table)
        .where(table.c.id == bindparam("target"))
        .values(
            outcome=bindparam("new_outcome"),
            round=bindparam("new_round"),
            second_round_on=bindparam("second_on"),
        ),
        changes,
    )
    _move_sequence(connection, CampaignCall)
    return len(rows)


def _surveys(campaign, today: date) -> int:
    """Satisfaction callbacks of SURVEYED_SHARE of the participating targets, in bulk."""
    rng = random.Random(RANDOM_SEED + 10)  # noqa: S311 - reproducible data  # nosec B311
    came = select(CampaignTarget.id, CampaignTarget.agent_id).where(
        CampaignTarget.campaign_id == campaign.id,
        exists().where(participating_visits(campaign, CampaignTarget.vehicle_id)),
    )
    next_id = (db.session.scalar(select(func.max(SurveyCall.id))) or 0) + 1
    rows = []
    for target_id, agent_id in db.session.execute(came.order_by(CampaignTarget.id)):
        if rng.random() >= SURVEYED_SHARE:
            continue
        reached = rng.random() < 0.8
        rows.append(
            (
                next_id,
                target_id,
                agent_id,
                _at(today - timedelta(days=1), 9 + rng.random() * 9),
                reached,
                (rng.random() < 0.85) if reached else None,
                "",
            )
        )
        next_id += 1
    connection = db.session.connection()
    columns = ("id", "target_id", "agent_id", "called_at", "reached", "satisfied", "note")
    write_rows(connection, SurveyCall.__table__, columns, rows)
    _move_sequence(connection, SurveyCall)
    return len(rows)


def _move_sequence(connection, model) -> None:
    """Point PostgreSQL's id sequence of ``model`` past the ids given here."""
    if connection.dialect.name == "postgresql":
        highest = select(func.coalesce(func.max(model.id), 1)).scalar_subquery()
        connection.execute(
            select(func.setval(func.pg_get_serial_sequence(model.__table__.name, "id"), highest))
        )
