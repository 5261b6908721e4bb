"""Issue 20's staff pages on the care blueprint: a call's outcome (with the reason), the managed
reasons list and the dealer's local plates."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.care import outcomes, reasons, recall, tasks
from app.care.models import LostReason
from app.care.recall_forms import LocalPlatesForm, OutcomeForm, ReasonForm
from app.care.views import _task_or_404, _task_page, bp
from app.core.errors import NotFound
from app.core.idempotency import once
from app.core.permissions import can_manage_dealer_row, permission_required
from app.core.web import call_service, flash_service
from app.extensions import db
from app.members.scope import dealer_choices, scope_arg, scoped_dealers


@bp.app_template_global()
def care_outcome_form(task):
    """The outcome form of a task's page, with the reasons its dealer offers and the free
    times the agent may book for the owner."""
    slots = outcomes.bookable_times(current_user, task)
    return OutcomeForm.for_task(reasons.reasons_for(task.dealer_id), slots)


@bp.app_template_global()
def care_recall_class(value: str | None) -> str:
    """A recall class (local, in warranty...) in the user's language."""
    return str(recall.GROUP_LABELS.get(value, value or "—"))


@bp.app_template_global()
def care_call_outcomes(task) -> dict:
    """A task's call outcomes by call id, with their labels, for its page."""
    shown = {}
    for call_id, row in outcomes.outcomes_of(task).items():
        reason = db.session.get(LostReason, row.reason_id) if row.reason_id else None
        shown[call_id] = {
            "outcome": outcomes.OUTCOME_LABELS[outcomes.Outcome(row.outcome)],
            "reason": reasons.reason_label(reason) if reason is not None else "",
            "row": row,
        }
    return shown


@bp.post("/admin/care/tasks/<int:task_id>/outcome")
@permission_required("care.tasks")
@once("care.outcome")
def admin_record_outcome(task_id: int):
    """Log one call and what it came to; the form comes back with what is missing."""
    task = _task_or_404(task_id)
    form = care_outcome_form(task)
    if not form.validate_on_submit():
        return _task_page(task, status=422, outcome_form=form)
    ok, _row = call_service(form, outcomes.record_outcome, current_user, task.id, form.to_report())
    task = tasks.get_task_for_staff(current_user, task.id)
    if not ok:
        return _task_page(task, status=422, outcome_form=form)
    if task.status == tasks.TaskStatus.OPEN:
        flash(_("Call logged. Try again at another time of day."), "success")
        return redirect(url_for("care.admin_task", task_id=task.id))
    flash(str(tasks.STATUS_LABELS[tasks.TaskStatus(task.status)]), "success")
    if form.slot_id.data is not None:
        flash(_("The service time is booked and the owner is told."), "success")
    return redirect(url_for("care.admin_tasks"))


# ------------------------------------------------------------------- reasons, local plates


@bp.get("/admin/care/reasons")
@permission_required("care.reasons")
def admin_reasons():
    """The reasons agents pick from, and the plates local to the dealer."""
    scope = scope_arg()
    form = LocalPlatesForm()
    if scope is not None:
        form.prefixes.data = ", ".join(recall.own_local_plates(scope))
    return render_template(
        "care/reasons.html",
        reasons=reasons.reasons_shown_to(current_user),
        can_manage=lambda r: can_manage_dealer_row(current_user, r.dealer_id),
        label=reasons.reason_label,
        plates_form=form,
        effective=recall.local_plates(),
        dealers=scoped_dealers(scope),
        dealer_id=scope,
        choices=dealer_choices(current_user),
    )


def _reason_or_404(reason_id: int | None):
    if reason_id is None:
        return None
    try:
        reason = reasons.get_reason_for_staff(current_user, reason_id)
    except NotFound:
        abort(404)
    if not can_manage_dealer_row(current_user, reason.dealer_id):
        abort(404)
    return reason


@bp.route("/admin/care/reasons/new", methods=["GET", "POST"], defaults={"reason_id": None})
@bp.route("/admin/care/reasons/<int:reason_id>", methods=["GET", "POST"])
@permission_required("care.reasons")
@once("care.reason")
def admin_reason(reason_id: int | None):
    """Add a reason, or rename, reorder or deactivate one."""
    reason = _reason_or_404(reason_id)
    form = ReasonForm(obj=reason)
    if form.validate_on_submit():
        ok, _saved = call_service(
            form, reasons.save_reason, current_user, reason, **form.to_values()
        )
        if ok:
            flash(_("Reason saved."), "success")
            return redirect(url_for("care.admin_reasons"))
    in_use = reason is not None and reasons.in_use(reason)
    return render_template("care/reason_form.html", form=form, reason=reason, in_use=in_use)


@bp.post("/admin/care/reasons/<int:reason_id>/delete")
@permission_required("care.reasons")
@once("care.reason_delete")
def admin_delete_reason(reason_id: int):
    """Delete a reason no call used."""
    _reason_or_404(reason_id)
    flash_service(reasons.delete_reason, current_user, reason_id, success=_("Reason deleted."))
    return redirect(url_for("care.admin_reasons"))


@bp.post("/admin/care/local-plates")
@permission_required("care.reasons")
def admin_local_plates():
    """Set the plate prefixes local to the dealer (HQ: of the dealer it picked)."""
    scope = scope_arg()
    form = LocalPlatesForm()
    if scope is None:
        flash(_("Choose a dealer first."), "error")
    elif form.validate_on_submit():
        flash_service(
            recall.set_local_plates,
            current_user,
            scope,
            form.prefixes.data or "",
            success=_("Local plates saved."),
        )
    else:
        flash(_("At most 120 characters."), "error")
    return redirect(url_for("care.admin_reasons", dealer=scope))
