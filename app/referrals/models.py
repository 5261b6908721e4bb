"""Referrals, prospects' showroom visits, callback questions and attempts, the dated referral
terms, staff flags and the staff identity register (R6)."""

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
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
from app.members.models import Member, Vehicle

if TYPE_CHECKING:
    from app.auth.models import User


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
    # R6.6: the referrer matches a staff member; a manager decides before any reward.
    STAFF_REVIEW = "staff_review"
    STAFF_EXCLUDED = "staff_excluded"  # confirmed staff: never rewarded


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
    ReferralStatus.APPROVED: frozenset({ReferralStatus.REWARDED, ReferralStatus.STAFF_REVIEW}),
    ReferralStatus.REWARDED: frozenset(),
    # A fraud outcome the owner disputed and a manager overturned (disputes.py) is approved.
    ReferralStatus.FRAUD: frozenset({ReferralStatus.APPROVED}),
    ReferralStatus.WITHDRAWN: frozenset(),
    # Cleared as not staff: back to approved, and rewarded at once.
    ReferralStatus.STAFF_REVIEW: frozenset({ReferralStatus.APPROVED}),
    ReferralStatus.STAFF_EXCLUDED: frozenset(),
}
# A manager who confirms the referrer is staff ends the referral wherever it stands.
STAFF_EXCLUDABLE = frozenset(
    {
        ReferralStatus.REGISTERED,
        ReferralStatus.VISITED,
        ReferralStatus.PURCHASED,
        ReferralStatus.LICENCE_CHECKED,
        ReferralStatus.CALLBACK,
        ReferralStatus.MANUAL_REVIEW,
        ReferralStatus.APPROVED,
        ReferralStatus.STAFF_REVIEW,
    }
)
for _state in STAFF_EXCLUDABLE:
    ALLOWED[_state] = ALLOWED[_state] | {ReferralStatus.STAFF_EXCLUDED}
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


class StaffReview(StrEnum):
    """A staff match's review (R6.6): waiting for a manager, or decided."""

    PENDING = "pending"
    NOT_STAFF = "not_staff"
    STAFF = "staff"


class ReferralTerms(db.Model):
    """One dated version of what an approved referral gives (积分规则设置, seed 004); HQ
    announces a new one ahead of its date. A referral keeps the version in force on the day
    it was earned (the friend's purchase), whatever changes later.
    """

    __tablename__ = "referral_terms"
    __table_args__ = (
        CheckConstraint("referrer_points >= 0 AND friend_points >= 0", name="points_not_negative"),
        CheckConstraint("yearly_cap >= 1", name="cap_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[date] = mapped_column(unique=True)
    referrer_points: Mapped[int]
    friend_points: Mapped[int]
    # Rewarded referrals per referrer per calendar year (R6.6; Tesla uses 12).
    yearly_cap: Mapped[int]
    # Free vouchers (seed 002: 成功转介绍客户双方均赠送免费常规保养一次) to each side, and the
    # bonus to a referrer of ``bonus_min_tier`` or higher (金卡客户推荐成功，加送100元93汽油).
    referrer_reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id"))
    friend_reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id"))
    bonus_reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id"))
    bonus_min_tier: Mapped[str | None] = mapped_column(String(16), ForeignKey("tiers.code"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


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
    # The terms the reward follows: those in force when the friend's purchase was linked.
    terms_id: Mapped[int | None] = mapped_column(ForeignKey("referral_terms.id"))
    # R6.6: staff members the referrer matched ([{user_id, by: [...], reviewed}]), the review.
    staff_match: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    staff_review: Mapped[StaffReview | None] = mapped_column(string_enum(StaffReview, 16))
    staff_reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    staff_reviewed_at: Mapped[datetime | None]
    staff_review_note: Mapped[str | None] = mapped_column(Text)

    referrer: Mapped[Member] = relationship(foreign_keys=[referrer_id])
    referrer_vehicle: Mapped[Vehicle | None] = relationship(foreign_keys=[referrer_vehicle_id])
    friend: Mapped[Member | None] = relationship(foreign_keys=[friend_member_id])
    friend_vehicle: Mapped[Vehicle | None] = relationship(foreign_keys=[friend_vehicle_id])
    questions: Mapped[list["CrossCheckQuestion"]] = relationship(
        back_populates="referral", order_by="CrossCheckQuestion.position"
    )
    attempts: Mapped[list["CallAttempt"]] = relationship(order_by="CallAttempt.at")
    terms: Mapped[ReferralTerms | None] = relationship()


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
    """A staff member who handled a fraudulent referral (first and repeat offences)."""

    __tablename__ = "staff_flags"
    __table_args__ = (UniqueConstraint("user_id", "referral_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    # 1 + the staff member's earlier flags of referrals still fraudulent when this one came.
    offence: Mapped[int]
    created_at: Mapped[datetime]
    # How they handled it: "registration", "consultant", "licence", "callback".
    handled: Mapped[list[str] | None] = mapped_column(JSON)


class IdentityKind(StrEnum):
    """What the staff identity register holds of a staff member besides their account."""

    MOBILE = "mobile"
    ID_NUMBER = "id_number"


class StaffIdentity(db.Model):
    """A staff member's other mobile number or their ID number (R6.6): staff are never rewarded
    referrers, even through an owner account of their own. An ID number is kept only as a keyed
    digest, with its last four characters to tell entries apart."""

    __tablename__ = "staff_identities"
    __table_args__ = (UniqueConstraint("user_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[IdentityKind] = mapped_column(string_enum(IdentityKind, 16))
    # The mobile number, or the ID number's digest.
    value: Mapped[str] = mapped_column(String(64), index=True)
    tail: Mapped[str] = mapped_column(String(4))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]

    staff: Mapped["User"] = relationship(foreign_keys=[user_id])


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
