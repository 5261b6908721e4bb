"""Campaign rules (seed 000, R11): a manager makes a campaign and its target groups, launches
it (the list split among care agents, invitations queued), agents record their calls, and the
campaign closes after its window.

Participation is a counted service visit of the target's car inside the window (staff-recorded
or from the DMS); such a target "came" and needs no call. An "interested" owner who has not come
is called again ``second_round_days`` after the call (seed 000: 有意向但一直未进厂的客户 …
半月第二次跟进): from that day the target is in the second-round list and the next call is round 2.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, case, exists, func, select, update

from app.auth.models import User
from app.campaigns.access import load_campaign, may_call, still_the_dealers
from app.campaigns.models import (
    CAMPAIGN,
    CallOutcome,
    Campaign,
    CampaignCall,
    CampaignGroup,
    CampaignStatus,
    CampaignTarget,
)
from app.campaigns.results import participating_visits
from app.campaigns.targeting import (
    TargetFilters,
    age_in_years,
    check_filters,
    matching_cars,
)
from app.care.outbox import Channel, Message, insert_rows, load_recipients, queue_messages
from app.care.outbox import recipient_channels as owner_channels
from app.core.audit import apply_changes, record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.permissions import Role, has_permission
from app.extensions import db
from app.loyalty.ledger import add_months
from app.members.models import Dealer, Member
from app.rewards.models import Reward

MAX_WINDOW_DAYS = 366
MAX_GOAL_VISITS = 1_000_000
MAX_GOAL_REVENUE_FEN = 100_000_000_000  # ¥1,000,000,000
MAX_NOTE = 500
INVITATION_KIND = "campaign_invitation"
# Invitations go to the owner's inbox and by SMS (when they keep SMS on), never by e-mail.
INVITATION_CHANNELS = (Channel.IN_APP, Channel.SMS)


class OverlapNotConfirmed(Conflict):
    """Some of the selected owners are targets of another campaign running at the same time."""


# --------------------------------------------------------------------------------- access


def _managed(actor: User, campaign_id: int, *, lock: bool = False) -> Campaign:
    """The campaign, for an action only managers may take."""
    if not has_permission(actor, "campaigns.manage"):
        raise Forbidden(_("Only a manager may change a campaign."))
    return load_campaign(actor, campaign_id, lock=lock)


def _draft(actor: User, campaign_id: int) -> Campaign:
    campaign = _managed(actor, campaign_id, lock=True)
    if campaign.status != CampaignStatus.DRAFT:
        raise ValidationFailed(
            _("This campaign is launched: its details and target groups can no longer change.")
        )
    return campaign


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


def outcome_label(outcome: str) -> str:
    """A call outcome in the user's language."""
    labels = {
        CallOutcome.NOT_REACHED: _("Not reached"),
        CallOutcome.INTERESTED: _("Interested"),
        CallOutcome.BOOKED: _("Booked"),
        CallOutcome.DECLINED: _("Declined"),
        CallOutcome.WRONG_NUMBER: _("Wrong number"),
    }
    return labels[CallOutcome(outcome)]


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
    campaign = _draft(actor, campaign_id)
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


# -------------------------------------------------------------------------------- groups


@dataclass(frozen=True)
class Preview:
    """What a group's filters would add: cars and owners, and the owners already targeted by
    another campaign of the dealer whose window overlaps this one's."""

    cars: int
    owners: int
    overlap_owners: int
    overlap_campaigns: tuple[str, ...]


def _overlapping(campaign: Campaign):
    return select(Campaign.id).where(
        Campaign.dealer_id == campaign.dealer_id,
        Campaign.id != campaign.id,
        Campaign.starts_on <= campaign.ends_on,
        Campaign.ends_on >= campaign.starts_on,
    )


