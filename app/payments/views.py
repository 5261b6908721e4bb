"""Paying for an event: checkout, the return page, the Stripe webhook."""

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import DomainError, NotFound
from app.core.permissions import member_required
from app.core.web import int_arg
from app.extensions import csrf, db
from app.payments import services
from app.payments.models import PaymentStatus

bp = Blueprint("payments", __name__)


@bp.app_template_global()
def payment_of(registration):
    """The payment of a registration, if checkout was ever opened (the ticket page shows it)."""
    return services.payment_for(registration)


def ticket_url(registration_id: int) -> str:
    """The owner's ticket page for a registration."""
    return url_for("events.ticket", registration_id=registration_id)


# ---------------------------------------------------------------------------------- owners


@bp.post("/me/registrations/<int:registration_id>/pay")
@member_required
def pay(registration_id: int):
    """Open checkout for the owner's held place and send the browser there."""
    try:
        payment = services.start_checkout(current_user.member, registration_id)
    except NotFound:
        abort(404)
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
        return redirect(ticket_url(registration_id), code=303)
    if payment.status == PaymentStatus.PAID:
        # Paid in another tab meanwhile: Stripe said so when the open checkout was looked up.
        return redirect(url_for("payments.checkout_return", payment_id=payment.id), code=303)
    if payment.provider == "demo":
        return redirect(url_for("payments.demo_checkout", payment_id=payment.id), code=303)
    return redirect(payment.checkout_url, code=303)


def _own_payment_from_query():
    try:
        return services.get_own_payment(
            current_user.member,
            session_id=request.args.get("session_id"),
            payment_id=int_arg("payment_id"),
        )
    except NotFound:
        abort(404)


@bp.get("/payments/return")
@member_required
def checkout_return():
    """Back from checkout: ask Stripe (not the address) whether the place is paid."""
    payment = _own_payment_from_query()
    payment_id = payment.id
    unreachable = False
    if payment.provider == "stripe" and payment.checkout_session_id:
        try:
            services.sync_session(payment.checkout_session_id)
        except DomainError:
            db.session.rollback()
            unreachable = True
    payment = services.get_own_payment(current_user.member, payment_id=payment_id)
    registration = payment.registration
    return render_template(
        "payments/return.html",
        payment=payment,
        registration=registration,
        event=registration.event,
        outcome=services.checkout_outcome(payment),
        unreachable=unreachable,
        ticket_url=ticket_url(registration.id),
    )


@bp.get("/payments/cancelled")
@member_required
def checkout_cancelled():
    """The owner left checkout without paying: the place stays held until its due time."""
    try:
        registration = services.get_own_registration(
            current_user.member, int_arg("registration_id", 0)
        )
    except NotFound:
        abort(404)
    return render_template(
        "payments/cancelled.html",
        registration=registration,
        event=registration.event,
        can_pay=services.can_pay(registration),
        ticket_url=ticket_url(registration.id),
    )


# ------------------------------------------------------------------------------- webhook


@bp.post("/payments/stripe/webhook")
def stripe_webhook():
    """Stripe's webhook: the signature is checked on the raw body; the event is a trigger."""
    try:
        outcome = services.handle_webhook(
            request.get_data(), request.headers.get("Stripe-Signature", "")
        )
    except services.WebhookRefused as err:
        return jsonify(error=str(err.message)), 400
    except DomainError as err:
        # Stripe delivers the event again later; nothing was recorded.
        return jsonify(error=str(err.message)), 503
    return jsonify(received=True, outcome=outcome)


# Stripe signs its deliveries instead of sending a CSRF token.
csrf.exempt(stripe_webhook)


# ---------------------------------------------------------------------------------- demo


def _demo_payment_or_404(payment_id: int):
    if not services.demo_checkout_enabled():
        abort(404)
    try:
        payment = services.get_own_payment(current_user.member, payment_id=payment_id)
    except NotFound:
        abort(404)
    if payment.provider != "demo":
        abort(404)
    return payment


@bp.get("/payments/demo/<int:payment_id>")
@member_required
def demo_checkout(payment_id: int):
    """The labelled demo checkout page (development only): no money moves."""
    payment = _demo_payment_or_404(payment_id)
    registration = payment.registration
    return render_template(
        "payments/demo.html",
        payment=payment,
        registration=registration,
        event=registration.event,
        can_pay=payment.status == PaymentStatus.PENDING and services.can_pay(registration),
        ticket_url=ticket_url(registration.id),
    )


@bp.post("/payments/demo/<int:payment_id>")
@member_required
def demo_pay(payment_id: int):
    """Mark the demo payment paid and go to the return page, as Stripe would."""
    payment = _demo_payment_or_404(payment_id)
    try:
        services.complete_demo_payment(current_user.member, payment.id)
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
        return redirect(url_for("payments.demo_checkout", payment_id=payment_id), code=303)
    flash(_("Demo payment recorded. No money moved."), "success")
    return redirect(url_for("payments.checkout_return", payment_id=payment_id), code=303)
