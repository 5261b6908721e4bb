"""Campaigns on the owner base (seed 000, R11): campaigns, their target groups, the
invitation lists (targets) and their calls."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import string_enum
from app.core.states import StateMachine
from app.extensions import db


class CampaignStatus(StrEnum):
    """A campaign's life: targets are chosen in draft, invited once launched, closed after."""

    DRAFT = "draft"
    LAUNCHED = "launched"
    CLOSED = "closed"


CAMPAIGN_TRANSITIONS = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.LAUNCHED}),
    CampaignStatus.LAUNCHED: frozenset({CampaignStatus.CLOSED}),
    CampaignStatus.CLOSED: frozenset(),
}
CAMPAIGN = StateMachine(CampaignStatus, CAMPAIGN_TRANSITIONS, name="campaign")


class Campaign(db.Model):
    """An after-sales campaign of one dealer on its owner base (seed 000): a window in which a
    target's service visit counts as participation, goals, the offer and the call script."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="window_order"),
        CheckConstraint("second_round_days BETWEEN 1 AND 90", name="second_round_range"),
        CheckConstraint(
            "goal_success_rate_pct IS NULL OR goal_success_rate_pct BETWEEN 1 AND 100",
            name="goal_rate_range",
        ),
        CheckConstraint("goal_visits IS NULL OR goal_visits >= 1", name="goal_visits_positive"),
        CheckConstraint(
            "goal_revenue_fen IS NULL OR goal_revenue_fen >= 1", name="goal_revenue_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # The window, local dates, both days included: a target's visit inside it participates.
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    status: Mapped[CampaignStatus] = mapped_column(
        string_enum(CampaignStatus), default=CampaignStatus.DRAFT
    )
    # What the owner is offered (预约礼, 进店礼, a voucher…), shown in invitations and scripts.
    offer: Mapped[str] = mapped_column(Text, default="")
    # An optional reward (voucher) from the catalog given with the offer.
    reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id"))
    call_script: Mapped[str] = mapped_column(Text, default="")
    # "Interested but not come" targets are called again this many days after (seed: 半月).
    second_round_days: Mapped[int] = mapped_column(default=14)
    # Goals (活动目的): participating visits (台次 / packages sold), revenue, success rate.
    goal_visits: Mapped[int | None]
    goal_revenue_fen: Mapped[int | None]
    goal_success_rate_pct: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    launched_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    groups: Mapped[list["CampaignGroup"]] = relationship(
        back_populates="campaign", order_by="CampaignGroup.position"
    )


class CampaignGroup(db.Model):
    """A target group of a campaign (目标人群): a name, the filters that chose its owners and
    its own success-rate goal (seed 000: profitable-loyal ≥ 18 %, low-cost ≥ 10 %)."""

    __tablename__ = "campaign_groups"
    __table_args__ = (
        UniqueConstraint("campaign_id", "position", name="uq_campaign_groups_position"),
        CheckConstraint(
            "goal_success_rate_pct IS NULL OR goal_success_rate_pct BETWEEN 1 AND 100",
            name="goal_rate_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(120))
    # The target filters as chosen (segment, tiers, models, age band, plate prefix, last
    # visit, warranty), kept so the page can say how the group was made.
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    goal_success_rate_pct: Mapped[int | None]

    campaign: Mapped[Campaign] = relationship(back_populates="groups")


class CallOutcome(StrEnum):
    """What one invitation call achieved."""

    NOT_REACHED = "not_reached"
    INTERESTED = "interested"  # 有意向: called again in the second round if they do not come
    BOOKED = "booked"  # promised a day / booked an appointment
    DECLINED = "declined"
    WRONG_NUMBER = "wrong_number"


class CampaignTarget(db.Model):
    """One targeted car and its owner in a campaign: the invitation list's row. Results count
    it as participating when a visit of this car (by VIN) falls in the campaign's window."""

    __tablename__ = "campaign_targets"
    __table_args__ = (
        UniqueConstraint("campaign_id", "vehicle_id", name="uq_campaign_targets_vehicle"),
        Index("ix_campaign_targets_agent", "agent_id", "campaign_id"),
        Index("ix_campaign_targets_group", "group_id"),
        Index("ix_campaign_targets_member", "member_id"),
        CheckConstraint("round IN (1, 2)", name="round_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("campaign_groups.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    # Snapshots at selection, so results stay as the list was made (the C3 group, the model
    # and the car's age in whole years at the window's start).
    vin: Mapped[str] = mapped_column(String(17))
    segment: Mapped[str] = mapped_column(String(24))
    model: Mapped[str] = mapped_column(String(64))
    age_years: Mapped[int]
    # The care agent who calls this owner; None until the list is split.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The last call's outcome (None: not called yet) and the round it belongs to.
    outcome: Mapped[CallOutcome | None] = mapped_column(string_enum(CallOutcome))
    round: Mapped[int] = mapped_column(default=1)
    # When an "interested" owner who has not come is due a second call.
    second_round_on: Mapped[date | None]
    invited_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    campaign: Mapped[Campaign] = relationship()
    group: Mapped[CampaignGroup] = relationship()


class CampaignCall(db.Model):
    """One invitation call an agent made to a target, with its outcome (append-only)."""

    __tablename__ = "campaign_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("campaign_targets.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    round: Mapped[int]
    called_at: Mapped[datetime]
    outcome: Mapped[CallOutcome] = mapped_column(string_enum(CallOutcome))
    note: Mapped[str] = mapped_column(String(500), default="")
