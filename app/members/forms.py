"""Profile, vehicle, chapter and delivery forms."""

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.core.clock import local_date
from app.core.forms import MODEL_INPUT, VisibleName, optional_int
from app.core.permissions import Role
from app.members.delivery import DeliveryCustomer, DeliveryVehicle
from app.members.models import Gender, Transmission
from app.members.services import active_colours, list_dealers, plate_error, vin_error

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


def colour_choices(value_of) -> list[SelectChoice]:
    """The active colours in the user's language after "Choose a colour"; ``value_of(colour)``
    is what the field posts (its code or its id)."""
    locale = str(get_locale())
    return [SelectChoice("", _l("Choose a colour"))] + [
        SelectChoice(value_of(c), c.label(locale)) for c in active_colours()
    ]


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

    def load(self, member, locale: str) -> None:
        """Fill the fields the member's columns do not (``obj=`` fills the others)."""
        self.gender.data = member.gender.value if member.gender else ""
        self.marketing.data = member.marketing_opt_in
        self.language.data = locale

    def to_profile(self) -> dict:
        """The profile as ``update_profile`` takes it."""
        return {
            "name": self.name.data,
            "birthday": self.birthday.data,
            "gender": Gender(self.gender.data) if self.gender.data else None,
            "occupation": self.occupation.data or "",
            "home_area": self.home_area.data or "",
            "hobbies": self.hobbies.data or "",
            "marketing_opt_in": self.marketing.data,
            "locale": self.language.data,
        }


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
    colour_id = SelectField(_l("Colour"), coerce=optional_int, validate_choice=False)
    transmission = SelectField(
        _l("Transmission"),
        choices=[SelectChoice(t.value, label) for t, label in TRANSMISSION_LABELS.items()],
    )
    purchased_on = DateField(_l("Purchase date"), [DataRequired(_l("Enter the purchase date."))])
    delivered_on = DateField(_l("Delivery date"), [Optional()])


class TransferForm(FlaskForm):
    """Ask to move to another dealer's chapter."""

    to_dealer_id = SelectField(_l("New chapter"), coerce=optional_int, validate_choice=False)
    reason = TextAreaField(_l("Why (optional)"), [Length(max=500)])

    def setup(self, member, dealers) -> None:
        """Offer every chapter but the member's own."""
        self.to_dealer_id.choices = [
            SelectChoice(d.id, dealer_label(d)) for d in dealers if d.id != member.dealer_id
        ]

    def to_transfer(self) -> dict:
        """The request as ``request_transfer`` takes it."""
        return {"to_dealer_id": self.to_dealer_id.data, "reason": self.reason.data or ""}


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


class DeliveryForm(FlaskForm):
    """A delivered car: the buyer is enrolled (or matched by mobile) and the car added."""

    name = StringField(
        _l("Customer's name"),
        [DataRequired(_l("Enter the customer's name.")), Length(max=64), VisibleName()],
    )
    mobile = StringField(
        _l("Customer's mobile number"),
        [DataRequired(_l("Enter the customer's mobile number.")), Length(max=20)],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
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

    def setup(self, staff) -> None:
        """The colours; on a new form, today and the staff member as the consultant."""
        self.colour.choices = colour_choices(lambda c: c.code)
        if not self.is_submitted():
            self.delivered_on.data = local_date()
            self.sales_consultant.data = staff.name

    def to_delivery(self) -> dict:
        """The delivery as ``record_delivery`` takes it."""
        return {
            "delivered_on": self.delivered_on.data,
            "sales_consultant": self.sales_consultant.data,
            "customer": DeliveryCustomer(
                name=self.name.data,
                mobile=self.mobile.data,
                birthday=self.birthday.data,
                employer=self.employer.data or "",
                home_area=self.home_area.data or "",
            ),
            "vehicle": DeliveryVehicle(
                vin=self.vin.data,
                model=self.model.data,
                colour=self.colour.data,
                transmission=Transmission(self.transmission.data),
                plate=self.plate.data or "",
            ),
        }
