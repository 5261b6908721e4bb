"""Service appointments: owners book a maintenance slot; advisors manage slots and the day."""

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.core.clock import local_date, utcnow
from app.core.errors import NotFound
from app.core.idempotency import once
from app.core.permissions import member_required, permission_required
from app.core.web import call_service, flash_service
from app.extensions import db
from app.rewards.services import kind_label
from app.service import appointments, kept_reward, staff_booking, workshop
from app.service.forms import BookingForm, CapacityForm, ChangeForm, SettingsForm, SlotsForm
from app.service.models import AppointmentStatus

bp = Blueprint("service", __name__)


@bp.app_template_global()
def appointment_status_label(status) -> str:
    """ "Booked", "Kept", "No-show"..."""
    return appointments.status_label(status)


bp.add_app_template_filter(appointments.format_day, "appointment_day")
bp.add_app_template_filter(appointments.format_when, "appointment_when")


def _day_arg() -> date | None:
    try:
        return date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return None


# ---------------------------------------------------------------------------------- owners


@bp.get("/me/appointments")
@member_required
def my_appointments():
    """The owner's service appointments: coming up, past, cancelled."""
    return render_template(
        "service/my_appointments.html",
        lists=appointments.appointments_for(current_user.member),
        hours=appointments.min_hours_ahead(),
    )


def _chosen_day(days, preferred: date | None = None) -> date | None:
    """The day asked for in ?day=, else ``preferred`` when it has free times, else the first."""
    asked = _day_arg()
    if asked is not None:
        return asked
    open_days = [day for day, _free in days]
    if preferred in open_days:
        return preferred
    return open_days[0] if open_days else None


def _free_times(member, day: date | None, appointment=None) -> list:
    """The times the member can book on ``day`` (besides ``appointment``'s own)."""
    if day is None:
        return []
    except_slot_id = appointment.slot_id if appointment else None
    return appointments.bookable_slots(member, day, except_slot_id=except_slot_id)


def _booking_page(form, member, day: date | None, appointment=None, days=None):
    """The booking page (a new booking, or moving ``appointment``); 422 after a refusal.

    ``days``: the open days if already read, else read now (after a refusal the times may have
    filled up meanwhile: they are shown as they are now)."""
    if days is None:
        except_slot_id = appointment.slot_id if appointment else None
        days = appointments.open_days(member, except_slot_id=except_slot_id)
    page = render_template(
        "service/book.html",
        form=form,
        days=days,
        day=day,
        appointment=appointment,
        hours=appointments.min_hours_ahead(),
    )
    return page, 422 if form.is_submitted() else 200


def _to_my_appointments(message: str):
    flash(message, "success")
    return redirect(url_for("service.my_appointments"))


@bp.route("/me/appointments/new", methods=["GET", "POST"])
@member_required
@once("service.book")
def book():
    """Book a maintenance time: a car, a day, a free time."""
    member = current_user.member
    days = appointments.open_days(member)
    day = _chosen_day(days)
    form = BookingForm()
    form.setup(member, _free_times(member, day))
    if not form.validate_on_submit():
        return _booking_page(form, member, day, days=days)
    ok, booked = call_service(form, appointments.book_appointment, member, **form.to_booking())
    if ok:
        when = appointments.format_when(booked.slot.starts_at)
        return _to_my_appointments(_("Booked: %(when)s.", when=when))
    form.setup(member, _free_times(member, day))
    return _booking_page(form, member, day)


def _own_appointment_or_404(appointment_id: int):
    try:
        return appointments.get_own_appointment(current_user.member, appointment_id)
    except NotFound:
        abort(404)


@bp.route("/me/appointments/<int:appointment_id>/change", methods=["GET", "POST"])
@member_required
@once("service.change")
def change(appointment_id: int):
    """Move a booking to another free time."""
    member = current_user.member
    appointment = _own_appointment_or_404(appointment_id)
    if not appointments.can_change(appointment):
        flash(_("This appointment can no longer be changed."), "error")
        return redirect(url_for("service.my_appointments"))
    days = appointments.open_days(member, except_slot_id=appointment.slot_id)
    day = _chosen_day(days, preferred=local_date(appointment.slot.starts_at))
    form = ChangeForm()
    form.setup(_free_times(member, day, appointment))
    if not form.validate_on_submit():
        return _booking_page(form, member, day, appointment, days=days)
    ok, moved = call_service(
        form, appointments.change_appointment, member, appointment.id, slot_id=form.slot_id.data
    )
    if ok:
        when = appointments.format_when(moved.slot.starts_at)
        return _to_my_appointments(_("Moved to %(when)s.", when=when))
    appointment = _own_appointment_or_404(appointment_id)
    form.setup(_free_times(member, day, appointment))
    return _booking_page(form, member, day, appointment)


@bp.post("/me/appointments/<int:appointment_id>/cancel")
@member_required
@once("service.cancel")
def cancel(appointment_id: int):
    """Cancel a booking; its place goes back to the workshop."""
    appointment = _own_appointment_or_404(appointment_id)
    flash_service(
        appointments.cancel_appointment,
        current_user.member,
        appointment.id,
        success=_("Appointment cancelled."),
    )
    return redirect(url_for("service.my_appointments"))


# ----------------------------------------------------------------------------------- staff


@bp.get("/admin/appointments")
@permission_required("appointments.manage")
def staff_day():
    """One day at the workshop: its times, how full they are, and who is coming."""
    day = _day_arg() or local_date()
    return render_template(
        "service/staff_day.html",
        day=day,
        today=local_date(),
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        sheets=workshop.day_sheet(current_user, day),
        now=utcnow(),
        reward=kept_reward.kept_reward(current_user.dealer_id),
        min_spend_fen=kept_reward.reward_min_spend_fen(current_user.dealer_id),
    )