def preview_group(
    campaign: Campaign, filters: TargetFilters, *, now: datetime | None = None
) -> Preview:
    """The live count of a group's filters (cars not yet in the campaign) and the overlap.

    One statement: the chosen cars are worked out once (a CTE used twice, which PostgreSQL
    materialises), then counted with their owners and the owners who are targets of an
    overlapping campaign (an index probe per owner), with the names of those campaigns. (As
    separate statements with the selection as a subquery, PostgreSQL misjudged the size of the
    C3 selection and ran it again per row: longer than a request may take at 100,000 owners.)"""
    today = local_date(now or utcnow())
    chosen = matching_cars(
        campaign.dealer_id,
        filters,
        starts_on=campaign.starts_on,
        today=today,
        exclude_campaign_id=campaign.id,
    ).cte("chosen")
    others = _overlapping(campaign)
    elsewhere = exists().where(
        CampaignTarget.member_id == chosen.c.member_id, CampaignTarget.campaign_id.in_(others)
    )
    counts = (
        select(
            func.count().label("cars"),
            func.count(chosen.c.member_id.distinct()).label("owners"),
            func.count(case((elsewhere, chosen.c.member_id)).distinct()).label("overlap"),
        )
        .select_from(chosen)
        .cte("counts")
    )
    shares_owners = exists().where(
        CampaignTarget.campaign_id == Campaign.id,
        CampaignTarget.member_id.in_(select(chosen.c.member_id)),
    )
    rows = db.session.execute(
        select(counts.c.cars, counts.c.owners, counts.c.overlap, Campaign.name)
        .select_from(counts)
        .outerjoin(Campaign, and_(Campaign.id.in_(others), shares_owners))
        .order_by(Campaign.starts_on, Campaign.id)
    ).all()
    cars, owners, overlap = rows[0][:3]
    if cars == 0:
        return Preview(0, 0, 0, ())
    names = tuple(row.name for row in rows if row.name is not None) if overlap else ()
    return Preview(cars, owners, overlap, names)


def overlap_message(preview: Preview) -> str:
    """The warning a manager confirms before saving a group whose owners overlap."""
    return _(
        "%(owners)s of these owners are also targets of %(campaigns)s, running at the same time. "
        "Tick the box to save the group anyway.",
        owners=preview.overlap_owners,
        campaigns="、".join(preview.overlap_campaigns),
    )


def add_group(
    actor: User,
    campaign_id: int,
    *,
    name: str,
    filters: TargetFilters,
    goal_success_rate_pct: int | None = None,
    confirm_overlap: bool = False,
    now: datetime | None = None,
) -> CampaignGroup:
    """Add a target group to a draft campaign: its cars become targets (a car already in an
    earlier group is not added twice). Refused, with nothing saved, when no car matches, and
    when some owners are targets of an overlapping campaign and the manager has not confirmed."""
    campaign = _draft(actor, campaign_id)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the group a name."), field="name")
    if len(name) > 120:
        raise ValidationFailed(_("A name has at most 120 characters."), field="name")
    if goal_success_rate_pct is not None and not 1 <= goal_success_rate_pct <= 100:
        raise ValidationFailed(_("A success rate is 1 to 100 %."), field="goal_success_rate_pct")
    check_filters(filters, campaign.dealer_id)
    now = now or utcnow()
    preview = preview_group(campaign, filters, now=now)
    if preview.cars == 0:
        raise ValidationFailed(
            _(
                "No car matches these filters (cars already in an earlier group do not count "
                "again): nothing was saved. Widen the filters."
            )
        )
    if preview.overlap_owners and not confirm_overlap:
        raise OverlapNotConfirmed(overlap_message(preview), field="confirm_overlap")
    position = (
        db.session.scalar(
            select(func.max(CampaignGroup.position)).where(CampaignGroup.campaign_id == campaign.id)
        )
        or 0
    ) + 1
    group = CampaignGroup(
        campaign_id=campaign.id,
        position=position,
        name=name,
        filters=filters.to_json(),
        goal_success_rate_pct=goal_success_rate_pct,
    )
    db.session.add(group)
    db.session.flush()
    cars = db.session.execute(
        matching_cars(
            campaign.dealer_id,
            filters,
            starts_on=campaign.starts_on,
            today=local_date(now),
            exclude_campaign_id=campaign.id,
            with_segment=True,
        )
    ).all()
    rows = [
        {
            "campaign_id": campaign.id,
            "group_id": group.id,
            "member_id": car.member_id,
            "vehicle_id": car.vehicle_id,
            "vin": car.vin,
            "segment": car.segment,
            "model": car.model[:64],
            "age_years": age_in_years(car.start, campaign.starts_on),
            "agent_id": None,
            "outcome": None,
            "round": 1,
            "second_round_on": None,
            "invited_at": None,
            "created_at": now,
        }
        for car in cars
    ]
    insert_rows(CampaignTarget, rows)
    record_audit(
        actor,
        "campaign.group_added",
        subject=campaign,
        dealer_id=campaign.dealer_id,
        details={
            "group": name,
            "filters": filters.to_json(),
            "cars": len(rows),
            "overlap_owners": preview.overlap_owners,
        },
        now=now,
    )
    return group


