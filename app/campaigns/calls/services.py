"""A campaign's life (seed 000, R11): a manager makes a campaign (a window, goals, the offer
and script), launches it — the list split among care agents, invitations queued — and closes
it after its window. Its target groups are in ``groups.py``, the agents' calls in
``calling.py``.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import case, func, select, update

from app.auth.models import User
from app.campaigns.access import (
    draft_campaign,
    managed_campaign,
)
from app.campaigns.calls.invitations import queue_invitations
from app.campaigns.calls.models import (
    CAMPAIGN,
    Campaign,
    CampaignGroup,
    CampaignStatus,
    CampaignTarget,
)
from app.campaigns.calls.targeting import TargetFilters, describe
from app.core.audit import apply_changes, record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Forbidden, ValidationFailed
from app.core.permissions import Role, has_permission
from app.extensions import db
from app.loyalty.ledger import add_months
from app.members.models import Dealer
from app.rewards.models import Reward

MAX_WINDOW_DAYS = 366
MAX_GOAL_VISITS = 1_000_000
MAX_GOAL_REVENUE_FEN = 100_000_000_000  # ¥1,000,000,000


def _may_move(campaign: Campaign, to: CampaignStatus) -> None:
    """Refuse a status change the campaign's life does not allow."""
    if not CAMPAIGN.can(campaign, to):
        raise ValidationFailed(
            _(
                "A %(status)s campaign cannot be %(action)s.",
                status=status_label(campaign.status),
                action=status_label(to),
            )
        )


def status_label(status: str) -> str:
    """A campaign status in the user's language."""
    labels = {
        CampaignStatus.DRAFT: _("draft"),
        CampaignStatus.LAUNCHED: _("launched"),
        CampaignStatus.CLOSED: _("closed"),
    }
    return labels[CampaignStatus(status)]


# ------------------------------------------------------------------------------ campaigns


@dataclass(frozen=True)
class CampaignData:
    """What a manager enters for a campaign (money in fen)."""

    name: str
    starts_on: date | None
    ends_on: date | None
    offer: str = ""
    reward_id: int | None = None
    call_script: str = ""
    second_round_days: int = 14
    goal_visits: int | None = None
    goal_revenue_fen: int | None = None
    goal_success_rate_pct: int | None = None


def window_bounds(today: date) -> tuple[date, date]:
    """The earliest and the latest first day of a campaign made or moved ``today``: a year
    back (a campaign entered late) to two years ahead."""
    return add_months(today, -12), add_months(today, 24)


def _check(
    data: CampaignData, dealer_id: int, today: date, *, start_was: date | None = None
) -> None:
    """Refuse a campaign that breaks a rule, naming the field. The start is bounded (see
    ``window_bounds``) unless it stays ``start_was`` (an old draft keeps its start)."""
    if not data.name.strip():
        raise ValidationFailed(_("Give the campaign a name."), field="name")
    if len(data.name.strip()) > 120:
        raise ValidationFailed(_("A name has at most 120 characters."), field="name")
    if data.starts_on is None:
        raise ValidationFailed(_("Enter the first day of the campaign."), field="starts_on")
    if data.ends_on is None:
        raise ValidationFailed(_("Enter the last day of the campaign."), field="ends_on")
    earliest, latest = window_bounds(today)
    if data.starts_on != start_was and not earliest <= data.starts_on <= latest:
        raise ValidationFailed(
            _(
                "A campaign starts between %(earliest)s and %(latest)s.",
                earliest=earliest.isoformat(),
                latest=latest.isoformat(),
            ),
            field="starts_on",
        )
    if data.ends_on < data.starts_on:
        raise ValidationFailed(
            _("The campaign must end on or after the day it starts."), field="ends_on"
        )
    if (data.ends_on - data.starts_on).days + 1 > MAX_WINDOW_DAYS:
        raise ValidationFailed(
            _("A campaign runs at most %(days)s days.", days=MAX_WINDOW_DAYS), field="ends_on"
        )
    if not 1 <= data.second_round_days <= 90:
        raise ValidationFailed(
            _("The second call comes 1 to 90 days after an interested owner's first."),
            field="second_round_days",
        )
    goals = (
        (
            "goal_visits",
            data.goal_visits,
            MAX_GOAL_VISITS,
            _("Participating visits must be 1 to %(max)s.", max=f"{MAX_GOAL_VISITS:,}"),
        ),
        (
            "goal_revenue_yuan",
            data.goal_revenue_fen,
            MAX_GOAL_REVENUE_FEN,
            _("The revenue goal must be ¥1 to ¥%(max)s.", max=f"{MAX_GOAL_REVENUE_FEN // 100:,}"),
        ),
        (
            "goal_success_rate_pct",
            data.goal_success_rate_pct,
            100,
            _("A success rate is 1 to 100 %."),
        ),
    )
    for name, value, high, message in goals:
        if value is not None and not 1 <= value <= high:
            raise ValidationFailed(message, field=name)
    if data.reward_id is not None:
        reward = db.session.get(Reward, data.reward_id)
        if reward is None or not reward.active or reward.dealer_id not in (None, dealer_id):
            raise ValidationFailed(
                _("Choose an active reward of the dealer's catalog."), field="reward_id"
            )


