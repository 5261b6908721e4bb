"""Marshmallow schemas of the API: they validate request bodies and describe every body in the
OpenAPI document. Messages are lazy strings, so a client gets them in its Accept-Language."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates

from app.cards.models import CardStatus
from app.core.forms import is_visible_text
from app.members.models import Transmission
from app.service.models import ServiceCategory

MAX_AMOUNT_YUAN = Decimal(1_000_000)
MAX_MILEAGE_KM = 2_000_000

_REQUIRED = {
    "required": _l("This field is required."),
    "null": _l("This field cannot be null."),
}


# The business rules a value must also meet (a value that breaks one answers 422), stated in
# the OpenAPI document so a client can check before it sends.
MOBILE_RULE = (
    "Mainland mobile number: 11 digits, the first 1 and the second 3 to 9 "
    "(`^1[3-9][0-9]{9}$`); spaces, dashes and a +86, 0086 or 86 prefix are ignored"
)
VIN_RULE = (
    "17 characters from 0-9 and A-Z without I, O and Q (spaces ignored, any case); the 9th is "
    "the ISO 3779 check digit (0-9 or X) computed from the other 16"
)
CARD_RULE = (
    "16 digits (spaces ignored): the club's prefix 8, 14 digits, then the Luhn check digit of "
    "the first 15"
)


class Text(fields.String):
    """A JSON string without NUL characters, which PostgreSQL cannot store in a text column."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("invalid")
        return text


def _visible(text: str) -> None:
    """A required text must show something: not only spaces, bidi or zero-width characters."""
    if text and not is_visible_text(text):
        raise ValidationError(_l("Enter text with visible characters."))


def _text(max_length: int, *, required: bool = True, **kwargs) -> fields.String:
    """A string field of 1 to ``max_length`` characters (0 allowed when optional); a required
    one must show at least one character."""
    length = validate.Length(
        1 if required else 0,
        max_length,
        error=_l("Enter 1 to %(max)s characters.", max=max_length)
        if required
        else _l("Enter at most %(max)s characters.", max=max_length),
    )
    return Text(
        required=required,
        validate=[length, _visible] if required else length,
        error_messages={**_REQUIRED, "invalid": _l("Enter text.")},
        **kwargs,
    )


def _date(**kwargs) -> fields.Date:
    return fields.Date(
        error_messages={**_REQUIRED, "invalid": _l("Enter a date as YYYY-MM-DD.")}, **kwargs
    )


def _choice(values: list[str], **kwargs) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.OneOf(
            values, error=_l("Use one of: %(values)s.", values=", ".join(values))
        ),
        error_messages={**_REQUIRED, "invalid": _l("Enter text.")},
        metadata={"enum": values},
        **kwargs,
    )


class _Schema(Schema):
    """Request schemas refuse unknown fields, with a translated message."""

    error_messages = {
        "unknown": _l("Unknown field."),
        "type": _l("Send a JSON object."),
    }


# ------------------------------------------------------------------------------ requests


class CustomerSchema(_Schema):
    """The buyer of a delivered car."""

    name = _text(64, metadata={"example": "张伟"})
    mobile = _text(32, metadata={"description": MOBILE_RULE, "example": "13912345678"})
    birthday = _date(load_default=None, allow_none=True, metadata={"example": "1985-06-01"})
    employer = _text(120, required=False, load_default="")
    home_area = _text(120, required=False, load_default="")


class DeliveredVehicleSchema(_Schema):
    """The delivered car."""

    vin = _text(32, metadata={"description": VIN_RULE, "example": "LSVAU2180N2183294"})
    plate = _text(
        16,
        required=False,
        load_default="",
        metadata={"description": "Mainland plate, if already registered", "example": "粤B12345"},
    )
    model = _text(64, metadata={"example": "Sagitar"})
    colour = _text(
        64,
        metadata={
            "description": "A colour code, or its English or Chinese name (any case)",
            "example": "white",
        },
    )
    transmission = _choice([t.value for t in Transmission])


class DeliverySchema(_Schema):
    """A delivery pushed by the DMS."""

    delivered_on = _date(required=True, metadata={"example": "2026-11-20"})
    sales_consultant = _text(64)
    customer = fields.Nested(CustomerSchema, required=True, error_messages=_REQUIRED)
    vehicle = fields.Nested(DeliveredVehicleSchema, required=True, error_messages=_REQUIRED)


