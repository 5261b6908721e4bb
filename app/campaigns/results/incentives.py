"""Staff incentives of a campaign (seed 000 提成方案): steps on the agents' success rate.

A manager sets the steps for the whole campaign and, optionally, for a target group of its
own. Each step is a lower bound of the success rate (in basis points, 1 % = 100 bp), an amount
per participating target and a bonus (negative: a penalty, the seed's 处罚200元).

The rule (the incentives page says it too):

- An agent's success rate is participating ÷ invited targets assigned to them, computed
  exactly as a fraction: never rounded before it is compared.
- The step that applies is the highest whose lower bound is at or below the rate:
  ``from_rate_bp × invited ≤ participating × 10,000``. A rate of exactly 18 % reaches an
  18 % step; 17.99 % (or 17 of 100) does not.
- A group with steps of its own pays on the agent's targets in that group; the campaign's steps
  pay on the agent's targets in every other group, taken together.
- The agent earns participating × per-participant amount + the step's bonus. An agent without
  targets under a set of steps earns nothing under it (no penalty either).
- Steps must rise strictly, the first at 0 % (every rate has a step), at most ten of them,
  amounts per participant ¥0–¥1,000, bonuses −¥10,000 to ¥10,000.

Seed 000 reads as: profitable-loyal — from 0 % a ¥200 penalty, from 11 % ¥6, from 18 % ¥10
per owner (so 10.5 % still earns the penalty); low-cost — from 0 % a ¥200 penalty, from 7 %
¥10, from 12 % ¥15.
"""

from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from flask_babel import gettext as _
from sqlalchemy import select

from app.auth.models import User
from app.campaigns.calls.models import Campaign, CampaignGroup, CampaignStatus
from app.campaigns.results.figures import Figures, rate, sums_by
from app.campaigns.results.models import IncentiveTier
from app.campaigns.results.reports import agent_names
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.core.money import yuan
from app.core.permissions import Role, has_permission
from app.core.reports import NONE, Column, Table, row
from app.extensions import db

MAX_STEPS = 10
MAX_PER_PARTICIPANT_FEN = 100_000  # ¥1,000
MAX_BONUS_FEN = 1_000_000  # ¥10,000
FULL_RATE_BP = 10_000


@dataclass(frozen=True)
class Step:
    """One step: from this rate (bp, inclusive), per participating target, bonus (fen)."""

    from_rate_bp: int
    per_participant_fen: int = 0
    bonus_fen: int = 0


def bp_text(bp: int) -> str:
    """A rate in basis points as an exact percentage: 1825 → '18.25%'."""
    return f"{bp // 100}.{bp % 100:02d}%"


def step_for(steps: list[Step], participated: int, invited: int) -> Step | None:
    """The highest step whose lower bound is at or below participated ÷ invited, compared
    exactly; None without invited targets or steps."""
    if not invited:
        return None
    reached = None
    for step in sorted(steps, key=lambda s: s.from_rate_bp):
        if step.from_rate_bp * invited <= participated * FULL_RATE_BP:
            reached = step
    return reached


def payout_fen(step: Step | None, participated: int) -> int:
    """What a step pays for ``participated`` targets: per participant × them + the bonus."""
    if step is None:
        return 0
    return participated * step.per_participant_fen + step.bonus_fen


# -------------------------------------------------------------------------------- steps


def steps_of(campaign: Campaign) -> dict[int | None, list[Step]]:
    """The campaign's steps by group id (None: the campaign's own), lowest first."""
    rows = db.session.scalars(
        select(IncentiveTier)
        .where(IncentiveTier.campaign_id == campaign.id)
        .order_by(IncentiveTier.from_rate_bp)
    )
    steps: dict[int | None, list[Step]] = {}
    for saved in rows:
        steps.setdefault(saved.group_id, []).append(
            Step(saved.from_rate_bp, saved.per_participant_fen, saved.bonus_fen)
        )
    return steps


def _check_steps(steps: list[Step]) -> None:
    """Refuse steps that leave a rate without a step, repeat or fall, or pay absurd sums."""
    if len(steps) > MAX_STEPS:
        raise ValidationFailed(_("At most %(max)s steps.", max=MAX_STEPS))
    if steps and steps[0].from_rate_bp != 0:
        raise ValidationFailed(
            _(
                "The first step must start at %(rate)s, so that every success rate has a step.",
                rate="0%",
            )
        )
    for before, step in pairwise(steps):
        if step.from_rate_bp == before.from_rate_bp:
            raise ValidationFailed(
                _(
                    "Two steps start at %(rate)s: each step needs its own rate.",
                    rate=bp_text(step.from_rate_bp),
                )
            )
        if step.from_rate_bp < before.from_rate_bp:
            raise ValidationFailed(
                _("Steps must rise: list them from the lowest success rate to the highest.")
            )
    for step in steps:
        if not 0 <= step.from_rate_bp <= FULL_RATE_BP:
            raise ValidationFailed(
                _("A step's success rate must be %(low)s to %(high)s.", low="0%", high="100%")
            )
        if not 0 <= step.per_participant_fen <= MAX_PER_PARTICIPANT_FEN:
            raise ValidationFailed(
                _(
                    "The amount per participating owner must be ¥0 to ¥%(max)s.",
                    max=yuan(MAX_PER_PARTICIPANT_FEN),
                )
            )
        if not -MAX_BONUS_FEN <= step.bonus_fen <= MAX_BONUS_FEN:
            raise ValidationFailed(
                _(
                    "A bonus or penalty must be between −¥%(max)s and ¥%(max)s.",
                    max=yuan(MAX_BONUS_FEN),
                )
            )


