"""The event gate in the JSON API (R7): check a ticket in, and upload scans made offline.

A scan's ``ticket`` is the text read at the gate: a ticket's QR, its short code typed, or the
owner's live member card code; ``registration_id`` instead checks an attendee in from the
gate's list by a tap (recorded as manual).

A dealer's scanning device calls these with its API key (the key's dealer scopes the event);
the staff check-in page calls them with the staff member's session and the CSRF token in an
``X-CSRFToken`` header (``app.api.views.SESSION_ENDPOINTS``). Unlike the other endpoints, a
scan answers with a ``status`` body the gate shows as it is, refusals included.
"""

from flask import g
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.api.schemas import _REQUIRED, _Schema, _text
from app.api.views import _body, bp
from app.core.security import MAX_ID
from app.events.checkin import (
    MAX_BATCH,
    STATUSES,
    CheckInResult,
    Scan,
    check_in,
    check_in_batch,
    check_in_manually,
    describe_attendee,
)
from app.extensions import db

_NONCE = validate.Regexp(
    r"^[A-Za-z0-9_-]{8,64}$",
    error=_l("Send 8 to 64 letters, digits, '-' or '_'."),
)
_REFUSALS = [s for s in STATUSES if s not in ("checked_in", "already_checked_in")]


def _event_id() -> fields.Integer:
    return fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(1, MAX_ID, error=_l("Enter an event id.")),
        error_messages={**_REQUIRED, "invalid": _l("Enter a whole number.")},
        metadata={"description": "The event whose gate this is", "example": 42},
    )


def _ticket() -> fields.String:
    return _text(
        512,
        required=False,
        load_default=None,
        metadata={
            "description": "What the gate read: the text of the ticket's QR code (`CC1.` + "
            "base64url(header + Ed25519 signature)), the ticket's short code as typed (8 "
            "characters, any case, dashes and spaces ignored), or the owner's live member card "
            "code (`CC2.`, valid within CARD_CODE_WINDOW_SECONDS of the scan). Send this or "
            "`registration_id`"
        },
    )


def _registration_id() -> fields.Integer:
    return fields.Integer(
        load_default=None,
        strict=True,
        validate=validate.Range(1, MAX_ID, error=_l("Enter a registration id.")),
        error_messages={"invalid": _l("Enter a whole number.")},
        metadata={
            "description": "Check this attendee in from the gate's list, without a ticket "
            "(recorded as manual and audit-logged). Send this or `ticket`",
            "example": 7,
        },
    )


class _OneOf:
    """A scan names the ticket it read or the registration tapped, not both."""

    @validates_schema
    def _ticket_or_registration(self, data, **kwargs):
        if (data.get("ticket") is None) == (data.get("registration_id") is None):
            raise ValidationError(
                _l("Send a ticket or a registration id, not both."), field_name="ticket"
            )


def _nonce(**kwargs) -> fields.String:
    return fields.String(
        validate=_NONCE,
        error_messages={**_REQUIRED, "invalid": _l("Enter text.")},
        metadata={
            "description": "A random id the scanning phone gives this scan: a scan sent again "
            "with the same nonce is answered as the first time and changes nothing",
            "example": "f3a9c2d1e6b04a7c",
        },
        **kwargs,
    )


# ------------------------------------------------------------------------------ requests


class CheckInRequestSchema(_OneOf, _Schema):
    """One scan (or tap) at the gate, online."""

    event_id = _event_id()
    ticket = _ticket()
    registration_id = _registration_id()
    nonce = _nonce(load_default=None)


class OfflineScanSchema(_OneOf, _Schema):
    """A scan (or tap) made without signal."""

    ticket = _ticket()
    registration_id = _registration_id()
    nonce = _nonce(required=True)
    scanned_at = fields.AwareDateTime(
        required=True,
        error_messages={
            **_REQUIRED,
            "invalid": _l("Enter a date and time with its time zone (ISO 8601)."),
            "invalid_awareness": _l("Enter a date and time with its time zone (ISO 8601)."),
        },
        metadata={
            "description": "The phone's time of the scan. A time in the future or before the "
            "event's day is replaced by the time of the upload",
            "example": "2026-11-23T09:41:07.120Z",
        },
    )


class CheckInBatchRequestSchema(_Schema):
    """The scans a phone made offline, uploaded together."""

    event_id = _event_id()
    scans = fields.List(
        fields.Nested(OfflineScanSchema),
        required=True,
        validate=validate.Length(1, MAX_BATCH, error=_l("Send 1 to %(max)s scans.", max=MAX_BATCH)),
        error_messages={**_REQUIRED, "invalid": _l("Send a list of scans.")},
    )


# ----------------------------------------------------------------------------- responses


class AttendeeCarSchema(Schema):
    """The car the attendee drives (trips)."""

    model = fields.String(required=True)
    colour = fields.String(required=True, metadata={"description": "In the Accept-Language"})
    plate = fields.String(required=True, allow_none=True)


