"""Referral screens (R6): owners refer friends; staff pre-register, check and call back."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.services import get_user_by_mobile
from app.cards.services import card_for_dealer
from app.core.audit import audit_query
from app.core.errors import DomainError, NotFound
from app.core.identifiers import normalize_mobile
from app.core.permissions import member_required, permission_required
from app.core.web import call_service, page_arg
from app.extensions import db
from app.members.models import Member
from app.members.services import get_member_for_staff
from app.referrals import presenters, showroom, staff, terms, verification
from app.referrals import services as referrals
from app.referrals.forms import (
    AnswerForm,
    AttemptForm,
    FinishCallForm,
    LicenceForm,
    ReferFriendForm,
    ReviewForm,
    StaffReferralForm,
)
from app.referrals.invite_forms import VisitForm
from app.referrals.models import Referral, ReferralStatus

bp = Blueprint("referrals", __name__)

# The pre-registration queue the duty manager watches (提前报备).
OPEN_STATES = (ReferralStatus.REGISTERED, ReferralStatus.VISITED)


@bp.app_template_global()
def referral_status_label(status) -> str:
    """The referral state in the user's language, for templates."""
    return referrals.status_label(ReferralStatus(status))


def _flash_refusal(err: DomainError) -> None:
    db.session.rollback()
    flash(str(err.message), "error")


# ---------------------------------------------------------------------------------- owners

REGISTERED = _l(
    "%(name)s is registered as your referral. Tell them to mention you at the showroom."
)


@bp.route("/referrals/new", methods=["GET", "POST"])
@member_required
def refer():
    """Refer a friend before their first visit to the showroom (提前报备)."""
    member = current_user.member
    form = ReferFriendForm()
    if form.validate_on_submit():
        ok, referral = call_service(
            form, referrals.register_referral, current_user, member, **form.to_referral()
        )
        if ok:
            flash(str(REGISTERED) % {"name": referral.friend_name}, "success")
            return redirect(url_for("referrals.mine"))
    return render_template(
        "referrals/refer.html",
        form=form,
        member=member,
        programme=referrals.programme(),
        upcoming=terms.upcoming_terms(),
        reward_names=presenters.reward_names,
    )


@bp.get("/me/referrals")
@member_required
def mine():
    """The owner's referrals, each with its state in plain words and what it brought."""
    items = referrals.member_referrals(current_user.member)
    return render_template(
        "referrals/mine.html",
        items=items,
        owner_state=presenters.owner_state,
        can_withdraw=presenters.can_withdraw,
        received=presenters.received,
    )


@bp.post("/me/referrals/<int:referral_id>/withdraw")
@member_required
def withdraw(referral_id: int):
    """Take back a referral the friend has not bought on yet."""
    try:
        referral = referrals.withdraw_referral(current_user.member, referral_id)
    except NotFound:
        abort(404)
    except DomainError as err:
        _flash_refusal(err)
    else:
        flash(_("Referral of %(name)s withdrawn.", name=referral.friend_name), "success")
    return redirect(url_for("referrals.mine"))


# ----------------------------------------------------------------------------------- staff


def _referral_or_404(referral_id: int):
    try:
        return referrals.get_referral_for_staff(current_user, referral_id)
    except NotFound:
        abort(404)


def _queue_states(state: str) -> list[ReferralStatus] | None:
    if state == "all":
        return None
    if state in {s.value for s in ReferralStatus}:
        return [ReferralStatus(state)]
    return list(OPEN_STATES)


@bp.get("/admin/referrals")
@permission_required("referrals.view")
def admin_queue():
    """Pre-registered referrals (or those in a chosen state), newest first."""
    state = request.args.get("state", "open")
    if state != "all" and state not in {s.value for s in ReferralStatus}:
        state = "open"
    page = db.paginate(
        referrals.staff_queue(current_user, _queue_states(state)),
        page=page_arg(),
        per_page=current_app.config["MEMBERS_PER_PAGE"],
        error_out=False,
    )
    return render_template(
        "referrals/admin_queue.html",
        page=page,
        state=state,
        states=list(ReferralStatus),
        is_waiting=verification.is_waiting,
    )


