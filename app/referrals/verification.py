"""The cross-check callback (R6 step 4, seed 002 推荐购买真实性判断): whom to call, the calls,
the answers and the verdict.

``score_callback`` and ``expected_text`` are the one reading of a callback's answers: the staff
screens, the JSON API and ``complete_callback`` all use them, so they cannot disagree.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.members.car_models import all_car_models
from app.members.forms import TRANSMISSION_LABELS
from app.members.models import Colour, Transmission, Vehicle
from app.members.services import active_colours
from app.referrals.callback import PROMPTS, choose_callee, draft_questions
from app.referrals.models import (
    CallAttempt,
    Callee,
    CrossCheckQuestion,
    QuestionKind,
    Referral,
    ReferralStatus,
)
from app.referrals.services import (
    TransitionRefused,
    audit,
    decide,
    get_referral_for_staff,
    locked,
    move,
)

MIN_QUESTIONS = 3
# Two or more wrong answers make the referral fraud (seed 002).
FRAUD_WRONG_ANSWERS = 2
MAX_UNREACHED_ATTEMPTS = 3


@dataclass(frozen=True)
class CallbackScore:
    """A callback's answers so far: how many are wrong and how many not marked yet."""

    wrong: int
    unanswered: int

    @property
    def fraud(self) -> bool:
        """Finishing the call now makes the referral fraud."""
        return self.wrong >= FRAUD_WRONG_ANSWERS


def score_callback(referral: Referral) -> CallbackScore:
    """Count the callback's wrong and unmarked answers."""
    answers = [q.correct for q in referral.questions]
    return CallbackScore(wrong=answers.count(False), unanswered=answers.count(None))


def expected_text(question: CrossCheckQuestion) -> str:
    """The true answer as the agent reads it (colour and gearbox in the agent's language)."""
    if question.kind == QuestionKind.COLOUR:
        colour = db.session.scalar(select(Colour).where(Colour.code == question.expected))
        return colour.label(str(get_locale())) if colour else question.expected
    if question.kind == QuestionKind.TRANSMISSION:
        try:
            return str(TRANSMISSION_LABELS[Transmission(question.expected)])
        except (ValueError, KeyError):
            return question.expected
    return question.expected


def _known_models() -> list[str]:
    return list(db.session.scalars(select(Vehicle.model).distinct().limit(200)))


def start_callback(agent: User, referral_id: int, *, now: datetime | None = None) -> Referral:
    """Choose whom to call (at random, stored) and generate the questions about the other one."""
    now = now or utcnow()
    referral = locked(get_referral_for_staff(agent, referral_id))
    if referral.status in (ReferralStatus.CALLBACK, ReferralStatus.MANUAL_REVIEW):
        return referral
    if referral.status != ReferralStatus.LICENCE_CHECKED:
        move(referral, ReferralStatus.CALLBACK)  # raises the clear refusal
    callee = choose_callee()
    subject, vehicle = (
        (referral.friend, referral.friend_vehicle)
        if callee == Callee.REFERRER
        else (referral.referrer, referral.referrer_vehicle)
    )
    callee_member = referral.referrer if callee == Callee.REFERRER else referral.friend
    callee_models = tuple(v.model for v in callee_member.vehicles) if callee_member else ()
    drafts = (
        draft_questions(
            subject,
            vehicle,
            palette=active_colours(),
            car_models=all_car_models(),
            known_models=_known_models(),
            avoid_models=callee_models,
        )
        if subject is not None
        else []
    )
    referral.callee = callee
    referral.callback_started_at = now
    about = Callee.FRIEND if callee == Callee.REFERRER else Callee.REFERRER
    for position, draft in enumerate(drafts, start=1):
        db.session.add(
            CrossCheckQuestion(
                referral_id=referral.id,
                position=position,
                kind=draft.kind,
                about=about,
                params=draft.params,
                expected=draft.expected,
            )
        )
    if len(drafts) < MIN_QUESTIONS:
        move(referral, ReferralStatus.MANUAL_REVIEW)
        referral.review_reason = str(
            _l(
                "Only %(n)s questions could be made: the club's record of the other person is "
                "incomplete.",
                n=len(drafts),
            )
        )
    else:
        move(referral, ReferralStatus.CALLBACK)
    db.session.flush()
    db.session.expire(referral, ["questions"])
    audit(
        agent,
        "referral.callback_started",
        referral,
        now,
        callee=callee.value,
        questions=len(drafts),
    )
    return referral