def remove_group(
    actor: User, campaign_id: int, group_id: int, *, now: datetime | None = None
) -> None:
    """Remove a target group and its targets from a draft campaign; audited."""
    campaign = _draft(actor, campaign_id)
    group = db.session.get(CampaignGroup, group_id)
    if group is None or group.campaign_id != campaign.id:
        raise NotFound(_("No such group."))
    cars = db.session.execute(
        CampaignTarget.__table__.delete().where(CampaignTarget.group_id == group.id)
    ).rowcount
    name = group.name
    db.session.delete(group)
    db.session.flush()
    db.session.expire(campaign, ["groups"])
    record_audit(
        actor,
        "campaign.group_removed",
        subject=campaign,
        dealer_id=campaign.dealer_id,
        details={"group": name, "cars": cars},
        now=now,
    )


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


def _invitation_text(campaign: Campaign, locale: str) -> tuple[str, str]:
    with force_locale(locale):
        title = _("Invitation: %(name)s", name=campaign.name)
        body = _(
            "From %(first)s to %(last)s. %(offer)s",
            first=campaign.starts_on.isoformat(),
            last=campaign.ends_on.isoformat(),
            offer=campaign.offer,
        ).strip()
    return title, body


def queue_invitations(campaign: Campaign, *, now: datetime | None = None) -> int:
    """Queue one invitation per owner targeted by ``campaign`` (however many of their cars it
    holds) through the outbox: inbox and SMS as the owner chose; marketing, so owners without
    the marketing opt-in get nothing. Owners who have since moved to another dealer are left
    out. The dedupe key names campaign and owner: a rerun queues nothing twice. Returns how
    many outbox rows were created."""
    now = now or utcnow()
    member_ids = list(
        db.session.scalars(
            select(CampaignTarget.member_id)
            .join(Member, Member.id == CampaignTarget.member_id)
            .where(
                CampaignTarget.campaign_id == campaign.id,
                Member.dealer_id == campaign.dealer_id,
            )
            .distinct()
            .order_by(CampaignTarget.member_id)
        )
    )
    recipients = load_recipients(set(member_ids))
    texts: dict[str, tuple[str, str]] = {}
    messages = []
    for member_id in member_ids:
        recipient = recipients[member_id]
        if recipient.locale not in texts:
            texts[recipient.locale] = _invitation_text(campaign, recipient.locale)
        title, body = texts[recipient.locale]
        channels = tuple(c for c in owner_channels(recipient) if c in INVITATION_CHANNELS)
        messages.append(
            Message(
                recipient,
                INVITATION_KIND,
                title,
                body,
                f"campaign:{campaign.id}:member:{member_id}:round:1",
                channels,
                marketing=True,
            )
        )
    return len(queue_messages(messages, now=now)) if messages else 0


def launch_campaign(
    actor: User, campaign_id: int, *, agent_ids, now: datetime | None = None
) -> int:
    """Launch a draft campaign: split its targets among the picked care agents and queue the
    invitations; audited. Returns how many outbox rows were queued."""
    now = now or utcnow()
    campaign = _managed(actor, campaign_id, lock=True)
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
    campaign = _managed(actor, campaign_id, lock=True)
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


def _launched(actor: User, campaign_id: int) -> Campaign:
    campaign = _managed(actor, campaign_id, lock=True)
    if campaign.status != CampaignStatus.LAUNCHED:
        raise ValidationFailed(_("Call lists can be changed only while the campaign runs."))
    return campaign


def _agent_of(campaign: Campaign, agent_id: int | None) -> User:
    agent = db.session.get(User, agent_id) if agent_id else None
    if (
        agent is None
        or agent.role != Role.CARE_AGENT
        or agent.dealer_id != campaign.dealer_id
        or not agent.active
    ):
        raise ValidationFailed(_("Pick a care agent of the campaign's dealer."), field="agent_id")
    return agent