def _find_owner(text: str) -> Member:
    """The dealer's owner with this card number or mobile; NotFound/ValidationFailed otherwise."""
    mobile = normalize_mobile(text)
    if mobile is None:
        return card_for_dealer(text, dealer_id=current_user.dealer_id).member
    user = get_user_by_mobile(mobile)
    if user is None or user.member is None:
        raise NotFound(_("No owner has this mobile number."), field="owner")
    return get_member_for_staff(current_user, user.member.id)


def _register_for_owner(owner: str, **friend) -> Referral:
    """Register the friend of the owner found by ``owner`` (whose errors name that field)."""
    try:
        referrer = _find_owner(owner)
    except DomainError as err:
        err.field = "owner"
        raise
    return referrals.register_referral(current_user, referrer, **friend)


@bp.route("/admin/referrals/new", methods=["GET", "POST"])
@permission_required("referrals.register")
def admin_register():
    """Register a referral for an owner at the friend's first showroom visit."""
    form = StaffReferralForm()
    if form.validate_on_submit():
        ok, referral = call_service(
            form, _register_for_owner, form.owner.data, **form.to_referral()
        )
        if ok:
            flash(
                _(
                    "%(friend)s is registered as a referral of %(owner)s.",
                    friend=referral.friend_name,
                    owner=referral.referrer.name,
                ),
                "success",
            )
            return redirect(url_for("referrals.admin_detail", referral_id=referral.id))
    return render_template("referrals/admin_register.html", form=form)


@bp.route("/admin/prospects", methods=["GET", "POST"])
@permission_required("prospects.record")
def admin_prospect():
    """Record a prospect's showroom visit (date, consultant) and the referrer they name."""
    form = VisitForm()
    form.setup(presenters.dealer_consultants(current_user.dealer_id), current_user)
    if form.validate_on_submit():
        ok, outcome = call_service(
            form, showroom.record_visit, current_user, **form.to_visit(), named=form.named()
        )
        if ok:
            flash(showroom_views.visit_message(outcome), "success")
            return redirect(url_for("referrals.admin_prospect"))
    return render_template("referrals/admin_prospect.html", form=form)


@bp.get("/admin/referrals/<int:referral_id>")
@permission_required("referrals.view")
def admin_detail(referral_id: int):
    """Everything about one referral, with its full timeline."""
    referral = _referral_or_404(referral_id)
    return render_template(
        "referrals/admin_detail.html",
        timeline=db.session.scalars(audit_query(subject=referral)).all(),
        names=presenters.referral_staff_names(referral),
        **_callback_context(referral),
    )


@bp.route("/admin/referrals/<int:referral_id>/licence", methods=["GET", "POST"])
@permission_required("referrals.licence")
def admin_licence(referral_id: int):
    """The showroom manager compares the referrer's vehicle licence with the club record."""
    referral = _referral_or_404(referral_id)
    form = LicenceForm()
    form.setup()
    if form.validate_on_submit():
        facts = form.to_facts()
        ok, _checked = call_service(form, referrals.check_licence, current_user, referral.id, facts)
        if ok:
            return redirect(url_for("referrals.admin_licence", referral_id=referral.id))
    return render_template(
        "referrals/admin_licence.html", form=form, referral=referral, p=presenters
    )


# -------------------------------------------------------------------------------- callback


def _callback_context(referral: Referral) -> dict:
    """What the referral and callback pages show of the callback, read as the API reads it."""
    return {
        "referral": referral,
        "p": presenters,
        "waiting": verification.is_waiting(referral),
        "question_text": verification.question_text,
        "expected_text": verification.expected_text,
        "score": verification.score_callback(referral),
    }


def _callback_page(referral, finish_form=None, status: int = 200):
    return (
        render_template(
            "referrals/admin_callback.html",
            callee=presenters.callee_member(referral),
            subject=presenters.subject_name(referral),
            unreached=verification.unreached_attempts(referral),
            finish_form=finish_form or FinishCallForm(),
            answer_form=AnswerForm(),
            **_callback_context(referral),
        ),
        status,
    )


@bp.get("/admin/referrals/<int:referral_id>/callback")
@permission_required("referrals.callback")
def admin_callback(referral_id: int):
    """The callback script: whom to call, big questions, one tap per answer."""
    return _callback_page(_referral_or_404(referral_id))


def _back_to_callback(referral_id: int):
    return redirect(url_for("referrals.admin_callback", referral_id=referral_id))


