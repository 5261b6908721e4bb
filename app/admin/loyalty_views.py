"""Staff screens for service visits, points adjustments and earning rules."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin.loyalty_forms import AdjustmentForm, AmendVisitForm, RulesForm, VisitForm
from app.admin.views import _member_or_404, bp
from app.core.permissions import permission_required
from app.core.web import call_service, flash_service, page_arg
from app.extensions import db
from app.loyalty import adjustments, rules
from app.service import services as visits
from app.service.models import ServiceVisit


@bp.route("/visits", methods=["GET", "POST"])
@permission_required("visits.record")
def visits_page():
    """Record a repair order; the dealer's recent visits below."""
    form = VisitForm()
    if form.validate_on_submit():
        ok, result = call_service(
            form,
            visits.record_visit,
            current_user,
            dealer_id=current_user.dealer_id,
            ro_number=form.ro_number.data,
            **form.to_visit(),
        )
        if ok:
            _flash_recorded(result)
            return redirect(url_for("admin.visits_page"))
    page = db.paginate(
        visits.dealer_visits(current_user.dealer_id),
        page=page_arg(),
        per_page=current_app.config["MEMBERS_PER_PAGE"],
        error_out=False,
    )
    return render_template("admin/visits.html", form=form, page=page)


def _flash_recorded(result) -> None:
    if not result.created:
        flash(_("This repair order was already recorded; nothing changed."), "info")
        return
    flash(
        _(
            "Visit %(ro)s recorded: %(points)s points for %(name)s.",
            ro=result.visit.ro_number,
            points=result.points_awarded,
            name=result.visit.member.name,
        ),
        "success",
    )


@bp.post("/visits/<int:visit_id>/refund")
@permission_required("visits.record")
def refund_visit(visit_id: int):
    """Refund a visit: its points are reversed exactly, once."""
    visit = _dealer_visit_or_404(visit_id)
    result = visits.refund_visit(current_user, dealer_id=visit.dealer_id, ro_number=visit.ro_number)
    if result.created:
        flash(
            _(
                "Visit %(ro)s refunded: %(points)s points reversed.",
                ro=visit.ro_number,
                points=result.points_reversed,
            ),
            "success",
        )
    else:
        flash(_("This visit was already refunded; nothing changed."), "info")
    return redirect(url_for("admin.visits_page"))


def _dealer_visit_or_404(visit_id: int) -> ServiceVisit:
    visit = db.session.get(ServiceVisit, visit_id)
    if visit is None or visit.dealer_id != current_user.dealer_id:
        abort(404)
    return visit


@bp.route("/visits/<int:visit_id>/amend", methods=["GET", "POST"])
@permission_required("visits.record")
def amend_visit(visit_id: int):
    """Correct a repair order: its points are reversed and earned afresh under the new figures."""
    visit = _dealer_visit_or_404(visit_id)
    form = AmendVisitForm(obj=None if request.method == "POST" else visits.visit_form_data(visit))
    del form.ro_number
    if form.validate_on_submit():
        ok, result = call_service(
            form,
            visits.amend_visit,
            current_user,
            dealer_id=visit.dealer_id,
            ro_number=visit.ro_number,
            **form.to_visit(),
        )
        if ok:
            _flash_amended(result)
            return redirect(url_for("admin.visits_page"))
        visit = _dealer_visit_or_404(visit_id)
    return render_template("admin/visit_amend.html", form=form, visit=visit)


def _flash_amended(result) -> None:
    if not result.created:
        flash(_("The visit already has these figures; nothing changed."), "info")
        return
    flash(
        _(
            "Visit %(ro)s amended: %(reversed)s points reversed, %(earned)s earned afresh.",
            ro=result.visit.ro_number,
            reversed=result.points_reversed,
            earned=result.visit.points_awarded,
        ),
        "success",
    )


@bp.route("/members/<int:member_id>/adjust", methods=["GET", "POST"])
@permission_required("points.adjust")
def adjust_points(member_id: int):
    """Give goodwill points (or correct a mistake) with a reason."""
    member = _member_or_404(member_id)
    form = AdjustmentForm()
    if form.validate_on_submit():
        ok, adjustment = call_service(
            form,
            adjustments.request_adjustment,
            current_user,
            member,
            points=form.points.data,
            reason=form.reason.data,
        )
        if ok:
            if adjustment.status == "posted":
                flash(_("%(points)s points posted.", points=adjustment.points), "success")
            else:
                flash(_("Sent for approval by a dealer admin."), "info")
            return redirect(url_for("admin.member_detail", member_id=member.id))
    return render_template("admin/adjust.html", form=form, member=member)


@bp.get("/adjustments")
@permission_required("points.approve")
def pending_adjustments():
    """Adjustments waiting for a second staff member."""
    items = db.session.execute(adjustments.pending_adjustments(current_user)).all()
    return render_template("admin/adjustments.html", items=items)


@bp.post("/adjustments/<int:adjustment_id>/<any(approve, reject):decision>")
@permission_required("points.approve")
def decide_adjustment(adjustment_id: int, decision: str):
    """Approve or reject a pending adjustment."""
    approve = decision == "approve"
    flash_service(
        adjustments.decide_adjustment,
        current_user,
        adjustment_id,
        approve=approve,
        success=_("Adjustment approved.") if approve else _("Adjustment rejected."),
    )
    return redirect(url_for("admin.pending_adjustments"))


@bp.post("/earning-rules/<int:version_id>/withdraw")
@permission_required("rules.edit")
def withdraw_earning_rules(version_id: int):
    """Withdraw announced rules before their day."""
    flash_service(
        rules.withdraw_rules,
        current_user,
        version_id,
        success=_("The announced rules are withdrawn."),
    )
    return redirect(url_for("admin.earning_rules"))


@bp.route("/earning-rules", methods=["GET", "POST"])
@permission_required("rules.edit")
def earning_rules():
    """The dated versions of the earning rules; announce a new one."""
    current = rules.rules_in_force_today()
    form = RulesForm(obj=current if request.method == "GET" else None)
    if request.method == "GET":
        form.note.data = ""
        form.effective_from.data = None
    if form.validate_on_submit():
        ok, _version = call_service(form, rules.schedule_rules, current_user, **form.values())
        if ok:
            flash(_("New rules announced."), "success")
            return redirect(url_for("admin.earning_rules"))
    return render_template(
        "admin/earning_rules.html", form=form, versions=rules.all_rules(), current=current
    )
