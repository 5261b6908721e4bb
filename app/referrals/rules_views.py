"""Referral rules' screens (issue 21): HQ's dated referral terms, a manager's decision on a
referrer who matched staff, and the staff identity register (R6.6). Routes of the referrals
blueprint."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import NotFound
from app.core.permissions import permission_required
from app.core.web import call_service, flash_service, page_arg
from app.extensions import db
from app.referrals import presenters, staff, terms
from app.referrals import services as referrals
from app.referrals.forms import StaffIdentityForm, StaffReviewForm, TermsForm
from app.referrals.views import bp


@bp.route("/admin/referral-terms", methods=["GET", "POST"])
@permission_required("referrals.terms")
def admin_terms():
    """The dated versions of the referral terms; announce a new one."""
    current = terms.terms_today()
    form = TermsForm()
    form.setup()
    if request.method == "GET":
        form.fill(current)
    if form.validate_on_submit():
        ok, _version = call_service(form, terms.schedule_terms, current_user, form.to_values())
        if ok:
            flash(_("New referral terms announced."), "success")
            return redirect(url_for("referrals.admin_terms"))
    return render_template(
        "referrals/admin_terms.html",
        form=form,
        versions=terms.all_terms(),
        current=current,
        p=presenters,
    )


@bp.post("/admin/referral-terms/<int:version_id>/withdraw")
@permission_required("referrals.terms")
def withdraw_terms(version_id: int):
    """Withdraw announced referral terms before their day."""
    flash_service(
        terms.withdraw_terms,
        current_user,
        version_id,
        success=_("The announced terms are withdrawn."),
    )
    return redirect(url_for("referrals.admin_terms"))


def _referral_or_404(referral_id: int):
    try:
        return referrals.get_referral_for_staff(current_user, referral_id)
    except NotFound:
        abort(404)


@bp.route("/admin/referrals/<int:referral_id>/staff-review", methods=["GET", "POST"])
@permission_required("referrals.decide")
def admin_staff_review(referral_id: int):
    """A manager decides whether the referrer who matched staff is staff."""
    referral = _referral_or_404(referral_id)
    form = StaffReviewForm()
    if form.validate_on_submit():
        ok, decided = call_service(
            form,
            referrals.decide_staff_review,
            current_user,
            referral.id,
            is_staff=form.decision.data == "staff",
            reason=form.reason.data,
        )
        if ok:
            flash(_("Decision saved: %(state)s.", state=presenters.staff_review_label(decided)))
            return redirect(url_for("referrals.admin_detail", referral_id=referral.id))
        referral = _referral_or_404(referral_id)
    return render_template(
        "referrals/admin_staff_review.html",
        form=form,
        referral=referral,
        matches=presenters.staff_matches(referral),
    )


@bp.route("/admin/referrals/staff-register", methods=["GET", "POST"])
@permission_required("referrals.staff_register")
def admin_staff_register():
    """Staff's other mobile numbers and ID numbers, matched with every referrer."""
    form = StaffIdentityForm()
    if form.validate_on_submit():
        ok, _entry = call_service(
            form,
            staff.record_identity,
            current_user,
            staff_mobile=form.staff_mobile.data,
            kind=form.kind.data,
            value=form.value.data,
        )
        if ok:
            flash(_("Recorded in the staff register."), "success")
            return redirect(url_for("referrals.admin_staff_register"))
    page = db.paginate(
        staff.identities(current_user),
        page=page_arg(),
        per_page=current_app.config["MEMBERS_PER_PAGE"],
        error_out=False,
    )
    return render_template("referrals/admin_staff_register.html", form=form, page=page)


@bp.post("/admin/referrals/staff-register/<int:identity_id>/remove")
@permission_required("referrals.staff_register")
def admin_staff_register_remove(identity_id: int):
    """Take an entry out of the register."""
    flash_service(
        staff.remove_identity, current_user, identity_id, success=_("Removed from the register.")
    )
    return redirect(url_for("referrals.admin_staff_register"))
