"""Register, log in, log out, change password, choose a language."""

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from app.auth import second_factor, services, sessions
from app.auth.forms import ChangePasswordForm, LoginForm, SecondFactorForm
from app.auth.login_limits import login_refusal, record_login_failure
from app.core.permissions import Role
from app.core.qr import qr_svg
from app.core.web import call_service, safe_next, try_service

bp = Blueprint("auth", __name__)


def _home_endpoint(user) -> str:
    """Where a user starts: staff at the desk, partners at their check page, owners at home."""
    if user.is_staff:
        return "admin.dashboard"
    if user.role == Role.PARTNER:
        return "partners.check"
    return "members.home"


def _home_for(user) -> str:
    return url_for(_home_endpoint(user))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Owners and staff log in with their mobile number; dealer admins and HQ add a code."""
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        refusal = login_refusal(form.mobile.data)
        if refusal:
            form.form_errors.append(refusal)
            return render_template("auth/login.html", form=form), 429
        ok, user = call_service(form, services.authenticate, form.mobile.data, form.password.data)
        if not ok:
            record_login_failure(form.mobile.data)
        elif second_factor.is_required(user):
            next_url = safe_next(_home_endpoint(user))
            second_factor.hold_login(user, remember=form.remember.data, next_url=next_url)
            return redirect(url_for("auth.second_factor_page"))
        else:
            sessions.start_session(user, remember=form.remember.data)
            return redirect(safe_next(_home_endpoint(user)))
    return render_template("auth/login.html", form=form)


@bp.route("/login/second-factor", methods=["GET", "POST"])
def second_factor_page():
    """Dealer admins and HQ enter their authenticator code (enrolling the app the first time)."""
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    pending = second_factor.pending_login()
    if pending is None:
        flash(_("Log in again: the sign-in waited too long for its code."), "info")
        return redirect(url_for("auth.login"))
    user, form = pending.user, SecondFactorForm()
    if form.validate_on_submit():
        refusal = login_refusal(user.mobile)
        if refusal:
            form.form_errors.append(refusal)
            return _second_factor_form(user, form), 429
        ok, _result = call_service(form, second_factor.verify_code, user, form.code.data)
        if ok:
            second_factor.drop_pending_login()
            sessions.start_session(user, remember=pending.remember)
            return redirect(pending.next_url)
        record_login_failure(user.mobile)
    return _second_factor_form(user, form)


def _second_factor_form(user, form):
    if second_factor.is_enrolled(user):
        return render_template("auth/second_factor.html", form=form, enrol=None)
    # Again after a refused code (its rollback may have taken a secret made in this request).
    secret = second_factor.begin_enrolment(user)
    enrol = {
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        # Not the cached drawing: the secret should not stay in the process's memory.
        "qr": qr_svg.__wrapped__(second_factor.enrolment_uri(user)),
    }
    return render_template("auth/second_factor.html", form=form, enrol=enrol)


@bp.post("/logout")
def logout():
    """End this device's session on the server (session and remember-me cookies both stop)."""
    sessions.end_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("members.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password; other phones are logged out."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        ok, _result = call_service(
            form,
            services.change_password,
            current_user,
            current=form.current_password.data,
            new=form.new_password.data,
        )
        if ok:
            flash(_("Your password is changed. Other devices are logged out."), "success")
            return redirect(_home_for(current_user))
    return render_template("auth/password.html", form=form)


@bp.get("/account/devices")
@login_required
def devices():
    """The devices signed in to this account, each with a button to log it out."""
    rows = sessions.list_devices(current_user)
    return render_template(
        "auth/devices.html",
        devices=rows,
        current=sessions.current_device(),
        describe=sessions.describe_device,
    )


@bp.post("/account/devices/<int:device_id>/logout")
@login_required
def end_device(device_id: int):
    """Log one device out; logging out this device ends this visit too."""
    row = try_service(sessions.end_device, current_user, device_id)[1]
    if row is sessions.current_device():
        logout_user()
        flash(_("You are logged out."), "info")
        return redirect(url_for("members.home"))
    flash(_("That device is logged out."), "success")
    return redirect(url_for("auth.devices"))


@bp.post("/account/devices/logout-all")
def end_all_devices():
    """Log out everywhere, this device included (like /logout, harmless when logged out)."""
    if current_user.is_authenticated:
        sessions.end_all_sessions(current_user, keep_current=False)
        flash(_("You are logged out on every device."), "info")
    sessions.end_session()
    return redirect(url_for("members.home"))


@bp.get("/lang/<code>")
def set_language(code: str):
    """Switch the interface language and go back."""
    response = redirect(safe_next("members.home"))
    if code in current_app.config["LANGUAGES"]:
        if current_user.is_authenticated:
            # The owner's language is a profile choice: messages (inbox, SMS, e-mail) use it.
            services.set_locale(current_user._get_current_object(), code)
        response.set_cookie(
            "lang",
            code,
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response
