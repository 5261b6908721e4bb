"""The after-visit questionnaire (售后调查问卷): how likely the owner is to recommend the dealer
(0-10), how they rate their service advisor (1-5, optional) and what they want to say (up to
1,000 characters). The owner of the visit answers once; answering again changes nothing. A
score at or below ``COMPLAINT_SCORE_MAX`` (6) opens a complaint case: someone at the dealer
calls the owner back.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.care.followups.complaints import clean_text, open_case
from app.care.followups.models import SURVEY, CaseSource, ComplaintCase, SurveyStatus, VisitSurvey
from app.care.settings import setting
from app.core.clock import utcnow
from app.core.errors import NotFound, ValidationFailed
from app.extensions import db
from app.members.models import Member
from app.service.models import ServiceVisit

SCORES = range(0, 11)
ADVISOR_RATINGS = range(1, 6)


@dataclass(frozen=True)
class Answered:
    """The questionnaire, whether this call answered it (False: it was answered before), and
    the complaint case a low score opened."""

    survey: VisitSurvey
    created: bool
    case: ComplaintCase | None = None


def survey_of_visit(member: Member, visit_id: int) -> VisitSurvey:
    """The questionnaire of one of the owner's visits; NotFound for anyone else's, or a visit
    that has none."""
    survey = db.session.scalar(select(VisitSurvey).where(VisitSurvey.visit_id == visit_id))
    if survey is None or survey.member_id != member.id:
        raise NotFound(_l("No questionnaire for this visit."))
    return survey


def surveys_by_visit(member: Member, visit_ids: list[int]) -> dict[int, VisitSurvey]:
    """The owner's questionnaires of these visits, by visit id (one query)."""
    if not visit_ids:
        return {}
    return {
        survey.visit_id: survey
        for survey in db.session.scalars(
            select(VisitSurvey).where(
                VisitSurvey.member_id == member.id, VisitSurvey.visit_id.in_(visit_ids)
            )
        )
    }


def pending_surveys(member: Member, *, limit: int | None = None) -> list[VisitSurvey]:
    """The owner's questionnaires waiting for an answer, newest first."""
    query = (
        select(VisitSurvey)
        .where(VisitSurvey.member_id == member.id, VisitSurvey.status == SurveyStatus.PENDING)
        .order_by(VisitSurvey.created_at.desc(), VisitSurvey.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def _check_answer(score, advisor_rating, comment) -> str:
    if not isinstance(score, int) or isinstance(score, bool) or score not in SCORES:
        raise ValidationFailed(_l("Choose a score from 0 to 10."), field="score")
    if advisor_rating is not None and (
        not isinstance(advisor_rating, int) or advisor_rating not in ADVISOR_RATINGS
    ):
        raise ValidationFailed(
            _l("Rate your service advisor from 1 to 5, or leave it."), field="advisor_rating"
        )
    return clean_text(comment, field="comment", required=False, message="")


def answer_survey(
    member: Member,
    visit_id: int,
    *,
    score: int,
    advisor_rating: int | None = None,
    comment: str = "",
    now: datetime | None = None,
) -> Answered:
    """The owner answers their visit's questionnaire, once; a low score opens a complaint case
    with their comment. A second answer changes nothing."""
    now = now or utcnow()
    survey_id = survey_of_visit(member, visit_id).id
    survey = db.session.execute(
        select(VisitSurvey)
        .where(VisitSurvey.id == survey_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if survey.status == SurveyStatus.ANSWERED:
        return Answered(survey, False)
    comment = _check_answer(score, advisor_rating, comment)
    SURVEY.move(
        survey,
        SurveyStatus.ANSWERED,
        message=_l("This visit was refunded: there is nothing to rate."),
    )
    survey.score = score
    survey.advisor_rating = advisor_rating
    survey.comment = comment
    survey.answered_at = now
    db.session.flush()
    case = None
    if score <= setting("COMPLAINT_SCORE_MAX"):
        case = open_case(
            member,
            source=CaseSource.SURVEY,
            description=comment,
            visit=db.session.get(ServiceVisit, survey.visit_id),
            key=f"survey:{survey.id}",
            actor=member.user,
            now=now,
        ).case
    return Answered(survey, True, case)


def cancel_surveys_of(member: Member) -> None:
    """The owner deleted their account: no questionnaire waits for them any more, and what they
    wrote in the answered ones is erased (the scores stay, without a name, for the report)."""
    for survey in db.session.scalars(select(VisitSurvey).where(VisitSurvey.member_id == member.id)):
        if survey.status == SurveyStatus.PENDING:
            SURVEY.move(survey, SurveyStatus.CANCELLED)
        survey.comment = ""
    db.session.flush()


def case_of_survey(survey: VisitSurvey) -> ComplaintCase | None:
    """The complaint case the questionnaire's low score opened, if any."""
    return db.session.scalar(
        select(ComplaintCase).where(ComplaintCase.key == f"survey:{survey.id}")
    )
