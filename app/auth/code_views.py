"""Join, sign in and reset a password with an SMS code; prove the number of an old account.

Each starts the same way: the owner types the number, gets a code, types it back
(``_prove``). The proof is kept in the signed session for ``PROOF_TTL``; what follows depends
on the account holding the number (see ``app.auth.registration``).
"""

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth import codes, registration, second_factor, sessions
from app.auth.forms import NewPasswordForm, ProveMobileForm
from app.auth.views import _home_for, bp
from app.core.clock import utcnow
from app.core.errors import DomainError
from app.core.identifiers import mask_mobile, normalize_mobile
from app.core.permissions import Role
from app.core.web import call_service
from app.extensions import db, limiter

PROOF_TTL = timedelta(minutes=15)

# Where an owner whose number is not proven yet may still go.
_OPEN_TO_UNPROVEN = frozenset(
    {
        "static",
        "favicon",
        "auth.prove_own_mobile",
        "auth.logout",
        "auth.set_language",
        "auth.privacy_notice",
    }
)


def _unless(action: str):
    return lambda: request.form.get("action") != action


def _mobile_key() -> str:
    return normalize_mobile(request.form.get("mobile", "")) or request.remote_addr or "-"


# Per address: sending codes and checking them. Per number: checking them (the service limits
# how many codes a number gets).
_send_limit = limiter.shared_limit(
    lambda: current_app.config["SMS_SEND_RATE_LIMIT"],
    "sms-send",
    methods=["POST"],
    exempt_when=_unless("send"),
)
_verify_limit = limiter.shared_limit(
    lambda: current_app.config["CODE_VERIFY_RATE_LIMIT"],
    "sms-verify",
    methods=["POST"],
    exempt_when=_unless("verify"),
)
_verify_mobile_limit = limiter.shared_limit(
    lambda: current_app.config["CODE_VERIFY_RATE_LIMIT"],
    "sms-verify-mobile",
    key_func=_mobile_key,
    methods=["POST"],
    exempt_when=_unless("verify"),
)


def proven_mobile() -> str | None:
    proof = session.get("proof")
    if not isinstance(proof, dict):
        return None
    at = proof.get("at")
    if not isinstance(at, int | float) or utcnow().timestamp() - at > PROOF_TTL.total_seconds():
        session.pop("proof", None)
        return None
    return normalize_mobile(str(proof.get("mobile", "")))


def sign_in(user, *, remember: bool = False, then: str | None = None):
    """Start the device's session and go on; admins first give their second factor."""
    then = then or _home_for(user)
    if second_factor.is_required(user):
        second_factor.hold_login(user, remember=remember, next_url=then)
        return redirect(url_for("auth.second_factor_page"))
    sessions.start_session(user, remember=remember)
    return redirect(then)


MODES = {
    "join": {
        "title": lambda: _("Join the club"),
        "lead": lambda: _("First prove your mobile number: we text you a code."),
    },
    "signin": {
        "title": lambda: _("Sign in with a code"),
        "lead": lambda: _("We text a code to your mobile number. No password needed."),
    },
    "reset": {
        "title": lambda: _("Forgot your password?"),
        "lead": lambda: _("Prove your mobile number with a code, then choose a new password."),
    },
}


def _prove(mode: str):
    """Step one: send a code to the number, then check it."""
    if current_user.is_authenticated and mode != "reset":
        return redirect(_home_for(current_user))
    if request.args.get("change"):
        session.pop("code_to", None)
    form = ProveMobileForm()
    sent_to = session.get("code_to")
    if form.validate_on_submit():
        if request.form.get("action") == "send":
            mobile = _send_code(form)
            if mobile:
                session["code_to"] = mobile
                flash(
                    _(
                        "We sent a code to %(mobile)s. It is valid for 5 minutes.",
                        mobile=mask_mobile(mobile),
                    ),
                    "info",
                )
                return redirect(request.path)
            sent_to = session.get("code_to")
        else:
            # The code step stays on screen with its message, whatever the session says.
            sent_to = sent_to or form.mobile.data
            proven = _check_code(form, form.mobile.data, codes.verify_code)
            if proven:
                return _after_proof(mode, proven, remember=form.remember.data)
    if sent_to:
        form.mobile.data = form.mobile.data or sent_to
        form.mobile.render_kw = {**(form.mobile.render_kw or {}), "readonly": True}
    return render_template(
        "auth/prove.html",
        form=form,
        mode=mode,
        title=MODES[mode]["title"](),
        lead=MODES[mode]["lead"](),
        sent_to=sent_to,
    )


def _send_code(form) -> str | None:
    """Text a code to the form's number; the number, or None with the reason on the form.

    A code sent less than a minute ago (from this phone or another) is still good: the owner
    is taken to the code step with the wait shown, rather than stopped.
    """
    try:
        return codes.send_code(form.mobile.data, codes.SIGN_IN, locale=str(get_locale()))
    except DomainError as err:
        db.session.rollback()
        if err.code == "resend_wait":
            session["code_to"] = form.mobile.data
            form.code.errors = [err.message]
        else:
            form.mobile.errors = [*form.mobile.errors, err.message]
        return None


