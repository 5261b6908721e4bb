"""Events: owners browse, sign up, hold tickets; staff organise (R7).

The gate (check-in) and the trip day / lecture screens register their routes on this
blueprint from their own modules, imported at the end.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.core.clock import utcnow
from app.core.errors import DomainError, NotFound
from app.core.idempotency import once
from app.core.images import accepts_upload
from app.core.permissions import member_required, permission_required
from app.core.qr import qr_svg
from app.core.web import call_service, page_arg
from app.events import browsing, series, services
from app.events.checkin import ticket_token
from app.events.forms import EventForm, SignUpForm
from app.events.models import EventKind, RegistrationStatus
from app.extensions import db
from app.loyalty.forms import tier_choices
from app.loyalty.services import tier_label

bp = Blueprint("events", __name__)


@bp.app_template_filter()
def ticket_code(code: str) -> str:
    """K7QX-2MXP."""
    return services.format_ticket_code(code)


@bp.app_template_global()
def event_kind_label(kind) -> str:
    """ "Self-drive trip", "Owner lecture"..."""
    return str(services.KIND_LABELS[EventKind(kind)])


@bp.app_template_global()
def registration_status_label(status) -> str:
    """ "Confirmed", "On the waiting list"..."""
    return str(services.STATUS_LABELS[RegistrationStatus(status)])


# ---------------------------------------------------------------------------------- owners


@bp.get("/events")
@member_required
def upcoming():
    """Upcoming events of the owner's dealer, filtered by type."""
    kind = request.args.get("kind")
    kind = EventKind(kind) if kind in {k.value for k in EventKind} else None
    page = browsing.upcoming_events(current_user.member, kind=kind, page=page_arg())
    return render_template("events/list.html", page=page, kind=kind, kinds=list(EventKind))


def _member_event_or_404(event_id: int):
    try:
        return browsing.get_member_event(current_user.member, event_id)
    except NotFound:
        abort(404)


def _detail(event, form, status=200):
    member = current_user.member
    return (
        render_template(
            "events/detail.html",
            event=event,
            form=form,
            mine=browsing.own_registration(member, event),
            places_left=max(event.capacity - services.places_taken(event), 0),
            why_not=browsing.why_not_eligible(event, member),
            is_open=services.registration_open(event),
            payments_enabled=services.payments_enabled(),
            min_tier=tier_label(event.min_tier_code) if event.min_tier_code else None,
        ),
        status,
    )


@bp.get("/events/<int:event_id>")
@member_required
def detail(event_id: int):
    """An event: what, when, where, places left, and the sign-up form."""
    event = _member_event_or_404(event_id)
    form = SignUpForm()
    form.setup(event, current_user.member)
    return _detail(event, form)


@bp.post("/events/<int:event_id>/sign-up")
@member_required
@once("events.sign_up")
def sign_up(event_id: int):
    """Take a place (or a place on the waiting list)."""
    event = _member_event_or_404(event_id)
    member = current_user.member
    form = SignUpForm()
    form.setup(event, member)
    if not form.validate():
        return _detail(event, form, 422)
    ok, registration = call_service(
        form,
        services.sign_up,
        member,
        event.id,
        companions=form.companions.data,
        companion_names=form.companion_names.data or "",
        vehicle_id=form.vehicle_id.data if event.kind == EventKind.TRIP else None,
        accept_waiver=form.accept_waiver.data,
    )
    if not ok:
        return _detail(db.session.get(type(event), event_id), form, 422)
    flash(_SIGNED_UP[registration.status](), "success")
    return redirect(url_for("events.ticket", registration_id=registration.id))


_SIGNED_UP = {
    RegistrationStatus.CONFIRMED: lambda: _("You are in. Your ticket is below."),
    RegistrationStatus.PENDING: lambda: _("Your place is held. Pay to confirm it."),
    RegistrationStatus.WAITING: lambda: _("The event is full: you are on the waiting list."),
}


@bp.get("/me/tickets")
@member_required
def tickets():
    """The owner's events: upcoming, past, cancelled."""
    return render_template("events/tickets.html", lists=browsing.tickets_for(current_user.member))


def _own_registration_or_404(registration_id: int):
    try:
        return browsing.get_own_registration(current_user.member, registration_id)
    except NotFound:
        abort(404)


