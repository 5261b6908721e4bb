"""Payments for paid events: Stripe Checkout, webhooks, refunds.

Payments answers the events' and members' signals (app/core/signals.py): a place the owner
cancels is refunded; the export lists the owner's payments; a deletion refunds the places it
cancelled, last among the money.
"""

from app.core.signals import member_export, member_refunding, place_cancelled


@place_cancelled.connect
def _refund_place(registration, *, now=None, **_):
    from app.payments.services import refund_for_cancellation

    return refund_for_cancellation(registration, now=now)


@member_export.connect
def _export_payments(member, **_):
    from app.members.privacy import export_rows
    from app.payments.models import Payment

    return {
        "payments": export_rows(
            Payment,
            Payment.member_id == member.id,
            skip=("member_id", "checkout_session_id", "checkout_url", "payment_intent_id"),
        )
    }


@member_refunding.connect
def _refund_withdrawn_places(member, *, now, **_):
    from app.payments.services import refund_cancelled_places

    return {"payments_refunded": refund_cancelled_places(member, now=now)}
