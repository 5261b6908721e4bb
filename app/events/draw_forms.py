"""Forms of the prize draw: a prize, a draw of it, a redraw when a winner is absent."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app.core.forms import VisibleName
from app.events.draws import MAX_QUANTITY, NAME_LENGTH
from app.events.trip_forms import positive, whole_number


class PrizeForm(FlaskForm):
    """A prize of the event's draw."""

    name = StringField(
        _l("Prize"),
        [DataRequired(_l("Name the prize.")), VisibleName(), Length(max=NAME_LENGTH)],
        description=_l("E.g. car care kit, 500 points, a free maintenance."),
    )
    quantity = IntegerField(
        _l("How many"),
        [InputRequired(_l("Enter a number.")), NumberRange(1, MAX_QUANTITY)],
        default=1,
        render_kw={"inputmode": "numeric"},
    )
    repeat_winners = BooleanField(_l("Attendees who already won another prize may win this one"))

    def to_prize(self) -> dict:
        """The prize as ``add_prize`` and ``update_prize`` take it."""
        return {
            "name": self.name.data,
            "quantity": self.quantity.data,
            "repeat_winners": bool(self.repeat_winners.data),
        }


class DrawForm(FlaskForm):
    """Draw winners of one prize: how many, and which round the page showed."""

    count = IntegerField(
        _l("Winners to draw"),
        [InputRequired(_l("Enter a number.")), NumberRange(1, MAX_QUANTITY)],
        render_kw={"inputmode": "numeric"},
    )
    round = HiddenField(filters=[whole_number], validators=[positive])


class RedrawForm(FlaskForm):
    """Draw a prize again: the winner was not there when called."""

    round = HiddenField(filters=[whole_number], validators=[positive])
