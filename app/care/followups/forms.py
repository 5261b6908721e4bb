"""Forms after a visit: the owner's questionnaire and complaint, confirming or reopening a case;
the staff's assignment, notes and resolution; the agent's callback outcome."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, ValidationError

from app.care.followups.complaints import TEXT_MAX
from app.care.followups.surveys import ADVISOR_RATINGS, SCORES
from app.core.dates import format_local_date
from app.core.security import plain_int
from app.service.services import category_label


def _number(value):
    """'7' → 7; anything else → None, which the service refuses with its own message."""
    return value if isinstance(value, int) else plain_int(value)


def _optional_number(value):
    return None if value in (None, "") else _number(value)


def _text(label, *, required: bool, message=None, description=None, rows: int = 4):
    checks = [Length(max=TEXT_MAX, message=_l("At most %(n)s characters, please.", n=TEXT_MAX))]
    if required:
        checks.insert(0, InputRequired(message))
    return TextAreaField(
        label, checks, description=description, render_kw={"rows": rows, "maxlength": TEXT_MAX}
    )


class SurveyForm(FlaskForm):
    """The visit's questionnaire (售后调查问卷): a score, the advisor's rating, a comment."""

    score = RadioField(
        _l("How likely are you to recommend us to a friend?"),
        choices=[SelectChoice(str(n), str(n)) for n in SCORES],
        coerce=_number,
        validate_choice=False,
    )
    advisor_rating = RadioField(
        _l("How was your service advisor?"),
        choices=[
            *(SelectChoice(str(n), str(n)) for n in ADVISOR_RATINGS),
            SelectChoice("", _l("Skip")),
        ],
        coerce=_optional_number,
        validate_choice=False,
        default="",
    )
    comment = _text(
        _l("Anything to tell us? (optional)"),
        required=False,
        description=_l("What went well, what could be better."),
    )

    def to_answer(self) -> dict:
        """The answer as ``answer_survey`` takes it."""
        return {
            "score": self.score.data,
            "advisor_rating": self.advisor_rating.data,
            "comment": self.comment.data or "",
        }


class ComplaintForm(FlaskForm):
    """The owner's complaint: what went wrong, about which visit (or none)."""

    visit_id = SelectField(_l("About"), coerce=_optional_number, validate_choice=False)
    text = _text(
        _l("What went wrong?"),
        required=True,
        message=_l("Tell us what went wrong."),
        rows=6,
    )

    def setup(self, visits, chosen: int | None) -> None:
        """The owner's recent visits to choose from; ``chosen`` preselected (?visit=)."""
        self.visit_id.choices = [
            ("", _l("No particular visit")),
            *(
                (str(v.id), f"{format_local_date(v.visited_on)} · {category_label(v.category)}")
                for v in visits
            ),
        ]
        if not self.is_submitted() and chosen is not None:
            self.visit_id.data = chosen

    def validate_visit_id(self, field) -> None:
        """Something other than a visit's number (or none) is not a choice of this form."""
        sent = (field.raw_data or [""])[0]
        if sent and field.data is None:
            raise ValidationError(_l("Choose one of your visits, or none."))

    def to_complaint(self) -> dict:
        """The complaint as ``raise_complaint`` takes it."""
        return {"text": self.text.data, "visit_id": self.visit_id.data}


class ReopenForm(FlaskForm):
    """The owner says the resolution does not settle it."""

    reason = _text(_l("What is still wrong? (optional)"), required=False, rows=3)


class AssignForm(FlaskForm):
    """Who at the dealer owns the case."""

    assignee_id = SelectField(_l("Assign to"), coerce=_optional_number, validate_choice=False)

    def setup(self, staff, current: int | None) -> None:
        """The dealer's staff who handle complaints; the current assignee preselected."""
        self.assignee_id.choices = [(str(u.id), u.name) for u in staff]
        if not self.is_submitted():
            self.assignee_id.data = current


class NoteForm(FlaskForm):
    """A staff note on the case."""

    body = _text(_l("Note"), required=True, message=_l("Write the note."), rows=3)


class ResolveForm(FlaskForm):
    """What was done for the owner."""

    resolution = _text(
        _l("Resolution"),
        required=True,
        message=_l("Say what was done for the owner."),
        description=_l("The owner reads this and confirms it, or reopens the complaint."),
    )


OUTCOMES = {"satisfied": (True, True), "unsatisfied": (True, False), "unreached": (False, None)}


class FollowupCallForm(FlaskForm):
    """The outcome of an after-visit callback, set by the button the agent taps."""

    outcome = HiddenField(validators=[AnyOf(tuple(OUTCOMES), _l("Choose the call's outcome."))])
    note = StringField(_l("Note"), [Length(max=500)], description=_l("Optional"))

    def to_call(self) -> dict:
        """The call as ``record_followup_call`` takes it."""
        reached, satisfied = OUTCOMES[self.outcome.data]
        return {"reached": reached, "satisfied": satisfied, "note": self.note.data or ""}
