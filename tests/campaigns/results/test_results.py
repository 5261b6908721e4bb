"""A campaign's results page (seed 000 活动效果评估): every figure of every table, and of the
incentives, against a plain-Python computation over a generated campaign — owners, cars,
visits inside and outside the window, refunded ones, visits at another dealer, non-targets,
a second campaign on the same cars, invitation calls and satisfaction callbacks — on SQLite
and PostgreSQL; CSV = page; dealer scoping and empty states."""

import csv
import io
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from app.campaigns.results.models import IncentiveTier
from app.extensions import db
from app.service.models import ServiceCategory, ServiceVisit, VisitStatus
from tests.admin.test_insight import tables_of
from tests.campaigns.factories_campaigns import (
    make_call,
    make_campaign,
    make_group,
    make_survey,
    make_target,
)
from tests.conftest import NOW, login
from tests.factories import make_dealer, make_member, make_staff, make_vehicle

FIRST, LAST = date(2026, 10, 1), date(2026, 10, 31)
MODELS = ("新君威", "新君越", "GL8", "陆尊")
BANDS = ("Under 1 year", "1–2 years", "2–3 years", "3–5 years", "5 years or more")
TABLES = ("groups", "models", "agents", "targets", "goals", "survey")


# ------------------------------------------------------------------- figures, by hand


def pct(part: int, whole: int) -> str:
    if not whole:
        return "—"
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{value}%"


def money(fen: int | None) -> str:
    if fen is None:
        return "—"
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def ticket(fen: int, count: int) -> str:
    if not count:
        return "—"
    return money(int((Decimal(fen) / Decimal(count)).quantize(Decimal(1), ROUND_HALF_UP)))


def band(age: int) -> str:
    if age < 1:
        return BANDS[0]
    if age < 2:
        return BANDS[1]
    if age < 3:
        return BANDS[2]
    if age < 5:
        return BANDS[3]
    return BANDS[4]


@dataclass
class Visit:
    id: int
    member_id: int
    vehicle_id: int
    dealer: str
    on: date
    fen: int
    refunded: bool


@dataclass
class Target:
    id: int
    group: int  # index in World.groups
    member_id: int
    vehicle_id: int
    model: str
    age: int
    agent: str | None
    called: bool = False
    surveys: list[tuple] = field(default_factory=list)  # (called_at, id, reached, satisfied)


@dataclass
class World:
    campaign_id: int
    other_campaign_id: int
    owner_dealer: dict[int, str]
    visits: list[Visit]
    targets: list[Target]
    groups: list[tuple[str, int | None]]  # name, goal %
    goals: tuple[int | None, int | None, int | None]
    manager: str
    steps: dict[int | None, list[tuple[int, int, int]]]
    other_cars: list[int] = field(default_factory=list)  # the second campaign's targets


def counted_in_window(v: Visit) -> bool:
    return v.dealer == "SZ01" and not v.refunded and FIRST <= v.on <= LAST


def per_target(world: World) -> dict[int, tuple[int, int]]:
    """Target id -> (in-window visits, revenue)."""
    out = {}
    for t in world.targets:
        mine = [v for v in world.visits if v.vehicle_id == t.vehicle_id and counted_in_window(v)]
        out[t.id] = (len(mine), sum(v.fen for v in mine))
    return out


def sums(world: World, targets: list[Target]) -> dict:
    figures = per_target(world)
    part = [t for t in targets if figures[t.id][0] > 0]
    reached = [t for t in part if any(s[2] for s in t.surveys)]
    satisfied = [
        t for t in reached if max((s for s in t.surveys if s[2]), key=lambda s: (s[0], s[1]))[3]
    ]
    return {
        "invited": len(targets),
        "part": len(part),
        "visits": sum(figures[t.id][0] for t in part),
        "fen": sum(figures[t.id][1] for t in part),
        "called": sum(1 for t in targets if t.called),
        "reached": len(reached),
        "satisfied": len(satisfied),
    }


def attained(part: int, whole: int, goal: int | None) -> str:
    if goal is None or not whole:
        return "—"
    return "Yes" if Decimal(part) / Decimal(whole) >= Decimal(goal) / 100 else "No"


