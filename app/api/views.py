"""JSON API v1 for the dealer's DMS and counter systems: thin views over the domain services.

Each view checks the body against its marshmallow schema, calls one service with the key's
dealer, and serialises the result. The YAML after ``---`` in a docstring is the operation in
the OpenAPI document (``app.api.spec``).
"""

import logging
from decimal import Decimal

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from app.api import schemas
from app.api.auth import require_api_key
from app.api.body import read_json_object
from app.api.errors import (
    InvalidFields,
    domain_error_response,
    json_error,
)
from app.core.errors import DomainError, Forbidden
from app.core.permissions import has_permission
from app.extensions import csrf, db

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = frozenset({"api.openapi"})
# Endpoints staff also call from a page with their session (the gate's scanning phone), and the
# permission they need there. The blueprint is CSRF-exempt for keys, so a session call must send
# the page's CSRF token (X-CSRFToken).
SESSION_ENDPOINTS = {"api.checkin": "events.checkin", "api.checkin_batch": "events.checkin"}


@bp.before_request
def authenticate():
    """Every endpoint but the OpenAPI document needs a live key of a dealer (or, for the
    session endpoints, a staff session with the permission and the CSRF token)."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    permission = SESSION_ENDPOINTS.get(request.endpoint)
    if permission and "Authorization" not in request.headers and current_user.is_authenticated:
        if not has_permission(current_user, permission):
            raise Forbidden(_l("Your account may not do this."))
        csrf.protect()
        g.api_staff = current_user._get_current_object()
        return
    require_api_key()


@bp.errorhandler(DomainError)
def domain_error(err: DomainError):
    """A broken rule or a bad key, as a JSON error."""
    return domain_error_response(err)


@bp.errorhandler(HTTPException)
def http_error(err: HTTPException):
    """Werkzeug's errors (and unexpected failures, as 500) in the API's JSON format."""
    if err.code == 500:
        log.exception("Unhandled API error", exc_info=getattr(err, "original_exception", err))
        return json_error(500, _l("The request failed. Nothing was saved."))
    return json_error(err.code or 500, err.description or err.name)


# ----------------------------------------------------------------------------- helpers


def _flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"customer.mobile": [...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            for field, texts in _flatten(value, name).items():
                flat.setdefault(field, []).extend(texts)
    elif isinstance(messages, list | tuple):
        for item in messages:
            for field, texts in _flatten(item, prefix).items():
                flat.setdefault(field, []).extend(texts)
    else:
        flat[prefix or "body"] = [str(messages)]
    return flat


def _body(schema) -> dict:
    """The request's JSON object, validated by ``schema``; exact decimals for numbers."""
    data = read_json_object()
    try:
        return schema.load(data)
    except ValidationError as err:
        raise InvalidFields(_flatten(err.messages)) from None


def _yuan_to_fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_exact())


# ------------------------------------------------------------------------------- views


@bp.post("/dms/deliveries")
def record_delivery():
    """Record a delivery: enrol or match the owner by mobile, add the car.
    ---
    post:
      tags: [DMS]
      summary: Record a delivered car
      description: >
        The owner is matched by mobile number or enrolled; the car joins their garage with
        `purchased_on` = `delivered_on`. A car attaches to an owner only once someone proved
        the mobile number with an SMS code: until then it waits on the number's account
        (`owner_status`: `waiting_for_proof`) and the number is invited (SMS and in-app) to
        join with a code. A `customer.name` that differs from a proven owner's name never
        overwrites it: it is flagged for the dealer's staff (`name_mismatch`: true). Replaying
        the same VIN answers 200 with the same ids and changes nothing. A VIN already
        registered to an owner of another dealer, or a customer of another dealer's chapter,
        is a conflict.
      requestBody:
        required: true
        content:
          application/json:
            schema: DeliverySchema
      responses:
        201:
          description: The owner and car were created or matched
          content:
            application/json:
              schema: DeliveryRecordedSchema
        200:
          description: A replay of a delivery already recorded; nothing changed
          content:
            application/json:
              schema: DeliveryRecordedSchema
        400: BadRequest
        401: Unauthorized
        403: Forbidden
        409: Conflict
        422: UnprocessableEntity
    """
    from app.members.delivery import DeliveryCustomer, DeliveryVehicle
    from app.members.delivery import record_delivery as record

    data = _body(schemas.DeliverySchema())
    result = record(
        dealer_id=g.api_dealer_id,
        delivered_on=data["delivered_on"],
        sales_consultant=data["sales_consultant"],
        customer=DeliveryCustomer(**data["customer"]),
        vehicle=DeliveryVehicle(**data["vehicle"]),
    )
    body = schemas.DeliveryRecordedSchema().dump(
        {
            "member_id": result.member.id,
            "card_number": result.card.number,
            "vehicle_id": result.vehicle.id,
            "owner_status": result.owner_status,
            "name_mismatch": result.name_mismatch,
        }
    )
    return body, 201 if result.created else 200


