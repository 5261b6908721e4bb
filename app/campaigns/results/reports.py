"""A campaign's results page (seed 000 活动效果评估, R11): the seed's evaluation tables and
charts made live, from the figures of ``figures.py`` (whose docstring defines each of them).

The page's per-group, per-model and per-agent tables add up one GROUP BY over the campaign's
targets joined with their visits, calls and callbacks; distinct owners and the non-targets
take three more queries.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app.auth.models import User
from app.campaigns.calls.models import Campaign, CampaignGroup
from app.campaigns.results.figures import (
    AGE_BANDS,
    Figures,
    Outsiders,
    attained,
    band_label,
    rate,
    roll_up,
    sums_by,
    targets_and_others,
)
from app.core.clock import local_date, utcnow
from app.core.reports import (
    NONE,
    Column,
    Report,
    Table,
    average_fen,
    chart,
    row,
    yuan_or_none,
)
from app.extensions import db

TABLES = ("groups", "models", "agents", "targets", "goals", "survey")


# ------------------------------------------------------------------------------- tables


@dataclass
class Results(Report):
    """The results page: its tables and charts, and the campaign."""

    campaign: Campaign | None = None


def groups_of(campaign: Campaign) -> list[CampaignGroup]:
    """The campaign's target groups, in order."""
    return list(
        db.session.scalars(
            select(CampaignGroup)
            .where(CampaignGroup.campaign_id == campaign.id)
            .order_by(CampaignGroup.position, CampaignGroup.id)
        )
    )


def agent_names(ids) -> dict[int, str]:
    """Staff names by id."""
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def _goal_pct(pct: int | None) -> str:
    return NONE if pct is None else f"{pct}%"


def _group_table(campaign, groups, per_group) -> Table:
    rows = []
    for g in groups:
        f = per_group.get((g.id,), Figures())
        rows.append(
            row(
                g.name,
                f.invited,
                f.participated,
                rate(f.participated, f.invited),
                yuan_or_none(f.fen),
                yuan_or_none(f.ticket_fen),
                _goal_pct(g.goal_success_rate_pct),
                attained(f.participated, f.invited, g.goal_success_rate_pct),
            )
        )
    total = sum(per_group.values(), Figures())
    goal = campaign.goal_success_rate_pct
    return Table(
        "groups",
        _("Results per target group"),
        [
            Column(_("Target group")),
            Column(_("Invited"), True),
            Column(_("Participated"), True),
            Column(_("Success rate"), True),
            Column(_("Revenue (¥)"), True),
            Column(_("Average ticket (¥)"), True),
            Column(_("Goal rate"), True),
            Column(_("Goal attained"), True),
        ],
        rows,
        row(
            _("Total"),
            total.invited,
            total.participated,
            rate(total.participated, total.invited),
            yuan_or_none(total.fen),
            yuan_or_none(total.ticket_fen),
            _goal_pct(goal),
            attained(total.participated, total.invited, goal),
        )
        if groups
        else None,
        _("This campaign has no target group yet."),
    )


def _model_table(groups, per_model) -> Table:
    order = {g.id: i for i, g in enumerate(groups)}
    names = {g.id: g.name for g in groups}
    bands = [key for key, _label, _low in AGE_BANDS]
    rows = [
        row(
            names.get(group_id, NONE),
            model,
            band_label(band),
            f.invited,
            f.participated,
            rate(f.participated, f.invited),
        )
        for (group_id, model, band), f in sorted(
            per_model.items(),
            key=lambda item: (order.get(item[0][0], 0), item[0][1], bands.index(item[0][2])),
        )
    ]
    return Table(
        "models",
        _("Invitations per model and vehicle age"),
        [
            Column(_("Target group")),
            Column(_("Model")),
            Column(_("Vehicle age")),
            Column(_("Invited"), True),
            Column(_("Participated"), True),
            Column(_("Success rate"), True),
        ],
        rows,
        empty=_("No target yet."),
    )


def _agent_table(per_agent) -> Table:
    names = agent_names(agent_id for (agent_id,) in per_agent)
    unassigned = _("Not assigned")
    ordered = sorted(
        per_agent.items(),
        key=lambda item: (item[0][0] is None, names.get(item[0][0], ""), item[0][0] or 0),
    )
    rows = [
        row(
            names.get(agent_id, unassigned) if agent_id is not None else unassigned,
            f.invited,
            f.called,
            f.participated,
            rate(f.participated, f.invited),
            yuan_or_none(f.fen),
        )
        for (agent_id,), f in ordered
    ]
    total = sum(per_agent.values(), Figures())
    return Table(
        "agents",
        _("Results per agent"),
        [
            Column(_("Agent")),
            Column(_("Invited"), True),
            Column(_("Called"), True),
            Column(_("Participated"), True),
            Column(_("Success rate"), True),
            Column(_("Revenue (¥)"), True),
        ],
        rows,
        row(
            _("Total"),
            total.invited,
            total.called,
            total.participated,
            rate(total.participated, total.invited),
            yuan_or_none(total.fen),
        )
        if rows
        else None,
        _("No target yet."),
    )