def expected_groups(world: World) -> list[list[str]]:
    rows = [
        [
            "Target group",
            "Invited",
            "Participated",
            "Success rate",
            "Revenue (¥)",
            "Average ticket (¥)",
            "Goal rate",
            "Goal attained",
        ]
    ]

    def line(name, s, goal):
        return [
            name,
            str(s["invited"]),
            str(s["part"]),
            pct(s["part"], s["invited"]),
            money(s["fen"]),
            ticket(s["fen"], s["part"]),
            "—" if goal is None else f"{goal}%",
            attained(s["part"], s["invited"], goal),
        ]

    for i, (name, goal) in enumerate(world.groups):
        rows.append(line(name, sums(world, [t for t in world.targets if t.group == i]), goal))
    rows.append(line("Total", sums(world, world.targets), world.goals[2]))
    return rows


def expected_models(world: World) -> list[list[str]]:
    rows = [["Target group", "Model", "Vehicle age", "Invited", "Participated", "Success rate"]]
    keys = sorted(
        {(t.group, t.model, BANDS.index(band(t.age))) for t in world.targets},
    )
    for g, model, b in keys:
        chosen = [
            t
            for t in world.targets
            if t.group == g and t.model == model and band(t.age) == BANDS[b]
        ]
        s = sums(world, chosen)
        rows.append(
            [
                world.groups[g][0],
                model,
                BANDS[b],
                str(s["invited"]),
                str(s["part"]),
                pct(s["part"], s["invited"]),
            ]
        )
    return rows


def expected_agents(world: World) -> list[list[str]]:
    rows = [["Agent", "Invited", "Called", "Participated", "Success rate", "Revenue (¥)"]]
    agents = sorted({t.agent for t in world.targets}, key=lambda a: (a is None, a or ""))

    def line(name, s):
        return [
            name,
            str(s["invited"]),
            str(s["called"]),
            str(s["part"]),
            pct(s["part"], s["invited"]),
            money(s["fen"]),
        ]

    for agent in agents:
        mine = [t for t in world.targets if t.agent == agent]
        rows.append(line(agent or "Not assigned", sums(world, mine)))
    rows.append(line("Total", sums(world, world.targets)))
    return rows


def expected_targets(world: World) -> list[list[str]]:
    figures = per_target(world)
    part = [t for t in world.targets if figures[t.id][0] > 0]
    target_owners = {t.member_id for t in part}
    t_visits = sum(figures[t.id][0] for t in part)
    t_fen = sum(figures[t.id][1] for t in part)
    target_cars = {t.vehicle_id for t in world.targets}
    others = [
        v
        for v in world.visits
        if counted_in_window(v)
        and world.owner_dealer[v.member_id] == "SZ01"
        and v.vehicle_id not in target_cars
    ]
    o_owners = {v.member_id for v in others}
    o_cars = {v.vehicle_id for v in others}
    o_fen = sum(v.fen for v in others)

    def line(name, owners, cars, visits, fen):
        return [name, str(owners), str(cars), str(visits), money(fen), ticket(fen, cars)]

    return [
        ["Participants", "Owners", "Cars", "Visits", "Revenue (¥)", "Average ticket (¥)"],
        line("Target owners", len(target_owners), len(part), t_visits, t_fen),
        line("Non-target owners", len(o_owners), len(o_cars), len(others), o_fen),
        line(
            "Total",
            len(target_owners | o_owners),
            len(part) + len(o_cars),
            t_visits + len(others),
            t_fen + o_fen,
        ),
    ]


def expected_goals(world: World) -> list[list[str]]:
    s = sums(world, world.targets)
    g_visits, g_fen, g_rate = world.goals

    def line(name, actual, goal, goal_text, ratio):
        if goal is None:
            return [name, actual, "—", "—", "—"]
        if ratio is None:
            return [name, actual, goal_text, "—", "—"]
        return [name, actual, goal_text, pct(*ratio), "Yes" if ratio[0] >= ratio[1] else "No"]

    rate_ratio = (s["part"] * 100, s["invited"] * g_rate) if s["invited"] and g_rate else None
    return [
        ["Goal", "Actual", "Target", "Attainment", "Attained"],
        line(
            "Participating visits",
            str(s["visits"]),
            g_visits,
            str(g_visits),
            (s["visits"], g_visits),
        ),
        line("Revenue (¥)", money(s["fen"]), g_fen, money(g_fen), (s["fen"], g_fen)),
        line(
            "Success rate",
            pct(s["part"], s["invited"]),
            g_rate,
            f"{g_rate}%",
            rate_ratio,
        ),
    ]