class _VisitFiguresSchema(_Schema):
    """What a repair order says about the visit."""

    vin = _text(32, metadata={"description": VIN_RULE, "example": "LSVAU2180N2183294"})
    visited_on = _date(required=True)
    mileage_km = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(
            0, MAX_MILEAGE_KM, error=_l("Enter the mileage in km (0 to 2,000,000).")
        ),
        error_messages={**_REQUIRED, "invalid": _l("Enter a whole number of km.")},
    )
    amount_yuan = fields.Decimal(
        required=True,
        error_messages={
            **_REQUIRED,
            "invalid": _l("Enter an amount in yuan, e.g. 1280.50."),
            "special": _l("Enter an amount in yuan, e.g. 1280.50."),
        },
        metadata={
            "description": "Paid by the owner, in yuan: more than 0, less than 1,000,000, "
            "at most 2 decimals",
            "example": 1280.5,
        },
    )
    category = _choice([c.value for c in ServiceCategory])

    @validates("amount_yuan")
    def _check_amount(self, value: Decimal, data_key: str) -> None:
        if not (value.is_finite() and Decimal(0) < value < MAX_AMOUNT_YUAN):
            raise ValidationError(_l("The amount must be more than ¥0 and less than ¥1,000,000."))
        if value != value.quantize(Decimal("0.01")):
            raise ValidationError(_l("Give the amount in yuan with at most 2 decimals."))


def _yuan_amount(description: str, *, required: bool = True, **kwargs) -> fields.Decimal:
    return fields.Decimal(
        required=required,
        error_messages={
            **_REQUIRED,
            "invalid": _l("Enter an amount in yuan, e.g. 1280.50."),
            "special": _l("Enter an amount in yuan, e.g. 1280.50."),
        },
        metadata={"description": description, **kwargs.pop("metadata", {})},
        **kwargs,
    )


def _check_yuan(value: Decimal | None) -> None:
    if value is None:
        return
    if not (value.is_finite() and Decimal(0) < value < MAX_AMOUNT_YUAN):
        raise ValidationError(_l("The amount must be more than ¥0 and less than ¥1,000,000."))
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError(_l("Give the amount in yuan with at most 2 decimals."))


class AppliedBenefitSchema(_Schema):
    """A member benefit applied on the repair order (seed 002: 会员…工时5折, 事故车维修除外)."""

    code = _text(
        32,
        metadata={
            "description": "The benefit's code in the club's catalogue (HQ's Member benefits "
            "page), e.g. `labour-discount`, `parts-discount`, `car-wash`",
            "example": "labour-discount",
        },
    )
    discount_yuan = _yuan_amount(
        "The discount given, in yuan (for a free item: its value); for a percent discount at "
        "most that percent of `base_yuan`",
        metadata={"example": 200},
    )
    base_yuan = _yuan_amount(
        "The labour or parts amount the discount was taken off, in yuan; required for discounts",
        required=False,
        load_default=None,
        allow_none=True,
        metadata={"example": 400},
    )

    @validates("discount_yuan")
    def _check_discount(self, value: Decimal, data_key: str) -> None:
        _check_yuan(value)

    @validates("base_yuan")
    def _check_base(self, value: Decimal | None, data_key: str) -> None:
        _check_yuan(value)


class ServiceVisitSchema(_VisitFiguresSchema):
    """A repair order (RO) closed at the dealer."""

    ro_number = _text(
        32, metadata={"description": "Unique per dealer; replays are recognised by it"}
    )
    benefits = fields.List(
        fields.Nested(AppliedBenefitSchema),
        load_default=list,
        validate=validate.Length(max=5, error=_l("At most 5 benefits on one repair order.")),
        error_messages={"invalid": _l("Send a list of benefits.")},
        metadata={
            "description": "Member benefits applied on the repair order, each at most once. "
            "Each is checked against the owner's tier, the catalogue in force on `visited_on`, "
            "its exclusions (a discount not for the visit's `category`) and its yearly limit "
            "(per membership year); a refused one refuses the whole visit (422, field "
            "`benefits.<n>.<field>`) and nothing is recorded. A refund gives the uses back."
        },
    )

    @validates("benefits")
    def _check_benefits(self, value: list, data_key: str) -> None:
        # Items that failed their own checks are not here to compare (marshmallow runs this
        # validator on what loaded).
        codes = [b["code"] for b in value if isinstance(b, dict) and "code" in b]
        if len(set(codes)) != len(codes):
            raise ValidationError(_l("Each benefit at most once on a repair order."))


class VisitAmendmentSchema(_VisitFiguresSchema):
    """The corrected figures of a repair order, and why."""

    reason = _text(200, metadata={"example": "Amount keyed wrongly: the invoice says 1380.50"})


class VoucherRedeemSchema(_Schema):
    """A voucher code typed at the counter, or the text of its QR code."""

    code = _text(512, metadata={"example": "ABCDE-FGHJK"})


# ----------------------------------------------------------------------------- responses


