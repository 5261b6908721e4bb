"""Referrals in the JSON API (R6): their state, and the cross-check callback for a call centre.

A thin adapter over ``app.referrals.services``: the key's dealer is the scope (a referral of
another dealer is not found), and every callback step names the call-centre agent who does it
(``agent_mobile``, a care agent or dealer admin of the key's dealer), so that the audit log,
the answers and the call attempts record a real person, as they do in the staff screens.
"""

from dataclasses import dataclass

from flask import g, request
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from sqlalchemy.orm import selectinload

from app.api.schemas import _REQUIRED, MOBILE_RULE, _Schema, _text
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
    QuestionKind,
    Referral,
    ReferralStatus,
)

S = ReferralStatus
# Who may run a callback through the API: the roles that phone owners for the club.
CALLBACK_ROLES = frozenset({Role.CARE_AGENT, Role.DEALER_ADMIN})
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
# Far beyond any dealer's referrals; a larger page would overflow the database's OFFSET.
MAX_PAGE = 1_000_000
_STATUSES = [s.value for s in ReferralStatus]
_CALLEES = [c.value for c in Callee]


# ------------------------------------------------------------------------------ requests


class StrictBoolean(fields.Boolean):
    """Only JSON ``true`` or ``false``: not 1, "yes" or "true"."""

    default_error_messages = {"invalid": _l("Send true or false.")}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def _flag(**kwargs) -> StrictBoolean:
    return StrictBoolean(
        required=True,
        error_messages={**_REQUIRED, "invalid": _l("Send true or false.")},
        **kwargs,
    )


def _agent_mobile() -> fields.String:
    return _text(
        20,
        metadata={
            "description": "The staff mobile of the call-centre agent doing this step: a care "
            "agent or dealer admin of the key's dealer. It is recorded with the step. "
            + MOBILE_RULE,
            "example": "13800001111",
        },
    )


class CallbackStartSchema(_Schema):
    """Open the callback: who does it."""

    agent_mobile = _agent_mobile()


class CallAttemptSchema(_Schema):
    """One call to the callee, reached or not."""

    agent_mobile = _agent_mobile()
    reached = _flag(metadata={"description": "Whether the callee answered the phone"})
    note = _text(
        500,
        required=False,
        load_default="",
        metadata={"example": "No answer, try after 18:00"},
    )


class AnswerSchema(_Schema):
    """The callee's answer to one question, as the agent judged it."""

    agent_mobile = _agent_mobile()
    correct = _flag(
        metadata={
            "description": "For a statement with a deliberate error: true when the callee "
            "corrected it to the expected answer"
        }
    )


class CallbackCompleteSchema(_Schema):
    """Finish the callback once every answer is marked."""

    agent_mobile = _agent_mobile()
    recording_ref = _text(
        128,
        metadata={
            "description": "The call recording's reference in the call-centre system, kept "
            "as evidence (a customer who disputes a fraud verdict can hear it)",
            "example": "CC-2026-11-23-000123",
        },
    )


class ReferralListQuerySchema(Schema):
    """Filters and page of the referral list (other query parameters are ignored)."""

    class Meta:
        unknown = EXCLUDE

    status = fields.String(
        validate=validate.OneOf(
            _STATUSES, error=_l("Use one of: %(values)s.", values=", ".join(_STATUSES))
        ),
        error_messages={"invalid": _l("Enter text.")},
        metadata={"enum": _STATUSES, "description": "Only referrals in this state"},
    )
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(
            1, MAX_PAGE, error=_l("Enter a page number from 1 to %(max)s.", max=MAX_PAGE)
        ),
        error_messages={"invalid": _l("Enter a whole number.")},
    )
    per_page = fields.Integer(
        load_default=DEFAULT_PER_PAGE,
        validate=validate.Range(
            1, MAX_PER_PAGE, error=_l("Enter 1 to %(max)s per page.", max=MAX_PER_PAGE)
        ),
        error_messages={"invalid": _l("Enter a whole number.")},
    )


# ----------------------------------------------------------------------------- responses


class ReferralSummarySchema(Schema):
    """A referral in a list."""

    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": _STATUSES})
    status_label = fields.String(required=True, metadata={"description": "In the language"})
    friend_name = fields.String(required=True)
    friend_mobile = fields.String(
        required=True, metadata={"description": "Masked", "example": "139****1234"}
    )
    referrer_name = fields.String(required=True)
    model_of_interest = fields.String(required=True)
    registered_at = fields.DateTime(required=True)
    callee = fields.String(
        required=True,
        allow_none=True,
        metadata={"enum": _CALLEES, "description": "Whom the callback calls, once started"},
    )
    waiting = fields.Boolean(
        required=True,
        metadata={
            "description": "Three calls did not reach the callee: the referral waits until "
            "the callee calls back"
        },
    )


