"""Appointment forms: owners book or move a time; advisors open times, set capacity and the
reward a kept booking earns."""

from datetime import time

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.core.dates import format_local_datetime
from app.core.forms import TwoDecimals, optional_int
from app.core.money import fen_to_decimal, to_fen
from app.service.appointments import NOTE_LENGTH, car_label, format_when
from app.service.models import DEFAULT_REWARD_MIN_SPEND_FEN
from app.service.workshop import MAX_CAPACITY, MAX_EVERY_MINUTES, MIN_EVERY_MINUTES


def slot_choices(slots) -> list[SelectChoice]:
    """Radio choices for free times: "09:30 · 2 places left"."""
    return [
        SelectChoice(
            str(slot.id),
            "{} · {}".format(
                format_local_datetime(slot.starts_at, "HH:mm"),
                ngettext("%(num)d place left", "%(num)d places left", slot.capacity - slot.booked),
            ),
        )
        for slot in slots
    ]


def slot_pick_choices(slots) -> list[SelectChoice]:
    """Select choices over several days: "Tue, Nov 24 09:30 · 2 places", after "none" (short:
    a closed select shows one line, 360 px wide on a small phone)."""
    return [SelectChoice("", _l("No time booked"))] + [
        SelectChoice(
            str(slot.id),
            "{} · {}".format(
                format_when(slot.starts_at),
                ngettext("%(num)d place", "%(num)d places", slot.capacity - slot.booked),
            ),
        )
        for slot in slots
    ]


class SlotPick(FlaskForm):
    """A time to book for the owner while on the phone (a campaign call, a care task): a form
    mixin; the view fills the choices with ``slot_pick_choices(free_slots_ahead(member))``."""

    slot_id = SelectField(
        _l("Book a service time"),
        coerce=optional_int,
        validate_choice=False,  # the service says why a time cannot be booked
        description=_l("With “Booked”: the owner is told and can cancel."),
    )


class _SlotChoice(FlaskForm):
    slot_id = RadioField(
        _l("Time"),
        [InputRequired(_l("Choose a time."))],
        coerce=optional_int,  # a number beyond an id is no choice, not a crash
        validate_choice=False,  # the service says why a time cannot be booked
        invalid_value_message=_l("Choose a time."),
    )


class BookingForm(_SlotChoice):
    """A car and a free time; the view fills both lists."""

    vehicle_id = SelectField(
        _l("Car"),
        [InputRequired(_l("Choose your car."))],
        coerce=optional_int,  # a number beyond an id is no choice, not a crash
        validate_choice=False,
        invalid_value_message=_l("Choose your car."),
    )
    note = TextAreaField(
        _l("Anything the workshop should know (optional)"),
        [Length(max=NOTE_LENGTH)],
        render_kw={"rows": 3},
    )

    def setup(self, member, slots) -> None:
        """The member's cars and the free times of the chosen day."""
        self.vehicle_id.choices = [SelectChoice(str(v.id), car_label(v)) for v in member.vehicles]
        self.slot_id.choices = slot_choices(slots)

    def to_booking(self) -> dict:
        """The booking as ``book_appointment`` takes it."""
        return {
            "slot_id": self.slot_id.data,
            "vehicle_id": self.vehicle_id.data,
            "note": self.note.data or "",
        }


class ChangeForm(_SlotChoice):
    """Another free time for a booking."""

    def setup(self, slots) -> None:
        """The free times of the chosen day."""
        self.slot_id.choices = slot_choices(slots)


class SlotsForm(FlaskForm):
    """Open a day's times: from the first to the last, every so many minutes."""

    day = DateField(_l("Day"), [InputRequired(_l("Choose a day."))])
    first = TimeField(_l("First time"), [InputRequired(_l("Give a time."))], default=time(9))
    last = TimeField(
        _l("Last time"),
        [InputRequired(_l("Give a time."))],
        description=_l("The last time a car can be booked for; it is included."),
        default=time(16, 30),
    )
    every_minutes = IntegerField(
        _l("Every (minutes)"),
        [
            InputRequired(_l("Enter a number.")),
            NumberRange(MIN_EVERY_MINUTES, MAX_EVERY_MINUTES),
        ],
        default=30,
    )
    capacity = IntegerField(
        _l("Cars per time"),
        [InputRequired(_l("Enter a number.")), NumberRange(1, MAX_CAPACITY)],
        default=2,
    )

    def to_slots(self) -> dict:
        """The times as ``add_slots`` takes them."""
        names = ("day", "first", "last", "every_minutes", "capacity")
        return {name: self[name].data for name in names}


class CapacityForm(FlaskForm):
    """How many cars one time takes."""

    capacity = IntegerField(
        _l("Cars"), [InputRequired(_l("Enter a number.")), NumberRange(1, MAX_CAPACITY)]
    )


class SettingsForm(FlaskForm):
    """The reward a kept booking earns; the view fills the choices."""

    kept_reward_id = SelectField(
        _l("A kept appointment earns"),
        coerce=optional_int,
        validate_choice=False,
        description=_l("Given once when you mark the booking kept, e.g. a labour-hour voucher."),
    )
    # 整体消费满100送20工时卷 (seed 002): the day's spend the reward takes.
    reward_min_spend = DecimalField(
        _l("When the visit's total reaches (yuan)"),
        [Optional(), TwoDecimals(), NumberRange(min=0)],
        places=2,
        render_kw={"inputmode": "decimal"},
        description=_l(
            "The car's repair orders on the booking's day, added up. 0: no visit needed."
        ),
    )

    def load(self, settings) -> None:
        """Show the saved settings (or the defaults) before the first submit."""
        if settings is not None:
            self.kept_reward_id.data = settings.kept_reward_id
            self.reward_min_spend.data = fen_to_decimal(settings.reward_min_spend_fen)
        else:
            self.reward_min_spend.data = fen_to_decimal(DEFAULT_REWARD_MIN_SPEND_FEN)

    def to_settings(self) -> dict:
        """The settings as ``save_appointment_settings`` takes them."""
        return {
            "kept_reward_id": self.kept_reward_id.data,
            # Left empty: the threshold stays as it is.
            "reward_min_spend_fen": None
            if self.reward_min_spend.data is None
            else to_fen(self.reward_min_spend.data),
        }
