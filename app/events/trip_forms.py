"""Forms of a trip's plan: a stop of the route, the convoy's lead and tail, fixing the
numbers."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, StopValidation

from app.core.forms import VisibleName
from app.core.security import plain_int
from app.events.forms import _when, to_local, to_utc
from app.events.trips import ADDRESS_LENGTH, CONVOY_NOTE_LENGTH, NAME_LENGTH, NOTE_LENGTH


class StopForm(FlaskForm):
    """A stop (or a road taken) on the route, typed on the phone."""

    name = StringField(
        _l("Stop"),
        [DataRequired(_l("Name the stop.")), VisibleName(), Length(max=NAME_LENGTH)],
        description=_l("A place, or a road the convoy takes, e.g. 青岛路."),
    )
    address = StringField(_l("Address (optional)"), [Length(max=ADDRESS_LENGTH)])
    planned_at = _when(
        _l("Planned time (optional)"),
        required=False,
        description=_l("When the convoy should be there."),
    )
    note = StringField(
        _l("Note (optional)"),
        [Length(max=NOTE_LENGTH)],
        description=_l("E.g. fill up here; lunch; photos at the gate."),
    )

    def load(self, stop) -> None:
        """Show a stop's fields, to change it."""
        self.name.data, self.address.data, self.note.data = stop.name, stop.address, stop.note
        self.planned_at.data = to_local(stop.planned_at)

    def to_stop(self) -> dict:
        """The stop as ``add_stop`` and ``update_stop`` take it."""
        return {
            "name": self.name.data,
            "address": self.address.data or "",
            "planned_at": to_utc(self.planned_at.data),
            "note": self.note.data or "",
        }


def sent(form, field) -> None:
    """The select was on the page that was sent (its empty choice means "not chosen yet")."""
    if not field.raw_data:
        raise StopValidation(_l("Choose a car, or “Not chosen yet”."))


class ConvoyForm(FlaskForm):
    """Who leads the convoy and who closes it: a staff car or an attendee's car."""

    lead = SelectField(_l("Lead car"), [sent], validate_choice=False)
    lead_note = StringField(
        _l("Lead car: what attendees look for"),
        [Length(max=CONVOY_NOTE_LENGTH)],
        description=_l("Car, plate and a phone, e.g. white SUV 鲁B·88888, Mr Wang 13800001111."),
    )
    tail = SelectField(_l("Tail car"), [sent], validate_choice=False)
    tail_note = StringField(
        _l("Tail car: what attendees look for"),
        [Length(max=CONVOY_NOTE_LENGTH)],
        description=_l("The tail car waits for anyone who falls behind."),
    )

    def setup(self, choices: list[tuple[str, str]]) -> None:
        """Offer the dealer's staff and the trip's confirmed cars (the service checks them)."""
        self.lead.choices = self.tail.choices = choices

    def to_convoy(self) -> dict:
        """The convoy as ``set_convoy`` takes it."""
        return {
            "lead": self.lead.data or "",
            "lead_note": self.lead_note.data or "",
            "tail": self.tail.data or "",
            "tail_note": self.tail_note.data or "",
        }


def whole_number(value):
    """A hidden field's '12' → 12; anything else → None (refused by ``positive``)."""
    return value if isinstance(value, int) or value is None else plain_int(value)


def positive(form, field) -> None:
    """A hidden count or round the page rendered: a whole number from 0, else the page is
    stale or forged."""
    if field.data is None or not 0 <= field.data <= 1_000_000:
        raise StopValidation(_l("This form is not valid. Reload the page."))


class FixNumbersForm(FlaskForm):
    """Fix the numbers of the cars the page listed (``expected`` of them)."""

    expected = HiddenField(filters=[whole_number], validators=[positive])
