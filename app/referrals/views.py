"""Referral screens (R6): owners refer friends; staff pre-register, check and call back."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.auth.services import get_user_by_mobile
from app.cards.services import card_for_dealer
from app.core.audit import audit_query
from app.core.clock import local_date
from app.core.errors import DomainError, NotFound
from app.core.identifiers import normalize_mobile
from app.core.permissions import member_required, permission_required
from app.core.web import call_service, page_arg
from app.extensions import db
from app.members.delivery import (
    WAITING_FOR_PROOF,
    DeliveryCustomer,
    DeliveryVehicle,
    record_delivery,
)
from app.members.models import Member, Transmission
from app.members.services import active_colours, get_member_for_staff
from app.referrals import presenters
from app.referrals import services as referrals
from app.referrals.forms import (
    AnswerForm,
    AttemptForm,
    DeliveryForm,
    FinishCallForm,
    LicenceForm,
    ReferFriendForm,
    ReviewForm,
    ShowroomVisitForm,
    StaffReferralForm,
)
from app.referrals.models import ReferralStatus

bp = Blueprint("referrals", __name__)

S = ReferralStatus
# The pre-registration queue the duty manager watches (提前报备).
OPEN_STATES = (S.REGISTERED, S.VISITED)
# record_delivery's field names → the delivery form's.
DELIVERY_FIELDS = {
    "customer.mobile": "mobile",
    "customer.birthday": "birthday",
    "vehicle.vin": "vin",
    "vehicle.plate": "plate",
    "vehicle.colour": "colour",
    "vehicle.transmission": "transmission",
    "vehicle.model": "model",
    "model": "model",
}


@bp.app_template_global()
def referral_status_label(status) -> str:
    """The referral state in the user's language, for templates."""
    return referrals.status_label(ReferralStatus(status))


def _remapped(service, fields: dict[str, str]):
    """``service``, with the fields its errors name renamed to the form's."""

    def run(*args, **kwargs):
        try:
            return service(*args, **kwargs)
        except DomainError as err:
            err.field = fields.get(err.field, err.field)
            raise

    return run


def _flash_refusal(err: DomainError) -> None:
    db.session.rollback()
    flash(str(err.message), "error")


def _colour_choices(value_of) -> list[SelectChoice]:
    locale = str(get_locale())
    return [SelectChoice("", _("Choose a colour"))] + [
        SelectChoice(value_of(c), c.label(locale)) for c in active_colours()
    ]


# ---------------------------------------------------------------------------------- owners


