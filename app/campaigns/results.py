"""A campaign's results (seed 000 活动效果评估, R11): the seed's evaluation tables made live.

Definitions (the results page says them too):

- **Participation.** A target (a car on the campaign's list) participates when a counted
  service visit of its car — refunded visits never count — at the campaign's dealer has its
  day inside the campaign's window (``starts_on`` to ``ends_on``, both days included). The
  visit is the car's (``vehicle_id``, the car its VIN names), whether staff recorded it or the
  dealer's DMS pushed it.
- **Invited** (计划邀约人数 = 电话邀约人数): the campaign's targets. **Success rate**
  (邀约成功率): participating ÷ invited targets.
- **Revenue** (目标客户产值): the amounts of the participating targets' counted visits at the
  dealer inside the window. **Average ticket** (客单价): revenue ÷ participating targets
  (seed 000: ¥523,342 ÷ 220 = ¥2,379), rounded half up to a fen.
- **Vehicle age bands** come from the target's age snapshot (whole years at the window's
  start): under 1 year, 1–2, 2–3, 3–5 and 5 years or more (a band includes its lower bound).
- **Per agent**: invited = the targets assigned to the agent; called = those of them with at
  least one invitation call recorded (by anyone).
- **Non-targets** (非目标客户): owners of the campaign's dealer (their chapter) with a counted
  visit at the dealer inside the window of a car that is not a target of this campaign.
  Their average ticket is revenue ÷ participating cars, as for targets.
- **Goals** (活动目的): participating visits (台次) against ``goal_visits``, revenue against
  ``goal_revenue_fen``, the success rate against ``goal_success_rate_pct``; attainment is the
  actual figure as a percentage of the goal.
- **Satisfaction callback** (满意度回访): of the participating targets, reached = with at least
  one callback that reached the owner (成功率 = reached ÷ participating); satisfied = whose
  latest reaching callback said satisfied (好评率 = satisfied ÷ reached).
- Percentages show one decimal, rounded half up from the exact fraction.

The page's per-group, per-model and per-agent tables add up one GROUP BY over the campaign's
targets joined with their visits, calls and callbacks; distinct owners and the non-targets
take three more queries.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, select, union

from app.auth.models import User
from app.campaigns.models import (
    Campaign,
    CampaignCall,
    CampaignGroup,
    CampaignTarget,
    SurveyCall,
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
from app.members.models import Member
from app.service.models import COUNTED_VISIT, ServiceVisit

# Vehicle-age bands: (key, label, lowest age in whole years), youngest first.
AGE_BANDS = (
    ("0-1", _l("Under 1 year"), 0),
    ("1-2", _l("1–2 years"), 1),
    ("2-3", _l("2–3 years"), 2),
    ("3-5", _l("3–5 years"), 3),
    ("5+", _l("5 years or more"), 5),
)
TABLES = ("groups", "models", "agents", "targets", "goals", "survey")


def band_of(age_years: int) -> str:
    """The age band's key of a car ``age_years`` old (the rule the SQL follows)."""
    key = AGE_BANDS[0][0]
    for band, _label, lowest in AGE_BANDS:
        if age_years >= lowest:
            key = band
    return key


def band_label(key: str) -> str:
    """The age band's name in the user's language."""
    return next(str(label) for band, label, _low in AGE_BANDS if band == key)