def expected_survey(world: World) -> list[list[str]]:
    def line(name, s):
        return [
            name,
            str(s["part"]),
            str(s["reached"]),
            pct(s["reached"], s["part"]),
            str(s["satisfied"]),
            pct(s["satisfied"], s["reached"]),
        ]

    rows = [
        [
            "Target group",
            "Participated",
            "Reached",
            "Reached rate",
            "Satisfied",
            "Satisfied rate",
        ]
    ]
    for i, (name, _goal) in enumerate(world.groups):
        rows.append(line(name, sums(world, [t for t in world.targets if t.group == i])))
    rows.append(line("Total", sums(world, world.targets)))
    return rows


def expected_incentives(world: World) -> tuple[list[list[str]], list[list[str]]]:
    """Each agent's pay per set of steps, by the documented rule, with exact fractions."""
    own = {g for g in world.steps if g is not None}
    lines = []
    for agent in sorted({t.agent for t in world.targets if t.agent}):
        scopes = [*sorted(own), None]
        for scope in scopes:
            if scope is None and None not in world.steps:
                continue
            mine = [
                t
                for t in world.targets
                if t.agent == agent
                and (t.group == scope if scope is not None else t.group not in own)
            ]
            if not mine:
                continue
            s = sums(world, mine)
            rate = Decimal(s["part"]) / Decimal(s["invited"])
            step = None
            for lower, per, bonus in world.steps[scope]:
                if Decimal(lower) / 10000 <= rate:
                    step = (lower, per, bonus)
            amount = s["part"] * step[1] + step[2]
            name = world.groups[scope][0] if scope is not None else "Other groups"
            lines.append(
                (
                    agent,
                    [
                        agent,
                        name,
                        str(s["invited"]),
                        str(s["part"]),
                        pct(s["part"], s["invited"]),
                        f"{Decimal(step[0]) / 100:.2f}%",
                        money(step[1]),
                        ("-" if step[2] < 0 else "") + money(abs(step[2])),
                        ("-" if amount < 0 else "") + money(abs(amount)),
                    ],
                    amount,
                )
            )
    detail = [
        [
            "Agent",
            "Targets of",
            "Invited",
            "Participated",
            "Success rate",
            "Step from",
            "Per participant (¥)",
            "Bonus or penalty (¥)",
            "Amount (¥)",
        ],
        *(row for _a, row, _f in lines),
    ]
    totals: dict[str, int] = defaultdict(int)
    for agent, _row, amount in lines:
        totals[agent] += amount

    def signed(fen):
        return ("-" if fen < 0 else "") + money(abs(fen))

    summary = [
        ["Agent", "Amount (¥)"],
        *([a, signed(f)] for a, f in sorted(totals.items())),
        ["Total", signed(sum(totals.values()))],
    ]
    return detail, summary


# ------------------------------------------------------------------------ the data set

_ro = iter(range(1, 10_000_000))


def _visit(rng, world_visits, car, member_id, owner_dealer, dealer_ids, on=None):
    other = rng.random() < 0.12
    dealer = ("GZ01" if owner_dealer == "SZ01" else "SZ01") if other else owner_dealer
    if on is None:
        on = rng.choice(
            (
                FIRST,
                LAST,
                FIRST - timedelta(days=1),
                LAST + timedelta(days=1),
                FIRST + timedelta(days=rng.randint(0, 30)),
                FIRST + timedelta(days=rng.randint(0, 30)),
                FIRST - timedelta(days=rng.randint(2, 200)),
                LAST + timedelta(days=rng.randint(2, 20)),
            )
        )
    refunded = rng.random() < 0.12
    fen = rng.randint(5_000, 600_000)
    visit = ServiceVisit(
        dealer_id=dealer_ids[dealer],
        ro_number=f"RO{next(_ro):07d}",
        vehicle_id=car.id,
        member_id=member_id,
        visited_on=on,
        mileage_km=1000,
        amount_fen=fen,
        category=ServiceCategory.MAINTENANCE,
        status=VisitStatus.REFUNDED if refunded else VisitStatus.RECORDED,
        refunded_at=NOW if refunded else None,
        source=rng.choice(("dms", "staff")),
        created_at=NOW,
    )
    db.session.add(visit)
    db.session.flush()
    world_visits.append(Visit(visit.id, member_id, car.id, dealer, on, fen, refunded))


