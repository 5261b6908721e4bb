"""A trip's plan on the organiser's phone (car numbers, convoy, route), its printed sheet, and
the trip part of the owner's ticket."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.core.errors import NotFound
from app.core.idempotency import once
from app.core.permissions import permission_required
from app.core.web import call_service, try_service
from app.events import tripday, trips
from app.events.trip_forms import ConvoyForm, FixNumbersForm, StopForm
from app.events.views import bp


@bp.app_template_global()
def trip_ticket(registration):
    """The trip part of an owner's ticket: their car's number, the convoy and the route."""
    return trips.trip_ticket(registration)


def _trip_or_404(event_id: int):
    try:
        return trips.trip_for_staff(current_user, event_id)
    except NotFound:
        abort(404)


def _stop_or_404(event_id: int, stop_id: int):
    try:
        return trips.stop_for_staff(current_user, event_id, stop_id)
    except NotFound:
        abort(404)


def _plan_page(event, convoy_form=None, status=200):
    numbers = trips.numbered_cars(event)
    plan = trips.plan_for(event)
    if convoy_form is None:
        convoy_form = ConvoyForm(formdata=None)
        convoy_form.lead.data = trips.convoy_value(plan, trips.LEAD)
        convoy_form.tail.data = trips.convoy_value(plan, trips.TAIL)
        convoy_form.lead_note.data = plan.lead_note if plan else ""
        convoy_form.tail_note.data = plan.tail_note if plan else ""
    convoy_form.setup(trips.convoy_choices(event))
    return render_template(
        "events/trip/plan.html",
        event=event,
        plan=plan,
        cars=numbers,
        unfixed=sum(1 for number, _r in numbers if not number.fixed),
        convoy=trips.convoy(event),
        convoy_form=convoy_form,
        stops=trips.route(event),
        max_stops=trips.MAX_STOPS,
    ), status


@bp.get("/admin/events/<int:event_id>/trip")
@permission_required("events.manage")
def trip_plan(event_id: int):
    """The trip's plan: car numbers, the lead and tail cars, the route."""
    return _plan_page(_trip_or_404(event_id))


@bp.post("/admin/events/<int:event_id>/trip/numbers")
@permission_required("events.manage")
@once("events.fix_numbers")
def fix_numbers(event_id: int):
    """Fix the car numbers the page showed (the stickers are printed with them)."""
    _trip_or_404(event_id)
    form = FixNumbersForm()
    if not form.validate():
        flash(_("This form is not valid. Reload the page."), "error")
    else:
        ok, fixed = try_service(
            trips.fix_car_numbers, current_user, event_id, expected=form.expected.data
        )
        if ok:
            flash(ngettext("%(num)d car number fixed.", "%(num)d car numbers fixed.", fixed))
    return redirect(url_for("events.trip_plan", event_id=event_id) + "#numbers")


@bp.post("/admin/events/<int:event_id>/trip/convoy")
@permission_required("events.manage")
def trip_convoy(event_id: int):
    """Choose the lead and the tail car."""
    event = _trip_or_404(event_id)
    form = ConvoyForm()
    form.setup(trips.convoy_choices(event))
    if form.validate():
        ok, _plan = call_service(form, trips.set_convoy, current_user, event_id, **form.to_convoy())
        if ok:
            flash(_("The lead and tail cars are saved."), "success")
            return redirect(url_for("events.trip_plan", event_id=event_id) + "#convoy")
    return _plan_page(event, form, 422)


def _stop_page(event, form, stop=None, status=200):
    return render_template("events/trip/stop.html", event=event, form=form, stop=stop), status


@bp.route("/admin/events/<int:event_id>/trip/stops/new", methods=["GET", "POST"])
@permission_required("events.manage")
@once("events.add_stop")
def add_stop(event_id: int):
    """Add a stop at the end of the route."""
    event = _trip_or_404(event_id)
    form = StopForm()
    if form.validate_on_submit():
        ok, _stop = call_service(form, trips.add_stop, current_user, event_id, **form.to_stop())
        if ok:
            flash(_("Stop added to the route."), "success")
            return redirect(url_for("events.trip_plan", event_id=event_id) + "#route")
    return _stop_page(event, form, status=422 if form.is_submitted() else 200)


@bp.route("/admin/events/<int:event_id>/trip/stops/<int:stop_id>", methods=["GET", "POST"])
@permission_required("events.manage")
def edit_stop(event_id: int, stop_id: int):
    """Change a stop: its name, address, planned time, note."""
    stop = _stop_or_404(event_id, stop_id)
    form = StopForm()
    if not form.is_submitted():
        form.load(stop)
    elif form.validate():
        ok, _stop = call_service(
            form, trips.update_stop, current_user, event_id, stop_id, **form.to_stop()
        )
        if ok:
            flash(_("The stop is saved."), "success")
            return redirect(url_for("events.trip_plan", event_id=event_id) + "#route")
    event = tripday.event_for_staff(current_user, event_id)
    return _stop_page(event, form, stop, 422 if form.is_submitted() else 200)


@bp.post("/admin/events/<int:event_id>/trip/stops/<int:stop_id>/move")
@permission_required("events.manage")
def move_stop(event_id: int, stop_id: int):
    """Move a stop one place up or down the route."""
    _stop_or_404(event_id, stop_id)
    up = request.form.get("direction") == "up"
    if request.form.get("direction") not in ("up", "down"):
        flash(_("This form is not valid. Reload the page."), "error")
    elif try_service(trips.move_stop, current_user, event_id, stop_id, up=up)[0]:
        flash(_("The route's order is saved."), "success")
    return redirect(url_for("events.trip_plan", event_id=event_id) + "#route")


@bp.post("/admin/events/<int:event_id>/trip/stops/<int:stop_id>/remove")
@permission_required("events.manage")
def remove_stop(event_id: int, stop_id: int):
    """Take a stop off the route."""
    stop = _stop_or_404(event_id, stop_id)
    name = stop.name
    if try_service(trips.remove_stop, current_user, event_id, stop_id)[0]:
        flash(_("“%(name)s” is off the route.", name=name), "success")
    return redirect(url_for("events.trip_plan", event_id=event_id) + "#route")


@bp.get("/admin/events/<int:event_id>/trip/sheet")
@permission_required("events.manage")
def trip_sheet(event_id: int):
    """The sheet the organisers print: route, lead and tail, cars by number, phones."""
    event = _trip_or_404(event_id)
    cars = trips.numbered_cars(event)
    rows = tripday.attendee_rows([registration for _n, registration in cars])
    return render_template(
        "events/trip/sheet.html",
        event=event,
        cars=list(zip((number for number, _r in cars), rows, strict=True)),
        provisional=any(not number.fixed for number, _r in cars),
        convoy=trips.convoy(event),
        stops=trips.route(event),
        safety_result=tripday.safety_result,
    )
