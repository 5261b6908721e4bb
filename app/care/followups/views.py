"""The owner's pages after a visit: the questionnaire, their complaints (raise, follow, confirm
or reopen). They add routes to the care blueprint (app/care/views.py)."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.care.followups import complaints, surveys
from app.care.followups.forms import ComplaintForm, ReopenForm, SurveyForm
from app.care.followups.models import OWNER_LABELS, SOURCE_LABELS
from app.care.followups.visits import SURVEY_KIND
from app.care.settings import setting
from app.care.views import bp
from app.core.errors import NotFound
from app.core.idempotency import once
from app.core.permissions import member_required
from app.core.web import call_service, flash_service, int_arg, page_arg
from app.extensions import db
from app.service.services import category_label, member_visits

# The complaint form offers the owner's latest visits.
VISITS_OFFERED = 20


@bp.app_template_global()
def inbox_link(message) -> tuple[str, str] | None:
    """Where an inbox message about a visit's questionnaire or a complaint leads, and what the
    link says."""
    kind, _sep, rest = (message.dedupe_key or "").partition(":")
    number = rest.split(":", 1)[0]
    if not number.isdigit():
        return None
    if message.kind == SURVEY_KIND and kind == "visit-survey":
        return url_for("care.questionnaire", visit_id=int(number)), _("Rate the visit")
    if message.kind == "complaint" and kind == "complaint":
        return url_for("care.my_complaint", case_id=int(number)), _("See the complaint")
    # The events' outreach (app/events/invitations.py, reminders.py).
    if message.kind == "event_invitation" and kind == "event-invitation":
        return url_for("events.open_invitation", invitation_id=int(number)), _("See the event")
    if message.kind == "event_reminder" and kind == "event-reminder":
        return url_for("events.ticket", registration_id=int(number)), _("Open the ticket")
    return None


@bp.app_template_global()
def visit_surveys(visits) -> dict:
    """The signed-in owner's questionnaires of these visits, by visit id (the car page)."""
    return surveys.surveys_by_visit(current_user.member, [v.id for v in visits])


def _or_404(loader, *args):
    try:
        return loader(current_user.member, *args)
    except NotFound:
        abort(404)


@bp.get("/me/feedback")
@member_required
def feedback():
    """Questionnaires waiting for an answer, and the owner's complaints (a page at a time)."""
    member = current_user.member
    page = db.paginate(complaints.own_cases(member), page=page_arg(), per_page=10, error_out=False)
    return render_template(
        "care/followups/feedback.html",
        pending=surveys.pending_surveys(member, limit=10),
        page=page,
        labels=OWNER_LABELS,
        category_label=category_label,
    )


def _survey_page(survey, form, status: int = 200):
    return (
        render_template(
            "care/followups/questionnaire.html",
            survey=survey,
            form=form,
            case=surveys.case_of_survey(survey),
            case_labels=OWNER_LABELS,
            category_label=category_label,
        ),
        status,
    )


@bp.route("/me/visits/<int:visit_id>/questionnaire", methods=["GET", "POST"])
@member_required
@once("care.questionnaire")
def questionnaire(visit_id: int):
    """The visit's questionnaire; once answered, what the owner said."""
    survey = _or_404(surveys.survey_of_visit, visit_id)
    form = SurveyForm()
    if not form.validate_on_submit():
        return _survey_page(survey, form, 422 if form.is_submitted() else 200)
    ok, answered = call_service(
        form, surveys.answer_survey, current_user.member, visit_id, **form.to_answer()
    )
    if not ok:
        return _survey_page(_or_404(surveys.survey_of_visit, visit_id), form, 422)
    if not answered.created:
        flash(_("You answered this questionnaire already. Thank you!"), "info")
    elif answered.case is not None:
        flash(_("Thank you. We are sorry it was not better: your dealer will call you."), "success")
        return redirect(url_for("care.my_complaint", case_id=answered.case.id))
    else:
        flash(_("Thank you for your answers!"), "success")
    return redirect(url_for("care.questionnaire", visit_id=visit_id))


def _complaint_form_page(form, status: int = 200):
    form.setup(member_visits(current_user.member)[:VISITS_OFFERED], int_arg("visit"))
    days = setting("COMPLAINT_DEADLINE_DAYS")
    return render_template("care/followups/complaint_new.html", form=form, days=days), status


@bp.route("/me/complaints/new", methods=["GET", "POST"])
@member_required
@once("care.complaint")
def new_complaint():
    """Raise a complaint, about one of the owner's visits (?visit=) or in general."""
    form = ComplaintForm()
    if not form.validate_on_submit():
        return _complaint_form_page(form, 422 if form.is_submitted() else 200)
    ok, opened = call_service(
        form, complaints.raise_complaint, current_user.member, **form.to_complaint()
    )
    if not ok:
        return _complaint_form_page(form, 422)
    if opened.created:
        flash(_("Complaint received. Your dealer gets back to you soon."), "success")
    else:
        flash(_("Added to your open complaint about this visit."), "success")
    return redirect(url_for("care.my_complaint", case_id=opened.case.id))


@bp.get("/me/complaints/<int:case_id>")
@member_required
def my_complaint(case_id: int):
    """One of the owner's complaints: where it stands, the resolution, confirm or reopen."""
    case = _or_404(complaints.own_case, case_id)
    return render_template(
        "care/followups/complaint.html",
        case=case,
        labels=OWNER_LABELS,
        sources=SOURCE_LABELS,
        additions=complaints.owner_notes(case),
        reopen=ReopenForm(),
        visit=complaints.visit_of(case),
        category_label=category_label,
    )


@bp.post("/me/complaints/<int:case_id>/confirm")
@member_required
@once("care.complaint_confirm")
def confirm_complaint(case_id: int):
    """The owner confirms the resolution settles it (again: nothing changes)."""
    case = _or_404(complaints.own_case, case_id)
    flash_service(
        complaints.confirm_case,
        current_user.member,
        case.id,
        success=_("Thank you: the complaint is closed."),
    )
    return redirect(url_for("care.my_complaint", case_id=case.id))


@bp.post("/me/complaints/<int:case_id>/reopen")
@member_required
@once("care.complaint_reopen")
def reopen_complaint(case_id: int):
    """The owner says it is not settled: the dealer handles it again."""
    case = _or_404(complaints.own_case, case_id)
    form = ReopenForm()
    if not form.validate_on_submit():
        flash(_("At most %(n)s characters, please.", n=complaints.TEXT_MAX), "error")
        return redirect(url_for("care.my_complaint", case_id=case.id))
    flash_service(
        complaints.reopen_case,
        current_user.member,
        case.id,
        reason=form.reason.data or "",
        success=_("Reopened: your dealer looks into it again."),
    )
    return redirect(url_for("care.my_complaint", case_id=case.id))