@bp.post("/admin/referrals/<int:referral_id>/callback/start")
@permission_required("referrals.callback")
def admin_start_callback(referral_id: int):
    """Choose whom to call and make the questions (once)."""
    referral = _referral_or_404(referral_id)
    try:
        verification.start_callback(current_user, referral.id)
    except DomainError as err:
        _flash_refusal(err)
    return _back_to_callback(referral.id)


@bp.post("/admin/referrals/<int:referral_id>/attempts")
@permission_required("referrals.callback")
def admin_attempt(referral_id: int):
    """Log one call: reached or not."""
    referral = _referral_or_404(referral_id)
    form = AttemptForm()
    if not form.validate_on_submit():
        flash(_("Choose reached or not reached."), "error")
        return _back_to_callback(referral.id)
    try:
        verification.record_attempt(current_user, referral.id, reached=form.reached.data == "yes")
    except DomainError as err:
        _flash_refusal(err)
    return _back_to_callback(referral.id)


@bp.post("/admin/referrals/<int:referral_id>/questions/<int:question_id>")
@permission_required("referrals.callback")
def admin_answer(referral_id: int, question_id: int):
    """Mark the callee's answer to one question right or wrong, once."""
    referral = _referral_or_404(referral_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        flash(_("Choose right or wrong."), "error")
        return _back_to_callback(referral.id)
    try:
        verification.answer_question(
            current_user, referral.id, question_id, correct=form.answer.data == "right"
        )
    except NotFound:
        abort(404)
    except DomainError as err:
        _flash_refusal(err)
    return redirect(
        url_for("referrals.admin_callback", referral_id=referral.id, _anchor=f"q{question_id}")
    )


@bp.post("/admin/referrals/<int:referral_id>/callback/finish")
@permission_required("referrals.callback")
def admin_finish_callback(referral_id: int):
    """Attach the recording and close the call: fraud with two wrong answers, else approved."""
    referral = _referral_or_404(referral_id)
    form = FinishCallForm()
    if form.validate_on_submit():
        ok, done = call_service(
            form,
            verification.complete_callback,
            current_user,
            referral.id,
            recording_ref=form.recording_ref.data,
        )
        if ok:
            if done.status == ReferralStatus.FRAUD:
                flash(_("Callback finished: marked as fraud, no reward."), "error")
            else:
                flash(_("Callback finished: the referral is approved."), "success")
            return _back_to_callback(referral.id)
        referral = _referral_or_404(referral_id)
    return _callback_page(referral, finish_form=form)


@bp.route("/admin/referrals/<int:referral_id>/review", methods=["GET", "POST"])
@permission_required("referrals.decide")
def admin_review(referral_id: int):
    """A manager approves or rejects a referral in manual review, with a reason."""
    referral = _referral_or_404(referral_id)
    form = ReviewForm()
    if form.validate_on_submit():
        ok, decided = call_service(
            form,
            referrals.decide_manual_review,
            current_user,
            referral.id,
            approve=form.decision.data == "approve",
            reason=form.reason.data,
        )
        if ok:
            flash(
                _("Decision saved: %(state)s.", state=referrals.status_label(decided.status)),
                "success",
            )
            return redirect(url_for("referrals.admin_detail", referral_id=referral.id))
        referral = _referral_or_404(referral_id)
    return render_template("referrals/admin_review.html", form=form, referral=referral)


# ---------------------------------------------------------------------------------- funnel


@bp.get("/admin/referrals/funnel")
@permission_required("referrals.funnel")
def admin_funnel():
    """Registered → visited → purchased → verified → rewarded / fraud, and flagged staff."""
    return render_template(
        "referrals/admin_funnel.html",
        steps=referrals.FUNNEL_STEPS,
        by_dealer=referrals.funnel(current_user, by="dealer"),
        by_consultant=referrals.funnel(current_user, by="consultant"),
        flags=staff.staff_flags(current_user),
        offence_label=presenters.offence_label,
        handled_label=presenters.handled_label,
        funnel_label=presenters.funnel_label,
    )


# The referral rules' screens (terms, staff checks) are routes of this blueprint too.
# The referral's front door (issue 21): invite links, the duty manager's list, disputes.
from app.referrals import (  # noqa: E402, F401
    dispute_views,
    invites_views,
    rules_views,
    showroom_views,
)