def build_world(rng: random.Random, owners: int = 240) -> World:
    """Owners of SZ01 (and some of GZ01) with cars and visits; a campaign of SZ01 over
    October with two groups and four agents; a second campaign on some of the same cars."""
    sz, gz = make_dealer("SZ01"), make_dealer("GZ01")
    dealer_ids = {"SZ01": sz.id, "GZ01": gz.id}
    agents = {}
    for name in ("Agent Chen", "Agent Li", "Agent Wang", "Agent Zhao"):
        user = make_staff("care_agent", sz.id)
        user.name = name
        agents[name] = user.id
    goals = (rng.randint(20, 80), rng.randint(1_000_000, 9_000_000), 18)
    campaign = make_campaign(
        sz.id,
        starts_on=FIRST,
        ends_on=LAST,
        goal_visits=goals[0],
        goal_revenue_fen=goals[1],
        goal_success_rate_pct=goals[2],
    )
    other = make_campaign(sz.id, starts_on=FIRST, ends_on=LAST)
    other_group = make_group(other, "Other campaign")
    groups = [("Profitable-loyal", 18), ("Low-cost", None)]
    group_rows = [make_group(campaign, n, goal_success_rate_pct=g) for n, g in groups]
    owner_dealer: dict[int, str] = {}
    visits: list[Visit] = []
    targets: list[Target] = []
    other_cars: list[int] = []
    for i in range(owners):
        code = "SZ01" if rng.random() < 0.85 else "GZ01"
        member = make_member(dealer_ids[code], name=f"Owner {i:03d}")
        owner_dealer[member.id] = code
        for _c in range(rng.choice((1, 1, 1, 2))):
            car = make_vehicle(member, model=rng.choice(MODELS))
            for _v in range(rng.choice((0, 1, 1, 2, 3))):
                _visit(rng, visits, car, member.id, code, dealer_ids)
            if code == "SZ01" and rng.random() < 0.6:
                g = rng.randrange(2)
                agent = rng.choice([*agents, None]) if rng.random() < 0.95 else None
                row = make_target(
                    group_rows[g],
                    car,
                    model=car.model,
                    age_years=rng.randint(0, 7),
                    agent_id=agents[agent] if agent else None,
                )
                target = Target(row.id, g, member.id, car.id, car.model, row.age_years, agent)
                for _n in range(rng.choice((0, 0, 1, 2))):
                    make_call(row, rng.choice(list(agents.values())))
                    target.called = True
                for _s in range(rng.choice((0, 0, 1, 1, 2, 3))):
                    reached = rng.random() < 0.8
                    satisfied = rng.random() < 0.75 if reached else None
                    at = NOW - timedelta(hours=rng.randint(0, 3))
                    call = make_survey(
                        row, agents.get(agent) or agents["Agent Li"], reached, satisfied, at
                    )
                    target.surveys.append((at, call.id, reached, satisfied))
                targets.append(target)
            if code == "SZ01" and rng.random() < 0.2:
                # The same car on another campaign's list: not a target of this one.
                make_target(other_group, car, model=car.model)
                other_cars.append(car.id)
    steps = {
        group_rows[0].id: [(0, 0, -20_000), (1_100, 600, 0), (1_800, 1_000, 0)],
        None: [(0, 0, -20_000), (700, 1_000, 0), (1_200, 1_500, 0)],
    }
    for group_id, rows in steps.items():
        for lower, per, bonus in rows:
            db.session.add(
                IncentiveTier(
                    campaign_id=campaign.id,
                    group_id=group_id,
                    from_rate_bp=lower,
                    per_participant_fen=per,
                    bonus_fen=bonus,
                )
            )
    manager = make_staff("showroom_manager", sz.id)
    db.session.flush()
    return World(
        campaign.id,
        other.id,
        owner_dealer,
        visits,
        targets,
        groups,
        goals,
        manager.mobile,
        {0 if k else None: v for k, v in steps.items()},
        other_cars,
    )


