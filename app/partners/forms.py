"""Forms: partners, perks and partner logins (staff); checking a perk code (partners)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.core.forms import CoverUpload, MobileField, VisibleName, optional_int
from app.partners.services import CATEGORY_LABELS, MAX_LIMIT


class PartnerForm(FlaskForm):
    """A partner business; the view fills the dealer choices."""

    name = StringField(_l("Name"), [DataRequired(_l("Enter a name.")), Length(max=120)])
    category = SelectField(
        _l("Category"),
        choices=[SelectChoice(code, label) for code, label in CATEGORY_LABELS.items()],
    )
    address = StringField(_l("Address"), [Length(max=255)])
    logo_url = StringField(
        _l("Logo (optional)"),
        [Optional(), Length(max=500)],
        description=_l("An image on this site, e.g. /static/img/partners/hotel.png"),
    )
    active = BooleanField(_l("Active: its perks are offered to owners"), default=True)
    dealer_id = SelectField(_l("Dealer"), coerce=optional_int, validate_choice=False)

    def to_partner(self) -> dict:
        """The partner as ``save_partner`` takes it."""
        names = ("name", "category", "address", "logo_url", "active", "dealer_id")
        return {name: self[name].data for name in names}


class PerkForm(CoverUpload, FlaskForm):
    """A perk of a partner with its picture; the view fills the tier choices."""

    title = StringField(_l("Title"), [DataRequired(_l("Enter a title.")), Length(max=120)])
    description = TextAreaField(
        _l("Description"),
        [Length(max=2000)],
        description=_l("What the owner gets, and any conditions."),
    )
    min_tier_code = SelectField(_l("Minimum tier"), validate_choice=False)
    valid_from = DateField(_l("First day"), [InputRequired(_l("Choose a date."))])
    valid_until = DateField(
        _l("Last day"),
        [InputRequired(_l("Choose a date."))],
        description=_l("Claimed codes can be used until this day."),
    )
    limit_per_member = IntegerField(
        _l("Claims per member"),
        [InputRequired(_l("Enter a number.")), NumberRange(1, MAX_LIMIT)],
        default=1,
    )
    total_limit = IntegerField(
        _l("Claims in total (optional)"),
        [Optional(), NumberRange(1, MAX_LIMIT)],
        description=_l("Leave empty for no limit."),
    )
    active = BooleanField(_l("Offered to owners"), default=True)

    def to_perk(self) -> dict:
        """The perk as ``save_perk`` takes it; a new picture is stored now."""
        names = (
            "title",
            "description",
            "min_tier_code",
            "valid_from",
            "valid_until",
            "limit_per_member",
            "total_limit",
            "active",
        )
        return {**{name: self[name].data for name in names}, "cover": self.cover_change()}


class PartnerUserForm(FlaskForm):
    """A login for someone at the partner."""

    name = StringField(
        _l("Name"),
        [DataRequired(_l("Enter a name.")), Length(max=64), VisibleName()],
        render_kw={"autocomplete": "off"},
    )
    mobile = MobileField(_l("Mobile number"))
    password = PasswordField(
        _l("Password"),
        [
            InputRequired(_l("Enter a password.")),
            Length(8, 128, _l("A password has 8 to 128 characters.")),
        ],
        render_kw={"autocomplete": "new-password"},
        description=_l("Tell them the password; they can change it after logging in."),
    )

    def to_user(self) -> dict:
        """The login as ``create_partner_user`` takes it."""
        return {name: self[name].data for name in ("mobile", "name", "password")}


class PerkCheckForm(FlaskForm):
    """The partner pastes the scanned QR text or types the perk code."""

    code = TextAreaField(
        _l("QR text or perk code"),
        [DataRequired(_l("Scan or type a code.")), Length(max=400)],
        render_kw={"rows": 3, "autocomplete": "off", "spellcheck": "false", "autofocus": True},
    )
