"""My calls: the care tasks given to a staff member (the birthday call of an owner whose ABC
grading names them responsible, seed 002), theirs only, on their phone. The care desk's list
(app/care/views.py) stays for care agents and the dealer admin."""

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.care import birthdays, tasks
from app.care.forms import CallForm
from app.care.texts.services import task_scripts
from app.care.views import bp
from app.core.errors import NotFound
from app.core.idempotency import once
from app.core.permissions import has_permission, permission_required
from app.core.web import page_arg, try_service
from app.extensions import db


@bp.app_template_global()
def care_calls_today() -> dict:
    """The desk's tiles: the care desk's calls due and its birthdays today (care agents and
    the dealer admin), the signed-in staff member's own calls and birthdays today."""
    counts = {"desk": (0, 0), "mine": (0, 0)}
    if has_permission(current_user, "care.tasks"):
        counts["desk"] = tasks.call_counts(tasks.tasks_to_call(current_user))
    if has_permission(current_user, "care.own_tasks"):
        counts["mine"] = tasks.call_counts(tasks.own_tasks(current_user))
    return counts


def _own_task_or_404(task_id: int):
    try:
        return tasks.get_own_task(current_user, task_id)
    except NotFound:
        abort(404)


@bp.get("/admin/care/my-calls")
@permission_required("care.own_tasks")
def my_calls():
    """The owners given to the signed-in staff member to call today, birthdays first of all."""
    page = db.paginate(
        tasks.own_tasks(current_user),
        page=page_arg(),
        per_page=current_app.config["MEMBERS_PER_PAGE"],
        error_out=False,
    )
    return render_template(
        "care/my_calls.html", page=page, rows=[tasks.describe(task) for task in page.items]
    )


@bp.get("/admin/care/my-calls/<int:task_id>")
@permission_required("care.own_tasks")
def my_call(task_id: int):
    """One of the staff member's calls: the number, what to say, reached or not."""
    task = _own_task_or_404(task_id)
    view = tasks.describe(task)
    due_on = view.reminder.due_on if view.reminder else None
    return render_template(
        "care/my_call.html",
        task=task,
        member=view.member,
        vehicle=view.vehicle,
        calls=tasks.calls_of(task),
        scripts=task_scripts(task, view.member, view.vehicle, current_user, due_on),
        sms_deadline=birthdays.sms_deadline(task),
        needed=tasks.calls_before_message(task),
        form=CallForm(),
        status_labels=tasks.STATUS_LABELS,
    )


@bp.post("/admin/care/my-calls/<int:task_id>")
@permission_required("care.own_tasks")
@once("care.my_call")
def my_call_record(task_id: int):
    """Log the call: reached (a birthday's SMS is withdrawn) or not (it goes now)."""
    task = _own_task_or_404(task_id)
    form = CallForm()
    if not form.validate_on_submit():
        flash(_("Choose reached or not reached."), "error")
        return redirect(url_for("care.my_call", task_id=task.id))
    reached = form.reached.data == "yes"
    ok, _call = try_service(
        tasks.record_call, current_user, task.id, reached=reached, note=form.note.data or ""
    )
    if not ok:
        return redirect(url_for("care.my_call", task_id=task.id))
    task = tasks.get_own_task(current_user, task.id)
    if task.status == tasks.TaskStatus.OPEN:
        flash(_("Call logged. Try again at another time of day."), "success")
        return redirect(url_for("care.my_call", task_id=task.id))
    flash(str(tasks.STATUS_LABELS[tasks.TaskStatus(task.status)]), "success")
    return redirect(url_for("care.my_calls"))