def csv_table(client, campaign_id: int, key: str) -> list[list[str]]:
    response = client.get(
        f"/admin/campaigns/{campaign_id}/results.csv", query_string={"table": key}
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8")[1:])))


def as_csv(rows: list[list[str]]) -> list[list[str]]:
    """What insight.table_csv writes: a cell starting with - (or =, +, @) quoted with '."""
    return [["'" + c if c[:1] in "-=+@" and c else c for c in row] for row in rows]


# ------------------------------------------------------------------------------- tests


def test_every_figure_of_the_results_and_incentives(db_app):
    """The acceptance test: page and CSV show exactly the figures computed by hand."""
    rng = random.Random(2014)
    with db_app.app_context(), db_app.test_request_context():
        world = build_world(rng)
        db.session.commit()
    # The data set exercises what it should.
    part = [t for t, (n, _fen) in per_target(world).items() if n]
    assert 30 < len(part) < len(world.targets)
    assert any(v.refunded and v.dealer == "SZ01" and FIRST <= v.on <= LAST for v in world.visits)
    assert any(v.dealer == "GZ01" and FIRST <= v.on <= LAST for v in world.visits)
    assert {None} | {"Agent Chen"} <= {t.agent for t in world.targets}

    client = db_app.test_client()
    login(client, world.manager)
    response = client.get(f"/admin/campaigns/{world.campaign_id}/results")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    tables = tables_of(html)
    expected = {
        "groups": expected_groups(world),
        "models": expected_models(world),
        "agents": expected_agents(world),
        "targets": expected_targets(world),
        "goals": expected_goals(world),
        "survey": expected_survey(world),
    }
    for key in TABLES:
        assert tables[f"table-{key}"] == expected[key], key
        assert csv_table(client, world.campaign_id, key) == expected[key], key
    # The charts are SVG bars with classes, never inline styles.
    assert "<svg" in html and "style=" not in html.split("<main", 1)[1]

    # The callback list counts each campaign's participants and those a callback reached.
    figures = per_target(world)
    reached = sum(1 for t in world.targets if figures[t.id][0] and any(s[2] for s in t.surveys))
    others = sum(
        1
        for car in world.other_cars
        if any(v.vehicle_id == car and counted_in_window(v) for v in world.visits)
    )
    index = tables_of(client.get("/admin/campaigns/survey").get_data(as_text=True))
    rows = [row[2:4] for row in index["table-campaigns"][1:]]
    assert rows == [[str(others), "0"], [str(len(part)), str(reached)]]

    detail, summary = expected_incentives(world)
    page = tables_of(
        client.get(f"/admin/campaigns/{world.campaign_id}/incentives").get_data(as_text=True)
    )
    assert page["table-incentives"] == detail
    assert page["table-incentive_totals"] == summary
    # The CSV is the page, a penalty's minus sign kept from Excel's formulas as every export does.
    assert csv_table(client, world.campaign_id, "incentives") == as_csv(detail)
    assert csv_table(client, world.campaign_id, "incentive_totals") == as_csv(summary)


# ---------------------------------------------------------------- scoping, empty states


@pytest.fixture
def small(seeded, dealers):
    """A campaign of SZ01 with one group and one participating target; its ids."""
    with seeded():
        campaign = make_campaign(dealers["SZ01"], name="Spring care")
        group = make_group(campaign, "Profitable-loyal")
        owner = make_member(dealers["SZ01"], name="Zhang Wei")
        car = make_vehicle(owner)
        make_target(group, car)
        db.session.add(
            ServiceVisit(
                dealer_id=dealers["SZ01"],
                ro_number="RO-1",
                vehicle_id=car.id,
                member_id=owner.id,
                visited_on=date(2026, 11, 20),
                mileage_km=10,
                amount_fen=52_334_200,
                category=ServiceCategory.MAINTENANCE,
                source="dms",
                created_at=NOW,
            )
        )
        empty = make_campaign(dealers["SZ01"], name="Nothing yet")
        return {"campaign": campaign.id, "empty": empty.id}


def test_another_dealers_campaign_is_not_found_and_hq_sees_any(staff_factory, small):
    gz = staff_factory("dealer_admin", "GZ01")
    for path in ("results", "results.csv?table=groups", "incentives", "survey"):
        assert gz.get(f"/admin/campaigns/{small['campaign']}/{path}").status_code == 404
    assert "Spring care" not in gz.get("/admin/campaigns/results").get_data(as_text=True)
    hq = staff_factory("hq_admin", None)
    response = hq.get(f"/admin/campaigns/{small['campaign']}/results")
    assert response.status_code == 200
    groups = tables_of(response.get_data(as_text=True))["table-groups"]
    assert groups[1][:6] == ["Profitable-loyal", "1", "1", "100.0%", "523342.00", "523342.00"]
    assert "Spring care" in hq.get("/admin/campaigns/results").get_data(as_text=True)


def test_a_campaign_without_targets_says_so(staff_factory, small):
    manager = staff_factory("showroom_manager")
    html = manager.get(f"/admin/campaigns/{small['empty']}/results").get_data(as_text=True)
    assert "This campaign has no target group yet." in html
    assert "No target yet." in html
    tables = tables_of(html)
    assert "table-groups" not in tables
    assert tables["table-goals"][1] == ["Participating visits", "0", "—", "—", "—"]
    assert tables["table-targets"][1] == ["Target owners", "0", "0", "0", "0.00", "—"]
    # Tables scroll inside a wrapper on a phone.
    assert html.count('<div class="table-scroll"') == len(tables)
    assert (
        manager.get(f"/admin/campaigns/{small['empty']}/results.csv?table=nope").status_code == 404
    )


def test_before_and_during_the_window_the_page_says_so(app, staff_factory, small, clock):
    manager = staff_factory("showroom_manager")
    with app.app_context():
        from app.campaigns.calls.models import Campaign

        campaign = db.session.get(Campaign, small["campaign"])
        campaign.ends_on = date(2026, 11, 30)
        db.session.commit()
    html = manager.get(f"/admin/campaigns/{small['campaign']}/results").get_data(as_text=True)
    assert "The window is still open until" in html
    with app.app_context():
        campaign = db.session.get(Campaign, small["campaign"])
        campaign.starts_on = date(2026, 11, 25)
        db.session.commit()
    html = manager.get(f"/admin/campaigns/{small['campaign']}/results").get_data(as_text=True)
    assert "The campaign has not started yet" in html
    assert tables_of(html)["table-groups"][1][1:4] == ["1", "0", "0.0%"]


def test_a_refunded_visit_no_longer_counts(app, staff_factory, small):
    manager = staff_factory("showroom_manager")
    with app.app_context():
        from app.campaigns.calls.models import CampaignTarget

        target = db.session.scalars(
            db.select(CampaignTarget).where(CampaignTarget.campaign_id == small["campaign"])
        ).one()
        visit = db.session.scalars(
            db.select(ServiceVisit).where(ServiceVisit.vehicle_id == target.vehicle_id)
        ).one()
        visit.status = VisitStatus.REFUNDED
        db.session.commit()
    html = manager.get(f"/admin/campaigns/{small['campaign']}/results").get_data(as_text=True)
    assert tables_of(html)["table-groups"][1][1:5] == ["1", "0", "0.0%", "0.00"]


def test_hq_lists_every_dealers_campaigns_and_picks_one(seeded, dealers, staff_factory, small):
    with seeded():
        make_campaign(dealers["GZ01"], name="Canton tyre week")
    hq = staff_factory("hq_admin", None)
    rows = tables_of(hq.get("/admin/campaigns/results").get_data(as_text=True))["table-campaigns"]
    assert sorted(row[0] for row in rows[1:]) == ["Canton tyre week", "Nothing yet", "Spring care"]
    assert {row[1] for row in rows[1:]} == {"SZ01", "GZ01"}
    picked = hq.get("/admin/campaigns/results", query_string={"dealer": dealers["GZ01"]})
    rows = tables_of(picked.get_data(as_text=True))["table-campaigns"]
    assert [row[:2] for row in rows[1:]] == [["Canton tyre week", "GZ01"]]
    # A dealer's manager sees their own dealer's only; asking for another dealer is a 404.
    manager = staff_factory("showroom_manager")
    rows = tables_of(manager.get("/admin/campaigns/results").get_data(as_text=True))
    assert sorted(row[0] for row in rows["table-campaigns"][1:]) == ["Nothing yet", "Spring care"]
    other = manager.get("/admin/campaigns/results", query_string={"dealer": dealers["GZ01"]})
    assert other.status_code == 404
    assert "Canton tyre week" not in other.get_data(as_text=True)


def test_the_pages_render_in_chinese(app, staff_factory, small):
    manager = staff_factory("showroom_manager")
    url = f"/admin/campaigns/{small['campaign']}"
    for path in ("results", "incentives", "survey", "results.csv?table=groups"):
        response = manager.get(f"{url}/{path}", headers={"Accept-Language": "zh"})
        assert response.status_code == 200, path
        if not path.endswith("groups"):
            assert '<html lang="zh' in response.get_data(as_text=True)
