"""The staff screen that records a delivery (R1): the buyer joins the club with the car.

The same ``record_delivery`` the DMS API calls; the referral a friend's delivery completes is
linked there, not here.
"""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import DomainError
from app.core.permissions import permission_required
from app.core.web import call_service
from app.members.delivery import WAITING_FOR_PROOF, record_delivery
from app.members.forms import DeliveryForm
from app.members.views import bp

# record_delivery's field names → the delivery form's.
DELIVERY_FIELDS = {
    "customer.mobile": "mobile",
    "customer.birthday": "birthday",
    "vehicle.vin": "vin",
    "vehicle.plate": "plate",
    "vehicle.colour": "colour",
    "vehicle.transmission": "transmission",
    "vehicle.model": "model",
    "model": "model",
}


def _record_from_form(**kwargs):
    """``record_delivery``, with the fields its errors name renamed to the form's."""
    try:
        return record_delivery(**kwargs)
    except DomainError as err:
        err.field = DELIVERY_FIELDS.get(err.field, err.field)
        raise


def _delivery_message(result) -> str:
    """What staff are told of a recorded delivery: where the car went (R12)."""
    if result.owner_status == WAITING_FOR_PROOF:
        # The account's name may be anyone's until the mobile is proven: not shown.
        return _(
            "Delivery recorded: the %(model)s waits in the club for the buyer, who joins with "
            "a code sent to their mobile number (an invitation is on its way).",
            model=result.vehicle.model,
        )
    if result.name_mismatch:
        return _(
            "Delivery recorded: the %(model)s joined the garage of %(name)s, who owns this "
            "mobile number. The name you gave differs and is on the name checks list.",
            name=result.member.name,
            model=result.vehicle.model,
        )
    return _(
        "Delivery recorded: %(name)s's %(model)s is in the club.",
        name=result.member.name,
        model=result.vehicle.model,
    )


def _flash_delivery(result) -> None:
    if result.created:
        flash(_delivery_message(result), "success")
    else:
        flash(_("This delivery was already recorded; nothing changed."), "info")


@bp.route("/admin/deliveries", methods=["GET", "POST"])
@permission_required("deliveries.record")
def admin_delivery():
    """Record a delivery: the buyer joins the club (or is matched) and the car is added."""
    form = DeliveryForm()
    form.setup(current_user)
    if form.validate_on_submit():
        ok, result = call_service(
            form,
            _record_from_form,
            dealer_id=current_user.dealer_id,
            actor=current_user,
            source="staff",
            **form.to_delivery(),
        )
        if ok:
            _flash_delivery(result)
            return redirect(url_for("members.admin_delivery"))
    return render_template("members/admin_delivery.html", form=form)