def set_incentive_steps(
    actor: User,
    campaign: Campaign,
    *,
    group_id: int | None,
    steps: list[Step],
    now: datetime | None = None,
) -> list[IncentiveTier]:
    """Replace the campaign's steps (``group_id`` None) or a group's with ``steps`` (none:
    remove them); refused and nothing saved when they break a rule or the campaign is closed
    (its agents' pay is settled); managers only; audit-logged."""
    if not has_permission(actor, "campaigns.incentives"):
        raise Forbidden(_("Only a manager may set staff incentives."))
    if actor.role != Role.HQ_ADMIN and campaign.dealer_id != actor.dealer_id:
        raise Forbidden(_("This campaign belongs to another dealer."))
    if campaign.status == CampaignStatus.CLOSED:
        raise ValidationFailed(
            _("This campaign is closed: its incentive steps can no longer change.")
        )
    if group_id is not None:
        group = db.session.get(CampaignGroup, group_id)
        if group is None or group.campaign_id != campaign.id:
            raise NotFound(_("This target group is not part of the campaign."))
    _check_steps(steps)
    before = steps_of(campaign).get(group_id, [])
    old = db.session.scalars(
        select(IncentiveTier).where(
            IncentiveTier.campaign_id == campaign.id,
            IncentiveTier.group_id.is_(None)
            if group_id is None
            else IncentiveTier.group_id == group_id,
        )
    )
    for saved in old:
        db.session.delete(saved)
    db.session.flush()
    rows = [
        IncentiveTier(
            campaign_id=campaign.id,
            group_id=group_id,
            from_rate_bp=s.from_rate_bp,
            per_participant_fen=s.per_participant_fen,
            bonus_fen=s.bonus_fen,
        )
        for s in steps
    ]
    db.session.add_all(rows)
    db.session.flush()

    def plain(items):
        return [[s.from_rate_bp, s.per_participant_fen, s.bonus_fen] for s in items]

    record_audit(
        actor,
        "campaign.incentives_set",
        subject=campaign,
        dealer_id=campaign.dealer_id,
        details={"group_id": group_id, "before": plain(before), "after": plain(steps)},
        now=now or utcnow(),
    )
    return rows


# ------------------------------------------------------------------------------ figures


@dataclass
class Line:
    """What one agent earns under one set of steps."""

    agent_id: int
    scope: int | None  # a group id, or None: the campaign's steps
    figures: Figures
    step: Step | None

    @property
    def amount_fen(self) -> int:
        return payout_fen(self.step, self.figures.participated)


def incentive_lines(campaign: Campaign) -> list[Line]:
    """Each agent's figures and earnings per set of steps (one GROUP BY query)."""
    steps = steps_of(campaign)
    per_agent_group = sums_by(campaign, "agent_id", "group_id")
    scoped: dict[tuple[int, int | None], Figures] = {}
    for (agent_id, group_id), f in per_agent_group.items():
        if agent_id is None:
            continue
        scope = group_id if group_id in steps else None
        if scope is None and None not in steps:
            continue
        scoped[(agent_id, scope)] = scoped.get((agent_id, scope), Figures()) + f
    return [
        Line(agent_id, scope, f, step_for(steps[scope], f.participated, f.invited))
        for (agent_id, scope), f in scoped.items()
    ]


def incentive_tables(campaign: Campaign, groups: list[CampaignGroup]) -> list[Table]:
    """The per-agent-and-steps table and the per-agent totals table."""
    lines = incentive_lines(campaign)
    steps = steps_of(campaign)
    names = agent_names({line.agent_id for line in lines})
    group_names = {g.id: g.name for g in groups}
    order = {g.id: g.position for g in groups}
    whole = _("Whole campaign") if not (set(steps) - {None}) else _("Other groups")
    lines.sort(
        key=lambda x: (names.get(x.agent_id, ""), x.agent_id, x.scope is None, order.get(x.scope))
    )
    rows = []
    for line in lines:
        f, step = line.figures, line.step
        rows.append(
            row(
                names.get(line.agent_id, ""),
                group_names.get(line.scope, whole) if line.scope is not None else whole,
                f.invited,
                f.participated,
                rate(f.participated, f.invited),
                bp_text(step.from_rate_bp) if step else NONE,
                yuan(step.per_participant_fen) if step else NONE,
                yuan(step.bonus_fen) if step else NONE,
                yuan(line.amount_fen),
            )
        )
    detail = Table(
        "incentives",
        _("Incentive per agent and target group"),
        [
            Column(_("Agent")),
            Column(_("Targets of")),
            Column(_("Invited"), True),
            Column(_("Participated"), True),
            Column(_("Success rate"), True),
            Column(_("Step from"), True),
            Column(_("Per participant (¥)"), True),
            Column(_("Bonus or penalty (¥)"), True),
            Column(_("Amount (¥)"), True),
        ],
        rows,
        empty=_("No incentive yet: set the steps, and assign targets to agents."),
    )
    totals: dict[int, int] = {}
    for line in lines:
        totals[line.agent_id] = totals.get(line.agent_id, 0) + line.amount_fen
    total_rows = [
        row(names.get(agent_id, ""), yuan(fen))
        for agent_id, fen in sorted(totals.items(), key=lambda i: (names.get(i[0], ""), i[0]))
    ]
    summary = Table(
        "incentive_totals",
        _("Incentive per agent, whole campaign"),
        [Column(_("Agent")), Column(_("Amount (¥)"), True)],
        total_rows,
        row(_("Total"), yuan(sum(totals.values()))) if total_rows else None,
        _("No incentive yet: set the steps, and assign targets to agents."),
    )
    return [detail, summary]
