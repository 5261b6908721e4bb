"""Account forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional, Regexp

from app.core.forms import MobileField, VisibleName, optional_int

_password = [
    InputRequired(_l("Enter a password.")),
    Length(8, 128, _l("A password has 8 to 128 characters.")),
]


class ProveMobileForm(FlaskForm):
    """Step one of joining, signing in by code and resetting a password: prove the number."""

    mobile = MobileField(_l("Mobile number"))
    code = StringField(
        _l("Code from the text message"),
        [Optional(), Regexp(r"^\s*\d{6}\s*$", message=_l("The code has 6 digits."))],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 6},
    )
    remember = BooleanField(_l("Keep me logged in on this phone"))


class RegisterDetailsForm(FlaskForm):
    """Step two of joining: who the owner is and which dealer's chapter they join."""

    name = StringField(
        _l("Your name"),
        [DataRequired(_l("Enter your name.")), Length(max=64), VisibleName()],
        render_kw={"autocomplete": "name"},
    )
    password = PasswordField(
        _l("Password (optional: you can always sign in with a code)"),
        [Optional(), Length(8, 128, _l("A password has 8 to 128 characters."))],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        [EqualTo("password", _l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    dealer_id = SelectField(_l("Your dealer"), coerce=optional_int, validate_choice=False)
    privacy = BooleanField(
        _l("I have read and accept the privacy notice."),
        [DataRequired(_l("You must accept the privacy notice to join."))],
    )
    marketing = BooleanField(_l("Send me club news and offers (optional, you can stop any time)."))

    def to_registration(self) -> dict:
        """The new member as ``complete_registration`` takes them (the language is the page's)."""
        return {
            "name": self.name.data,
            "password": self.password.data or None,
            "dealer_id": self.dealer_id.data,
            "marketing_opt_in": self.marketing.data,
        }


class NewPasswordForm(FlaskForm):
    """After proving the number: choose a new password."""

    password = PasswordField(
        _l("New password"), _password, render_kw={"autocomplete": "new-password"}
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        [EqualTo("password", _l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(FlaskForm):
    """Owners and staff log in by mobile number."""

    mobile = MobileField(_l("Mobile number"))
    password = PasswordField(
        _l("Password"),
        [InputRequired(_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Keep me logged in on this phone"))


class ChangePasswordForm(FlaskForm):
    """Replace the password; other sessions are logged out."""

    current_password = PasswordField(
        _l("Current password"),
        [InputRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"), _password, render_kw={"autocomplete": "new-password"}
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        [EqualTo("new_password", _l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class SecondFactorForm(FlaskForm):
    """The 6-digit code of a staff member's authenticator app."""

    code = StringField(
        _l("6-digit code"),
        [InputRequired(_l("Enter the 6 digits your authenticator app shows.")), Length(max=16)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 16},
    )
