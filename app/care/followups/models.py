"""After every visit (R8, seed 002): the owner's questionnaire and complaint cases.

客服48小时内必须做出回访结果, 并反馈业务部门继续跟踪或改善 — care must have the callback's
result within 48 hours and pass it on to be followed up or improved: the callback is a care task
(app/care/models.py ``CareTask`` of kind "visit_followup"); what the owner says in the
questionnaire, or a complaint, becomes a case someone owns until the owner confirms it is settled
(了解客户, 解决、协调客户投诉问题发生).
"""

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import string_enum
from app.core.states import StateMachine
from app.extensions import db
from app.service.models import ServiceVisit


class SurveyStatus(StrEnum):
    """pending → answered (once) | cancelled (the visit was refunded, the account deleted)."""

    PENDING = "pending"
    ANSWERED = "answered"
    CANCELLED = "cancelled"


SURVEY_LABELS = {
    SurveyStatus.PENDING: _l("Waiting for your answer"),
    SurveyStatus.ANSWERED: _l("Answered"),
    SurveyStatus.CANCELLED: _l("Withdrawn"),
}
# An answer is given once and stays as given.
SURVEY = StateMachine(
    SurveyStatus,
    {
        SurveyStatus.PENDING: {SurveyStatus.ANSWERED, SurveyStatus.CANCELLED},
        SurveyStatus.ANSWERED: set(),
        SurveyStatus.CANCELLED: set(),
    },
    name="visit_survey",
    labels=SURVEY_LABELS,
)


class VisitSurvey(db.Model):
    """The short questionnaire of one counted visit (售后调查问卷): a score of 0-10, the service
    advisor's rating (1-5, optional) and a comment, answered once by the visit's owner."""

    __tablename__ = "visit_surveys"
    __table_args__ = (
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 10)", name="score_range"),
        CheckConstraint(
            "advisor_rating IS NULL OR (advisor_rating >= 1 AND advisor_rating <= 5)",
            name="advisor_rating_range",
        ),
        # The satisfaction report: a dealer's questionnaires of a month.
        Index("ix_visit_surveys_dealer_created", "dealer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("service_visits.id"), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    # Who recorded the visit at the service desk (the advisor the owner rates); None for a
    # visit the DMS pushed.
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[SurveyStatus] = mapped_column(
        string_enum(SurveyStatus), default=SurveyStatus.PENDING
    )
    score: Mapped[int | None]
    advisor_rating: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]

    visit: Mapped[ServiceVisit] = relationship()


class CaseStatus(StrEnum):
    """open → in_progress → resolved → confirmed (by the owner) | reopened → in_progress..."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CONFIRMED = "confirmed"
    REOPENED = "reopened"
    WITHDRAWN = "withdrawn"


CASE_LABELS = {
    CaseStatus.OPEN: _l("Received"),
    CaseStatus.IN_PROGRESS: _l("Being handled"),
    CaseStatus.RESOLVED: _l("Resolved: waiting for the owner"),
    CaseStatus.CONFIRMED: _l("Closed: the owner confirmed"),
    CaseStatus.REOPENED: _l("Reopened by the owner"),
    CaseStatus.WITHDRAWN: _l("Withdrawn"),
}
# What the owner reads of their complaint's status.
OWNER_LABELS = {
    CaseStatus.OPEN: _l("Received"),
    CaseStatus.IN_PROGRESS: _l("Being handled"),
    CaseStatus.RESOLVED: _l("Resolved: please confirm"),
    CaseStatus.CONFIRMED: _l("Closed"),
    CaseStatus.REOPENED: _l("Reopened: being handled again"),
    CaseStatus.WITHDRAWN: _l("Withdrawn"),
}
_C = CaseStatus
# Staff resolve (directly, or after taking the case); only the owner confirms or reopens; a
# deleted account withdraws what is still open. A confirmed case is closed for good.
CASE = StateMachine(
    CaseStatus,
    {
        _C.OPEN: {_C.IN_PROGRESS, _C.RESOLVED, _C.WITHDRAWN},
        _C.IN_PROGRESS: {_C.RESOLVED, _C.WITHDRAWN},
        _C.RESOLVED: {_C.CONFIRMED, _C.REOPENED, _C.WITHDRAWN},
        _C.REOPENED: {_C.IN_PROGRESS, _C.RESOLVED, _C.WITHDRAWN},
        _C.CONFIRMED: set(),
        _C.WITHDRAWN: set(),
    },
    name="complaint_case",
    labels=CASE_LABELS,
)
# Someone at the dealer still has to act on these.
ACTIVE = (_C.OPEN, _C.IN_PROGRESS, _C.REOPENED)


class CaseSource(StrEnum):
    """Where a case came from."""

    SURVEY = "survey"  # a low score in the questionnaire
    CALLBACK = "callback"  # the owner was not satisfied on the after-visit call
    OWNER = "owner"  # the owner raised it


SOURCE_LABELS = {
    CaseSource.SURVEY: _l("Low score in the questionnaire"),
    CaseSource.CALLBACK: _l("Not satisfied on the callback"),
    CaseSource.OWNER: _l("Raised by the owner"),
}


class ComplaintCase(db.Model):
    """A complaint (客户投诉): the owner's words, who at the dealer owns it and by when, what was
    done, and the owner's confirmation. Overdue cases go to the dealer admin once."""

    __tablename__ = "complaint_cases"
    __table_args__ = (
        CheckConstraint("reopened_count >= 0", name="reopened_not_negative"),
        # The dealer's list and the daily escalation: active cases by deadline.
        Index("ix_complaint_cases_dealer_status_deadline", "dealer_id", "status", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("service_visits.id"), index=True)
    source: Mapped[CaseSource] = mapped_column(string_enum(CaseSource))
    # What opened it, once: "survey:<id>" or "call:<id>" (None when the owner raised it; their
    # form's idempotency key keeps a double tap to one case).
    key: Mapped[str | None] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[CaseStatus] = mapped_column(string_enum(CaseStatus), default=CaseStatus.OPEN)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deadline_at: Mapped[datetime]
    resolution: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None]
    reopened_count: Mapped[int] = mapped_column(default=0)
    # The last escalation, and the round (``reopened_count`` then) it belongs to: a case goes
    # to the dealer's admins once per round.
    escalated_at: Mapped[datetime | None]
    escalated_round: Mapped[int | None]
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]

    visit: Mapped[ServiceVisit | None] = relationship()


class ComplaintNote(db.Model):
    """A line in a case's history: a staff note (for staff only), or the owner's own words
    when they add to or reopen their complaint."""

    __tablename__ = "complaint_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_owner: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
