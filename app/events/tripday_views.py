"""Trip day (safety checks, attendee list) and lectures (evaluations, questions)."""

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import NotFound
from app.core.permissions import member_required, permission_required
from app.core.reports import csv_response
from app.core.web import call_service, page_arg
from app.events import lectures, tripday, trips
from app.events.models import EventKind
from app.events.tripday_forms import AnswerForm, EvaluationForm, SafetyCheckForm
from app.events.views import bp
from app.extensions import db
from app.members.services import list_dealers


def _or_404(loader, *args):
    try:
        return loader(*args)
    except NotFound:
        abort(404)


def _page(query):
    return db.paginate(
        query,
        page=page_arg(),
        per_page=current_app.config["MEMBERS_PER_PAGE"],
        error_out=False,
    )


# ------------------------------------------------------------------------------ trip day


@bp.get("/admin/events/<int:event_id>/attendees")
@permission_required("events.manage")
def attendees(event_id: int):
    """The organisers' list: people, cars, phones, safety checks and arrivals."""
    event = _or_404(tripday.event_for_staff, current_user, event_id)
    page = _page(tripday.attendee_query(event))
    return render_template(
        "events/tripday/attendees.html",
        event=event,
        page=page,
        rows=tripday.attendee_rows(page.items),
        summary=tripday.attendee_summary(event),
        is_trip=event.kind == EventKind.TRIP,
        numbers=trips.car_numbers(event) if event.kind == EventKind.TRIP else {},
        safety_result=tripday.safety_result,
        status_label=tripday.status_label,
    )


@bp.get("/admin/events/<int:event_id>/attendees.csv")
@permission_required("events.manage")
def attendees_csv(event_id: int):
    """The attendee list as a CSV file Excel opens with Chinese names intact."""
    body = _or_404(tripday.export_attendees_csv, current_user, event_id)
    return csv_response(f"event-{event_id}-attendees.csv", body)


def _trip_registration_or_404(event_id: int, registration_id: int):
    """A registration for one of the dealer's self-drive trips (only trips have safety checks)."""
    registration = _or_404(tripday.registration_for_staff, current_user, event_id, registration_id)
    if registration.event.kind != EventKind.TRIP:
        abort(404)
    return registration


def _safety_page(registration, check, form):
    return render_template(
        "events/tripday/safety.html",
        event=registration.event,
        registration=registration,
        check=check,
        form=form,
        safety_result=tripday.safety_result,
    )


def _flash_safety(saved, name: str) -> None:
    if saved.passed:
        flash(_("Safety check passed: %(name)s.", name=name), "success")
    else:
        flash(_("Safety check failed: %(name)s.", name=name), "error")


@bp.route(
    "/admin/events/<int:event_id>/registrations/<int:registration_id>/safety",
    methods=["GET", "POST"],
)
@permission_required("events.manage")
def safety_check(event_id: int, registration_id: int):
    """Record (or redo) a car's safety check before departure."""
    registration = _trip_registration_or_404(event_id, registration_id)
    check = tripday.safety_check_for(registration)
    form = SafetyCheckForm()
    if check is not None and not form.is_submitted():
        form.load(check)
    if form.validate_on_submit():
        ok, saved = call_service(
            form,
            tripday.record_safety_check,
            current_user,
            event_id,
            registration_id,
            **form.to_check(),
        )
        if ok:
            _flash_safety(saved, registration.member.name)
            return redirect(url_for("events.attendees", event_id=event_id))
    return _safety_page(registration, check, form)


# ------------------------------------------------------------------------------ lectures


def _questions_page(event, bound: AnswerForm | None = None, bound_id: int | None = None):
    page = _page(lectures.questions_query(event))
    forms = {
        q.id: bound if q.id == bound_id and bound is not None else AnswerForm(prefix=f"q{q.id}")
        for q in page.items
        if q.answered_at is None
    }
    count, average = lectures.evaluation_summary(event)
    return render_template(
        "events/tripday/questions.html",
        event=event,
        page=page,
        forms=forms,
        overdue=lectures.overdue_count(event),
        evaluations=count,
        average=average,
        is_overdue=lectures.is_overdue,
        answered_late=lectures.answered_late,
        due_at=lectures.answer_due_at,
    )


@bp.get("/admin/events/<int:event_id>/questions")
@permission_required("events.answer")
def questions(event_id: int):
    """The lecture's questions, open ones first; how many are past their 48 hours."""
    return _questions_page(_or_404(tripday.event_for_staff, current_user, event_id))


@bp.post("/admin/events/<int:event_id>/questions/<int:question_id>")
@permission_required("events.answer")
def answer_question(event_id: int, question_id: int):
    """Answer one question; the owner sees it on their phone."""
    event = _or_404(tripday.event_for_staff, current_user, event_id)
    _or_404(lectures.question_for_staff, current_user, event_id, question_id)
    form = AnswerForm(prefix=f"q{question_id}")
    if form.validate_on_submit():
        ok, _answered = call_service(
            form, lectures.answer_question, current_user, event_id, question_id, form.answer.data
        )
        back = url_for("events.questions", event_id=event_id, page=page_arg())
        if ok:
            flash(_("Answer sent to the owner."), "success")
            return redirect(back)
        if form.form_errors:  # answered meanwhile: the page no longer shows its form
            for message in form.form_errors:
                flash(str(message), "error")
            return redirect(back)
    return _questions_page(event, form, question_id)


@bp.get("/admin/events/questions/overdue")
@permission_required("events.answer")
def overdue_questions():
    """Questions unanswered for 48 hours or more across the dealer's lectures, oldest first."""
    page = _page(lectures.overdue_questions_query(current_user))
    return render_template(
        "events/tripday/overdue.html",
        page=page,
        lectures=lectures.lectures_of(page.items),
        dealers={d.id: d for d in list_dealers()},
        due_at=lectures.answer_due_at,
    )


@bp.route("/me/tickets/<int:registration_id>/evaluation", methods=["GET", "POST"])
@member_required
def evaluation(registration_id: int):
    """The owner's evaluation of a lecture, and the answers to their questions."""
    member = current_user.member
    registration = _or_404(lectures.own_lecture_registration, member, registration_id)
    form = EvaluationForm()
    if form.validate_on_submit():
        ok, _sent = call_service(
            form, lectures.submit_evaluation, member, registration_id, **form.to_evaluation()
        )
        if ok:
            flash(_("Thank you! Staff answer your questions within 48 hours."), "success")
            return redirect(url_for("events.evaluation", registration_id=registration_id))
    return render_template(
        "events/tripday/evaluation.html",
        event=registration.event,
        registration=registration,
        state=lectures.evaluation_state(registration),
        sent=lectures.evaluation_for(registration),
        form=form,
        max_questions=lectures.MAX_QUESTIONS,
    )
