"""Staff pages of ABC grading (seed 003): overdue care per consultant with the grade counts,
retained owners to grade, an owner's grading card (grade, history, contacts) and the care
standards per grade."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.campaigns.grading import services
from app.campaigns.grading.care import care_of, care_report, export_care, owner_list
from app.campaigns.grading.forms import ContactForm, GradeForm, StandardsForm
from app.core.permissions import Role, permission_required
from app.core.reports import csv_response
from app.core.web import call_service, dealer_arg, int_arg, page_arg
from app.extensions import db
from app.members.models import Dealer
from app.members.scope import dealer_choices, scope_arg

bp = Blueprint("grading", __name__, url_prefix="/admin/campaigns/grading")


@bp.get("")
@permission_required("campaigns.grading")
def care():
    """Grade counts, overdue care per consultant and the overdue owners, most overdue first."""
    report = care_report(
        current_user,
        dealer_id=scope_arg(),
        consultant_id=int_arg("consultant"),
        page=page_arg(),
    )
    chosen = report.facts["consultant"]
    return render_template(
        "campaigns/grading.html",
        report=report,
        dealers=dealer_choices(current_user),
        csv_args={
            "dealer": report.dealer_id,
            "consultant": chosen.id
            if chosen and services.sees_every_consultant(current_user)
            else None,
        },
        every=services.sees_every_consultant(current_user),
        grade_label=services.grade_label,
    )


@bp.get("/care.csv")
@permission_required("campaigns.grading")
def care_csv():
    """One table of the care page as CSV, every row (UTF-8 with a BOM for Excel)."""
    export = export_care(
        current_user,
        request.args.get("table"),
        dealer_id=scope_arg(),
        consultant_id=int_arg("consultant"),
    )
    if export is None:
        abort(404)
    return csv_response(export.filename, export.body)


@bp.get("/owners")
@permission_required("campaigns.grading")
def owners():
    """Retained owners not graded yet, or of one grade, a page at a time."""
    grade = request.args.get("grade", "ungraded")
    grade = grade if grade in services.OWNER_FILTERS else "ungraded"
    page, gradings, scope = owner_list(
        current_user, dealer_id=scope_arg(), grade=grade, page=page_arg()
    )
    return render_template(
        "campaigns/grading_owners.html",
        page=page,
        gradings=gradings,
        grade=grade,
        dealer_id=scope,
        dealers=dealer_choices(current_user),
        grade_label=services.grade_label,
    )


def _owner_page(member, grade_form, contact_form, status=200):
    """The owner's grading card with both forms."""
    return (
        render_template(
            "campaigns/grading_owner.html",
            member=member,
            retained=services.is_retained(member),
            history=services.grading_history(member),
            care=care_of(member),
            contacts=services.recent_contacts(member),
            standards=services.current_standards(member.dealer_id),
            grade_form=grade_form,
            contact_form=contact_form,
            grade_label=services.grade_label,
        ),
        status,
    )


def _grade_form(member, formdata=True) -> GradeForm:
    form = GradeForm() if formdata else GradeForm(formdata=None)
    mine = current_user.dealer_id == member.dealer_id and current_user.role in (
        services.CONSULTANT_ROLES
    )
    form.consultant_id.choices = [SelectChoice("", _("Me") if mine else _("Choose…"))] + [
        SelectChoice(u.id, u.name) for u in services.consultant_choices(member.dealer_id)
    ]
    return form


@bp.route("/owners/<int:member_id>", methods=["GET", "POST"])
@permission_required("campaigns.grading")
def owner(member_id: int):
    """An owner's grade, its history and care contacts; grade or regrade them."""
    member = services.get_owner(current_user, member_id)
    form = _grade_form(member)
    if request.method == "GET":
        current = services.current_grading(member)
        if current is not None:
            form.grade.data = current.grade.value
            form.consultant_id.data = current.consultant_id
    if form.validate_on_submit():
        ok, _row = call_service(
            form,
            services.grade_owner,
            current_user,
            member.id,
            grade=form.grade.data,
            reason=form.reason.data,
            consultant_id=form.consultant_id.data,
        )
        if ok:
            flash(
                _("%(name)s graded %(grade)s.", name=member.name, grade=form.grade.data), "success"
            )
            return redirect(url_for("grading.owner", member_id=member.id))
    return _owner_page(member, form, ContactForm(formdata=None))


@bp.post("/owners/<int:member_id>/contacts")
@permission_required("campaigns.grading")
def log_contact(member_id: int):
    """Log a care contact with the owner: reached or not."""
    member = services.get_owner(current_user, member_id)
    form = ContactForm()
    if form.validate_on_submit():
        ok, _contact = call_service(
            form,
            services.log_contact,
            current_user,
            member.id,
            reached=form.reached.data == "yes",
            note=form.note.data,
            contacted_on=form.contacted_on.data,
        )
        if ok:
            flash(_("Contact logged."), "success")
            return redirect(url_for("grading.owner", member_id=member.id))
    if form.reached.errors:
        form.form_errors.extend(form.reached.errors)
    return _owner_page(member, _grade_form(member, formdata=False), form)


@bp.route("/standards", methods=["GET", "POST"])
@permission_required("campaigns.grading_standards")
def standards():
    """The dealer's contact interval and care per grade (HQ picks the dealer)."""
    dealer = _standards_dealer()
    form = StandardsForm()
    if request.method == "GET":
        form.fill(services.current_standards(dealer.id))
    if form.validate_on_submit():
        ok, _rows = call_service(
            form, services.update_standards, current_user, dealer.id, standards=form.values()
        )
        if ok:
            flash(_("Care standards saved."), "success")
            return redirect(url_for("grading.standards", dealer=dealer.id))
    return render_template(
        "campaigns/grading_standards.html",
        form=form,
        dealer=dealer,
        dealers=dealer_choices(current_user),
        max_days=services.MAX_INTERVAL_DAYS,
    )


def _standards_dealer() -> Dealer:
    """The dealer whose standards are shown: the viewer's own; HQ's pick in ``?dealer=``, else
    the first dealer; 404 when there is none."""
    dealer_id = current_user.dealer_id
    if current_user.role == Role.HQ_ADMIN:
        dealers = dealer_choices(current_user)
        dealer_id = dealer_arg() or (dealers[0].id if dealers else None)
    dealer = db.session.get(Dealer, dealer_id) if dealer_id else None
    if dealer is None:
        abort(404)
    return dealer