@bp.post("/dms/service-visits")
def record_service_visit():
    """Record a service visit (repair order) and award its points.
    ---
    post:
      tags: [DMS]
      summary: Record a service visit
      description: >
        Points per yuan paid by the owner for the category, times the tier multiplier, doubled
        in the owner's purchase-anniversary month. Replaying the same `ro_number` with the same
        figures answers 200 and awards nothing more; the same `ro_number` with other figures
        (VIN, date, mileage, amount or category) is a 409 that gives both versions: correct a
        visit with `/dms/service-visits/{ro_number}/amend`. An unknown VIN, or a car of another
        dealer's owner, is not found.
      requestBody:
        required: true
        content:
          application/json:
            schema: ServiceVisitSchema
      responses:
        201:
          description: The visit was recorded and its points awarded
          content:
            application/json:
              schema: VisitRecordedSchema
        200:
          description: A replay of a visit already recorded; nothing changed
          content:
            application/json:
              schema: VisitRecordedSchema
        400: BadRequest
        401: Unauthorized
        403: Forbidden
        404: NotFound
        409:
          description: The repair order number was recorded with other figures
          content:
            application/json:
              schema: RepairOrderDiffersSchema
        422: UnprocessableEntity
    """
    from app.service.services import RepairOrderDiffers, record_visit

    data = _body(schemas.ServiceVisitSchema())
    try:
        result = record_visit(
            None,
            dealer_id=g.api_dealer_id,
            ro_number=data["ro_number"],
            vin=data["vin"],
            visited_on=data["visited_on"],
            mileage_km=data["mileage_km"],
            amount_fen=_yuan_to_fen(data["amount_yuan"]),
            category=data["category"],
            source="dms",
        )
    except RepairOrderDiffers as err:
        return _repair_order_differs(err)
    body = schemas.VisitRecordedSchema().dump(
        {"points_awarded": result.points_awarded, "balance": result.balance, "tier": result.tier}
    )
    return body, 201 if result.created else 200


def _repair_order(figures: dict) -> dict:
    shown = {k: v for k, v in figures.items() if k != "amount_fen"}
    shown["amount_yuan"] = str((Decimal(figures["amount_fen"]) / 100).quantize(Decimal("0.01")))
    return schemas.RepairOrderSchema().dump(shown)


def _repair_order_differs(err) -> tuple:
    db.session.rollback()
    error = {
        "code": err.code,
        "message": str(err.message),
        "fields": {err.field: [str(err.message)]},
        "recorded": _repair_order(err.recorded),
        "sent": _repair_order(err.sent),
    }
    return jsonify({"error": error}), 409


# Repair order numbers may contain "/" (RO/2026/001).
@bp.post("/dms/service-visits/<path:ro_number>/refund")
def refund_service_visit(ro_number: str):
    """Refund a service visit: reverse exactly the points it earned, once.
    ---
    post:
      tags: [DMS]
      summary: Refund a service visit
      description: >
        Reverses exactly the points the visit earned. A second refund answers 200 with the same
        figures and changes nothing. A repair order of another dealer is not found.
      parameters:
        - in: path
          name: ro_number
          required: true
          schema:
            type: string
            maxLength: 32
      responses:
        200:
          description: The visit is refunded
          content:
            application/json:
              schema: VisitRefundedSchema
        401: Unauthorized
        403: Forbidden
        404: NotFound
        409: Conflict
        422: UnprocessableEntity
    """
    from app.service.services import refund_visit

    result = refund_visit(None, dealer_id=g.api_dealer_id, ro_number=ro_number)
    return schemas.VisitRefundedSchema().dump(
        {"points_reversed": result.points_reversed, "balance": result.balance}
    )


@bp.post("/dms/service-visits/<path:ro_number>/amend")
def amend_service_visit(ro_number: str):
    """Amend a service visit: correct its figures, reverse its points and earn them afresh.
    ---
    post:
      tags: [DMS]
      summary: Amend a service visit
      description: >
        The corrected repair order (every figure, and a reason). Reverses exactly the points
        the visit earned and earns them afresh under the new figures, once: sending the figures
        the visit already has answers 200 with the last amendment and changes nothing. Every
        amendment is audited with both versions. A refunded visit cannot be amended (409); a
        repair order of another dealer is not found.
      parameters:
        - in: path
          name: ro_number
          required: true
          schema:
            type: string
            maxLength: 32
      requestBody:
        required: true
        content:
          application/json:
            schema: VisitAmendmentSchema
      responses:
        201:
          description: The visit was amended and its points earned afresh
          content:
            application/json:
              schema: VisitAmendedSchema
        200:
          description: The visit already has these figures; nothing changed
          content:
            application/json:
              schema: VisitAmendedSchema
        400: BadRequest
        401: Unauthorized
        403: Forbidden
        404: NotFound
        409: Conflict
        422: UnprocessableEntity
    """
    from app.service.services import amend_visit

    data = _body(schemas.VisitAmendmentSchema())
    result = amend_visit(
        None,
        dealer_id=g.api_dealer_id,
        ro_number=ro_number,
        vin=data["vin"],
        visited_on=data["visited_on"],
        mileage_km=data["mileage_km"],
        amount_fen=_yuan_to_fen(data["amount_yuan"]),
        category=data["category"],
        reason=data["reason"],
        source="dms",
    )
    body = schemas.VisitAmendedSchema().dump(
        {
            "amendment": result.number,
            "points_reversed": result.points_reversed,
            "points_awarded": result.visit.points_awarded,
            "balance": result.balance,
            "tier": result.tier,
        }
    )
    return body, 201 if result.created else 200


