"""Trip day and lecture forms: the car's safety check, the evaluation, an answer."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from app.core.security import plain_int
from app.events.lectures import MAX_ANSWER_LENGTH, MAX_COMMENTS_LENGTH, MAX_QUESTION_LENGTH
from app.events.tripday import SAFETY_ITEM_LABELS

OK, NOT_OK = "ok", "not_ok"


def _item(name: str) -> RadioField:
    # Each item is marked one way or the other: an unticked box could mean "not looked at".
    return RadioField(
        SAFETY_ITEM_LABELS[name],
        [InputRequired(_l("Mark this item OK or not OK."))],
        choices=[SelectChoice(OK, _l("OK")), SelectChoice(NOT_OK, _l("Not OK"))],
    )


class SafetyCheckForm(FlaskForm):
    """The five items checked before departure (seed 002: 安全检查), and notes."""

    tyres = _item("tyres")
    lights = _item("lights")
    brakes = _item("brakes")
    fluids = _item("fluids")
    fuel = _item("fuel")
    notes = TextAreaField(
        _l("Notes"),
        [Length(max=500)],
        description=_l("What is wrong and what the owner was told, e.g. rear left tyre worn."),
        render_kw={"rows": 3},
    )

    ITEMS = ("tyres", "lights", "brakes", "fluids", "fuel")

    def items(self):
        """The item fields, in the order they are checked."""
        return [self[name] for name in self.ITEMS]

    def results(self) -> dict[str, bool]:
        """``tyres_ok=True``... for the service."""
        return {f"{name}_ok": self[name].data == OK for name in self.ITEMS}

    def load(self, check) -> None:
        """Show an earlier check's results and notes, to redo it."""
        for name in self.ITEMS:
            self[name].data = OK if getattr(check, f"{name}_ok") else NOT_OK
        self.notes.data = check.notes

    def to_check(self) -> dict:
        """The check as ``record_safety_check`` takes it."""
        return {"notes": self.notes.data, **self.results()}


def _rating(value):
    """'4' → 4; anything else → None, which the service refuses with its own message."""
    return value if isinstance(value, int) else plain_int(value)


class EvaluationForm(FlaskForm):
    """The lecture's evaluation form (讲堂测评表): a rating, comments, up to three questions."""

    rating = RadioField(
        _l("How useful was the lecture?"),
        choices=[SelectChoice(str(n), str(n)) for n in range(1, 6)],
        coerce=_rating,
        validate_choice=False,
    )
    comments = TextAreaField(
        _l("Comments (optional)"),
        [Length(max=MAX_COMMENTS_LENGTH)],
        description=_l("What you liked, what could be better."),
        render_kw={"rows": 3},
    )
    question_1 = TextAreaField(
        _l("Question 1 (optional)"), [Length(max=MAX_QUESTION_LENGTH)], render_kw={"rows": 2}
    )
    question_2 = TextAreaField(
        _l("Question 2 (optional)"), [Length(max=MAX_QUESTION_LENGTH)], render_kw={"rows": 2}
    )
    question_3 = TextAreaField(
        _l("Question 3 (optional)"), [Length(max=MAX_QUESTION_LENGTH)], render_kw={"rows": 2}
    )

    def questions(self) -> list[str]:
        """The questions typed in, as given."""
        return [self.question_1.data, self.question_2.data, self.question_3.data]

    def to_evaluation(self) -> dict:
        """The evaluation as ``submit_evaluation`` takes it."""
        return {
            "rating": self.rating.data,
            "comments": self.comments.data,
            "questions": self.questions(),
        }


class AnswerForm(FlaskForm):
    """Staff answer an owner's question."""

    answer = TextAreaField(
        _l("Answer"),
        [Length(max=MAX_ANSWER_LENGTH)],
        render_kw={"rows": 3},
    )