@bp.get("/me/tickets/<int:registration_id>")
@member_required
def ticket(registration_id: int):
    """One registration: the QR ticket when confirmed (until the event is over), else what to do
    next."""
    registration = _own_registration_or_404(registration_id)
    now, qr = utcnow(), None
    if browsing.shows_gate_code(registration, now=now):
        qr = qr_svg(ticket_token(registration), title=_("Ticket QR code"))
    return render_template(
        "events/ticket.html",
        r=registration,
        event=registration.event,
        qr=qr,
        can_cancel=browsing.can_cancel(registration),
        position=browsing.waiting_position(registration),
        checked_in_at=services.checked_in_at(registration),
        payments_enabled=services.payments_enabled(),
        now=now,
    )


@bp.post("/me/tickets/<int:registration_id>/cancel")
@member_required
@once("events.cancel")
def cancel(registration_id: int):
    """Cancel before the cut-off; a paid place is refunded, a deposit returned."""
    registration = _own_registration_or_404(registration_id)
    try:
        refunded = services.cancel_own_place(current_user.member, registration.id)
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
        return redirect(url_for("events.ticket", registration_id=registration_id))
    if refunded:
        flash(_("Cancelled. The payment is refunded to the way you paid."), "success")
    else:
        flash(_("Cancelled. Your place goes to the next in line."), "success")
    return redirect(url_for("events.ticket", registration_id=registration_id))


@bp.post("/me/tickets/<int:registration_id>/confirm")
@member_required
@once("events.confirm")
def confirm(registration_id: int):
    """Take the place offered from the waiting list."""
    registration = _own_registration_or_404(registration_id)
    try:
        services.confirm_offer(current_user.member, registration.id)
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
    else:
        if registration.status == RegistrationStatus.PENDING:
            flash(_("The place is yours once paid."), "success")
        else:
            flash(_("The place is yours. Your ticket is below."), "success")
    return redirect(url_for("events.ticket", registration_id=registration_id))


# ----------------------------------------------------------------------------------- staff


@bp.get("/admin/events")
@permission_required("events.manage")
def staff_list():
    """The dealer's events, upcoming or past, with how full they are."""
    past = request.args.get("when") == "past"
    page = services.staff_events(current_user, past=past, page=page_arg())
    return render_template("events/staff_list.html", page=page, past=past)


@bp.route("/admin/events/new", methods=["GET", "POST"])
@accepts_upload
@permission_required("events.manage")
def create():
    """Organise a new event."""
    form = EventForm()
    form.min_tier_code.choices = tier_choices(_("Everyone"))
    if form.validate_on_submit():
        ok, event = call_service(
            form, series.publish_event, current_user, form.repeat(), **form.event_fields()
        )
        if ok:
            flash(_published(event), "success")
            return redirect(url_for("events.staff_detail", event_id=event.id))
    status = 422 if form.is_submitted() else 200
    return render_template("events/form.html", form=form, event=None), status


def _published(event) -> str:
    count = len(series.series_events(event))
    if count:
        return ngettext(
            "The series of %(num)d event is published to your owners.",
            "The series of %(num)d events is published to your owners.",
            count,
        )
    return _("The event is published to your owners.")


def _staff_event_or_404(event_id: int):
    try:
        return services.get_staff_event(current_user, event_id)
    except NotFound:
        abort(404)


@bp.route("/admin/events/<int:event_id>/edit", methods=["GET", "POST"])
@accepts_upload
@permission_required("events.manage")
def edit(event_id: int):
    """Change an event (its type, price and deposit stay as owners signed up for them)."""
    event = _staff_event_or_404(event_id)
    form = EventForm()
    form.min_tier_code.choices = tier_choices(_("Everyone"))
    if request.method == "GET":
        form.fill_from(event)
    elif form.validate_on_submit():
        ok, _event = call_service(
            form, services.update_event, current_user, event.id, **form.event_fields()
        )
        if ok:
            flash(_("The event is saved."), "success")
            return redirect(url_for("events.staff_detail", event_id=event.id))
    status = 422 if form.is_submitted() else 200
    return render_template("events/form.html", form=form, event=event), status


@bp.get("/admin/events/<int:event_id>")
@permission_required("events.manage")
def staff_detail(event_id: int):
    """The organiser's page of one event: numbers, the waiting list, the day's tools."""
    event = _staff_event_or_404(event_id)
    return render_template(
        "events/staff_detail.html",
        event=event,
        counts=services.registration_counts([event.id])[event.id],
        series=series.series_events(event),
        waiting=services.waiting_list(event),
        offered=services.registrations_with_status(event, RegistrationStatus.OFFERED),
    )


from app.events import (  # noqa: E402, F401
    checkin_views,
    draws_views,
    outreach_views,
    trip_views,
    tripday_views,
)