class ReferralPageSchema(Schema):
    """One page of the dealer's referrals, newest first."""

    items = fields.List(fields.Nested(ReferralSummarySchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class PersonSchema(Schema):
    """An owner of the referral: the referrer, or the friend once they bought."""

    member_id = fields.Integer(required=True, allow_none=True)
    name = fields.String(required=True)
    mobile = fields.String(
        required=True, metadata={"description": "Masked", "example": "139****1234"}
    )


class LicenceCheckSchema(Schema):
    """The showroom manager's comparison of the referrer's licence with the club record."""

    result = fields.String(required=True, metadata={"enum": ["matched", "mismatch"]})
    mismatches = fields.List(
        fields.String(metadata={"enum": ["plate", "vin", "model", "colour"]}), required=True
    )
    checked_at = fields.DateTime(required=True, allow_none=True)


class QuestionSchema(Schema):
    """A callback question about the person not called."""

    id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    kind = fields.String(
        required=True,
        metadata={
            "enum": [k.value for k in QuestionKind],
            "description": "open: the callee answers; colour, model, transmission: a "
            "statement with a deliberate error the callee must correct",
        },
    )
    about = fields.String(required=True, metadata={"enum": _CALLEES})
    text = fields.String(
        required=True, metadata={"description": "To read aloud, in the Accept-Language"}
    )
    expected = fields.String(
        required=True, metadata={"description": "The true answer from the club's record"}
    )
    expected_value = fields.String(
        required=True,
        metadata={"description": "The same as recorded: a colour or transmission code"},
    )
    correct = fields.Boolean(
        required=True, allow_none=True, metadata={"description": "null until answered"}
    )
    answered_at = fields.DateTime(required=True, allow_none=True)
    answered_by = fields.String(
        required=True, allow_none=True, metadata={"description": "The agent's name"}
    )


class AttemptSchema(Schema):
    """One call of the callback."""

    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    reached = fields.Boolean(required=True)
    note = fields.String(required=True)
    agent = fields.String(required=True, metadata={"description": "The agent's name"})


class DecisionSchema(Schema):
    """The verdict: by the callback's answers, or a manager's manual review."""

    outcome = fields.String(required=True, metadata={"enum": ["approved", "fraud"]})
    decided_at = fields.DateTime(required=True, allow_none=True)
    decided_by = fields.String(required=True, allow_none=True)
    wrong_answers = fields.Integer(required=True)


class ReferralSchema(Schema):
    """A referral with its timeline, callback questions and attempts, and verdict."""

    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": _STATUSES})
    status_label = fields.String(required=True, metadata={"description": "In the language"})
    referrer = fields.Nested(PersonSchema, required=True)
    friend = fields.Nested(PersonSchema, required=True)
    model_of_interest = fields.String(required=True)
    registered_at = fields.DateTime(required=True)
    visited_on = fields.Date(required=True, allow_none=True)
    purchased_at = fields.DateTime(required=True, allow_none=True)
    licence = fields.Nested(
        LicenceCheckSchema,
        required=True,
        allow_none=True,
        metadata={"description": "null until the licence is checked"},
    )
    callee = fields.String(
        required=True,
        allow_none=True,
        metadata={"enum": _CALLEES, "description": "Chosen at random when the callback starts"},
    )
    callee_name = fields.String(required=True, allow_none=True)
    callback_started_at = fields.DateTime(required=True, allow_none=True)
    questions = fields.List(fields.Nested(QuestionSchema), required=True)
    attempts = fields.List(fields.Nested(AttemptSchema), required=True)
    unreached_attempts = fields.Integer(required=True)
    waiting = fields.Boolean(required=True)
    recording_ref = fields.String(required=True, allow_none=True)
    review_reason = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Why the referral went to manual review, and the decision"},
    )
    decision = fields.Nested(DecisionSchema, required=True, allow_none=True)
    rewarded_at = fields.DateTime(required=True, allow_none=True)
    reward_note = fields.String(required=True, allow_none=True)


class CallAttemptRecordedSchema(AttemptSchema):
    """The call just logged, and whether the referral now waits."""

    unreached_attempts = fields.Integer(required=True)
    waiting = fields.Boolean(required=True)


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
    if referral.status == S.LICENCE_FAILED or referral.licence_checked_at is not None:
        mismatches = list((referral.licence_details or {}).get("mismatches", []))
        failed = referral.status == S.LICENCE_FAILED or bool(mismatches)
        return {
            "result": "mismatch" if failed else "matched",
            "mismatches": mismatches,
            "checked_at": referral.licence_checked_at,
        }
    return None


def _decision(referral: Referral) -> dict | None:
    if referral.status in (S.APPROVED, S.REWARDED):
        outcome = "approved"
    elif referral.status == S.FRAUD:
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
    """The dealer's referrals, newest first, a page at a time.
    ---
    get:
      tags: [Referrals]
      summary: List referrals
      description: >
        The key's dealer's referrals, newest registration first, optionally in one state.
        Friends' mobile numbers are masked. `waiting` is true when three calls did not reach
        the callee.
      parameters:
        - in: query
          schema: ReferralListQuerySchema
      responses:
        200:
          description: One page of referrals
          content:
            application/json:
              schema: ReferralPageSchema
        401: Unauthorized
        422: UnprocessableEntity
    """
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
    """A referral's state, timeline, callback questions and attempts, and verdict.
    ---
    get:
      tags: [Referrals]
      summary: Show a referral
      description: >
        The timeline (registered, visited, purchased, licence check, callback, decision,
        reward), whom the callback calls, its questions with their text (in the
        `Accept-Language`), expected and recorded answers, the call attempts and the
        recording reference. Another dealer's referral is not found.
      parameters:
        - in: path
          name: referral_id
          required: true
          schema:
            type: integer
      responses:
        200:
          description: The referral
          content:
            application/json:
              schema: ReferralSchema
        401: Unauthorized
        404: NotFound
    """
    return referral_body(_referral(referral_id))


@bp.post("/referrals/<int:referral_id>/callback/start")
def callback_start(referral_id: int):
    """Start the callback: choose whom to call and generate the questions.
    ---
    post:
      tags: [Referrals]
      summary: Start the callback
      description: >
        For a referral whose licence check matched. The system chooses at random whom to call
        (the referrer or the friend) and asks 3 or 4 questions about the other one. When the
        club's records allow fewer than 3 questions, the referral goes to `manual_review`
        with the reason. Starting again answers the same callee and questions and changes
        nothing.
      parameters:
        - in: path
          name: referral_id
          required: true
          schema:
            type: integer
      requestBody:
        required: true
        content:
          application/json:
            schema: CallbackStartSchema
      responses:
        200:
          description: The referral with whom to call and the questions
          content:
            application/json:
              schema: ReferralSchema
        400: BadRequest
        401: Unauthorized
        403: Forbidden
        404: NotFound
        409: Conflict
        422: UnprocessableEntity
    """
    referral = _referral(referral_id)
    data = _body(CallbackStartSchema())
    agent = _agent(data["agent_mobile"])
    referral = verification.start_callback(agent, referral.id)
    return referral_body(_fresh(referral))


@bp.post("/referrals/<int:referral_id>/callback/attempts")
def callback_attempt(referral_id: int):
    """Log a call to the callee, reached or not.
    ---
    post:
      tags: [Referrals]
      summary: Log a call attempt
      description: >
        After three calls that did not reach the callee (at different times of day), the
        referral waits (`waiting` true) until the callee calls back; calls can still be
        logged. Only while the callback is under way.
      parameters:
        - in: path
          name: referral_id
          required: true
          schema:
            type: integer
      requestBody:
        required: true
        content:
          application/json:
            schema: CallAttemptSchema
      responses:
        201:
          description: The call is logged
          content:
            application/json:
              schema: CallAttemptRecordedSchema
        400: BadRequest
        401: Unauthorized
        403: Forbidden
        404: NotFound
        409: Conflict
        422: UnprocessableEntity
    """
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
    """Mark the callee's answer to a question right or wrong, once.
    ---
    post:
      tags: [Referrals]
      summary: Mark an answer
      description: >
        Each question is marked once: marking it again is a conflict and changes nothing.
        A question of another referral is not found.
      parameters:
        - in: path
          name: referral_id
          required: true
          schema:
            type: integer
        - in: path
          name: question_id
          required: true
          schema:
            type: integer
      requestBody:
        required: true
        content:
          application/json:
            schema: AnswerSchema
      responses:
        200:
          description: The question with the recorded answer
          content:
            application/json:
              schema: QuestionSchema
        400: BadRequest
        401: Unauthorized
        403: Forbidden
        404: NotFound
        409: Conflict
        422: UnprocessableEntity
    """
    referral = _referral(referral_id)
    data = _body(AnswerSchema())
    agent = _agent(data["agent_mobile"])
    question = verification.answer_question(
        agent, referral.id, question_id, correct=data["correct"]
    )
    return QuestionSchema().dump(_question(question, referral))


@bp.post("/referrals/<int:referral_id>/callback/complete")
def callback_complete(referral_id: int):
    """Finish the callback: two or more wrong answers make it fraud, otherwise it is approved.
    ---
    post:
      tags: [Referrals]
      summary: Finish the callback
      description: >
        Every answer must be marked and the call recording's reference given. Two or more
        wrong answers: `fraud` (no reward; staff who registered or handled it are flagged).
        Otherwise approved, and both owners are rewarded at once (`rewarded`); it stays
        `approved` when the referrer's yearly limit of rewarded referrals is reached
        (`reward_note`). A callback already finished is a conflict and changes nothing.
      parameters:
        - in: path
          name: referral_id
          required: true
          schema:
            type: integer
      requestBody:
        required: true
        content:
          application/json:
            schema: CallbackCompleteSchema
      responses:
        200:
          description: The referral with its verdict
          content:
            application/json:
              schema: ReferralSchema
        400: BadRequest
        401: Unauthorized
        403: Forbidden
        404: NotFound
        409: Conflict
        422: UnprocessableEntity
    """
    referral = _referral(referral_id)
    data = _body(CallbackCompleteSchema())
    agent = _agent(data["agent_mobile"])
    referral = verification.complete_callback(
        agent, referral.id, recording_ref=data["recording_ref"]
    )
    return referral_body(_fresh(referral))