def _targets_table(targets: Outsiders, others: Outsiders, owners: int) -> Table:
    def cells(label, o: Outsiders):
        return row(
            label,
            o.owners,
            o.cars,
            o.visits,
            yuan_or_none(o.fen),
            yuan_or_none(average_fen(o.fen, o.cars)),
        )

    every = Outsiders(
        owners, targets.cars + others.cars, targets.visits + others.visits, targets.fen + others.fen
    )
    return Table(
        "targets",
        _("Targets and non-targets"),
        [
            Column(_("Participants")),
            Column(_("Owners"), True),
            Column(_("Cars"), True),
            Column(_("Visits"), True),
            Column(_("Revenue (¥)"), True),
            Column(_("Average ticket (¥)"), True),
        ],
        [cells(_("Target owners"), targets), cells(_("Non-target owners"), others)],
        cells(_("Total"), every),
    )


def _goals_table(campaign: Campaign, total: Figures) -> Table:
    def line(label, actual: str, goal: int | None, goal_shown: str, part: int, whole: int):
        """A goal's row; attainment = part ÷ whole (the actual over the goal, as fractions)."""
        if goal is None:
            return row(label, actual, NONE, NONE, NONE)
        if not whole:
            return row(label, actual, goal_shown, NONE, NONE)
        return row(
            label, actual, goal_shown, rate(part, whole), _("Yes") if part >= whole else _("No")
        )

    g_visits, g_fen = campaign.goal_visits, campaign.goal_revenue_fen
    g_rate = campaign.goal_success_rate_pct
    rows = [
        line(
            _("Participating visits"),
            str(total.visits),
            g_visits,
            str(g_visits),
            total.visits,
            g_visits or 0,
        ),
        line(
            _("Revenue (¥)"),
            yuan_or_none(total.fen),
            g_fen,
            yuan_or_none(g_fen),
            total.fen,
            g_fen or 0,
        ),
        # The rate over the goal rate: (p ÷ n) ÷ (g ÷ 100) = 100 p ÷ (n g).
        line(
            _("Success rate"),
            rate(total.participated, total.invited),
            g_rate,
            _goal_pct(g_rate),
            total.participated * 100,
            total.invited * (g_rate or 0),
        ),
    ]
    return Table(
        "goals",
        _("Goals"),
        [
            Column(_("Goal")),
            Column(_("Actual"), True),
            Column(_("Target"), True),
            Column(_("Attainment"), True),
            Column(_("Attained"), True),
        ],
        rows,
    )


def _survey_table(groups, per_group) -> Table:
    def cells(label, f: Figures):
        return row(
            label,
            f.participated,
            f.reached,
            rate(f.reached, f.participated),
            f.satisfied,
            rate(f.satisfied, f.reached),
        )

    rows = [cells(g.name, per_group.get((g.id,), Figures())) for g in groups]
    return Table(
        "survey",
        _("Satisfaction callbacks"),
        [
            Column(_("Target group")),
            Column(_("Participated"), True),
            Column(_("Reached"), True),
            Column(_("Reached rate"), True),
            Column(_("Satisfied"), True),
            Column(_("Satisfied rate"), True),
        ],
        rows,
        cells(_("Total"), sum(per_group.values(), Figures())) if groups else None,
        _("This campaign has no target group yet."),
    )


def campaign_results(campaign: Campaign, *, now: datetime | None = None) -> Results:
    """Every table of ``campaign``'s results page (the caller checked the viewer may see it)."""
    today = local_date(now or utcnow())
    groups = groups_of(campaign)
    keys = ("group_id", "model", "band", "agent_id")
    finest = sums_by(campaign, *keys)
    per_group = roll_up(finest, keys, "group_id")
    per_model = roll_up(finest, keys, "group_id", "model", "band")
    per_agent = roll_up(finest, keys, "agent_id")
    total = sum(per_group.values(), Figures())
    targets, others, owners = targets_and_others(campaign, total)
    tables = [
        _group_table(campaign, groups, per_group),
        _model_table(groups, per_model),
        _agent_table(per_agent),
        _targets_table(targets, others, owners),
        _goals_table(campaign, total),
        _survey_table(groups, per_group),
    ]
    charts = [
        chart(
            _("Success rate per target group"),
            [
                (
                    g.name,
                    rate(f.participated, f.invited),
                    [("insight-fill-bar", "", _share(f.participated, f.invited))],
                )
                for g in groups
                for f in [per_group.get((g.id,), Figures())]
            ],
            scale=100,
        ),
        chart(
            _("Revenue: targets and non-targets (¥)"),
            [
                (
                    _("Target owners"),
                    yuan_or_none(targets.fen),
                    [("insight-fill-loyal", "", targets.fen)],
                ),
                (
                    _("Non-target owners"),
                    yuan_or_none(others.fen),
                    [("insight-fill-swinging", "", others.fen)],
                ),
            ],
        ),
    ]
    if per_agent:
        names = agent_names(a for (a,) in per_agent)
        charts.append(
            chart(
                _("Success rate per agent"),
                [
                    (
                        names.get(a, _("Not assigned")) if a is not None else _("Not assigned"),
                        rate(f.participated, f.invited),
                        [("insight-fill-bar", "", _share(f.participated, f.invited))],
                    )
                    for (a,), f in sorted(
                        per_agent.items(), key=lambda i: (i[0][0] is None, names.get(i[0][0], ""))
                    )
                ],
                scale=100,
            )
        )
    return Results(
        campaign.dealer_id,
        tables,
        charts,
        facts={
            "invited": total.invited,
            "participated": total.participated,
            "rate": rate(total.participated, total.invited),
            "revenue": yuan_or_none(total.fen),
            "ticket": yuan_or_none(total.ticket_fen),
            "open": today <= campaign.ends_on,
            "started": today >= campaign.starts_on,
        },
        campaign=campaign,
    )


def _share(part: int, whole: int) -> float:
    return part * 100 / whole if whole else 0.0
