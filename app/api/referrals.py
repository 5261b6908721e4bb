"""Referrals in the JSON API (R6): their state, and the cross-check callback for a call centre.

A thin adapter over ``app.referrals.services`` and ``app.referrals.verification`` (its bodies
are in ``app.api.referral_schemas``): the key's dealer is the scope (a referral of
another dealer is not found), and every callback step names the call-centre agent who does it
(``agent_mobile``, a care agent or dealer admin of the key's dealer), so that the audit log,
the answers and the call attempts record a real person, as they do in the staff screens.
"""

from dataclasses import dataclass

from flask import g, request
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy.orm import selectinload

from app.api.referral_schemas import (
    MAX_PER_PAGE,
    AnswerSchema,
    CallAttemptRecordedSchema,
    CallAttemptSchema,
    CallbackCompleteSchema,
    CallbackStartSchema,
    QuestionSchema,
    ReferralListQuerySchema,
    ReferralPageSchema,
    ReferralSchema,
)
from app.api.views import InvalidFields, _body, _flatten, bp
from app.auth.models import User
from app.auth.services import get_user_by_mobile
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.core.identifiers import mask_mobile, normalize_mobile
from app.core.permissions import STAFF_ROLES, Role
from app.extensions import db
from app.members.models import Member
from app.referrals import services, verification
from app.referrals.models import (
    CallAttempt,
    Callee,
    CrossCheckQuestion,
    Referral,
    ReferralStatus,
)

# Who may run a callback through the API: the roles that phone owners for the club.
CALLBACK_ROLES = frozenset({Role.CARE_AGENT, Role.DEALER_ADMIN})


# ----------------------------------------------------------------------------- adapter


@dataclass(frozen=True)
class _DealerScope:
    """What the read-only services need of an actor (``role``, ``dealer_id``): the key's dealer.

    Never passed to a service that records who acted: those get the named agent.
    """

    dealer_id: int
    role: Role = Role.DEALER_ADMIN


def _referral(referral_id: int) -> Referral:
    """A referral of the key's dealer; NotFound for another dealer's, as for none."""
    referral = db.session.get(Referral, referral_id)
    if referral is None or referral.dealer_id != g.api_dealer_id:
        raise NotFound(_l("No such referral."))
    return referral


def _agent(mobile: str) -> User:
    """The key's dealer's staff member with this mobile, who may run callbacks."""
    normalised = normalize_mobile(mobile)
    user = get_user_by_mobile(normalised) if normalised else None
    if user is None or user.role not in STAFF_ROLES or user.dealer_id != g.api_dealer_id:
        raise ValidationFailed(
            _l("No staff member of this dealer has this mobile number."), field="agent_mobile"
        )
    if not user.active:
        raise Forbidden(_l("This staff account is deactivated."), field="agent_mobile")
    if user.role not in CALLBACK_ROLES:
        raise Forbidden(
            _l("Only a care agent or a dealer admin can run a referral callback."),
            field="agent_mobile",
        )
    return user


def _name(user_id: int | None) -> str | None:
    user = db.session.get(User, user_id) if user_id is not None else None
    return user.name if user is not None else None


def _question(question: CrossCheckQuestion, referral: Referral) -> dict:
    return {
        "id": question.id,
        "position": question.position,
        "kind": question.kind.value,
        "about": question.about.value,
        "text": verification.question_text(question, referral),
        "expected": verification.expected_text(question),
        "expected_value": question.expected,
        "correct": question.correct,
        "answered_at": question.answered_at,
        "answered_by": _name(question.answered_by_id),
    }


def _attempt(attempt: CallAttempt) -> dict:
    return {
        "id": attempt.id,
        "at": attempt.at,
        "reached": attempt.reached,
        "note": attempt.note or "",
        "agent": _name(attempt.agent_id) or "",
    }


def _person(member: Member | None, *, name: str, mobile: str) -> dict:
    return {
        "member_id": member.id if member is not None else None,
        "name": member.name if member is not None else name,
        "mobile": mask_mobile(member.mobile if member is not None else mobile),
    }


def _licence(referral: Referral) -> dict | None:
    if referral.status == ReferralStatus.LICENCE_FAILED or referral.licence_checked_at is not None:
        mismatches = list((referral.licence_details or {}).get("mismatches", []))
        failed = referral.status == ReferralStatus.LICENCE_FAILED or bool(mismatches)
        return {
            "result": "mismatch" if failed else "matched",
            "mismatches": mismatches,
            "checked_at": referral.licence_checked_at,
        }
    return None


def _decision(referral: Referral) -> dict | None:
    if referral.status in (
        ReferralStatus.APPROVED,
        ReferralStatus.REWARDED,
        ReferralStatus.STAFF_REVIEW,
    ) or (referral.status == ReferralStatus.STAFF_EXCLUDED and referral.decided_at):
        # The callback's verdict; a staff check (R6.6) may still hold or stop the reward.
        outcome = "approved"
    elif referral.status == ReferralStatus.FRAUD:
        outcome = "fraud"
    else:
        return None
    return {
        "outcome": outcome,
        "decided_at": referral.decided_at,
        "decided_by": _name(referral.decided_by_id),
        "wrong_answers": verification.score_callback(referral).wrong,
    }


def _callee_name(referral: Referral) -> str | None:
    if referral.callee == Callee.REFERRER:
        return referral.referrer.name
    if referral.callee == Callee.FRIEND:
        return referral.friend.name if referral.friend is not None else referral.friend_name
    return None


