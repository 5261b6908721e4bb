"""Referral forms: the owner's "refer a friend", and the staff screens of R6."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange

from app.core.clock import local_date
from app.core.forms import MODEL_INPUT, VisibleName, optional_int
from app.loyalty.forms import tier_choices
from app.members.forms import colour_choices
from app.referrals.models import IdentityKind
from app.referrals.services import LicenceFacts
from app.referrals.terms import MAX_POINTS, MAX_YEARLY_CAP, TermsValues, voucher_choices

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
    id_number = StringField(
        _l("ID number on the referrer's ID card (optional)"),
        [Length(max=32)],
        description=_l("Staff cannot be rewarded referrers: the number is compared with staff's."),
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
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
            id_number=self.id_number.data or "",
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


def _points_field(label):
    return IntegerField(
        label,
        [
            InputRequired(_l("Enter a number of points.")),
            NumberRange(0, MAX_POINTS, _l("Enter between 0 and %(max)s points.", max=MAX_POINTS)),
        ],
        render_kw={"inputmode": "numeric"},
    )


class TermsForm(FlaskForm):
    """A new version of the referral terms, announced ahead of its date."""

    effective_from = DateField(_l("Takes effect on"), [DataRequired(_l("Choose a date."))])
    referrer_points = _points_field(_l("Points for the referrer"))
    friend_points = _points_field(_l("Points for the new owner"))
    yearly_cap = IntegerField(
        _l("Rewarded referrals per referrer per year"),
        [
            InputRequired(_l("Enter the yearly limit.")),
            NumberRange(
                1,
                MAX_YEARLY_CAP,
                _l("Enter a yearly limit between 1 and %(max)s.", max=MAX_YEARLY_CAP),
            ),
        ],
        render_kw={"inputmode": "numeric"},
    )
    referrer_reward_id = SelectField(
        _l("Voucher for the referrer"), coerce=optional_int, validate_choice=True
    )
    friend_reward_id = SelectField(
        _l("Voucher for the new owner"), coerce=optional_int, validate_choice=True
    )
    bonus_reward_id = SelectField(
        _l("Bonus voucher for the referrer"),
        coerce=optional_int,
        description=_l(
            "A referrer of the chosen tier or higher also gets it (¥100 of fuel at launch)."
        ),
    )
    bonus_min_tier = SelectField(_l("Bonus from this tier up"))
    note = TextAreaField(
        _l("What changes (shown to members)"),
        [DataRequired(_l("Say what changes, for the announcement.")), Length(max=500)],
        render_kw={"rows": 3},
    )

    def setup(self) -> None:
        """The group's vouchers and the tiers to choose from."""
        none = [SelectChoice("", _l("None"))]
        vouchers = none + [SelectChoice(i, name) for i, name in voucher_choices()]
        for name in ("referrer_reward_id", "friend_reward_id", "bonus_reward_id"):
            self[name].choices = vouchers
        self.bonus_min_tier.choices = tier_choices(_l("Choose…"))

    def fill(self, terms) -> None:
        """Start from the version in force (a new date and note to write)."""
        for name in TermsValues.__dataclass_fields__:
            if name not in ("effective_from", "note"):
                self[name].data = getattr(terms, name)

    def to_values(self) -> TermsValues:
        """The new version as ``schedule_terms`` takes it."""
        return TermsValues(
            **{name: self[name].data for name in TermsValues.__dataclass_fields__}
            | {"bonus_min_tier": self.bonus_min_tier.data or None, "note": self.note.data or ""}
        )


class StaffReviewForm(FlaskForm):
    """A manager decides whether the referrer who matched staff is staff (R6.6)."""

    decision = SelectField(
        _l("Decision"),
        [DataRequired(_l("Choose a decision."))],
        choices=[
            SelectChoice("", _l("Choose…")),
            SelectChoice("not_staff", _l("Not staff: the referral goes on")),
            SelectChoice("staff", _l("Staff: no reward for this referral")),
        ],
    )
    reason = TextAreaField(
        _l("Reason"), [DataRequired(_l("Say why.")), Length(max=1000)], render_kw={"rows": 3}
    )


class StaffIdentityForm(FlaskForm):
    """A staff member's other mobile number or ID number, for the register."""

    staff_mobile = StringField(
        _l("The staff member's login mobile number"),
        [DataRequired(_l("Enter the staff member's login mobile number.")), Length(max=20)],
        render_kw=_MOBILE_KW,
    )
    kind = SelectField(
        _l("What to record"),
        [DataRequired(_l("Choose what you record."))],
        choices=[
            SelectChoice(IdentityKind.MOBILE.value, _l("Another mobile number")),
            SelectChoice(IdentityKind.ID_NUMBER.value, _l("ID number")),
        ],
    )
    value = StringField(
        _l("Number"),
        [DataRequired(_l("Enter the number.")), Length(max=32)],
        description=_l("An ID number is kept only as a fingerprint and its last four characters."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
