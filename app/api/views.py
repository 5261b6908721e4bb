"""JSON API v1 for the dealer's DMS and counter systems: thin views over the domain services.

Each view checks the body against its marshmallow schema, calls one service with the key's
dealer, and serialises the result. Each view's operation in the OpenAPI document is its entry
in ``operations.yaml`` (``app.api.spec``).
"""

import logging

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
from app.core.money import to_fen, yuan
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


def _visit_figures(data: dict) -> dict:
    """A repair order's figures as the visit services take them (the amount in fen)."""
    return {
        "vin": data["vin"],
        "visited_on": data["visited_on"],
        "mileage_km": data["mileage_km"],
        "amount_fen": to_fen(data["amount_yuan"]),
        "category": data["category"],
    }


def _benefit_claims(applied: list[dict]) -> list:
    """The member benefits a repair order names, as the visit service takes them (fen)."""
    from app.service.services import BenefitClaim

    return [
        BenefitClaim(
            code=b["code"],
            discount_fen=to_fen(b["discount_yuan"]),
            base_fen=to_fen(b["base_yuan"]) if b["base_yuan"] is not None else None,
        )
        for b in applied
    ]


# ------------------------------------------------------------------------------- views


@bp.post("/dms/deliveries")
def record_delivery():
    """Record a delivery: enrol or match the owner by mobile, add the car."""
    from app.cards.services import active_card
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
            "card_number": active_card(result.member).number,
            "vehicle_id": result.vehicle.id,
            "owner_status": result.owner_status,
            "name_mismatch": result.name_mismatch,
        }
    )
    return body, 201 if result.created else 200


@bp.post("/dms/service-visits")
def record_service_visit():
    """Record a service visit (repair order) and award its points."""
    from app.service.services import RepairOrderDiffers, record_visit

    data = _body(schemas.ServiceVisitSchema())
    try:
        result = record_visit(
            None,
            dealer_id=g.api_dealer_id,
            ro_number=data["ro_number"],
            source="dms",
            benefits=_benefit_claims(data["benefits"]),
            **_visit_figures(data),
        )
    except RepairOrderDiffers as err:
        return _repair_order_differs(err)
    body = schemas.VisitRecordedSchema().dump(
        {"points_awarded": result.points_awarded, "balance": result.balance, "tier": result.tier}
    )
    return body, 201 if result.created else 200


def _repair_order(figures: dict) -> dict:
    shown = {k: v for k, v in figures.items() if k != "amount_fen"}
    shown["amount_yuan"] = yuan(figures["amount_fen"])
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
    """Refund a service visit: reverse exactly the points it earned, once."""
    from app.service.services import refund_visit

    result = refund_visit(None, dealer_id=g.api_dealer_id, ro_number=ro_number)
    return schemas.VisitRefundedSchema().dump(
        {"points_reversed": result.points_reversed, "balance": result.balance}
    )


@bp.post("/dms/service-visits/<path:ro_number>/amend")
def amend_service_visit(ro_number: str):
    """Amend a service visit: correct its figures, reverse its points and earn them afresh."""
    from app.service.services import amend_visit

    data = _body(schemas.VisitAmendmentSchema())
    result = amend_visit(
        None,
        dealer_id=g.api_dealer_id,
        ro_number=ro_number,
        reason=data["reason"],
        source="dms",
        **_visit_figures(data),
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
    """Look up the owner of a member card number."""
    from app.cards.services import card_for_dealer
    from app.loyalty.figures import account_as_of_today

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


def _voucher_refused(refusal):
    """A refused voucher as the API's error: 404, 409 with its ``status``, or 422."""
    from app.rewards.services import REFUSAL_MESSAGES

    status = _VOUCHER_REFUSALS.get(refusal.reason, 422)
    if refusal.reason == "other_dealer":
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


@bp.post("/vouchers/redeem")
def redeem_voucher():
    """Redeem a voucher at the counter, once."""
    from app.rewards.services import VoucherRefused
    from app.rewards.services import redeem_voucher as redeem

    data = _body(schemas.VoucherRedeemSchema())
    try:
        voucher = redeem(None, data["code"], dealer_id=g.api_dealer_id)
    except VoucherRefused as refusal:
        # The refusal's audit entry is durable: it is kept although this request rolls back.
        return _voucher_refused(refusal)
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
    """The OpenAPI 3 document of this API."""
    from app.api.spec import api_spec

    return jsonify(api_spec(current_app))


# Referral state and callback steps, and the event gate, register their routes on this blueprint.
from app.api import checkin, referrals  # noqa: E402, F401
