"""Profile, vehicle and chapter forms."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.core.forms import MODEL_INPUT, VisibleName
from app.core.permissions import Role
from app.members.models import Gender, Transmission
from app.members.services import list_dealers, plate_error, vin_error

GENDER_CHOICES = [
    SelectChoice("", _l("Prefer not to say")),
    SelectChoice(Gender.FEMALE.value, _l("Female")),
    SelectChoice(Gender.MALE.value, _l("Male")),
]
TRANSMISSION_LABELS = {
    Transmission.AUTOMATIC: _l("Automatic"),
    Transmission.MANUAL: _l("Manual"),
    Transmission.DUAL_CLUTCH: _l("Dual-clutch (DSG)"),
    Transmission.CVT: _l("CVT"),
    Transmission.SINGLE_SPEED: _l("Single-speed (electric)"),
}


class ProfileForm(FlaskForm):
    """The owner's profile."""

    name = StringField(
        _l("Name"), [DataRequired(_l("Enter your name.")), Length(max=64), VisibleName()]
    )
    birthday = DateField(_l("Birthday"), [Optional()])
    gender = SelectField(_l("Gender"), choices=GENDER_CHOICES)
    occupation = StringField(
        _l("Employer or occupation"), [Length(max=120)], description=_l("e.g. teacher, Huawei")
    )
    home_area = StringField(
        _l("Home area"), [Length(max=120)], description=_l("District or neighbourhood")
    )
    hobbies = StringField(
        _l("Hobbies"), [Length(max=255)], description=_l("Separate with commas: golf, fishing")
    )
    marketing = BooleanField(_l("Send me club news and offers"))
    # Each language in its own script, as owners look for it.
    language = SelectField(
        _l("Language of pages and messages"),
        choices=[SelectChoice("zh", "简体中文"), SelectChoice("en", "English")],
        validate_choice=False,
    )


class VehicleForm(FlaskForm):
    """A car in the owner's garage."""

    def validate_vin(self, field):
        """Check length, letters and check digit as the owner types, before other checks."""
        problem = vin_error(field.data or "")
        if problem:
            raise ValidationError(problem)

    def validate_plate(self, field):
        """Check the mainland plate format."""
        problem = plate_error(field.data or "")
        if problem:
            raise ValidationError(problem)

    vin = StringField(
        _l("VIN (17 characters)"),
        [DataRequired(_l("Enter the VIN from your vehicle licence.")), Length(max=32)],
        render_kw={"autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"},
    )
    plate = StringField(
        _l("Plate"),
        [Length(max=16)],
        description=_l("Optional until the car is registered, e.g. 粤B12345"),
        render_kw={"autocapitalize": "characters", "autocomplete": "off"},
    )
    model = StringField(
        _l("Model"),
        [DataRequired(_l("Enter the model.")), Length(max=64)],
        render_kw=MODEL_INPUT,
    )
    colour_id = SelectField(_l("Colour"), coerce=int, validate_choice=False)
    transmission = SelectField(
        _l("Transmission"),
        choices=[SelectChoice(t.value, label) for t, label in TRANSMISSION_LABELS.items()],
    )
    purchased_on = DateField(_l("Purchase date"), [DataRequired(_l("Enter the purchase date."))])
    delivered_on = DateField(_l("Delivery date"), [Optional()])


class TransferForm(FlaskForm):
    """Ask to move to another dealer's chapter."""

    to_dealer_id = SelectField(_l("New chapter"), coerce=int, validate_choice=False)
    reason = TextAreaField(_l("Why (optional)"), [Length(max=500)])


class DeleteAccountForm(FlaskForm):
    """Confirm "delete my account" with the code sent by SMS."""

    code = StringField(
        _l("Code from the text message"),
        [DataRequired(_l("Enter the 6-digit code.")), Length(max=12)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )
    confirm = BooleanField(
        _l("I understand: my points are forfeited and my account cannot be restored."),
        [DataRequired(_l("Tick the box to confirm."))],
    )


def dealer_label(dealer) -> str:
    """ "Shenzhen Bay Motors (SZ01)"."""
    return f"{dealer.name} ({dealer.code})"


def fill_dealer_choices(field, user, *, new: bool, submitted: bool) -> None:
    """A dealer select scoped to ``user``: HQ picks group-wide or any dealer; dealer staff only
    their own, preselected on a new row."""
    dealers = list_dealers()
    if user.role == Role.HQ_ADMIN:
        field.choices = [SelectChoice("", _("All dealers (group-wide)"))]
    else:
        dealers = [d for d in dealers if d.id == user.dealer_id]
        field.choices = []
        if new and not submitted:
            field.data = user.dealer_id
    field.choices += [SelectChoice(d.id, dealer_label(d)) for d in dealers]