@bp.get("/members/by-card/<card_number>")
def member_by_card(card_number: str):
    """Look up the owner of a member card number.
    ---
    get:
      tags: [Counter]
      summary: Find an owner by card number
      description: >
        The 16-digit number printed on the card (spaces allowed): the prefix 8, 14 digits,
        then the Luhn check digit of the first 15; a number that fails the check answers 422.
        A replaced card still names its owner, with `card_status` "replaced". A card of
        another dealer's owner is not found.
      parameters:
        - in: path
          name: card_number
          required: true
          schema:
            type: string
            example: "8123456789012345"
      responses:
        200:
          description: The card's owner
          content:
            application/json:
              schema: MemberByCardSchema
        401: Unauthorized
        404: NotFound
        422: UnprocessableEntity
    """
    from app.cards.services import card_for_dealer
    from app.loyalty.ledger import account_as_of_today

    card = card_for_dealer(card_number, dealer_id=g.api_dealer_id)
    account = account_as_of_today(card.member.id)
    return schemas.MemberByCardSchema().dump(
        {
            "member_id": card.member.id,
            "name": card.member.name,
            "tier": account.tier_code,
            "balance": account.balance,
            "card_status": card.status.value,
        }
    )


# A refusal's reason → (HTTP status, error code); unknown and other dealers' look the same.
_VOUCHER_REFUSALS = {
    "unknown": 404,
    "other_dealer": 404,
    "forged": 422,
    "wrong_kind": 422,
    "cancelled": 409,
    "expired": 409,
    "already_redeemed": 409,
}


@bp.post("/vouchers/redeem")
def redeem_voucher():
    """Redeem a voucher at the counter, once.
    ---
    post:
      tags: [Counter]
      summary: Redeem a voucher
      description: >
        `code` is the voucher code (any case, spaces and dashes ignored) or the text of its QR
        code. A voucher of another dealer is answered as unknown (404). A used, cancelled or
        expired voucher is a conflict whose `status` says which; a used one also gives
        `redeemed_at`.
      requestBody:
        required: true
        content:
          application/json:
            schema: VoucherRedeemSchema
      responses:
        200:
          description: The voucher is used now
          content:
            application/json:
              schema: VoucherRedeemedSchema
        400: BadRequest
        401: Unauthorized
        404: NotFound
        409:
          description: Already used (with `redeemed_at`), cancelled or expired
          content:
            application/json:
              schema: VoucherRefusedSchema
        422: UnprocessableEntity
    """
    from app.rewards.services import VoucherRefused
    from app.rewards.services import redeem_voucher as redeem

    data = _body(schemas.VoucherRedeemSchema())
    try:
        voucher = redeem(None, data["code"], dealer_id=g.api_dealer_id)
    except VoucherRefused as refusal:
        # The refusal's audit entry is durable: it is kept although this request rolls back.
        status = _VOUCHER_REFUSALS.get(refusal.reason, 422)
        if refusal.reason == "other_dealer":
            from app.rewards.services import REFUSAL_MESSAGES

            return json_error(404, REFUSAL_MESSAGES["unknown"], code="unknown")
        if status == 409:
            return json_error(
                409,
                refusal.message,
                code=refusal.reason,
                status=refusal.reason,
                redeemed_at=refusal.redeemed_at.isoformat() if refusal.redeemed_at else None,
            )
        fields = {"code": [refusal.message]} if status == 422 else None
        return json_error(status, refusal.message, code=refusal.reason, fields=fields)
    return schemas.VoucherRedeemedSchema().dump(
        {
            "status": "redeemed",
            "code": voucher.code,
            "reward": voucher.reward.name,
            "redeemed_at": voucher.redeemed_at,
        }
    )


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 document of this API.
    ---
    get:
      tags: [Documentation]
      summary: This document
      security: []
      responses:
        200:
          description: The OpenAPI 3 document
          content:
            application/json:
              schema:
                type: object
    """
    from app.api.spec import api_spec

    return jsonify(api_spec(current_app))


# Referral state and callback steps, and the event gate, register their routes on this blueprint.
from app.api import checkin, referrals  # noqa: E402, F401
