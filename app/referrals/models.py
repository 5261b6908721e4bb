"""Referrals, prospects' showroom visits, callback questions and attempts, staff flags (R6)."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import string_enum
from app.core.states import StateMachine
from app.extensions import db
from app.members.models import Member, Vehicle


class ReferralStatus(StrEnum):
    """Where a referral stands; ALLOWED says which moves are possible."""

    REGISTERED = "registered"  # 提前报备: before the friend's first showroom visit
    VISITED = "visited"  # the friend came to the showroom
    PURCHASED = "purchased"  # the friend's car was delivered
    LICENCE_CHECKED = "licence_checked"  # the referrer's licence matches the club record
    LICENCE_FAILED = "licence_failed"
    CALLBACK = "callback"  # questions generated, the call is under way
    MANUAL_REVIEW = "manual_review"  # fewer than 3 questions could be made
    APPROVED = "approved"
    REWARDED = "rewarded"
    FRAUD = "fraud"
    WITHDRAWN = "withdrawn"


ALLOWED: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    ReferralStatus.REGISTERED: frozenset(
        {ReferralStatus.VISITED, ReferralStatus.PURCHASED, ReferralStatus.WITHDRAWN}
    ),
    ReferralStatus.VISITED: frozenset({ReferralStatus.PURCHASED, ReferralStatus.WITHDRAWN}),
    ReferralStatus.PURCHASED: frozenset(
        {ReferralStatus.LICENCE_CHECKED, ReferralStatus.LICENCE_FAILED}
    ),
    ReferralStatus.LICENCE_CHECKED: frozenset(
        {ReferralStatus.CALLBACK, ReferralStatus.MANUAL_REVIEW}
    ),
    ReferralStatus.LICENCE_FAILED: frozenset(),
    ReferralStatus.CALLBACK: frozenset({ReferralStatus.APPROVED, ReferralStatus.FRAUD}),
    ReferralStatus.MANUAL_REVIEW: frozenset({ReferralStatus.APPROVED, ReferralStatus.FRAUD}),
    ReferralStatus.APPROVED: frozenset({ReferralStatus.REWARDED}),
    ReferralStatus.REWARDED: frozenset(),
    # A fraud outcome the owner disputed and a manager overturned (disputes.py) is approved.
    ReferralStatus.FRAUD: frozenset({ReferralStatus.APPROVED}),
    ReferralStatus.WITHDRAWN: frozenset(),
}
REFERRAL = StateMachine(ReferralStatus, ALLOWED, name="referral")


class Callee(StrEnum):
    """Whom the agent calls; the questions are about the other one."""

    REFERRER = "referrer"
    FRIEND = "friend"


class QuestionKind(StrEnum):
    """An open question, or a statement with one deliberate error."""

    OPEN = "open"
    COLOUR = "colour"
    MODEL = "model"
    TRANSMISSION = "transmission"


class ReferralProgramme(db.Model):
    """What an approved referral gives (one row for the group; HQ edits it)."""

    __tablename__ = "referral_programme"
    __table_args__ = (
        CheckConstraint("referrer_points >= 0 AND friend_points >= 0", name="points_not_negative"),
        CheckConstraint("yearly_cap >= 1", name="cap_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referrer_points: Mapped[int]
    friend_points: Mapped[int]
    # Free vouchers: the regular-maintenance voucher for both, the fuel voucher for a
    # platinum or diamond referrer (seed 002).
    maintenance_reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id"))
    fuel_reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id"))
    yearly_cap: Mapped[int]


class ShowroomVisit(db.Model):
    """A prospect's visit to the showroom, recorded by staff (checks pre-registration)."""

    __tablename__ = "showroom_visits"
    __table_args__ = (Index("ix_showroom_visits_mobile_on", "mobile", "visited_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"), index=True)
    mobile: Mapped[str] = mapped_column(String(11))
    name: Mapped[str] = mapped_column(String(64))
    visited_on: Mapped[date]
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]


class Referral(db.Model):
    """An owner's referral of a friend, from pre-registration to reward or fraud."""

    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_dealer_status", "dealer_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    referrer_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    # The referrer's car the licence check and the questions are about.
    referrer_vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    friend_name: Mapped[str] = mapped_column(String(64))
    # First registration of a mobile wins: one referral per friend, ever.
    friend_mobile: Mapped[str] = mapped_column(String(11), unique=True)
    model_of_interest: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[ReferralStatus] = mapped_column(string_enum(ReferralStatus, 24), index=True)
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    registered_at: Mapped[datetime]
    visited_on: Mapped[date | None]
    purchased_at: Mapped[datetime | None]
    friend_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    friend_vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    licence_checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    licence_checked_at: Mapped[datetime | None]
    licence_details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    callee: Mapped[Callee | None] = mapped_column(string_enum(Callee, 16))
    callback_started_at: Mapped[datetime | None]
    recording_ref: Mapped[str | None] = mapped_column(String(128))
    review_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    rewarded_at: Mapped[datetime | None]
    reward_note: Mapped[str | None] = mapped_column(Text)

    referrer: Mapped[Member] = relationship(foreign_keys=[referrer_id])
    referrer_vehicle: Mapped[Vehicle | None] = relationship(foreign_keys=[referrer_vehicle_id])
    friend: Mapped[Member | None] = relationship(foreign_keys=[friend_member_id])
    friend_vehicle: Mapped[Vehicle | None] = relationship(foreign_keys=[friend_vehicle_id])
    questions: Mapped[list["CrossCheckQuestion"]] = relationship(
        back_populates="referral", order_by="CrossCheckQuestion.position"
    )
    attempts: Mapped[list["CallAttempt"]] = relationship(order_by="CallAttempt.at")