def _to_day(day: date):
    return redirect(url_for("service.staff_day", day=day.isoformat()))


def _flash_slots_added(result) -> None:
    if not result.added:
        flash(_("These times are all open already: nothing changed."), "info")
        return
    message = ngettext("%(num)d time added.", "%(num)d times added.", len(result.added))
    if result.existing:
        message += " " + ngettext(
            "%(num)d was open already and is unchanged.",
            "%(num)d were open already and are unchanged.",
            result.existing,
        )
    flash(message, "success")


@bp.route("/admin/appointments/slots/new", methods=["GET", "POST"])
@permission_required("appointments.manage")
def add_slots():
    """Open a day's times at once, e.g. 09:00 to 16:30 every 30 minutes, 2 cars each."""
    form = SlotsForm()
    if not form.is_submitted():
        form.day.data = _day_arg() or local_date()
    if form.validate_on_submit():
        ok, result = call_service(form, workshop.add_slots, current_user, **form.to_slots())
        if ok:
            _flash_slots_added(result)
            return _to_day(form.day.data)
    status = 422 if form.is_submitted() else 200
    return render_template("service/slots_form.html", form=form), status


@bp.post("/admin/appointments/slots/<int:slot_id>/capacity")
@permission_required("appointments.manage")
def slot_capacity(slot_id: int):
    """Change how many cars a time takes."""
    try:
        slot = workshop.get_staff_slot(current_user, slot_id)
    except NotFound:
        abort(404)
    day = local_date(slot.starts_at)
    form = CapacityForm()
    if not form.validate():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return _to_day(day)
    flash_service(
        workshop.change_capacity,
        current_user,
        slot.id,
        form.capacity.data,
        success=_("Capacity saved."),
    )
    return _to_day(day)


OUTCOMES = {"kept": AppointmentStatus.KEPT, "no-show": AppointmentStatus.NO_SHOW}


@bp.post('/admin/appointments/<int:appointment_id>/<any(kept, "no-show"):outcome>')
@permission_required("appointments.manage")
def close(appointment_id: int, outcome: str):
    """Mark a booking kept (the dealer's reward follows) or a no-show."""
    try:
        appointment = workshop.get_staff_appointment(current_user, appointment_id)
    except NotFound:
        abort(404)
    day = local_date(appointment.slot.starts_at)
    name = appointment.member.name
    success = {
        "kept": _("Marked kept: %(name)s.", name=name),
        "no-show": _("Marked as a no-show: %(name)s.", name=name),
    }[outcome]
    if flash_service(
        workshop.close_appointment,
        current_user,
        appointment.id,
        OUTCOMES[outcome],
        success=success,
    ):
        closed = db.session.get(type(appointment), appointment_id)
        if outcome == "kept" and closed.voucher_id is not None:
            flash(_("A voucher was given to %(name)s.", name=name), "info")
    return _to_day(day)


@bp.route("/admin/appointments/settings", methods=["GET", "POST"])
@permission_required("appointments.manage")
def settings():
    """Which reward a kept appointment earns at this dealer."""
    form = SettingsForm()
    rewards = workshop.reward_choices(current_user)
    form.kept_reward_id.choices = [SelectChoice("", _("No reward"))] + [
        SelectChoice(str(r.id), f"{r.name} · {kind_label(r.kind)}") for r in rewards
    ]
    if not form.is_submitted():
        form.load(kept_reward.settings_for(current_user.dealer_id))
    if form.validate_on_submit():
        ok, _saved = call_service(
            form, workshop.save_appointment_settings, current_user, **form.to_settings()
        )
        if ok:
            flash(_("Appointment settings saved."), "success")
            return redirect(url_for("service.staff_day"))
    status = 422 if form.is_submitted() else 200
    return render_template("service/settings.html", form=form), status


# ------------------------------------------------------------------- staff book for an owner


def _bookable_owner_or_404(member_id: int):
    try:
        return staff_booking.get_bookable_owner(current_user, member_id)
    except NotFound:
        abort(404)


def _staff_booking_page(form, member, day: date | None, days):
    page = render_template(
        "service/staff_book.html",
        form=form,
        member=member,
        days=days,
        day=day,
        hours=appointments.min_hours_ahead(),
    )
    return page, 422 if form.is_submitted() else 200


@bp.route("/admin/appointments/owners/<int:member_id>/book", methods=["GET", "POST"])
@permission_required(staff_booking.PERMISSION)
@once("service.book_for_owner")
def book_for_owner(member_id: int):
    """主动预约: book a time for an owner of the dealer (a car, a day, a free time)."""
    member = _bookable_owner_or_404(member_id)
    days = staff_booking.owner_open_days(member)
    day = _chosen_day(days)
    form = BookingForm()
    form.setup(member, _free_times(member, day))
    if form.validate_on_submit():
        ok, booked = call_service(
            form, staff_booking.book_for_owner, current_user, member, **form.to_booking()
        )
        if ok:
            when = appointments.format_when(booked.slot.starts_at)
            flash(_("Booked for %(name)s: %(when)s.", name=member.name, when=when), "success")
            return redirect(url_for("admin.member_detail", member_id=member.id))
        form.setup(member, _free_times(member, day))
    return _staff_booking_page(form, member, day, staff_booking.owner_open_days(member))
