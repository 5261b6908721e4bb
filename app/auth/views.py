"""Register, log in, log out, change password, choose a language."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import services
from app.auth.forms import ChangePasswordForm, LoginForm
from app.core.permissions import Role
from app.core.web import call_service, safe_next
from app.extensions import limiter

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


def _login_key() -> str:
    return (request.form.get("mobile") or "").strip()[-11:] or request.remote_addr or "-"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], key_func=_login_key
)
def login():
    """Owners and staff log in with their mobile number."""
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        ok, user = call_service(form, services.authenticate, form.mobile.data, form.password.data)
        if ok:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(_home_endpoint(user)))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    """End the session (and forget the remember-me cookie)."""
    logout_user()
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
            # The session version changed: log in again on this phone only.
            login_user(current_user._get_current_object())
            flash(_("Your password is changed. Other devices are logged out."), "success")
            return redirect(_home_for(current_user))
    return render_template("auth/password.html", form=form)


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
