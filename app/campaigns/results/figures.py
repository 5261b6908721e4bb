"""A campaign's figures (seed 000 活动效果评估, R11): what the results page and the incentives
count, as one GROUP BY over the campaign's targets.

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

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, select, union

from app.campaigns.calls.models import Campaign, CampaignCall, CampaignTarget
from app.campaigns.calls.participation import participating_visits
from app.campaigns.results.models import SurveyCall
from app.core.reports import (
    NONE,
    average_fen,
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