def record_attempt(
    agent: User, referral_id: int, *, reached: bool, note: str = "", now: datetime | None = None
) -> CallAttempt:
    """Log a call; after three unreached attempts the referral waits."""
    now = now or utcnow()
    referral = get_referral_for_staff(agent, referral_id)
    if referral.status != ReferralStatus.CALLBACK:
        raise TransitionRefused(
            _l("Start the callback first.")
            if referral.status == ReferralStatus.LICENCE_CHECKED
            else _l("This callback is closed.")
        )
    attempt = CallAttempt(
        referral_id=referral.id, agent_id=agent.id, at=now, reached=reached, note=note
    )
    db.session.add(attempt)
    db.session.flush()
    db.session.expire(referral, ["attempts"])
    audit(agent, "referral.call_attempt", referral, now, reached=reached)
    return attempt


def unreached_attempts(referral: Referral) -> int:
    """How many calls did not reach the callee."""
    return sum(1 for a in referral.attempts if not a.reached)


def _time_of_day(moment: datetime) -> str:
    hour = moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).hour
    return "morning" if hour < 12 else "afternoon" if hour < 18 else "evening"


def is_waiting(referral: Referral) -> bool:
    """Not reached in the morning, the afternoon and the evening (three attempts at different
    times of day): the referral waits for the callee to call back."""
    if referral.status != ReferralStatus.CALLBACK:
        return False
    missed = {_time_of_day(a.at) for a in referral.attempts if not a.reached}
    return len(missed) >= MAX_UNREACHED_ATTEMPTS


def answer_question(
    agent: User, referral_id: int, question_id: int, *, correct: bool, now: datetime | None = None
) -> CrossCheckQuestion:
    """Mark the callee's answer right or wrong, once."""
    now = now or utcnow()
    referral = get_referral_for_staff(agent, referral_id)
    db.session.execute(select(Referral.id).where(Referral.id == referral.id).with_for_update())
    question = db.session.get(CrossCheckQuestion, question_id, populate_existing=True)
    if question is None or question.referral_id != referral.id:
        raise NotFound(_l("No such question."))
    if referral.status != ReferralStatus.CALLBACK:
        raise TransitionRefused(_l("This callback is closed."))
    if question.correct is not None:
        raise Conflict(_l("This question was already answered."))
    question.correct = correct
    question.answered_at = now
    question.answered_by_id = agent.id
    db.session.flush()
    audit(agent, "referral.answer", referral, now, question=question.position, correct=correct)
    return question


def complete_callback(
    agent: User, referral_id: int, *, recording_ref: str, now: datetime | None = None
) -> Referral:
    """Two or more wrong answers: fraud. Otherwise approved and rewarded."""
    now = now or utcnow()
    referral = locked(get_referral_for_staff(agent, referral_id))
    if referral.status != ReferralStatus.CALLBACK:
        raise TransitionRefused(_l("This callback is closed."))
    recording_ref = (recording_ref or "").strip()
    if not recording_ref:
        raise ValidationFailed(_l("Attach the call recording reference."), field="recording_ref")
    score = score_callback(referral)
    if score.unanswered:
        raise ValidationFailed(_l("Mark every answer before finishing the call."))
    referral.recording_ref = recording_ref
    decide(agent, referral, fraud=score.fraud, now=now, wrong=score.wrong)
    return referral


def question_text(question: CrossCheckQuestion, referral: Referral) -> str:
    """The question as the agent reads it aloud, in the agent's language."""
    subject = referral.friend if question.about == Callee.FRIEND else referral.referrer
    name = subject.name if subject is not None else referral.friend_name
    params = dict(question.params)
    if question.kind == "open":
        return str(PROMPTS[("open", params["topic"])]) % {"name": name}
    if "colour" in params:
        colour = db.session.scalar(select(Colour).where(Colour.code == params["colour"]))
        params["colour"] = colour.label(str(get_locale())) if colour else params["colour"]
    if "transmission" in params:
        params["transmission"] = str(TRANSMISSION_LABELS[Transmission(params["transmission"])])
    # Mid-sentence in English: "his Sagitar is white", "a manual gearbox".
    for key in ("colour", "transmission"):
        if key in params and params[key][:1].isupper() and params[key][1:2].islower():
            params[key] = params[key][0].lower() + params[key][1:]
    return str(PROMPTS[question.kind.value]) % {"name": name, **params}