def _values(data: CampaignData) -> dict:
    return {
        "name": data.name.strip(),
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
        "offer": data.offer.strip(),
        "reward_id": data.reward_id,
        "call_script": data.call_script.strip(),
        "second_round_days": data.second_round_days,
        "goal_visits": data.goal_visits,
        "goal_revenue_fen": data.goal_revenue_fen,
        "goal_success_rate_pct": data.goal_success_rate_pct,
    }


def create_campaign(
    actor: User, data: CampaignData, *, dealer_id: int | None = None, now: datetime | None = None
) -> Campaign:
    """A draft campaign of the actor's dealer (HQ names the dealer); audited."""
    if not has_permission(actor, "campaigns.manage"):
        raise Forbidden(_("Only a manager may change a campaign."))
    if actor.role != Role.HQ_ADMIN:
        dealer_id = actor.dealer_id
    if dealer_id is None or db.session.get(Dealer, dealer_id) is None:
        raise ValidationFailed(_("Choose the dealer the campaign is for."), field="dealer_id")
    now = now or utcnow()
    _check(data, dealer_id, local_date(now))
    campaign = Campaign(
        dealer_id=dealer_id,
        status=CampaignStatus.DRAFT,
        created_by_id=actor.id,
        created_at=now,
        **_values(data),
    )
    db.session.add(campaign)
    db.session.flush()
    record_audit(
        actor,
        "campaign.created",
        subject=campaign,
        dealer_id=dealer_id,
        details={"name": campaign.name},
        now=now,
    )
    return campaign


def update_campaign(
    actor: User, campaign_id: int, data: CampaignData, *, now: datetime | None = None
) -> Campaign:
    """Change a draft campaign; audited with what changed. Its window is fixed once it has
    target groups: their cars' ages and warranty were worked out at its start, and the overlap
    with other campaigns was checked against its window."""
    now = now or utcnow()
    campaign = draft_campaign(actor, campaign_id)
    _check(data, campaign.dealer_id, local_date(now), start_was=campaign.starts_on)
    values = _values(data)
    for name in ("starts_on", "ends_on"):
        if values[name] != getattr(campaign, name) and campaign.groups:
            raise ValidationFailed(
                _(
                    "Remove the target groups before changing the window: their cars' ages and "
                    "warranty, and the overlap with other campaigns, were worked out for this "
                    "window."
                ),
                field=name,
            )
    changes = apply_changes(campaign, values)
    db.session.flush()
    if changes:
        record_audit(
            actor,
            "campaign.updated",
            subject=campaign,
            dealer_id=campaign.dealer_id,
            details=changes,
            now=now,
        )
    return campaign


# -------------------------------------------------------------------------------- launch


