"""Owner lectures (车主讲堂, R7, seed 002): the evaluation form and questions answered in 48 h.

Who may evaluate: the owners with a *confirmed* seat, checked in at the gate or not. Lectures
in the showroom are not always scanned at the door, and refusing an owner who sat in the room
because nobody scanned the ticket would lose the question the dealer must answer; a no-show's
evaluation costs nothing. Waiting, offered, unpaid, cancelled or expired registrations may not.
"""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.permissions import Role
from app.events.models import (
    Event,
    EventKind,
    EventRegistration,
    LectureEvaluation,
    LectureQuestion,
    RegistrationStatus,
)
from app.events.tripday import event_for_staff
from app.extensions import db
from app.members.inbox import notify
from app.members.models import Member

ANSWER_WITHIN = timedelta(hours=48)  # 客服要在48小时内完成…问题的一一解答
MAX_QUESTIONS = 3
MAX_QUESTION_LENGTH = 500
MAX_COMMENTS_LENGTH = 2000
MAX_ANSWER_LENGTH = 2000


# ------------------------------------------------------------------------------ owners


def own_lecture_registration(member: Member, registration_id: int) -> EventRegistration:
    """The owner's registration for a lecture; NotFound for anyone else's, or for a trip."""
    registration = db.session.get(EventRegistration, registration_id)
    if (
        registration is None
        or registration.member_id != member.id
        or registration.event.kind != EventKind.LECTURE
    ):
        raise NotFound(_l("No such registration."))
    return registration


def evaluation_for(registration: EventRegistration) -> LectureEvaluation | None:
    """The evaluation sent for this registration, if any."""
    return db.session.scalar(
        select(LectureEvaluation).where(LectureEvaluation.registration_id == registration.id)
    )


def evaluation_state(registration: EventRegistration, *, now: datetime | None = None) -> str:
    """What the owner's page shows: done, not_attendee, not_yet (the lecture runs) or open."""
    now = now or utcnow()
    if evaluation_for(registration) is not None:
        return "done"
    if registration.status != RegistrationStatus.CONFIRMED:
        return "not_attendee"
    if now < registration.event.ends_at:
        return "not_yet"
    return "open"


def submit_evaluation(
    member: Member,
    registration_id: int,
    *,
    rating: int | None,
    comments: str = "",
    questions: list[str] | tuple[str, ...] = (),
    now: datetime | None = None,
) -> LectureEvaluation:
    """An attendee rates the lecture once, after it ends, and may raise questions."""
    now = now or utcnow()
    registration = own_lecture_registration(member, registration_id)
    state = evaluation_state(registration, now=now)
    if state == "done":
        raise Conflict(_l("You have already sent your evaluation of this lecture."))
    if state == "not_attendee":
        raise Conflict(_l("Only owners with a confirmed seat can evaluate this lecture."))
    if state == "not_yet":
        raise Conflict(_l("The evaluation opens when the lecture ends."))
    if rating is None or not 1 <= rating <= 5:
        raise ValidationFailed(_l("Give a rating from 1 to 5."), field="rating")
    comments = (comments or "").strip()
    if len(comments) > MAX_COMMENTS_LENGTH:
        raise ValidationFailed(
            _l("Keep your comments under %(n)s characters.", n=MAX_COMMENTS_LENGTH),
            field="comments",
        )
    asked = [text.strip() for text in questions if text and text.strip()]
    if len(asked) > MAX_QUESTIONS:
        raise ValidationFailed(
            _l("You can ask up to %(n)s questions.", n=MAX_QUESTIONS), field="questions"
        )
    if any(len(text) > MAX_QUESTION_LENGTH for text in asked):
        raise ValidationFailed(
            _l("Keep each question under %(n)s characters.", n=MAX_QUESTION_LENGTH),
            field="questions",
        )
    evaluation = LectureEvaluation(
        registration_id=registration.id,
        event_id=registration.event_id,
        member_id=member.id,
        rating=rating,
        comments=comments,
        submitted_at=now,
    )
    try:
        # A double tap sends the form twice: the second one meets the unique registration.
        with db.session.begin_nested():
            db.session.add(evaluation)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_l("You have already sent your evaluation of this lecture.")) from None
    for text in asked:
        db.session.add(
            LectureQuestion(
                evaluation_id=evaluation.id,
                event_id=registration.event_id,
                member_id=member.id,
                text=text,
                asked_at=now,
            )
        )
    db.session.flush()
    return evaluation


# ---------------------------------------------------------------------------- deadline