@bp.route("/referrals/new", methods=["GET", "POST"])
@member_required
def refer():
    """Refer a friend before their first visit to the showroom (提前报备)."""
    member = current_user.member
    form = ReferFriendForm()
    if form.validate_on_submit():
        ok, referral = call_service(
            form,
            referrals.register_referral,
            current_user,
            member,
            friend_name=form.friend_name.data,
            friend_mobile=form.friend_mobile.data,
            model_of_interest=form.model_of_interest.data or "",
        )
        if ok:
            flash(
                _(
                    "%(name)s is registered as your referral. Tell them to mention you at the "
                    "showroom.",
                    name=referral.friend_name,
                ),
                "success",
            )
            return redirect(url_for("referrals.mine"))
    return render_template(
        "referrals/refer.html", form=form, member=member, programme=referrals.programme()
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
        is_waiting=referrals.is_waiting,
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


@bp.route("/admin/referrals/new", methods=["GET", "POST"])
@permission_required("referrals.register")
def admin_register():
    """Register a referral for an owner at the friend's first showroom visit."""
    form = StaffReferralForm()
    if form.validate_on_submit():
        try:
            referrer = _find_owner(form.owner.data)
        except DomainError as err:
            form.owner.errors = [*form.owner.errors, err.message]
        else:
            ok, referral = call_service(
                form,
                referrals.register_referral,
                current_user,
                referrer,
                friend_name=form.friend_name.data,
                friend_mobile=form.friend_mobile.data,
                model_of_interest=form.model_of_interest.data or "",
            )
            if ok:
                flash(
                    _(
                        "%(friend)s is registered as a referral of %(owner)s.",
                        friend=referral.friend_name,
                        owner=referrer.name,
                    ),
                    "success",
                )
                return redirect(url_for("referrals.admin_detail", referral_id=referral.id))
    return render_template("referrals/admin_register.html", form=form)


@bp.route("/admin/prospects", methods=["GET", "POST"])
@permission_required("prospects.record")
def admin_prospect():
    """Record a prospect's showroom visit (date, consultant)."""
    form = ShowroomVisitForm()
    consultants = presenters.dealer_consultants(current_user.dealer_id)
    form.consultant_id.choices = [SelectChoice("", _("Not assigned: me"))] + [
        SelectChoice(u.id, u.name) for u in consultants
    ]
    if not form.is_submitted():
        form.visited_on.data = local_date()
        if any(u.id == current_user.id for u in consultants):
            form.consultant_id.data = current_user.id
    if form.validate_on_submit():
        ok, visit = call_service(
            form,
            referrals.record_showroom_visit,
            current_user,
            mobile=form.mobile.data,
            name=form.name.data,
            visited_on=form.visited_on.data,
            consultant_id=form.consultant_id.data,
        )
        if ok:
            flash(
                _(
                    "Visit of %(name)s on %(day)s recorded.",
                    name=visit.name,
                    day=visit.visited_on.isoformat(),
                ),
                "success",
            )
            return redirect(url_for("referrals.admin_prospect"))
    return render_template("referrals/admin_prospect.html", form=form)


def _delivery_message(result) -> str:
    """What staff are told of a recorded delivery: where the car went (R12)."""
    if result.owner_status == WAITING_FOR_PROOF:
        # The account's name may be anyone's until the mobile is proven: not shown.
        return _(
            "Delivery recorded: the %(model)s waits in the club for the buyer, who joins with "
            "a code sent to their mobile number (an invitation is on its way).",
            model=result.vehicle.model,
        )
    if result.name_mismatch:
        return _(
            "Delivery recorded: the %(model)s joined the garage of %(name)s, who owns this "
            "mobile number. The name you gave differs and is on the name checks list.",
            name=result.member.name,
            model=result.vehicle.model,
        )
    return _(
        "Delivery recorded: %(name)s's %(model)s is in the club.",
        name=result.member.name,
        model=result.vehicle.model,
    )


@bp.route("/admin/deliveries", methods=["GET", "POST"])
@permission_required("deliveries.record")
def admin_delivery():
    """Record a delivery: the buyer joins the club (or is matched) and the car is added."""
    form = DeliveryForm()
    form.colour.choices = _colour_choices(lambda c: c.code)
    if not form.is_submitted():
        form.delivered_on.data = local_date()
        form.sales_consultant.data = current_user.name
    if form.validate_on_submit():
        ok, result = call_service(
            form,
            _remapped(record_delivery, DELIVERY_FIELDS),
            dealer_id=current_user.dealer_id,
            delivered_on=form.delivered_on.data,
            sales_consultant=form.sales_consultant.data,
            customer=DeliveryCustomer(
                name=form.name.data,
                mobile=form.mobile.data,
                birthday=form.birthday.data,
                employer=form.employer.data or "",
                home_area=form.home_area.data or "",
            ),
            vehicle=DeliveryVehicle(
                vin=form.vin.data,
                model=form.model.data,
                colour=form.colour.data,
                transmission=Transmission(form.transmission.data),
                plate=form.plate.data or "",
            ),
            actor=current_user,
            source="staff",
        )
        if ok:
            if result.created:
                flash(_delivery_message(result), "success")
            else:
                flash(_("This delivery was already recorded; nothing changed."), "info")
            return redirect(url_for("referrals.admin_delivery"))
    return render_template("referrals/admin_delivery.html", form=form)


@bp.get("/admin/referrals/<int:referral_id>")
@permission_required("referrals.view")
def admin_detail(referral_id: int):
    """Everything about one referral, with its full timeline."""
    referral = _referral_or_404(referral_id)
    timeline = db.session.scalars(audit_query(subject=referral)).all()
    names = presenters.staff_names(
        referral.registered_by_id,
        referral.consultant_id,
        referral.licence_checked_by_id,
        referral.decided_by_id,
        *(a.agent_id for a in referral.attempts),
        *(q.answered_by_id for q in referral.questions),
    )
    return render_template(
        "referrals/admin_detail.html",
        referral=referral,
        timeline=timeline,
        names=names,
        p=presenters,
        waiting=referrals.is_waiting(referral),
        question_text=referrals.question_text,
    )


@bp.route("/admin/referrals/<int:referral_id>/licence", methods=["GET", "POST"])
@permission_required("referrals.licence")
def admin_licence(referral_id: int):
    """The showroom manager compares the referrer's vehicle licence with the club record."""
    referral = _referral_or_404(referral_id)
    form = LicenceForm()
    form.colour_id.choices = _colour_choices(lambda c: c.id)
    if form.validate_on_submit():
        facts = referrals.LicenceFacts(
            plate=form.plate.data or "",
            vin=form.vin.data,
            model=form.model.data,
            colour_id=form.colour_id.data,
        )
        ok, _checked = call_service(form, referrals.check_licence, current_user, referral.id, facts)
        if ok:
            return redirect(url_for("referrals.admin_licence", referral_id=referral.id))
    return render_template(
        "referrals/admin_licence.html", form=form, referral=referral, p=presenters
    )


# -------------------------------------------------------------------------------- callback


def _callback_page(referral, finish_form=None, status: int = 200):
    return (
        render_template(
            "referrals/admin_callback.html",
            referral=referral,
            callee=presenters.callee_member(referral),
            subject=presenters.subject_name(referral),
            p=presenters,
            waiting=referrals.is_waiting(referral),
            unreached=referrals.unreached_attempts(referral),
            question_text=referrals.question_text,
            finish_form=finish_form or FinishCallForm(),
            answer_form=AnswerForm(),
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
        referrals.start_callback(current_user, referral.id)
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
        referrals.record_attempt(current_user, referral.id, reached=form.reached.data == "yes")
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
        referrals.answer_question(
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
            referrals.complete_callback,
            current_user,
            referral.id,
            recording_ref=form.recording_ref.data,
        )
        if ok:
            if done.status == S.FRAUD:
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
        flags=referrals.staff_flags(current_user),
        offence_label=presenters.offence_label,
        funnel_label=presenters.funnel_label,
    )