def care_agents(dealer_id: int) -> list[User]:
    """The dealer's active care agents, who can be given a call list."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.dealer_id == dealer_id,
                User.role == Role.CARE_AGENT,
                User.active.is_(True),
            )
            .order_by(User.name, User.id)
        )
    )


def _agents(campaign: Campaign, agent_ids) -> list[User]:
    wanted = set(agent_ids or ())
    agents = [agent for agent in care_agents(campaign.dealer_id) if agent.id in wanted]
    if len(agents) != len(wanted) or not agents:
        raise ValidationFailed(
            _("Pick one or more care agents of the campaign's dealer."), field="agents"
        )
    return agents


def _assign_round_robin(campaign: Campaign, agents: list[int], now: datetime) -> None:
    """Split the list round-robin by owner in one UPDATE: the owners numbered group by group
    (an owner counts in the first group holding one of their cars), the n-th to agent n mod
    the number of agents, every car of an owner on that agent's list. So each agent gets a
    share of every group, no agent has more than one owner above another in a group, and an
    owner is called by one agent only (no row-by-row round trip for 100,000 targets)."""
    owners = (
        select(
            CampaignTarget.member_id.label("member_id"),
            func.min(CampaignGroup.position).label("position"),
            func.min(CampaignTarget.id).label("first_id"),
        )
        .join(CampaignGroup, CampaignGroup.id == CampaignTarget.group_id)
        .where(CampaignTarget.campaign_id == campaign.id)
        .group_by(CampaignTarget.member_id)
        .subquery()
    )
    slot = (func.row_number().over(order_by=(owners.c.position, owners.c.first_id)) - 1) % len(
        agents
    )
    numbered = select(owners.c.member_id, slot.label("slot")).subquery()
    agent = case(*((numbered.c.slot == i, a) for i, a in enumerate(agents)))
    db.session.execute(
        update(CampaignTarget)
        .where(
            CampaignTarget.campaign_id == campaign.id,
            CampaignTarget.member_id == numbered.c.member_id,
        )
        .values(agent_id=agent, invited_at=now)
        .execution_options(synchronize_session=False)
    )
    for row in list(db.session.identity_map.values()):
        if isinstance(row, CampaignTarget):
            db.session.expire(row)


def launch_campaign(
    actor: User, campaign_id: int, *, agent_ids, now: datetime | None = None
) -> int:
    """Launch a draft campaign: split its targets among the picked care agents and queue the
    invitations; audited. Returns how many outbox rows were queued."""
    now = now or utcnow()
    campaign = managed_campaign(actor, campaign_id, lock=True)
    _may_move(campaign, CampaignStatus.LAUNCHED)
    if local_date(now) > campaign.ends_on:
        raise ValidationFailed(_("The campaign's window is over: it can no longer be launched."))
    targets = db.session.scalar(
        select(func.count()).where(CampaignTarget.campaign_id == campaign.id)
    )
    if not targets:
        raise ValidationFailed(_("Add a target group before launching."))
    agents = _agents(campaign, agent_ids)
    _assign_round_robin(campaign, [agent.id for agent in agents], now)
    CAMPAIGN.move(campaign, CampaignStatus.LAUNCHED)
    campaign.launched_at = now
    db.session.flush()
    queued = queue_invitations(campaign, now=now)
    record_audit(
        actor,
        "campaign.launched",
        subject=campaign,
        dealer_id=campaign.dealer_id,
        details={
            "targets": targets,
            "agents": [agent.id for agent in agents],
            "messages": queued,
        },
        now=now,
    )
    return queued


def close_campaign(actor: User, campaign_id: int, *, now: datetime | None = None) -> Campaign:
    """Close a launched campaign once its window is over; audited."""
    now = now or utcnow()
    campaign = managed_campaign(actor, campaign_id, lock=True)
    _may_move(campaign, CampaignStatus.CLOSED)
    if local_date(now) <= campaign.ends_on:
        raise ValidationFailed(
            _(
                "The campaign runs until %(date)s: close it after its window.",
                date=campaign.ends_on.isoformat(),
            )
        )
    CAMPAIGN.move(campaign, CampaignStatus.CLOSED)
    campaign.closed_at = now
    db.session.flush()
    record_audit(actor, "campaign.closed", subject=campaign, dealer_id=campaign.dealer_id, now=now)
    return campaign


# ------------------------------------------------------------------------------ figures


def target_counts(campaign_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per campaign: its targets and how many of them were called (one GROUP BY query)."""
    if not campaign_ids:
        return {}
    rows = db.session.execute(
        select(CampaignTarget.campaign_id, func.count(), func.count(CampaignTarget.outcome))
        .where(CampaignTarget.campaign_id.in_(campaign_ids))
        .group_by(CampaignTarget.campaign_id)
    )
    return {campaign_id: (targets, called) for campaign_id, targets, called in rows}


class GroupLine(NamedTuple):
    """A target group with its cars, owners, cars called, and its filters in words."""

    group: CampaignGroup
    targets: int
    owners: int
    called: int
    filters: list[str]


class AgentLine(NamedTuple):
    """A care agent with the cars on their list and how many of them were called."""

    id: int
    name: str
    targets: int
    called: int


@dataclass(frozen=True)
class CampaignSummary:
    """What a campaign's page shows besides the campaign: its dealer and reward, its groups'
    and agents' counts."""

    dealer: Dealer
    reward: Reward | None
    groups: list[GroupLine]
    agents: list[AgentLine]


def campaign_summary(campaign: Campaign) -> CampaignSummary:
    """The campaign's dealer, reward, and counts per target group and per agent (two queries)."""
    group_rows = db.session.execute(
        select(
            CampaignGroup,
            func.count(CampaignTarget.id),
            func.count(CampaignTarget.member_id.distinct()),
            func.count(CampaignTarget.outcome),
        )
        .outerjoin(CampaignTarget, CampaignTarget.group_id == CampaignGroup.id)
        .where(CampaignGroup.campaign_id == campaign.id)
        .group_by(CampaignGroup.id)
        .order_by(CampaignGroup.position)
    ).all()
    agent_rows = db.session.execute(
        select(
            User.id, User.name, func.count(CampaignTarget.id), func.count(CampaignTarget.outcome)
        )
        .join(CampaignTarget, CampaignTarget.agent_id == User.id)
        .where(CampaignTarget.campaign_id == campaign.id)
        .group_by(User.id, User.name)
        .order_by(User.name)
    ).all()
    return CampaignSummary(
        dealer=db.session.get(Dealer, campaign.dealer_id),
        reward=db.session.get(Reward, campaign.reward_id) if campaign.reward_id else None,
        groups=[
            GroupLine(g, targets, owners, called, describe(TargetFilters.from_json(g.filters)))
            for g, targets, owners, called in group_rows
        ],
        agents=[AgentLine(*row) for row in agent_rows],
    )
