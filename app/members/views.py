"""The owner's home, profile, garage and chapter pages."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import NotFound
from app.core.permissions import Role, member_required
from app.core.web import call_service, flash_service
from app.members import car_models, services
from app.members.forms import ProfileForm, TransferForm, VehicleForm, colour_choices
from app.members.home import home_summary
from app.members.models import Transmission

bp = Blueprint("members", __name__)


@bp.app_template_global()
def car_model_names() -> list[str]:
    """The managed list's models in use, suggested where a car's model is typed."""
    return car_models.car_model_names()


# The owner's tab bar: which tab a page belongs to, by blueprint (or endpoint); any other owner
# page is under "me".
TABS = {
    "members.home": "home",
    "cards": "card",
    "events": "events",
    "rewards": "rewards",
    "partners": "rewards",
}


@bp.app_template_global()
def owner_tab() -> str:
    """The tab bar's tab the current page belongs to."""
    endpoint = request.endpoint or ""
    return TABS.get(endpoint) or TABS.get(endpoint.partition(".")[0], "me")


@bp.get("/")
def home():
    """Owners see their club home; staff go to their desk; visitors see what the club offers."""
    if current_user.is_authenticated and current_user.is_staff:
        return redirect(url_for("admin.dashboard"))
    if current_user.is_authenticated and current_user.role == Role.PARTNER:
        return redirect(url_for("partners.check"))
    if current_user.is_authenticated and current_user.is_member:
        return render_template("members/home.html", home=home_summary(current_user.member))
    return render_template("members/landing.html")


@bp.get("/me")
@member_required
def me():
    """Everything of the owner's that the tab bar does not hold: profile, points, cars..."""
    return render_template("members/me.html", member=current_user.member)


@bp.route("/me/profile", methods=["GET", "POST"])
@member_required
def profile():
    """Edit the owner's profile."""
    member = current_user.member
    form = ProfileForm(obj=member)
    if not form.is_submitted():
        form.load(member, current_user.locale or str(get_locale()))
    if form.validate_on_submit():
        ok, _result = call_service(form, services.update_profile, member, **form.to_profile())
        if ok:
            flash(_("Profile saved."), "success")
            return redirect(url_for("members.profile"))
    return render_template("members/profile.html", form=form, member=member)


@bp.get("/me/vehicles")
@member_required
def vehicles():
    """The owner's garage."""
    return render_template("members/vehicles.html", vehicles=current_user.member.vehicles)


def _vehicle_form(vehicle=None) -> VehicleForm:
    form = VehicleForm(obj=vehicle)
    form.colour_id.choices = colour_choices(lambda c: c.id)
    if vehicle is not None and not form.is_submitted():
        form.transmission.data = vehicle.transmission.value
    return form


def _vehicle_data(form: VehicleForm) -> services.VehicleData:
    return services.VehicleData(
        vin=form.vin.data,
        plate=form.plate.data or "",
        model=form.model.data,
        colour_id=form.colour_id.data,
        transmission=Transmission(form.transmission.data),
        purchased_on=form.purchased_on.data,
        delivered_on=form.delivered_on.data,
    )


@bp.route("/me/vehicles/new", methods=["GET", "POST"])
@member_required
def add_vehicle():
    """Add a car."""
    form = _vehicle_form()
    if form.validate_on_submit():
        ok, _result = call_service(
            form, services.add_vehicle, current_user.member, _vehicle_data(form)
        )
        if ok:
            flash(_("Car added to your garage."), "success")
            return redirect(url_for("members.vehicles"))
    return render_template("members/vehicle_form.html", form=form, vehicle=None)


def _own_vehicle_or_404(vehicle_id: int):
    try:
        return services.get_own_vehicle(current_user.member, vehicle_id)
    except NotFound:
        abort(404)


@bp.route("/me/vehicles/<int:vehicle_id>/edit", methods=["GET", "POST"])
@member_required
def edit_vehicle(vehicle_id: int):
    """Correct a car's details."""
    vehicle = _own_vehicle_or_404(vehicle_id)
    form = _vehicle_form(vehicle)
    if form.validate_on_submit():
        ok, _result = call_service(form, services.update_vehicle, vehicle, _vehicle_data(form))
        if ok:
            flash(_("Car details saved."), "success")
            return redirect(url_for("members.vehicles"))
    return render_template("members/vehicle_form.html", form=form, vehicle=vehicle)


@bp.post("/me/vehicles/<int:vehicle_id>/remove")
@member_required
def remove_vehicle(vehicle_id: int):
    """Remove a car (sold or scrapped)."""
    vehicle = _own_vehicle_or_404(vehicle_id)
    flash_service(services.remove_vehicle, vehicle, success=_("Car removed from your garage."))
    return redirect(url_for("members.vehicles"))


@bp.route("/me/chapter", methods=["GET", "POST"])
@member_required
def chapter():
    """See the owner's chapter and ask to transfer to another."""
    member = current_user.member
    form = TransferForm()
    form.setup(member, services.list_dealers())
    if form.validate_on_submit():
        ok, _result = call_service(form, services.request_transfer, member, **form.to_transfer())
        if ok:
            flash(_("Transfer requested. Both dealers will decide shortly."), "success")
            return redirect(url_for("members.chapter"))
    return render_template(
        "members/chapter.html",
        form=form,
        member=member,
        pending=services.pending_transfer(member),
        latest=services.latest_transfer(member),
    )


@bp.post("/me/chapter/cancel")
@member_required
def cancel_transfer():
    """Withdraw a pending transfer request."""
    try:
        services.cancel_transfer(current_user.member)
    except NotFound:
        abort(404)
    flash(_("Transfer request withdrawn."), "info")
    return redirect(url_for("members.chapter"))


# The staff screen that records a delivery, and step two of joining, register their routes on
# this blueprint.
from app.members import delivery_views, join_views  # noqa: E402, F401
