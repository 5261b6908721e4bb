"""Contact quality (issue 20): the staff's list of numbers to correct, and the owner's page to
prove the number they use now (app/care/contact.py)."""

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.auth import codes
from app.care import contact
from app.care.recall_forms import CorrectMobileForm, NewMobileForm
from app.care.views import bp
from app.core.errors import NotFound
from app.core.idempotency import once
from app.core.identifiers import mask_mobile
from app.core.permissions import Role, member_required, permission_required
from app.core.web import call_service, page_arg
from app.extensions import db, limiter
from app.members.models import Member
from app.members.scope import dealer_choices, scope_arg

# Where an owner asked for a working number may still go before answering.
_OPEN_WHILE_ASKED = frozenset(
    {"static", "favicon", "care.new_mobile", "auth.logout", "auth.set_language"}
)
_SENT_TO = "care_new_mobile_to"

# The same per-address limits as the sign-in codes (app/auth/code_views.py), in the same scopes.
_send_limit = limiter.shared_limit(
    lambda: current_app.config["SMS_SEND_RATE_LIMIT"],
    "sms-send",
    methods=["POST"],
    exempt_when=lambda: request.form.get("action") != "send",
)
_verify_limit = limiter.shared_limit(
    lambda: current_app.config["CODE_VERIFY_RATE_LIMIT"],
    "sms-verify",
    methods=["POST"],
    exempt_when=lambda: request.form.get("action") != "verify",
)


@bp.before_app_request
def ask_for_a_working_number():
    """An owner whose number was found dead answers first (once per sign-in; "not now" lets
    them through)."""
    if not session.get(contact.ASK_SESSION_KEY) or request.endpoint in _OPEN_WHILE_ASKED:
        return None
    if request.blueprint == "api" or not current_user.is_authenticated:
        return None
    if current_user.role != Role.MEMBER:
        session.pop(contact.ASK_SESSION_KEY, None)
        return None
    return redirect(url_for("care.new_mobile"))


# ------------------------------------------------------------------------------- staff


@bp.get("/admin/care/corrections")
@permission_required("care.contacts")
def admin_corrections():
    """Owners whose number a call found dead or wrong, oldest first."""
    scope = scope_arg()
    page = db.paginate(
        contact.corrections_query(current_user, scope),
        page=page_arg(),
        per_page=current_app.config["MEMBERS_PER_PAGE"],
        error_out=False,
    )
    return render_template(
        "care/corrections.html",
        page=page,
        rows=contact.with_owners(page.items),
        dealers=dealer_choices(current_user),
        dealer_id=scope,
    )


def _correction_or_404(correction_id: int):
    try:
        return contact.get_correction_for_staff(current_user, correction_id)
    except NotFound:
        abort(404)


@bp.route("/admin/care/corrections/<int:correction_id>", methods=["GET", "POST"])
@permission_required("care.contacts")
@once("care.correct_mobile")
def admin_correction(correction_id: int):
    """Enter the owner's right number (the entry closes; the owner is told)."""
    row = _correction_or_404(correction_id)
    form = CorrectMobileForm()
    if row.status == contact.CorrectionStatus.OPEN and form.validate_on_submit():
        ok, _row = call_service(
            form, contact.correct_mobile, current_user, row.id, form.mobile.data
        )
        if ok:
            flash(_("Number corrected: the owner confirms it by code."), "success")
            return redirect(url_for("care.admin_corrections"))
    status = 422 if form.errors or form.form_errors else 200
    member = db.session.get(Member, row.member_id)
    return render_template("care/correction.html", row=row, member=member, form=form), status


# ------------------------------------------------------------------------------- owners


@bp.route("/me/mobile", methods=["GET", "POST"])
@member_required
@_send_limit
@_verify_limit
def new_mobile():
    """The owner proves the number they use now with a code; "not now" asks again next time."""
    user = current_user._get_current_object()
    if contact.open_correction_of(user.member.id) is None:
        session.pop(contact.ASK_SESSION_KEY, None)
        return redirect(url_for("members.home"))
    form, action = NewMobileForm(), request.form.get("action")
    if action == "later":  # the CSRF check has passed: nothing else to check
        session.pop(contact.ASK_SESSION_KEY, None)
        return redirect(url_for("members.home"))
    if form.validate_on_submit():
        done = _send(form) if action == "send" else _verify(user, form)
        if done:
            return done
    sent_to = session.get(_SENT_TO)
    form.mobile.data = form.mobile.data or sent_to
    return render_template("care/new_mobile.html", form=form, sent_to=sent_to), 200


def _send(form):
    ok, mobile = call_service(
        form, codes.send_code, form.mobile.data, codes.NEW_MOBILE, locale=str(get_locale())
    )
    if not ok:
        return None
    session[_SENT_TO] = mobile
    flash(_("We sent a code to %(mobile)s.", mobile=mask_mobile(mobile)), "info")
    return redirect(url_for("care.new_mobile"))


def _verify(user, form):
    mobile = session.get(_SENT_TO) or form.mobile.data
    if not (form.code.data or "").strip():
        form.code.errors = [_("Enter the code from the text message.")]
        return None
    ok, proven = call_service(form, codes.verify_code, mobile, codes.NEW_MOBILE, form.code.data)
    if not ok or not call_service(form, contact.prove_new_mobile, user, proven)[0]:
        return None
    session.pop(_SENT_TO, None)
    session.pop(contact.ASK_SESSION_KEY, None)
    flash(_("Thank you: your mobile number is up to date."), "success")
    return redirect(url_for("members.home"))
