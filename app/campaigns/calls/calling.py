"""The agents' side of a running campaign: their call lists (one view at a time), a call and
its outcome, and managers moving owners between lists.

Participation is a counted service visit of the target's car inside the window (see
``participation.py``); such a target "came" and needs no call. An "interested" owner who has not
come is called again ``second_round_days`` after the call (seed 000: 有意向但一直未进厂的客户 …
半月第二次跟进): from that day the target is in the second-round list and the next call is
round 2.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Row, and_, func, select, update

from app.auth.models import User
from app.campaigns.access import (
    load_campaign,
    managed_campaign,
    may_call,
    still_the_dealers,
)
from app.campaigns.calls.models import (
    CallOutcome,
    Campaign,
    CampaignCall,
    CampaignStatus,
    CampaignTarget,
)
from app.campaigns.calls.participation import came_condition
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.core.permissions import Role, has_permission
from app.extensions import db
from app.members.models import Member, Vehicle
from app.service.staff_booking import book_during_call

MAX_NOTE = 500


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


def _launched(actor: User, campaign_id: int) -> Campaign:
    campaign = managed_campaign(actor, campaign_id, lock=True)
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
    slot_id: int | None = None,
    now: datetime | None = None,
) -> CampaignCall:
    """Record one invitation call and its outcome; the target keeps the last outcome. Only the
    target's agent, or a manager of the dealer, may; only while the campaign runs.

    "Booked" with a time books it for the target's car (``book_for_owner``, the owner's rules,
    seed 002 主动预约) in the same transaction: a refused booking records no call.

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
    if slot_id is not None:
        _book_the_time(actor, target, outcome, slot_id, now)
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


def _book_the_time(actor: User, target: CampaignTarget, outcome, slot_id: int, now) -> None:
    member = db.session.get(Member, target.member_id)
    book_during_call(
        actor,
        member,
        target.vehicle_id,
        slot_id,
        booked=outcome == CallOutcome.BOOKED,
        booked_as=outcome_label(CallOutcome.BOOKED),
        source=f"campaign:{target.campaign_id}",
        now=now,
    )


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


@dataclass(frozen=True)
class CallListPage:
    """A page of a call list as its template names it: the targets, each one's owner, mobile,
    car and whether it came (``details`` by target id), the views' counts and the campaigns."""

    page: Pagination
    details: dict[int, Row]
    view: str
    outcome: str
    campaign_id: int | None
    counts: dict[str, int]
    campaigns: list[Campaign]
    today: date


def call_list_page(
    actor: User,
    *,
    view: str = "todo",
    outcome: str = "",
    campaign_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
    now: datetime | None = None,
) -> CallListPage:
    """A page of ``actor``'s call list in one view (an unknown one: "todo") or of one last
    outcome, with what each row shows (one query for the page's rows)."""
    now = now or utcnow()
    view = view if view in VIEWS else "todo"
    query = call_list(actor, view=view, outcome=outcome, campaign_id=campaign_id, now=now)
    pagination = db.paginate(query, page=page, per_page=per_page, error_out=False)
    ids = [t.id for t in pagination.items]
    details = {}
    if ids:
        rows = db.session.execute(
            select(
                CampaignTarget.id,
                Member.name,
                User.mobile,
                Vehicle.model,
                Vehicle.plate,
                came_condition().label("came"),
            )
            .join(Campaign, Campaign.id == CampaignTarget.campaign_id)
            .join(Member, Member.id == CampaignTarget.member_id)
            .join(User, User.id == Member.user_id)
            .join(Vehicle, Vehicle.id == CampaignTarget.vehicle_id)
            .where(CampaignTarget.id.in_(ids))
        )
        details = {row.id: row for row in rows}
    return CallListPage(
        page=pagination,
        details=details,
        view=view,
        outcome=outcome,
        campaign_id=campaign_id,
        counts=call_list_counts(actor, campaign_id=campaign_id, now=now),
        campaigns=call_campaigns(actor),
        today=local_date(now),
    )
