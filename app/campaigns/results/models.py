"""A campaign's outcome (seed 000): satisfaction callbacks and staff incentive steps."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class SurveyCall(db.Model):
    """A satisfaction callback after the campaign (满意度回访) to a participating target."""

    __tablename__ = "campaign_survey_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("campaign_targets.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    called_at: Mapped[datetime]
    reached: Mapped[bool]
    # Only when reached: did the owner say they were satisfied.
    satisfied: Mapped[bool | None]
    note: Mapped[str] = mapped_column(String(500), default="")


class IncentiveTier(db.Model):
    """A step of a campaign's staff incentive (seed 000 提成方案): an agent whose success rate
    (participating ÷ invited targets of theirs, in the group or the whole campaign) is at or
    above ``from_rate_bp`` earns ``per_participant_fen`` for each participating target plus
    ``bonus_fen`` (negative: a penalty, the seed's 处罚200元). The highest step reached counts."""

    __tablename__ = "campaign_incentive_tiers"
    __table_args__ = (
        CheckConstraint("from_rate_bp BETWEEN 0 AND 10000", name="rate_range"),
        CheckConstraint("per_participant_fen >= 0", name="per_participant_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    # None: the step applies to the whole campaign's targets of the agent.
    group_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_groups.id"))
    # Lower bound of the success rate in basis points (1 % = 100), inclusive.
    from_rate_bp: Mapped[int]
    per_participant_fen: Mapped[int] = mapped_column(default=0)
    bonus_fen: Mapped[int] = mapped_column(default=0)
