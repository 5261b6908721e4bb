"""The dealer's pages after a visit: the complaint cases (list, one case: assign, notes,
resolve) and the after-visit callback's outcome. They add routes to the care blueprint."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.care.followups import complaints, visits
from app.care.followups.forms import AssignForm, FollowupCallForm, NoteForm, ResolveForm
from app.care.followups.models import CASE_LABELS, SOURCE_LABELS, SURVEY_LABELS
from app.care.tasks import STATUS_LABELS, TaskStatus, get_task_for_staff
from app.care.views import bp
from app.core.errors import NotFound
from app.core.permissions import has_permission, permission_required
from app.core.web import call_service, page_arg, try_service
from app.extensions import db
from app.members.scope import dealer_choices, scope_arg
from app.service.services import category_label


@bp.app_template_global()
def complaints_waiting() -> tuple[int, int]:
    """The desk's tile: complaints of the signed-in staff member's dealer to handle, overdue."""
    if not has_permission(current_user, "care.complaints"):
        return 0, 0
    return complaints.desk_counts(current_user)


@bp.app_template_global()
def visit_followup(task):
    """The visit an after-visit callback is about, its questionnaire and what the visit was
    for (the task page)."""
    visit, survey = visits.followup_of(task)
    return visit, survey, category_label(visit.category) if visit is not None else ""


def _view_arg() -> str:
    view = request.args.get("view", "active")
    return view if view in complaints.VIEWS else "active"


@bp.get("/admin/care/complaints")
@permission_required("care.complaints")
def admin_complaints():
    """The dealer's complaint cases: to handle (by deadline), overdue, escalated, waiting for
    the owner, closed, or the viewer's own."""
    scope, view = scope_arg(), _view_arg()
    page = db.paginate(
        complaints.cases_query(current_user, dealer_id=scope, view=view),
        page=page_arg(),
        per_page=current_app.config["MEMBERS_PER_PAGE"],
        error_out=False,
    )
    return render_template(
        "care/followups/admin_complaints.html",
        page=page,
        rows=complaints.case_rows(page.items),
        view=view,
        counts=complaints.view_counts(current_user, dealer_id=scope),
        views=complaints.VIEW_LABELS,
        dealers=dealer_choices(current_user),
        dealer_id=scope,
        labels=CASE_LABELS,
        is_overdue=complaints.is_overdue,
        is_escalated=complaints.is_escalated,
    )


def _case_or_404(case_id: int):
    try:
        return complaints.staff_case(current_user, case_id)
    except NotFound:
        abort(404)


def _case_page(case, *, assign=None, note=None, resolve=None, status: int = 200):
    """One case with its forms (those given keep their errors)."""
    row = complaints.case_rows([case])[0]
    notes = complaints.notes_of(case)
    assign = assign or AssignForm()
    assign.setup(complaints.assignable_staff(case), case.assignee_id)
    return (
        render_template(
            "care/followups/admin_complaint.html",
            row=row,
            case=case,
            visit=complaints.visit_of(case),
            survey=complaints.survey_of(case),
            notes=notes,
            authors=complaints.note_authors(notes),
            assign=assign,
            note=note or NoteForm(),
            resolve=resolve or ResolveForm(),
            labels=CASE_LABELS,
            sources=SOURCE_LABELS,
            survey_labels=SURVEY_LABELS,
            overdue=complaints.is_overdue(case),
            category_label=category_label,
        ),
        status,
    )


@bp.get("/admin/care/complaints/<int:case_id>")
@permission_required("care.complaints")
def admin_complaint(case_id: int):
    """One complaint: the owner's words and visit, notes, who owns it, the resolution."""
    return _case_page(_case_or_404(case_id))


def _act(case, form_name: str, form, service, values, *, success: str):
    """Validate the case page's ``form``, run the service with ``values(form)``, flash and
    redirect; or show the page again with the form's errors (422)."""
    if form.validate_on_submit():
        ok, _result = call_service(form, service, current_user, case.id, *values(form))
        if ok:
            flash(success, "success")
            return redirect(url_for("care.admin_complaint", case_id=case.id))
    return _case_page(_case_or_404(case.id), **{form_name: form}, status=422)


@bp.post("/admin/care/complaints/<int:case_id>/assign")
@permission_required("care.complaints")
def admin_assign_complaint(case_id: int):
    """Give the case to someone of its dealer."""
    case = _case_or_404(case_id)
    form = AssignForm()
    form.setup(complaints.assignable_staff(case), case.assignee_id)
    return _act(
        case,
        "assign",
        form,
        complaints.assign_case,
        lambda f: (f.assignee_id.data,),
        success=_("Assigned."),
    )


@bp.post("/admin/care/complaints/<int:case_id>/notes")
@permission_required("care.complaints")
def admin_complaint_note(case_id: int):
    """Add a staff note (for staff only)."""
    case = _case_or_404(case_id)
    return _act(
        case,
        "note",
        NoteForm(),
        complaints.add_note,
        lambda f: (f.body.data,),
        success=_("Note added."),
    )


@bp.post("/admin/care/complaints/<int:case_id>/resolve")
@permission_required("care.complaints")
def admin_resolve_complaint(case_id: int):
    """Say what was done: the owner is told and confirms, or reopens."""
    case = _case_or_404(case_id)
    return _act(
        case,
        "resolve",
        ResolveForm(),
        complaints.resolve_case,
        lambda f: (f.resolution.data,),
        success=_("Resolved: the owner is asked to confirm."),
    )


@bp.post("/admin/care/tasks/<int:task_id>/followup-call")
@permission_required("care.tasks")
def admin_followup_call(task_id: int):
    """Log an after-visit callback: reached and satisfied, reached and not (a complaint case
    opens), or not reached."""
    try:
        task = get_task_for_staff(current_user, task_id)
    except NotFound:
        abort(404)
    form = FollowupCallForm()
    if not form.validate_on_submit():
        flash(_("Choose the call's outcome."), "error")
        return redirect(url_for("care.admin_task", task_id=task.id))
    ok, _call = try_service(visits.record_followup_call, current_user, task.id, **form.to_call())
    task = get_task_for_staff(current_user, task.id)
    if not ok or task.status == TaskStatus.OPEN:
        if ok:
            flash(_("Call logged. Try again at another time of day."), "success")
        return redirect(url_for("care.admin_task", task_id=task.id))
    flash(str(STATUS_LABELS[TaskStatus(task.status)]), "success")
    if form.outcome.data == "unsatisfied":
        flash(_("A complaint case is open for the owner."), "info")
    return redirect(url_for("care.admin_tasks"))
