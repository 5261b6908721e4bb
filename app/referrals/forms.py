"""Referral forms: the owner's "refer a friend", and the staff screens of R6."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length

from app.core.clock import local_date
from app.core.forms import MODEL_INPUT, VisibleName, optional_int
from app.members.forms import colour_choices
from app.referrals.services import LicenceFacts

_MOBILE_KW = {"inputmode": "tel", "autocomplete": "off"}


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

    def to_referral(self) -> dict:
        """The friend as ``register_referral`` takes them."""
        return {
            "friend_name": self.friend_name.data,
            "friend_mobile": self.friend_mobile.data,
            "model_of_interest": self.model_of_interest.data or "",
        }


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

    def setup(self, consultants, staff) -> None:
        """The dealer's consultants; on a new form, today and ``staff`` if a consultant."""
        self.consultant_id.choices = [SelectChoice("", _l("Not assigned: me"))] + [
            SelectChoice(u.id, u.name) for u in consultants
        ]
        if not self.is_submitted():
            self.visited_on.data = local_date()
            if any(u.id == staff.id for u in consultants):
                self.consultant_id.data = staff.id

    def to_visit(self) -> dict:
        """The visit as ``record_showroom_visit`` takes it."""
        return {
            "mobile": self.mobile.data,
            "name": self.name.data,
            "visited_on": self.visited_on.data,
            "consultant_id": self.consultant_id.data,
        }


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

    def setup(self) -> None:
        """The colours to choose from."""
        self.colour_id.choices = colour_choices(lambda c: c.id)

    def to_facts(self) -> LicenceFacts:
        """What the licence says, as ``check_licence`` takes it."""
        return LicenceFacts(
            plate=self.plate.data or "",
            vin=self.vin.data,
            model=self.model.data,
            colour_id=self.colour_id.data,
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
