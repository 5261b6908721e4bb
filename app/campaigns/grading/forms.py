"""Forms of ABC grading: grade an owner, log a care contact, the care standards per grade."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from app.core.forms import optional_int


class GradeForm(FlaskForm):
    """Grade A/B/C, the responsible consultant and why; the rules are the service's."""

    grade = SelectField(
        _l("Grade"),
        [InputRequired(_l("Choose grade A, B or C."))],
        choices=[SelectChoice("", _l("Choose…"))] + [SelectChoice(g, g) for g in ("A", "B", "C")],
    )
    consultant_id = SelectField(_l("Responsible consultant"), coerce=optional_int)
    reason = StringField(
        _l("Reason"),
        [InputRequired(_l("Say in a few words why this grade.")), Length(max=200)],
        description=_l("E.g. referred two friends; services here every time."),
    )


class ContactForm(FlaskForm):
    """A care contact: reached or not (the button tapped), when, a note."""

    # Set by the button the consultant taps: "yes" or "no".
    reached = HiddenField(validators=[AnyOf(("yes", "no"), _l("Choose reached or not reached."))])
    contacted_on = DateField(
        _l("Day of the contact"), [Optional()], description=_l("Today if empty.")
    )
    note = StringField(_l("Note"), [Length(max=500)], description=_l("Optional"))


class StandardsForm(FlaskForm):
    """Contact interval and care per grade."""

    a_days = IntegerField(
        _l("Grade A: contact every (days)"), [InputRequired(_l("Enter the interval in days."))]
    )
    a_description = StringField(_l("Grade A: care"), [Length(max=300)])
    b_days = IntegerField(
        _l("Grade B: contact every (days)"), [InputRequired(_l("Enter the interval in days."))]
    )
    b_description = StringField(_l("Grade B: care"), [Length(max=300)])
    c_days = IntegerField(
        _l("Grade C: contact every (days)"), [InputRequired(_l("Enter the interval in days."))]
    )
    c_description = StringField(_l("Grade C: care"), [Length(max=300)])

    def fill(self, standards) -> None:
        """Show the standards in force."""
        for grade, standard in standards.items():
            key = grade.value.lower()
            getattr(self, f"{key}_days").data = standard.interval_days
            getattr(self, f"{key}_description").data = standard.description

    def values(self) -> dict[str, tuple[int, str]]:
        """{"A": (days, care), …} for the service."""
        return {
            g: (
                getattr(self, f"{g.lower()}_days").data,
                getattr(self, f"{g.lower()}_description").data,
            )
            for g in ("A", "B", "C")
        }
