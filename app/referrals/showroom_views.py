"""The duty manager's list of referrals to confirm at the showroom (到值班经理处报备), on the
phone: confirm, or refuse with a reason."""

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.permissions import has_permission, permission_required
from app.core.web import page_arg, try_service
from app.extensions import db
from app.referrals import presenters, showroom
from app.referrals.invite_forms import RefuseForm
from app.referrals.models import Referral, ReferralStatus
from app.referrals.views import bp


@bp.app_template_global()
def showroom_waiting() -> int:
    """How many referrals wait for the duty manager (the desk's tile)."""
    if not has_permission(current_user, "referrals.showroom_reports"):
        return 0
    return showroom.pending_count(current_user)


def visit_message(outcome: showroom.VisitOutcome) -> str:
    """What staff are told after recording a visit."""
    said = _(
        "Visit of %(name)s on %(day)s recorded.",
        name=outcome.visit.name,
        day=outcome.visit.visited_on.isoformat(),
    )
    referral = outcome.referral
    if referral is None or referral.dealer_id != current_user.dealer_id:
        return said
    owner = referral.referrer.name
    if outcome.named_other:
        more = _(
            "The visitor named another owner, but %(owner)s registered them first: the first "
            "registration counts. The duty manager sees both.",
            owner=owner,
        )
    elif referral.status == ReferralStatus.VISITED:
        more = _(
            "The referral of %(owner)s waits for the duty manager's confirmation.", owner=owner
        )
    else:
        return said
    return f"{said} {more}"


@bp.get("/admin/showroom/referrals")
@permission_required("referrals.showroom_reports")
def showroom_reports():
    """Referrals of visitors waiting for the duty manager, oldest visit first."""
    page = db.paginate(
        showroom.pending_query(current_user),
        page=page_arg(),
        per_page=current_app.config["MEMBERS_PER_PAGE"],
        error_out=False,
    )
    return render_template(
        "referrals/showroom_reports.html",
        page=page,
        refuse_form=RefuseForm(),
        colour_name=presenters.colour_label,
    )


def _referral_here_or_404(referral_id: int) -> Referral:
    """A referral of the duty manager's own dealer; 404 otherwise."""
    referral = db.session.get(Referral, referral_id)
    if referral is None or referral.dealer_id != current_user.dealer_id:
        abort(404)
    return referral


@bp.post("/admin/showroom/referrals/<int:referral_id>/confirm")
@permission_required("referrals.showroom_reports")
def confirm_showroom_report(referral_id: int):
    """The duty manager confirms the referral."""
    ok, report = try_service(showroom.confirm_report, current_user, referral_id)
    if ok:
        flash(_("Referral of %(owner)s confirmed.", owner=report.referral.referrer.name), "success")
    return redirect(url_for("referrals.showroom_reports"))


@bp.post("/admin/showroom/referrals/<int:referral_id>/refuse")
@permission_required("referrals.showroom_reports")
def refuse_showroom_report(referral_id: int):
    """The duty manager refuses the referral, with the reason the owner is told."""
    _referral_here_or_404(referral_id)
    form = RefuseForm()
    if not form.validate_on_submit():
        flash(_("Say why the referral is refused."), "error")
        return redirect(url_for("referrals.showroom_reports"))
    ok, report = try_service(
        showroom.refuse_report, current_user, referral_id, reason=form.reason.data
    )
    if ok:
        flash(_("Referral of %(friend)s refused.", friend=report.referral.friend_name), "success")
    return redirect(url_for("referrals.showroom_reports"))