def reassign_target(
    actor: User, campaign_id: int, target_id: int, agent_id: int, *, now: datetime | None = None
) -> CampaignTarget:
    """Move one target to another care agent's list; audited."""
    campaign = _launched(actor, campaign_id)
    target = db.session.get(CampaignTarget, target_id)
    if target is None or target.campaign_id != campaign.id:
        raise NotFound(_("No such target."))
    agent = _agent_of(campaign, agent_id)
    before = target.agent_id
    target.agent_id = agent.id
    db.session.flush()
    record_audit(
        actor,
        "campaign.target_reassigned",
        subject=campaign,
        dealer_id=campaign.dealer_id,
        details={"target": target.id, "from": before, "to": agent.id},
        now=now,
    )
    return target


def move_targets(
    actor: User,
    campaign_id: int,
    *,
    from_agent_id: int,
    to_agent_id: int,
    count: int,
    now: datetime | None = None,
) -> int:
    """Move up to ``count`` not yet called targets from one agent's list to another's (the
    most recently listed first); audited. Returns how many moved."""
    campaign = _launched(actor, campaign_id)
    source = _agent_of(campaign, from_agent_id)
    agent = _agent_of(campaign, to_agent_id)
    if source.id == agent.id:
        raise ValidationFailed(_("Pick two different agents."), field="to_agent_id")
    if not isinstance(count, int) or not 1 <= count <= 100_000:
        raise ValidationFailed(_("Move 1 or more owners."), field="count")
    ids = list(
        db.session.scalars(
            select(CampaignTarget.id)
            .where(
                CampaignTarget.campaign_id == campaign.id,
                CampaignTarget.agent_id == source.id,
                CampaignTarget.outcome.is_(None),
            )
            .order_by(CampaignTarget.id.desc())
            .limit(count)
        )
    )
    if not ids:
        raise ValidationFailed(
            _("%(agent)s has no owner left to call.", agent=source.name), field="from_agent_id"
        )
    db.session.execute(
        update(CampaignTarget).where(CampaignTarget.id.in_(ids)).values(agent_id=agent.id)
    )
    record_audit(
        actor,
        "campaign.targets_moved",
        subject=campaign,
        dealer_id=campaign.dealer_id,
        details={"from": source.id, "to": agent.id, "targets": len(ids)},
        now=now,
    )
    return len(ids)


# --------------------------------------------------------------------------------- calls


def came_condition():
    """SQL: the target's car had a visit that counts for its campaign (Campaign must be in the
    query): the same condition as the results' participation, so the call list's "came" and
    the results page never disagree."""
    return exists().where(participating_visits(Campaign, CampaignTarget.vehicle_id))


def has_come(target: CampaignTarget) -> bool:
    """Whether the target's car came for service at the dealer inside the campaign's window."""
    came = exists().where(participating_visits(target.campaign, target.vehicle_id))
    return bool(db.session.scalar(select(came)))


def second_round_due(target: CampaignTarget, today: date) -> bool:
    """An interested owner's second call is due (whether they came is checked apart)."""
    return (
        target.round == 1
        and target.outcome == CallOutcome.INTERESTED
        and target.second_round_on is not None
        and target.second_round_on <= today
    )


