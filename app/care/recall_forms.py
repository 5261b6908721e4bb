"""Forms of issue 20's care pages: a call's outcome, the reasons list, local plates, a corrected
number, an owner's new number."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from app.care.outcomes import OUTCOME_LABELS, CallReport, Outcome
from app.care.reasons import reason_label
from app.core.forms import MobileField, TwoDecimals, optional_int
from app.core.money import to_fen
from app.service.forms import SlotPick, slot_pick_choices


class OutcomeForm(SlotPick):
    """What one call came to; the reason when the owner is not coming; a service time to book
    with "booked"."""

    outcome = RadioField(
        _l("Outcome"),
        [DataRequired(_l("Choose what the call came to."))],
        choices=[SelectChoice(o.value, label) for o, label in OUTCOME_LABELS.items()],
    )
    reason_id = SelectField(_l("Why not"), [Optional()], coerce=optional_int, validate_choice=True)
    reason_text = StringField(
        _l("The reason in the owner's words"),
        [Length(max=200)],
        description=_l("Needed for \u201cOther\u201d."),
    )
    workshop_name = StringField(
        _l("Which workshop"), [Length(max=120)], description=_l("When they went elsewhere.")
    )
    workshop_location = StringField(_l("Where it is"), [Length(max=120)])
    workshop_price = DecimalField(
        _l("What they paid there (¥)"),
        [Optional(), TwoDecimals(), NumberRange(min=0, max=100_000)],
        render_kw={"inputmode": "decimal"},
    )
    note = StringField(_l("Note"), [Length(max=500)], description=_l("Optional"))

    @classmethod
    def for_task(cls, reasons, slots) -> "OutcomeForm":
        """The form with the reasons the task's dealer offers and the free times to book."""
        form = cls()
        form.reason_id.choices = [SelectChoice("", _l("Choose a reason"))] + [
            SelectChoice(r.id, reason_label(r)) for r in reasons
        ]
        form.slot_id.choices = slot_pick_choices(slots)
        form.slot_id.description = _l(
            "With “%(outcome)s”: the owner is told and can cancel.",
            outcome=OUTCOME_LABELS[Outcome.BOOKED],
        )
        return form

    def to_report(self) -> CallReport:
        """The answers as ``record_outcome`` takes them."""
        price = self.workshop_price.data
        return CallReport(
            outcome=Outcome(self.outcome.data),
            reason_id=self.reason_id.data,
            reason_text=self.reason_text.data or "",
            workshop_name=self.workshop_name.data or "",
            workshop_location=self.workshop_location.data or "",
            workshop_price_fen=to_fen(price) if price is not None else None,
            note=self.note.data or "",
            slot_id=self.slot_id.data,
        )


class ReasonForm(FlaskForm):
    """A reason of the managed list."""

    label_zh = StringField(_l("Name in Chinese"), [Length(max=80)])
    label_en = StringField(_l("Name in English"), [Length(max=80)])
    position = IntegerField(
        _l("Place in the list"), [Optional(), NumberRange(0, 10_000)], default=100
    )
    needs_text = BooleanField(_l("The agent writes the reason out (\u201cOther\u201d)"))
    asks_workshop = BooleanField(_l("Ask which workshop, where, and what it cost"))
    active = BooleanField(_l("Agents can pick it"), default=True)

    def to_values(self) -> dict:
        """The answers as ``save_reason`` takes them."""
        return {
            "label_en": self.label_en.data or "",
            "label_zh": self.label_zh.data or "",
            "position": self.position.data if self.position.data is not None else 100,
            "active": self.active.data,
            "needs_text": self.needs_text.data,
            "asks_workshop": self.asks_workshop.data,
        }


class LocalPlatesForm(FlaskForm):
    """The plate prefixes local to the dealer."""

    prefixes = StringField(
        _l("Local plates"),
        [Length(max=120)],
        description=_l("Plate prefixes, separated by commas, e.g. 粤B, 粤S. Empty: your city's."),
    )


class CorrectMobileForm(FlaskForm):
    """Staff enter the owner's right number."""

    mobile = MobileField(_l("The owner's right mobile number"))


class NewMobileForm(FlaskForm):
    """An owner proves the number they use now."""

    mobile = MobileField(_l("The mobile number you use now"))
    code = StringField(
        _l("Code from the text message"),
        [Optional(), Regexp(r"^\s*\d{6}\s*$", message=_l("The code has 6 digits."))],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 6},
    )