def referral_body(referral: Referral) -> dict:
    """The referral as ReferralSchema dumps it."""
    return ReferralSchema().dump(
        {
            "id": referral.id,
            "status": referral.status.value,
            "status_label": services.status_label(referral.status),
            "referrer": _person(
                referral.referrer, name=referral.referrer.name, mobile=referral.referrer.mobile
            ),
            "friend": _person(
                referral.friend, name=referral.friend_name, mobile=referral.friend_mobile
            ),
            "model_of_interest": referral.model_of_interest or "",
            "registered_at": referral.registered_at,
            "visited_on": referral.visited_on,
            "purchased_at": referral.purchased_at,
            "licence": _licence(referral),
            "callee": referral.callee.value if referral.callee else None,
            "callee_name": _callee_name(referral),
            "callback_started_at": referral.callback_started_at,
            "questions": [_question(q, referral) for q in referral.questions],
            "attempts": [_attempt(a) for a in referral.attempts],
            "unreached_attempts": verification.unreached_attempts(referral),
            "waiting": verification.is_waiting(referral),
            "recording_ref": referral.recording_ref,
            "review_reason": referral.review_reason,
            "decision": _decision(referral),
            "rewarded_at": referral.rewarded_at,
            "reward_note": referral.reward_note,
        }
    )


def _summary(referral: Referral) -> dict:
    return {
        "id": referral.id,
        "status": referral.status.value,
        "status_label": services.status_label(referral.status),
        "friend_name": referral.friend_name,
        "friend_mobile": mask_mobile(referral.friend_mobile),
        "referrer_name": referral.referrer.name,
        "model_of_interest": referral.model_of_interest or "",
        "registered_at": referral.registered_at,
        "callee": referral.callee.value if referral.callee else None,
        "waiting": verification.is_waiting(referral),
    }


def _query_args() -> dict:
    try:
        # An empty parameter (``?status=``) means no filter.
        args = {k: v for k, v in request.args.items() if v != ""}
        return ReferralListQuerySchema().load(args)
    except ValidationError as err:
        raise InvalidFields(_flatten(err.messages)) from None


def _fresh(referral: Referral) -> Referral:
    """Reload what a service changed through foreign keys rather than relationships."""
    db.session.expire(referral, ["questions", "attempts", "friend", "referrer"])
    return referral


# ------------------------------------------------------------------------------- views


@bp.get("/referrals")
def referrals_list():
    """The dealer's referrals, newest first, a page at a time."""
    args = _query_args()
    query = services.staff_queue(
        _DealerScope(dealer_id=g.api_dealer_id),
        [ReferralStatus(args["status"])] if args.get("status") else None,
    ).options(selectinload(Referral.referrer), selectinload(Referral.attempts))
    page = db.paginate(
        query,
        page=args["page"],
        per_page=args["per_page"],
        max_per_page=MAX_PER_PAGE,
        error_out=False,
    )
    return ReferralPageSchema().dump(
        {
            "items": [_summary(r) for r in page.items],
            "page": page.page,
            "per_page": page.per_page,
            "total": page.total or 0,
            "pages": page.pages,
        }
    )


@bp.get("/referrals/<int:referral_id>")
def referral_detail(referral_id: int):
    """A referral's state, timeline, callback questions and attempts, and verdict."""
    return referral_body(_referral(referral_id))


@bp.post("/referrals/<int:referral_id>/callback/start")
def callback_start(referral_id: int):
    """Start the callback: choose whom to call and generate the questions."""
    referral = _referral(referral_id)
    data = _body(CallbackStartSchema())
    agent = _agent(data["agent_mobile"])
    referral = verification.start_callback(agent, referral.id)
    return referral_body(_fresh(referral))


@bp.post("/referrals/<int:referral_id>/callback/attempts")
def callback_attempt(referral_id: int):
    """Log a call to the callee, reached or not."""
    referral = _referral(referral_id)
    data = _body(CallAttemptSchema())
    agent = _agent(data["agent_mobile"])
    attempt = verification.record_attempt(
        agent, referral.id, reached=data["reached"], note=data["note"].strip()
    )
    referral = _fresh(referral)
    body = CallAttemptRecordedSchema().dump(
        {
            **_attempt(attempt),
            "unreached_attempts": verification.unreached_attempts(referral),
            "waiting": verification.is_waiting(referral),
        }
    )
    return body, 201


@bp.post("/referrals/<int:referral_id>/callback/questions/<int:question_id>/answer")
def callback_answer(referral_id: int, question_id: int):
    """Mark the callee's answer to a question right or wrong, once."""
    referral = _referral(referral_id)
    data = _body(AnswerSchema())
    agent = _agent(data["agent_mobile"])
    question = verification.answer_question(
        agent, referral.id, question_id, correct=data["correct"]
    )
    return QuestionSchema().dump(_question(question, referral))


@bp.post("/referrals/<int:referral_id>/callback/complete")
def callback_complete(referral_id: int):
    """Finish the callback: two or more wrong answers make it fraud, otherwise it is approved."""
    referral = _referral(referral_id)
    data = _body(CallbackCompleteSchema())
    agent = _agent(data["agent_mobile"])
    referral = verification.complete_callback(
        agent, referral.id, recording_ref=data["recording_ref"]
    )
    return referral_body(_fresh(referral))