class CrossCheckQuestion(db.Model):
    """One callback question about the person not called.

    ``params`` hold what the question says (for a statement, the deliberately wrong value);
    ``expected`` is what the agent sees as the true answer.
    """

    __tablename__ = "cross_check_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    position: Mapped[int]
    kind: Mapped[QuestionKind] = mapped_column(string_enum(QuestionKind, 16))
    about: Mapped[Callee] = mapped_column(string_enum(Callee, 16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    expected: Mapped[str] = mapped_column(String(200))
    correct: Mapped[bool | None]
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    referral: Mapped[Referral] = relationship(back_populates="questions")


class CallAttempt(db.Model):
    """One call of the callback; three unreached attempts at different times, then it waits."""

    __tablename__ = "call_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]
    reached: Mapped[bool]
    note: Mapped[str] = mapped_column(Text, default="")


class StaffFlag(db.Model):
    """A staff member involved in a fraudulent referral (first and repeat offences)."""

    __tablename__ = "staff_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    offence: Mapped[int]
    created_at: Mapped[datetime]


# ------------------------------------------------ the referral's front door (issue 21, item 4)


class InviteLink(db.Model):
    """An owner's personal invite link (and its QR poster).

    The link carries a signed token (``app.core.tokens``, kind "invite") whose subject is the
    random ``handle``, never the owner's id; ``version`` goes up when the owner replaces the
    link, and every earlier token stops working.
    """

    __tablename__ = "referral_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    handle: Mapped[int] = mapped_column(BigInteger, unique=True)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    renewed_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship()


class InviteRegistration(db.Model):
    """A referral a friend pre-registered through an owner's invite link (the attribution)."""

    __tablename__ = "referral_invite_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("referral_invites.id"), index=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), unique=True)
    registered_at: Mapped[datetime]


class ReportStatus(StrEnum):
    """The duty manager's sign-off of a referral at the showroom (到值班经理处报备)."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REFUSED = "refused"


SHOWROOM_REPORT = StateMachine(
    ReportStatus,
    {
        ReportStatus.PENDING: {ReportStatus.CONFIRMED, ReportStatus.REFUSED},
        ReportStatus.CONFIRMED: set(),
        ReportStatus.REFUSED: set(),
    },
    name="showroom report",
)


class ShowroomReport(db.Model):
    """A referral reported to the duty manager at the friend's showroom visit: what the friend
    said of the referrer (提供老客户相关信息), and the manager's confirmation or refusal."""

    __tablename__ = "showroom_reports"
    __table_args__ = (Index("ix_showroom_reports_dealer_status", "dealer_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), unique=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("showroom_visits.id"))
    # What the friend said ("13800000000", "Zhang San 粤B12345"; empty: named nobody).
    named_referrer: Mapped[str] = mapped_column(String(200), default="")
    # The owner those details lead to, if any; it may differ from the referral's referrer.
    named_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    status: Mapped[ReportStatus] = mapped_column(string_enum(ReportStatus))
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")

    referral: Mapped[Referral] = relationship()
    named_member: Mapped[Member | None] = relationship(foreign_keys=[named_member_id])


class DisputeStatus(StrEnum):
    """An owner's dispute of a fraud outcome, and the manager's decision."""

    OPEN = "open"
    UPHELD = "upheld"  # the fraud outcome stands
    OVERTURNED = "overturned"  # the referral is approved and rewarded after all


REFERRAL_DISPUTE = StateMachine(
    DisputeStatus,
    {
        DisputeStatus.OPEN: {DisputeStatus.UPHELD, DisputeStatus.OVERTURNED},
        DisputeStatus.UPHELD: set(),
        DisputeStatus.OVERTURNED: set(),
    },
    name="referral dispute",
)


class ReferralDispute(db.Model):
    """An owner disputes a fraud outcome, once; a manager reviews it with the call recording
    (提供甄别录音) and decides."""

    __tablename__ = "referral_disputes"
    __table_args__ = (Index("ix_referral_disputes_dealer_status", "dealer_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Once per referral.
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[DisputeStatus] = mapped_column(string_enum(DisputeStatus))
    opened_at: Mapped[datetime]
    recording_ref: Mapped[str | None] = mapped_column(String(128))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]

    referral: Mapped[Referral] = relationship()