def rate(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage with one decimal, rounded half up from the exact
    fraction ('16.5%'), or '—' when ``whole`` is 0."""
    if not whole:
        return NONE
    tenths = (part * 2000 + whole) // (2 * whole)
    return f"{tenths // 10}.{tenths % 10}%"


def attained(part: int, whole: int, goal_pct: int | None) -> str:
    """'Yes' when part ÷ whole reaches ``goal_pct`` %, exactly; '—' without goal or targets."""
    if goal_pct is None or not whole:
        return NONE
    return _("Yes") if part * 100 >= goal_pct * whole else _("No")


# --------------------------------------------------------------------------- the query


def participating_visits(campaign, vehicle_id):
    """The condition that a service visit counts for ``campaign``'s car ``vehicle_id``: a
    Campaign, or the Campaign class to match each row with its own campaign."""
    return and_(
        ServiceVisit.vehicle_id == vehicle_id,
        ServiceVisit.dealer_id == campaign.dealer_id,
        ServiceVisit.visited_on >= campaign.starts_on,
        ServiceVisit.visited_on <= campaign.ends_on,
        COUNTED_VISIT,
    )


def target_figures(campaign: Campaign):
    """A subquery with one row per target of ``campaign``: its group, agent, owner, model and
    age band, and its in-window visits, revenue, participated (0/1), called (0/1), reached
    (0/1: a callback reached the owner) and satisfied (0/1: the latest reaching callback)."""
    T = CampaignTarget
    per_car = (
        select(
            T.id.label("target_id"),
            T.group_id,
            T.agent_id,
            T.member_id,
            T.model,
            T.age_years,
            func.count(ServiceVisit.id).label("visits"),
            func.coalesce(func.sum(ServiceVisit.amount_fen), 0).label("fen"),
        )
        .select_from(T)
        .outerjoin(ServiceVisit, participating_visits(campaign, T.vehicle_id))
        .where(T.campaign_id == campaign.id)
        .group_by(T.id, T.group_id, T.agent_id, T.member_id, T.model, T.age_years)
        .subquery("per_car")
    )
    # Calls and callbacks per target, joined once (a subquery per target row made PostgreSQL
    # plan, and compile, these GROUP BYs as far dearer than they are).
    called = select(CampaignCall.target_id).group_by(CampaignCall.target_id).subquery("called")
    latest = (
        select(
            SurveyCall.target_id,
            SurveyCall.satisfied,
            func.row_number()
            .over(
                partition_by=SurveyCall.target_id,
                order_by=(SurveyCall.called_at.desc(), SurveyCall.id.desc()),
            )
            .label("newest"),
        )
        .where(SurveyCall.reached.is_(True))
        .subquery("callbacks")
    )
    band = case(
        *((per_car.c.age_years >= lowest, key) for key, _label, lowest in reversed(AGE_BANDS[1:])),
        else_=AGE_BANDS[0][0],
    )
    return (
        select(
            per_car,
            case((per_car.c.visits > 0, 1), else_=0).label("participated"),
            case((called.c.target_id.is_not(None), 1), else_=0).label("called"),
            case((latest.c.target_id.is_not(None), 1), else_=0).label("reached"),
            case((latest.c.satisfied.is_(True), 1), else_=0).label("satisfied"),
            band.label("band"),
        )
        .outerjoin(called, called.c.target_id == per_car.c.target_id)
        .outerjoin(latest, and_(latest.c.target_id == per_car.c.target_id, latest.c.newest == 1))
        .subquery("targets")
    )


@dataclass
class Figures:
    """Sums over a set of targets."""

    invited: int = 0
    participated: int = 0
    visits: int = 0
    fen: int = 0
    called: int = 0
    reached: int = 0
    satisfied: int = 0

    @property
    def ticket_fen(self) -> int | None:
        """Average ticket: revenue per participating target."""
        return average_fen(self.fen, self.participated)

    def __add__(self, other: "Figures") -> "Figures":
        return Figures(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))


def sums_by(campaign: Campaign, *keys: str) -> dict[tuple, Figures]:
    """Figures per value of the target columns ``keys`` (group_id, agent_id, model, band…),
    one GROUP BY query. Reached and satisfied count participating targets only."""
    t = target_figures(campaign)
    part = t.c.participated == 1
    columns = [t.c[k] for k in keys]
    query = select(
        *columns,
        func.count(),
        func.sum(t.c.participated),
        func.sum(t.c.visits),
        func.sum(t.c.fen),
        func.sum(t.c.called),
        func.sum(case((and_(part, t.c.reached == 1), 1), else_=0)),
        func.sum(case((and_(part, t.c.satisfied == 1), 1), else_=0)),
    ).group_by(*columns)
    return {
        tuple(row[: len(keys)]): Figures(*(int(v or 0) for v in row[len(keys) :]))
        for row in db.session.execute(query)
    }


def roll_up(sums: dict[tuple, Figures], keys: tuple[str, ...], *wanted: str) -> dict:
    """``sums`` made by ``keys`` (from ``sums_by``) added up per ``wanted`` keys: the figures
    are counts and sums, so a finer GROUP BY adds up to a coarser one."""
    positions = [keys.index(k) for k in wanted]
    result: dict[tuple, Figures] = {}
    for key, figures in sums.items():
        coarse = tuple(key[p] for p in positions)
        result[coarse] = result.get(coarse, Figures()) + figures
    return result


@dataclass
class Outsiders:
    """Participants of the targets or of the non-targets (table 4)."""

    owners: int = 0
    cars: int = 0
    visits: int = 0
    fen: int = 0


def _non_target_visits(campaign: Campaign):
    """Counted in-window visits at the dealer of the dealer's owners' non-target cars."""
    targets = select(CampaignTarget.vehicle_id).where(CampaignTarget.campaign_id == campaign.id)
    return (
        select(ServiceVisit.member_id, ServiceVisit.vehicle_id, ServiceVisit.amount_fen)
        .join(Member, Member.id == ServiceVisit.member_id)
        .where(
            Member.dealer_id == campaign.dealer_id,
            ServiceVisit.dealer_id == campaign.dealer_id,
            ServiceVisit.visited_on >= campaign.starts_on,
            ServiceVisit.visited_on <= campaign.ends_on,
            COUNTED_VISIT,
            ServiceVisit.vehicle_id.not_in(targets),
        )
    )


def targets_and_others(
    campaign: Campaign, total: Figures | None = None
) -> tuple[Outsiders, Outsiders, int]:
    """Participants among targets and non-targets, and the distinct owners of both together.
    ``total``: the campaign's figures (``sums_by``), when the caller has them."""
    if total is None:
        total = sum(sums_by(campaign).values(), Figures())
    came = (
        select(CampaignTarget.member_id)
        .where(
            CampaignTarget.campaign_id == campaign.id,
            exists().where(participating_visits(campaign, CampaignTarget.vehicle_id)),
        )
        .distinct()
    )
    owners = db.session.scalar(select(func.count()).select_from(came.subquery()))
    targets = Outsiders(owners, total.participated, total.visits, total.fen)
    others_q = _non_target_visits(campaign).subquery()
    o_owners, o_cars, o_visits, o_fen = db.session.execute(
        select(
            func.count(func.distinct(others_q.c.member_id)),
            func.count(func.distinct(others_q.c.vehicle_id)),
            func.count(),
            func.coalesce(func.sum(others_q.c.amount_fen), 0),
        )
    ).one()
    others = Outsiders(o_owners, o_cars, o_visits, int(o_fen))
    both = union(came, select(others_q.c.member_id)).subquery()
    every_owner = db.session.scalar(select(func.count()).select_from(both))
    return targets, others, every_owner


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