def _check_code(form, mobile: str, verify) -> str | None:
    """The proven number when the form's code is right; else the error is on the form."""
    if not (form.code.data or "").strip():
        form.code.errors = [_("Enter the code from the text message.")]
        return None
    ok, proven = call_service(form, verify, mobile, codes.SIGN_IN, form.code.data)
    return proven if ok else None


def _after_proof(mode: str, mobile: str, *, remember: bool):
    session.pop("code_to", None)
    session["proof"] = {"mobile": mobile, "at": int(utcnow().timestamp())}
    user = registration.account_for_proven_mobile(mobile)
    if user is None or registration.is_waiting(user):
        return redirect(url_for("members.register_details"))
    if mode == "reset":
        return redirect(url_for("auth.reset_password"))
    session.pop("proof", None)
    if user.role != Role.MEMBER:
        flash(_("Staff accounts sign in with their password."), "error")
        return redirect(url_for("auth.login"))
    registration.signed_in_by_code(user)
    if mode == "join":
        flash(_("This number already has an account: you are signed in."), "info")
    return sign_in(user, remember=remember)


@bp.route("/register", methods=["GET", "POST"])
@_send_limit
@_verify_limit
@_verify_mobile_limit
def register():
    """An owner joins the club: step one proves the mobile number."""
    return _prove("join")


@bp.route("/login/code", methods=["GET", "POST"])
@_send_limit
@_verify_limit
@_verify_mobile_limit
def code_login():
    """An owner signs in with a code sent to their mobile."""
    return _prove("signin")


@bp.route("/password/forgot", methods=["GET", "POST"])
@_send_limit
@_verify_limit
@_verify_mobile_limit
def forgot_password():
    """Step one of a password reset: prove the number."""
    return _prove("reset")


@bp.route("/password/reset", methods=["GET", "POST"])
def reset_password():
    """Step two of a reset: the new password; every other device is logged out."""
    mobile = proven_mobile()
    if mobile is None:
        flash(_("Prove your mobile number first: it takes a minute."), "info")
        return redirect(url_for("auth.forgot_password"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        ok, user = call_service(form, registration.reset_password, mobile, form.password.data)
        if ok:
            session.pop("proof", None)
            flash(_("Your password is changed. Other devices are logged out."), "success")
            return sign_in(user)
    return render_template("auth/reset.html", form=form, mobile=mobile)


@bp.route("/account/verify-mobile", methods=["GET", "POST"])
@login_required
@_send_limit
@_verify_limit
def prove_own_mobile():
    """An owner whose number was never proven proves it before using the club."""
    user = current_user._get_current_object()
    if user.role != Role.MEMBER or user.mobile_verified_at is not None:
        return redirect(_home_for(user))
    form = ProveMobileForm(data={"mobile": user.mobile})
    form.mobile.data = user.mobile
    if form.validate_on_submit():
        if request.form.get("action") == "send":
            ok, _mobile = call_service(form, codes.send_code, user.mobile, codes.SIGN_IN)
            if ok:
                flash(_("We sent a code to %(mobile)s.", mobile=mask_mobile(user.mobile)), "info")
                return redirect(request.path)
        elif _check_code(form, user.mobile, codes.verify_code):
            registration.prove_own_mobile(user)
            flash(_("Thank you: your mobile number is confirmed."), "success")
            return redirect(_home_for(user))
    return render_template("auth/verify_mobile.html", form=form)


@bp.get("/privacy")
@bp.get("/privacy/<version>")
def privacy_notice(version: str | None = None):
    """The privacy notice owners accept: the current version, or an earlier one by name."""
    version = version or current_app.config["PRIVACY_NOTICE_VERSION"]
    # Every version ever accepted stays readable: one template each in auth/privacy/.
    versions = sorted(
        (
            name.removeprefix("auth/privacy/").removesuffix(".html")
            for name in current_app.jinja_env.list_templates()
            if name.startswith("auth/privacy/")
        ),
        reverse=True,
    )
    if version not in versions:
        abort(404)
    return render_template(
        f"auth/privacy/{version}.html",
        version=version,
        current=version == current_app.config["PRIVACY_NOTICE_VERSION"],
        versions=versions,
    )


@bp.before_app_request
def keep_unproven_owners_out():
    """An owner's account whose number nobody proved shows nothing until it is proven."""
    if request.endpoint in _OPEN_TO_UNPROVEN or request.blueprint == "api":
        return None
    if not current_user.is_authenticated:
        return None
    if current_user.role == Role.MEMBER and current_user.mobile_verified_at is None:
        return redirect(url_for("auth.prove_own_mobile"))
    return None
