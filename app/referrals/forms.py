"""Referral forms: the owner's "refer a friend", and the staff screens of R6."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional

from app.core.forms import MODEL_INPUT, VisibleName
from app.members.forms import TRANSMISSION_LABELS

_MOBILE_KW = {"inputmode": "tel", "autocomplete": "off"}


def optional_int(value):
    """'' (none chosen) → None, else the number."""
    if value in ("", None):
        return None
    return int(value)


class ReferFriendForm(FlaskForm):
    """The owner (or a consultant for them) names the friend before the first visit."""

    friend_name = StringField(
        _l("Your friend's name"),
        [DataRequired(_l("Enter your friend's name.")), Length(max=64), VisibleName()],
    )
    friend_mobile = StringField(
        _l("Your friend's mobile number"),
        [DataRequired(_l("Enter your friend's mobile number.")), Length(max=20)],
        render_kw=_MOBILE_KW,
    )
    model_of_interest = StringField(
        _l("Model of interest (optional)"),
        [Length(max=64)],
        description=_l("e.g. Golf, Tiguan L"),
        render_kw=MODEL_INPUT,
    )


class StaffReferralForm(ReferFriendForm):
    """A consultant registers the referral for an owner found by card number or mobile."""

    owner = StringField(
        _l("Referrer's card number or mobile number"),
        [DataRequired(_l("Enter the referrer's card number or mobile number.")), Length(max=32)],
        render_kw={"autocomplete": "off", "inputmode": "numeric"},
    )


class ShowroomVisitForm(FlaskForm):
    """A prospect came to the showroom."""

    mobile = StringField(
        _l("Mobile number"),
        [DataRequired(_l("Enter the visitor's mobile number.")), Length(max=20)],
        render_kw=_MOBILE_KW,
    )
    name = StringField(
        _l("Name"), [DataRequired(_l("Enter the visitor's name.")), Length(max=64), VisibleName()]
    )
    visited_on = DateField(_l("Date of the visit"), [DataRequired(_l("Enter the date."))])
    consultant_id = SelectField(_l("Sales consultant"), coerce=optional_int)


class DeliveryForm(FlaskForm):
    """A delivered car: the buyer is enrolled (or matched by mobile) and the car added."""

    name = StringField(
        _l("Customer's name"),
        [DataRequired(_l("Enter the customer's name.")), Length(max=64), VisibleName()],
    )
    mobile = StringField(
        _l("Customer's mobile number"),
        [DataRequired(_l("Enter the customer's mobile number.")), Length(max=20)],
        render_kw=_MOBILE_KW,
    )
    birthday = DateField(_l("Birthday (optional)"), [Optional()])
    employer = StringField(_l("Employer or occupation (optional)"), [Length(max=120)])
    home_area = StringField(_l("Home area (optional)"), [Length(max=120)])
    vin = StringField(
        _l("VIN (17 characters)"),
        [DataRequired(_l("Enter the VIN.")), Length(max=32)],
        render_kw={"autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"},
    )
    plate = StringField(
        _l("Plate (optional)"),
        [Length(max=16)],
        render_kw={"autocapitalize": "characters", "autocomplete": "off"},
    )
    model = StringField(
        _l("Model"),
        [DataRequired(_l("Enter the model.")), Length(max=64)],
        render_kw=MODEL_INPUT,
    )
    colour = SelectField(_l("Colour"), [DataRequired(_l("Choose a colour."))])
    transmission = SelectField(
        _l("Transmission"),
        choices=[SelectChoice(t.value, label) for t, label in TRANSMISSION_LABELS.items()],
    )
    delivered_on = DateField(_l("Delivery date"), [DataRequired(_l("Enter the delivery date."))])
    sales_consultant = StringField(
        _l("Sales consultant"), [DataRequired(_l("Enter the consultant's name.")), Length(max=64)]
    )


class LicenceForm(FlaskForm):
    """What the referrer's vehicle licence (行驶证) says."""

    plate = StringField(
        _l("Plate"),
        [Length(max=16)],
        render_kw={"autocapitalize": "characters", "autocomplete": "off"},
    )
    vin = StringField(
        _l("VIN"),
        [DataRequired(_l("Enter the VIN on the licence.")), Length(max=32)],
        render_kw={"autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"},
    )
    model = StringField(
        _l("Model"),
        [DataRequired(_l("Enter the model on the licence.")), Length(max=64)],
        render_kw=MODEL_INPUT,
    )
    colour_id = SelectField(
        _l("Colour"), [InputRequired(_l("Choose a colour."))], coerce=optional_int
    )


class AnswerForm(FlaskForm):
    """One tap: the callee's answer was right or wrong."""

    answer = HiddenField(validators=[AnyOf(("right", "wrong"), _l("Choose right or wrong."))])


class AttemptForm(FlaskForm):
    """One call: reached or not."""

    reached = HiddenField(validators=[AnyOf(("yes", "no"), _l("Choose reached or not reached."))])


class FinishCallForm(FlaskForm):
    """The call recording reference closes the callback."""

    recording_ref = StringField(
        _l("Call recording reference"),
        [DataRequired(_l("Attach the call recording reference.")), Length(max=128)],
        render_kw={"autocomplete": "off"},
    )


class ReviewForm(FlaskForm):
    """A manager decides a referral the callback could not check."""

    decision = SelectField(
        _l("Decision"),
        [DataRequired(_l("Choose a decision."))],
        choices=[
            SelectChoice("", _l("Choose…")),
            SelectChoice("approve", _l("Approve: reward both owners")),
            SelectChoice("fraud", _l("Fraud: no reward, staff involved are flagged")),
        ],
    )
    reason = TextAreaField(
        _l("Reason"), [DataRequired(_l("Say why.")), Length(max=1000)], render_kw={"rows": 3}
    )