class DeliveryRecordedSchema(Schema):
    """The owner and car the delivery created or matched."""

    member_id = fields.Integer(required=True)
    card_number = fields.String(
        required=True, metadata={"description": CARD_RULE, "example": "8123456789012345"}
    )
    vehicle_id = fields.Integer(required=True)
    owner_status = fields.String(
        required=True,
        metadata={
            "enum": ["proven", "waiting_for_proof"],
            "description": "`proven`: the car joined the garage of the owner who proved this "
            "mobile number with an SMS code. `waiting_for_proof`: nobody has proved the number "
            "yet; the car (and the points its visits earn) waits on the number's account for "
            "whoever proves it, and the number was invited to.",
        },
    )
    name_mismatch = fields.Boolean(
        required=True,
        metadata={
            "description": "True when `customer.name` differs from the proven owner's name: the "
            "owner's name was kept and the dealer's staff were asked to check it."
        },
    )


class VisitRecordedSchema(Schema):
    """The points a visit earned and the owner's figures after it."""

    points_awarded = fields.Integer(required=True)
    balance = fields.Integer(required=True)
    tier = fields.String(required=True, metadata={"enum": ["gold", "platinum", "diamond"]})


class VisitRefundedSchema(Schema):
    """The points a refund took back and the owner's balance after it."""

    points_reversed = fields.Integer(required=True)
    balance = fields.Integer(required=True)


class VisitAmendedSchema(Schema):
    """What an amendment reversed and earned afresh, and the owner's figures after it."""

    amendment = fields.Integer(
        required=True,
        metadata={"description": "The amendment's number (1, 2...); 0: never amended"},
    )
    points_reversed = fields.Integer(required=True)
    points_awarded = fields.Integer(
        required=True, metadata={"description": "What the visit earns now, under its figures"}
    )
    balance = fields.Integer(required=True)
    tier = fields.String(required=True, metadata={"enum": ["gold", "platinum", "diamond"]})


class RepairOrderSchema(Schema):
    """A repair order's figures, as recorded or as sent."""

    ro_number = fields.String(required=True)
    vin = fields.String(required=True)
    visited_on = fields.String(required=True, metadata={"format": "date"})
    mileage_km = fields.Integer(required=True)
    amount_yuan = fields.String(
        required=True,
        metadata={
            "example": "1280.50",
            "pattern": r"^\d+\.\d{2}$",
            "description": "In yuan with two decimals, as a string (exact)",
        },
    )
    category = fields.String(required=True)


class RepairOrderDiffersBodySchema(Schema):
    """The error, with the repair order as recorded and as sent now."""

    code = fields.String(required=True, metadata={"enum": ["repair_order_differs"]})
    message = fields.String(required=True)
    fields_ = fields.Dict(
        data_key="fields", keys=fields.String(), values=fields.List(fields.String())
    )
    recorded = fields.Nested(RepairOrderSchema, required=True)
    sent = fields.Nested(RepairOrderSchema, required=True)


class RepairOrderDiffersSchema(Schema):
    """409: the repair order number was recorded with other figures (amend it to correct)."""

    error = fields.Nested(RepairOrderDiffersBodySchema, required=True)


class MemberByCardSchema(Schema):
    """The owner a card number belongs to."""

    member_id = fields.Integer(required=True)
    name = fields.String(required=True)
    tier = fields.String(required=True, metadata={"enum": ["gold", "platinum", "diamond"]})
    balance = fields.Integer(required=True)
    card_status = fields.String(
        required=True,
        metadata={
            "enum": [s.value for s in CardStatus],
            "description": "A replaced card no longer works: ask for the current one",
        },
    )


class VoucherRedeemedSchema(Schema):
    """A voucher used just now."""

    status = fields.String(required=True, metadata={"enum": ["redeemed"]})
    code = fields.String(required=True)
    reward = fields.String(required=True)
    redeemed_at = fields.DateTime(required=True)


class ErrorBodySchema(Schema):
    """What went wrong; ``fields`` maps a field (``customer.mobile``) to its messages."""

    code = fields.String(
        required=True,
        metadata={
            "example": "validation_failed",
            "description": "bad_request, unauthorized, forbidden, not_found, "
            "method_not_allowed, conflict, validation_failed, internal_error; "
            "for vouchers also the refusal reason",
        },
    )
    message = fields.String(required=True)
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.List(fields.String()),
    )


class ErrorSchema(Schema):
    """Every error answer: ``{"error": {"code", "message", "fields"?}}``."""

    error = fields.Nested(ErrorBodySchema, required=True)


class VoucherRefusedSchema(ErrorSchema):
    """A voucher that cannot be used: cancelled, expired, or already used (and when)."""

    status = fields.String(
        required=True, metadata={"enum": ["already_redeemed", "cancelled", "expired"]}
    )
    redeemed_at = fields.DateTime(allow_none=True)