def record_call(
    actor: User,
    target_id: int,
    *,
    outcome: str,
    note: str = "",
    now: datetime | None = None,
) -> CampaignCall:
    """Record one invitation call and its outcome; the target keeps the last outcome. Only the
    target's agent, or a manager of the dealer, may; only while the campaign runs.

    An interested owner's second call is due ``second_round_days`` after the call; a call from
    that day on is round 2. The target row is locked, so two calls at once are both kept and the
    target ends with one of them as its last."""
    now = now or utcnow()
    target = db.session.scalars(
        select(CampaignTarget)
        .where(CampaignTarget.id == target_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if target is None:
        raise NotFound(_("No such target."))
    campaign = load_campaign(actor, target.campaign_id)
    if not may_call(actor, target):
        raise Forbidden(
            _(
                "This owner is on another agent's call list: your call was not recorded. "
                "Ask a manager to move the owner to your list."
            )
        )
    if campaign.status != CampaignStatus.LAUNCHED:
        raise ValidationFailed(_("Calls can be recorded only while the campaign runs."))
    if not still_the_dealers(target):
        raise ValidationFailed(
            _("This owner has moved to another dealer: your call was not recorded.")
        )
    try:
        outcome = CallOutcome(outcome)
    except ValueError:
        raise ValidationFailed(_("Choose what the call achieved."), field="outcome") from None
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(
            _("A note has at most %(max)s characters.", max=MAX_NOTE), field="note"
        )
    today = local_date(now)
    round_ = 2 if target.round == 2 or second_round_due(target, today) else 1
    call = CampaignCall(
        target_id=target.id,
        agent_id=actor.id,
        round=round_,
        called_at=now,
        outcome=outcome,
        note=note,
    )
    db.session.add(call)
    target.outcome = outcome
    target.round = round_
    if round_ == 1:
        target.second_round_on = (
            today + timedelta(days=campaign.second_round_days)
            if outcome == CallOutcome.INTERESTED
            else None
        )
    db.session.flush()
    return call


def calls_of(target: CampaignTarget) -> list[CampaignCall]:
    """The target's calls, newest first."""
    return list(
        db.session.scalars(
            select(CampaignCall)
            .where(CampaignCall.target_id == target.id)
            .order_by(CampaignCall.called_at.desc(), CampaignCall.id.desc())
        )
    )


# ------------------------------------------------------------------------------ call list

VIEWS = ("todo", "second", "round2", "came", "all")


def _view_conditions(today: date) -> dict[str, object]:
    came = came_condition()
    return {
        "todo": and_(CampaignTarget.outcome.is_(None), ~came),
        "second": and_(
            CampaignTarget.round == 1,
            CampaignTarget.outcome == CallOutcome.INTERESTED,
            CampaignTarget.second_round_on <= today,
            ~came,
        ),
        "round2": CampaignTarget.round == 2,
        "came": came,
    }


def _scope(actor: User, campaign_id: int | None = None):
    # An owner who moved to another dealer (an approved chapter transfer) is no longer called,
    # nor one who withdrew the marketing consent since the campaign chose them (PIPL).
    query = (
        select(CampaignTarget)
        .join(Campaign, Campaign.id == CampaignTarget.campaign_id)
        .join(Member, Member.id == CampaignTarget.member_id)
        .where(
            Campaign.status == CampaignStatus.LAUNCHED,
            Member.dealer_id == Campaign.dealer_id,
            Member.marketing_opt_in.is_(True),
        )
    )
    if actor.role != Role.HQ_ADMIN:
        query = query.where(Campaign.dealer_id == actor.dealer_id)
    if not has_permission(actor, "campaigns.manage"):
        query = query.where(CampaignTarget.agent_id == actor.id)
    if campaign_id:
        query = query.where(Campaign.id == campaign_id)
    return query


def call_list(
    actor: User,
    *,
    view: str = "todo",
    outcome: str = "",
    campaign_id: int | None = None,
    now: datetime | None = None,
):
    """A query of the targets ``actor`` calls (an agent: their own; a manager: the dealer's) of
    launched campaigns, for one view of the list or one last outcome."""
    query = _scope(actor, campaign_id)
    conditions = _view_conditions(local_date(now or utcnow()))
    if outcome in {o.value for o in CallOutcome}:
        query = query.where(CampaignTarget.outcome == outcome)
    elif view in conditions:
        query = query.where(conditions[view])
    return query.order_by(Campaign.ends_on, Campaign.id, CampaignTarget.id)


def call_list_counts(
    actor: User, *, campaign_id: int | None = None, now: datetime | None = None
) -> dict[str, int]:
    """How many targets each view of the list holds (one query)."""
    conditions = _view_conditions(local_date(now or utcnow()))
    sub = _scope(actor, campaign_id).with_only_columns(
        *(func.count().filter(c).label(name) for name, c in conditions.items()),
        func.count().label("all"),
    )
    row = db.session.execute(sub).one()
    return dict(row._mapping)


def call_campaigns(actor: User) -> list[Campaign]:
    """The launched campaigns in ``actor``'s call list, for its filter."""
    ids = _scope(actor).with_only_columns(Campaign.id).distinct()
    return list(
        db.session.scalars(select(Campaign).where(Campaign.id.in_(ids)).order_by(Campaign.ends_on))
    )
