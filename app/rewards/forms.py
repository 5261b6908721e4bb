"""Reward catalog and voucher forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from app.core.forms import CoverUpload, optional_int
from app.rewards.services import (
    KIND_LABELS,
    MAX_COST_POINTS,
    MAX_STOCK,
    MAX_VALIDITY_DAYS,
)


class RewardForm(CoverUpload, FlaskForm):
    """A reward of the catalog with its picture; the view fills the tier and dealer choices."""

    name = StringField(_l("Name"), [DataRequired(_l("Enter a name.")), Length(max=120)])
    description = TextAreaField(
        _l("Description"),
        [Length(max=2000)],
        description=_l("What the owner gets, and any conditions."),
    )
    kind = SelectField(
        _l("Kind"), choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()]
    )
    cost_points = IntegerField(
        _l("Cost in points"),
        [InputRequired(_l("Enter a number.")), NumberRange(1, MAX_COST_POINTS)],
    )
    stock = IntegerField(
        _l("Stock"), [InputRequired(_l("Enter a number.")), NumberRange(0, MAX_STOCK)]
    )
    # The stock shown when the form was opened: a save never silently undoes redemptions.
    stock_seen = IntegerField(widget=HiddenInput(), validators=[Optional()])
    min_tier_code = SelectField(_l("Minimum tier"), validate_choice=False)
    validity_days = IntegerField(
        _l("Valid for (days)"),
        [InputRequired(_l("Enter a number.")), NumberRange(1, MAX_VALIDITY_DAYS)],
        default=90,
        description=_l("How long a voucher can be used after it is issued."),
    )
    image_url = StringField(
        _l("Or the address of an image on this site (optional)"),
        [Optional(), Length(max=500)],
        description=_l("Shown while no picture is uploaded, e.g. /static/img/rewards/wash.png"),
    )
    active = BooleanField(_l("Offered to owners"), default=True)
    dealer_id = SelectField(_l("Dealer"), coerce=optional_int, validate_choice=False)

    def to_reward(self) -> dict:
        """The reward as ``save_reward`` takes it; a new picture is stored now."""
        names = (
            "name",
            "description",
            "kind",
            "cost_points",
            "stock",
            "stock_seen",
            "min_tier_code",
            "validity_days",
            "image_url",
            "active",
            "dealer_id",
        )
        return {**{name: self[name].data for name in names}, "cover": self.cover_change()}


class VoucherRedeemForm(FlaskForm):
    """Staff paste the scanned QR text or type the voucher code."""

    code = TextAreaField(
        _l("QR text or voucher code"),
        [DataRequired(_l("Scan or type a code.")), Length(max=400)],
        render_kw={"rows": 3, "autocomplete": "off", "spellcheck": "false", "autofocus": True},
    )
