"""Disputes of a fraud outcome: the owner's form, and the manager's queue and review with the
call recording (提供甄别录音)."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import NotFound
from app.core.idempotency import once
from app.core.permissions import has_permission, member_required, permission_required
from app.core.web import call_service, page_arg
from app.extensions import db
from app.referrals import disputes, invites, showroom
from app.referrals.invite_forms import DisputeDecisionForm, DisputeForm
from app.referrals.models import DisputeStatus, Referral
from app.referrals.views import _callback_context, bp


@bp.app_template_global()
def disputes_waiting() -> int:
    """How many disputes wait for the manager's review (the desk's tile)."""
    if not has_permission(current_user, "referrals.disputes"):
        return 0
    return disputes.open_count(current_user)


@bp.app_template_global()
def referral_front_door(referral: Referral) -> dict:
    """What the referral pages show of the front door: the invite link it came through, the
    duty manager's report, the owner's dispute (and whether the owner may still open one)."""
    return {
        "via_invite": invites.came_through_invite(referral),
        "report": showroom.report_for(referral),
        "dispute": disputes.dispute_for(referral),
        "can_dispute": disputes.can_dispute(referral),
        "deadline": disputes.dispute_deadline(referral),
        "report_label": showroom.report_label,
        "dispute_label": disputes.dispute_label,
    }


# ---------------------------------------------------------------------------------- owners


def _own_referral_or_404(referral_id: int) -> Referral:
    referral = db.session.get(Referral, referral_id)
    if referral is None or referral.referrer_id != current_user.member.id:
        abort(404)
    return referral


@bp.route("/me/referrals/<int:referral_id>/dispute", methods=["GET", "POST"])
@member_required
@once("referrals.dispute")
def dispute(referral_id: int):
    """The owner disputes a fraud outcome, once, with an optional word."""
    referral = _own_referral_or_404(referral_id)
    if not disputes.can_dispute(referral) and request.method == "GET":
        flash(_("This referral's outcome cannot be disputed."), "error")
        return redirect(url_for("referrals.mine"))
    form = DisputeForm()
    if form.validate_on_submit():
        ok, _opened = call_service(
            form, disputes.open_dispute, current_user.member, referral.id, reason=form.reason.data
        )
        if ok:
            flash(_("Your dispute is sent: a manager will review the call recording."), "success")
            return redirect(url_for("referrals.mine"))
    return render_template("referrals/dispute.html", form=form, referral=referral)


# ----------------------------------------------------------------------------------- staff

STATES = ("open", "upheld", "overturned", "all")


@bp.get("/admin/referrals/disputes")
@permission_required("referrals.disputes")
def admin_disputes():
    """Disputes to review (or decided ones), oldest first."""
    state = request.args.get("state", "open")
    state = state if state in STATES else "open"
    page = db.paginate(
        disputes.staff_query(current_user, status=None if state == "all" else DisputeStatus(state)),
        page=page_arg(),
        per_page=current_app.config["MEMBERS_PER_PAGE"],
        error_out=False,
    )
    return render_template(
        "referrals/admin_disputes.html",
        page=page,
        state=state,
        dispute_label=disputes.dispute_label,
    )


def _dispute_or_404(dispute_id: int):
    try:
        return disputes.get_dispute_for_staff(current_user, dispute_id)
    except NotFound:
        abort(404)


def _dispute_page(form, dispute):
    return render_template(
        "referrals/admin_dispute.html",
        form=form,
        dispute=dispute,
        dispute_label=disputes.dispute_label,
        **_callback_context(dispute.referral),
    )


@bp.route("/admin/referrals/disputes/<int:dispute_id>", methods=["GET", "POST"])
@permission_required("referrals.disputes")
def admin_dispute(dispute_id: int):
    """Review a dispute: the callback's answers, the recording, the owner's word; decide."""
    found = _dispute_or_404(dispute_id)
    form = DisputeDecisionForm(recording_ref=found.referral.recording_ref)
    if form.validate_on_submit():
        ok, decided = call_service(
            form,
            disputes.decide_dispute,
            current_user,
            found.id,
            overturn=form.decision.data == "overturn",
            recording_ref=form.recording_ref.data,
            note=form.note.data,
        )
        if ok:
            state = disputes.dispute_label(decided.status)
            flash(_("Dispute decided: %(state)s.", state=state), "success")
            return redirect(url_for("referrals.admin_dispute", dispute_id=found.id))
        found = _dispute_or_404(dispute_id)
    return _dispute_page(form, found)