class GateAttendeeSchema(Schema):
    """Who the ticket lets in (no contact details)."""

    registration_id = fields.Integer(required=True)
    name = fields.String(required=True)
    companions = fields.Integer(required=True, metadata={"description": "People besides them"})
    companion_names = fields.String(required=True)
    car = fields.Nested(AttendeeCarSchema, required=True, allow_none=True)


class CheckedInSchema(Schema):
    """The ticket is checked in (now, or by an earlier send of the same nonce)."""

    status = fields.String(required=True, metadata={"enum": ["checked_in"]})
    checked_in_at = fields.DateTime(required=True)
    attendee = fields.Nested(GateAttendeeSchema, required=True)


class AlreadyCheckedInSchema(Schema):
    """The ticket was checked in before, at ``checked_in_at``."""

    status = fields.String(required=True, metadata={"enum": ["already_checked_in"]})
    checked_in_at = fields.DateTime(required=True)
    attendee = fields.Nested(GateAttendeeSchema, required=True)


class CheckInRefusedSchema(Schema):
    """The ticket does not open this gate."""

    status = fields.String(
        required=True,
        metadata={
            "enum": _REFUSALS,
            "description": "invalid: forged, altered or unreadable; wrong_event: a ticket of "
            "another event; not_signed_up: a member card whose owner has not signed up for "
            "this event; cancelled: the registration is cancelled, expired or not "
            "confirmed; unpaid: the place of a paid event is not paid yet; outside_window: "
            "the event's check-in is not open (from CHECKIN_OPENS_HOURS_BEFORE hours before "
            "its start until its end)",
        },
    )
    message = fields.String(metadata={"description": "For outside_window: when it opens"})
    attendee = fields.Nested(
        GateAttendeeSchema, metadata={"description": "For cancelled and unpaid tickets"}
    )


class CheckInBatchItemSchema(Schema):
    """The answer to one uploaded scan."""

    nonce = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    checked_in_at = fields.DateTime(
        required=True, allow_none=True, metadata={"description": "When the ticket checked in"}
    )
    conflict = fields.Boolean(
        required=True,
        metadata={
            "description": "The ticket was checked in before this scan (another phone, or an "
            "earlier scan): the scan is recorded as a conflict, not counted"
        },
    )
    attendee = fields.Nested(GateAttendeeSchema, allow_none=True)
    message = fields.String(metadata={"description": "For outside_window: when it opens"})


class CheckInBatchSchema(Schema):
    """One answer per scan, in the order sent."""

    results = fields.List(fields.Nested(CheckInBatchItemSchema), required=True)
    checked_in = fields.Integer(required=True, metadata={"description": "Scans now checked in"})
    conflicts = fields.Integer(required=True)


# ------------------------------------------------------------------------------- views


def _scope() -> dict:
    """The acting staff member (session) or the key's dealer."""
    staff = g.get("api_staff")
    return {"actor": staff, "dealer_id": None if staff is not None else g.api_dealer_id}


def _attendee(result: CheckInResult) -> dict | None:
    if result.attendee is None:
        return None
    return describe_attendee(result.attendee, locale=str(get_locale()))


def _answer(result: CheckInResult) -> dict:
    body = {"status": result.status}
    if result.checked_in_at is not None:
        body["checked_in_at"] = result.checked_in_at.isoformat()
    if (attendee := _attendee(result)) is not None:
        body["attendee"] = attendee
    if result.message:
        body["message"] = result.message
    return body


@bp.post("/checkin")
def checkin():
    """Check a ticket in at the event's gate."""
    data = _body(CheckInRequestSchema())
    if data["registration_id"] is not None:
        result = check_in_manually(
            event_id=data["event_id"],
            registration_id=data["registration_id"],
            nonce=data["nonce"],
            **_scope(),
        )
    else:
        result = check_in(
            event_id=data["event_id"], ticket=data["ticket"], nonce=data["nonce"], **_scope()
        )
    if result.status == "checked_in":
        return _answer(result), 201
    if result.status == "already_checked_in":
        # The second scan is kept on record although the answer is an error status.
        db.session.commit()
        return _answer(result), 409
    return _answer(result), 422


@bp.post("/checkin/batch")
def checkin_batch():
    """Upload the scans a phone made offline."""
    data = _body(CheckInBatchRequestSchema())
    results = check_in_batch(
        event_id=data["event_id"], scans=[Scan(**scan) for scan in data["scans"]], **_scope()
    )
    items = [
        {
            "nonce": item.nonce,
            "status": item.result.status,
            "checked_in_at": item.result.checked_in_at.isoformat()
            if item.result.checked_in_at
            else None,
            "conflict": item.conflict,
            "attendee": _attendee(item.result),
            **({"message": item.result.message} if item.result.message else {}),
        }
        for item in results
    ]
    return {
        "results": items,
        "checked_in": sum(item["status"] == "checked_in" for item in items),
        "conflicts": sum(item["conflict"] for item in items),
    }
