"""The owner's inbox and message settings; care agents' call list."""

from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from app.care import birthdays, history, recall, services, tasks
from app.care.forms import CallForm, CareDatesForm, ChannelsForm
from app.care.schedule import KIND_LABELS
from app.care.texts.services import task_scripts
from app.care.texts.views import bp as texts_bp
from app.core.errors import DomainError, NotFound
from app.core.permissions import member_required, permission_required
from app.core.web import call_service, page_arg
from app.extensions import db
from app.members import inbox as messages
from app.members.outbox import quiet_hours_text
from app.members.warranty import warranty_end
from app.service.services import category_label

bp = Blueprint("care", __name__)
# The care texts' pages (/admin/care/texts): endpoints care.texts.*.
bp.register_blueprint(texts_bp)


@bp.app_template_global()
def care_kind_label(kind: str) -> str:
    """A care reminder's kind in the user's language, for templates."""
    return str(KIND_LABELS.get(kind, kind))


@bp.app_template_global()
def care_call_by(task) -> tuple[datetime | None, bool]:
    """``tasks.call_by`` for the call lists."""
    return tasks.call_by(task)


# ---------------------------------------------------------------------------------- owners


@bp.get("/me/inbox")
@member_required
def inbox():
    """Messages from the club, newest first; opening the inbox marks them read."""
    member = current_user.member
    page = db.paginate(
        messages.inbox_query(member),
        page=page_arg(),
        per_page=20,
        error_out=False,
    )
    unread = {m.id for m in page.items if m.read_at is None}
    messages.mark_all_read(member)
    return render_template("care/inbox.html", page=page, unread=unread)


@bp.route("/me/notifications", methods=["GET", "POST"])
@member_required
def preferences():
    """How the owner hears from the club: e-mail, SMS, news and offers; their cars' dates."""
    member = current_user.member
    form = ChannelsForm.for_member(member)
    if form.validate_on_submit():
        ok, _result = call_service(form, messages.update_channels, member, **form.to_channels())
        if ok:
            flash(_("Message settings saved."), "success")
            return redirect(url_for("care.preferences"))
    return render_template(
        "care/preferences.html",
        form=form,
        member=member,
        warranty_end=warranty_end,
        quiet_hours=quiet_hours_text(),
    )


@bp.route("/me/vehicles/<int:vehicle_id>/care-dates", methods=["GET", "POST"])
@member_required
def vehicle_dates(vehicle_id: int):
    """The owner enters when their car's warranty, insurance and inspection run out."""
    member = current_user.member
    try:
        vehicle = services.get_own_vehicle(member, vehicle_id)
    except NotFound:
        abort(404)
    form = CareDatesForm(obj=vehicle)
    if form.validate_on_submit():
        ok, _result = call_service(
            form, services.set_care_dates, member, vehicle.id, **form.to_dates()
        )
        if ok:
            flash(_("Dates saved: we will remind you in time."), "success")
            return redirect(url_for("care.preferences"))
    return render_template(
        "care/vehicle_dates.html", form=form, vehicle=vehicle, warranty_end=warranty_end
    )


# ----------------------------------------------------------------------------------- staff


def _task_or_404(task_id: int):
    try:
        return tasks.get_task_for_staff(current_user, task_id)
    except NotFound:
        abort(404)


@bp.get("/admin/care/tasks")
@permission_required("care.tasks")
def admin_tasks():
    """Owners to call today (first maintenance, maintenance due, warranty ending, recall),
    of one kind or recall class when the agent filters."""
    filters = recall.task_filters(request.args)
    page = db.paginate(
        recall.filter_tasks(tasks.tasks_to_call(current_user), **filters),
        page=page_arg(),
        per_page=current_app.config["MEMBERS_PER_PAGE"],
        error_out=False,
    )
    return render_template(
        "care/admin_tasks.html",
        page=page,
        rows=[tasks.describe(task) for task in page.items],
        missed=tasks.missed_times_of_day,
        time_labels=tasks.TIME_OF_DAY_LABELS,
        filters=filters,
        group_labels=recall.GROUP_LABELS,
    )


def _task_page(task, form=None, status: int = 200, **extra):
    view = tasks.describe(task)
    due_on = view.reminder.due_on if view.reminder else None
    return (
        render_template(
            "care/admin_task.html",
            task=task,
            member=view.member,
            vehicle=view.vehicle,
            reminder=view.reminder,
            calls=tasks.calls_of(task),
            missed=tasks.missed_times_of_day(task),
            needed=tasks.calls_before_message(task),
            scripts=task_scripts(task, view.member, view.vehicle, current_user, due_on),
            sms_deadline=birthdays.sms_deadline(task),
            form=form or CallForm(),
            status_labels=tasks.STATUS_LABELS,
            time_labels=tasks.TIME_OF_DAY_LABELS,
            time_of_day=tasks.time_of_day,
            **extra,
        ),
        status,
    )


@bp.get("/admin/care/tasks/<int:task_id>")
@permission_required("care.tasks")
def admin_task(task_id: int):
    """One owner to call: the number, what about, the calls so far, one tap per outcome."""
    return _task_page(_task_or_404(task_id))


@bp.post("/admin/care/tasks/<int:task_id>/calls")
@permission_required("care.tasks")
def admin_record_call(task_id: int):
    """Log one call: reached or not (three misses at different times send the SMS)."""
    task = _task_or_404(task_id)
    form = CallForm()
    if not form.validate_on_submit():
        flash(_("Choose reached or not reached."), "error")
        return redirect(url_for("care.admin_task", task_id=task.id))
    try:
        tasks.record_call(
            current_user, task.id, reached=form.reached.data == "yes", note=form.note.data or ""
        )
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
        return redirect(url_for("care.admin_task", task_id=task.id))
    task = tasks.get_task_for_staff(current_user, task.id)
    if task.status == tasks.TaskStatus.OPEN:
        flash(_("Call logged. Try again at another time of day."), "success")
        return redirect(url_for("care.admin_task", task_id=task.id))
    flash(str(tasks.STATUS_LABELS[tasks.TaskStatus(task.status)]), "success")
    return redirect(url_for("care.admin_tasks"))


@bp.get("/me/vehicles/<int:vehicle_id>")
@member_required
def car_history(vehicle_id: int):
    """One of the owner's cars: its visits, next maintenance, insurance and inspection dates."""
    try:
        car = history.car_history(current_user.member, vehicle_id, page=page_arg())
    except NotFound:
        abort(404)
    return render_template("care/car_history.html", car=car, category_label=category_label)


# The after-visit pages (questionnaire, complaints) register their routes on this blueprint.
# Issue 20's pages: call outcomes and reasons, recall settings; the correction list and the
# owner's new number; a staff member's own calls.
from app.care import contact_views, my_calls_views, recall_views  # noqa: E402, F401
from app.care.followups import staff_views, views  # noqa: E402, F401