def answer_due_at(question: LectureQuestion) -> datetime:
    """When the question must be answered by."""
    return question.asked_at + ANSWER_WITHIN


def is_overdue(question: LectureQuestion, *, now: datetime | None = None) -> bool:
    """Unanswered 48 hours or more after it was asked."""
    return question.answered_at is None and (now or utcnow()) >= answer_due_at(question)


def answered_late(question: LectureQuestion) -> bool:
    """Answered, but only once it was overdue."""
    return question.answered_at is not None and question.answered_at >= answer_due_at(question)


# ------------------------------------------------------------------------------- staff


def questions_query(event: Event):
    """The lecture's questions (a query): open ones first, oldest first."""
    return (
        select(LectureQuestion)
        .where(LectureQuestion.event_id == event.id)
        .order_by(
            LectureQuestion.answered_at.is_not(None),
            LectureQuestion.asked_at,
            LectureQuestion.id,
        )
    )


def _overdue_condition(now: datetime):
    return LectureQuestion.answered_at.is_(None), LectureQuestion.asked_at <= now - ANSWER_WITHIN


def overdue_count(event: Event, *, now: datetime | None = None) -> int:
    """How many of the lecture's questions are past their 48 hours unanswered."""
    now = now or utcnow()
    return db.session.scalar(
        select(func.count(LectureQuestion.id)).where(
            LectureQuestion.event_id == event.id, *_overdue_condition(now)
        )
    )


def overdue_questions_query(actor: User, *, now: datetime | None = None):
    """Overdue questions across the dealer's lectures (every dealer's for HQ), oldest first."""
    now = now or utcnow()
    query = (
        select(LectureQuestion)
        .join(Event, Event.id == LectureQuestion.event_id)
        .where(*_overdue_condition(now))
        .order_by(LectureQuestion.asked_at, LectureQuestion.id)
    )
    if actor.role != Role.HQ_ADMIN:
        query = query.where(Event.dealer_id == actor.dealer_id)
    return query


def lectures_of(questions: list[LectureQuestion]) -> dict[int, Event]:
    """The lectures the questions were asked about, by id."""
    ids = {q.event_id for q in questions}
    return {e.id: e for e in db.session.scalars(select(Event).where(Event.id.in_(ids)))}


def evaluation_summary(event: Event) -> tuple[int, float | None]:
    """How many evaluations the lecture got, and their average rating."""
    count, average = db.session.execute(
        select(func.count(LectureEvaluation.id), func.avg(LectureEvaluation.rating)).where(
            LectureEvaluation.event_id == event.id
        )
    ).one()
    return count, (round(float(average), 1) if average is not None else None)


def question_for_staff(actor: User, event_id: int, question_id: int) -> LectureQuestion:
    """A question about an event the actor may see; NotFound otherwise."""
    event = event_for_staff(actor, event_id)
    question = db.session.get(LectureQuestion, question_id)
    if question is None or question.event_id != event.id:
        raise NotFound(_l("No such question."))
    return question


def answer_question(
    actor: User,
    event_id: int,
    question_id: int,
    answer: str,
    *,
    now: datetime | None = None,
) -> LectureQuestion:
    """Staff answer an owner's question; the owner gets the answer in their inbox."""
    now = now or utcnow()
    question = question_for_staff(actor, event_id, question_id)
    event = db.session.get(Event, question.event_id)
    if question.answered_at is not None:
        raise Conflict(_l("This question has already been answered."))
    answer = (answer or "").strip()
    if not answer:
        raise ValidationFailed(_l("Write the answer."), field="answer")
    if len(answer) > MAX_ANSWER_LENGTH:
        raise ValidationFailed(
            _l("Keep the answer under %(n)s characters.", n=MAX_ANSWER_LENGTH), field="answer"
        )
    question.answer = answer
    question.answered_at = now
    question.answered_by_id = actor.id
    db.session.flush()
    record_audit(
        actor,
        "lecture.question_answered",
        subject=question,
        dealer_id=event.dealer_id,
        details={"event_id": event.id, "late": answered_late(question)},
        now=now,
    )
    owner = db.session.get(Member, question.member_id)
    title, text = event.title, question.text
    notify(
        owner,
        "lecture_answer",
        lambda: (
            _l("Your question about “%(lecture)s” was answered", lecture=title),
            _l("You asked: %(question)s\nAnswer: %(answer)s", question=text, answer=answer),
        ),
        dedupe_key=f"lecture-answer:{question.id}",
        now=now,
    )
    return question
