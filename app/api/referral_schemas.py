"""The JSON bodies of the referral endpoints (``app.api.referrals``): what a call centre sends
for each callback step, the list's filters, and the referral as the API shows it."""

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, fields, validate

from app.api.schemas import _REQUIRED, MOBILE_RULE, _Schema, _text
from app.referrals.models import Callee, QuestionKind, ReferralStatus

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
