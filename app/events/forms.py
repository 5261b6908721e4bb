"""Forms: staff organise an event; an owner signs up."""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.core.forms import MODEL_INPUT, CoverUpload, TwoDecimals, optional_int
from app.core.money import fen_to_decimal, to_fen
from app.events.models import EventKind
from app.events.services import KIND_LABELS

MAX_CAPACITY = 5000
MAX_COMPANIONS = 10
MAX_POINTS = 100_000
MAX_PRICE_YUAN = 100_000


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def to_utc(local: datetime | None) -> datetime | None:
    """A datetime-local value (the dealer's time zone) as UTC."""
    return local.replace(tzinfo=_zone()).astimezone(UTC) if local else None


def to_local(moment: datetime | None) -> datetime | None:
    """A stored UTC moment as a naive local time for a datetime-local input."""
    return moment.astimezone(_zone()).replace(tzinfo=None) if moment else None


def _when(label, required=True, description=None):
    checks = [InputRequired(_l("Choose a date and time."))] if required else [Optional()]
    return DateTimeLocalField(
        label, checks, format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], description=description
    )


REPEAT_CHOICES = (
    SelectChoice(0, _l("Does not repeat")),
    SelectChoice(1, _l("Every week")),
    SelectChoice(2, _l("Every 2 weeks")),
    SelectChoice(3, _l("Every 3 weeks")),
    SelectChoice(4, _l("Every 4 weeks")),
)


class RepeatFields(FlaskForm):
    """A new event's repeat (app/events/series.py): how often, how many or until when."""

    repeat_weeks = SelectField(_l("Repeat"), coerce=int, choices=REPEAT_CHOICES, default=0)
    occurrences = IntegerField(
        _l("Number of events"),
        [Optional()],
        description=_l("The first one included."),
        render_kw={"inputmode": "numeric"},
    )
    repeat_until = DateField(
        _l("Or until (the last date)"),
        [Optional()],
        description=_l("Each event keeps the times above, moved by whole weeks."),
    )

    def repeat(self):
        """The repeat as the series service takes it."""
        from app.events.series import Repeat

        return Repeat(
            every_weeks=self.repeat_weeks.data or 0,
            occurrences=self.occurrences.data,
            until=self.repeat_until.data,
        )


class EventForm(CoverUpload, RepeatFields, FlaskForm):
    """An event of the dealer with its picture; the view fills the tier choices."""

    kind = SelectField(
        _l("Type"), choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()]
    )
    title = StringField(_l("Title"), [DataRequired(_l("Enter a title.")), Length(max=120)])
    description = TextAreaField(_l("Description"), [Length(max=5000)])
    place = StringField(_l("Place"), [DataRequired(_l("Enter the place.")), Length(max=200)])
    starts_at = _when(_l("Starts"))
    ends_at = _when(_l("Ends"))
    registration_opens_at = _when(_l("Registration opens"))
    registration_closes_at = _when(_l("Registration closes"))
    cancel_until = _when(
        _l("Owners may cancel until"),
        required=False,
        description=_l("Leave empty: until registration closes."),
    )
    capacity = IntegerField(
        _l("Places"),
        [InputRequired(_l("Enter a number.")), NumberRange(1, MAX_CAPACITY)],
        description=_l("Cars for a self-drive trip; seats (people) otherwise."),
    )
    max_companions = IntegerField(
        _l("Companions per registration"),
        [InputRequired(_l("Enter a number.")), NumberRange(0, MAX_COMPANIONS)],
        default=0,
        description=_l("Besides the owner, e.g. 2 family members in the car."),
    )
    min_tier_code = SelectField(_l("Minimum tier"), validate_choice=False)
    model_filter = StringField(
        _l("Only for owners of the model (optional)"),
        [Optional(), Length(max=64)],
        render_kw=MODEL_INPUT,
    )
    price_yuan = DecimalField(
        _l("Price (yuan)"),
        [
            InputRequired(_l("Enter a price, 0 for a free event.")),
            TwoDecimals(_l("Use at most two decimals (fen).")),
            NumberRange(0, MAX_PRICE_YUAN),
        ],
        places=2,
        default=Decimal(0),
        description=_l("Paid online by Stripe Checkout when above 0."),
    )
    attendance_points = IntegerField(
        _l("Points for attending"),
        [InputRequired(_l("Enter a number.")), NumberRange(0, MAX_POINTS)],
        default=0,
    )
    deposit_points = IntegerField(
        _l("Points deposit (free events)"),
        [InputRequired(_l("Enter a number.")), NumberRange(0, MAX_POINTS)],
        default=0,
        description=_l("Taken at sign-up and returned at check-in, to cut no-shows."),
    )
    waiver_text = TextAreaField(
        _l("Waiver (self-drive trips)"),
        [Length(max=5000)],
        description=_l("Owners must accept it to join a trip."),
    )
    cover_url = StringField(
        _l("Or the address of an image on this site (optional)"),
        [Optional(), Length(max=500)],
        description=_l("Shown while no picture is uploaded, e.g. /static/img/events/lake.jpg"),
    )
    offer_hours = IntegerField(
        _l("Hours to confirm a place offered from the waiting list"),
        [InputRequired(_l("Enter a number.")), NumberRange(1, 336)],
        default=48,
    )

    def validate_cover_url(self, field):
        """Only images served by this site: the CSP allows no other origin."""
        if field.data and not field.data.startswith("/"):
            from wtforms.validators import ValidationError

            raise ValidationError(_l("Use an image on this site (a path starting with /)."))

    def event_fields(self) -> dict:
        """The form's values as the events service takes them (UTC, fen); a new picture is
        stored now."""
        return {
            "kind": EventKind(self.kind.data),
            "title": self.title.data.strip(),
            "description": (self.description.data or "").strip(),
            "place": self.place.data.strip(),
            "starts_at": to_utc(self.starts_at.data),
            "ends_at": to_utc(self.ends_at.data),
            "registration_opens_at": to_utc(self.registration_opens_at.data),
            "registration_closes_at": to_utc(self.registration_closes_at.data),
            "cancel_until": to_utc(self.cancel_until.data),
            "capacity": self.capacity.data,
            "max_companions": self.max_companions.data,
            "min_tier_code": self.min_tier_code.data or None,
            "model_filter": (self.model_filter.data or "").strip() or None,
            "price_fen": to_fen(self.price_yuan.data),
            "attendance_points": self.attendance_points.data,
            "deposit_points": self.deposit_points.data,
            "waiver_text": (self.waiver_text.data or "").strip(),
            "cover_url": (self.cover_url.data or "").strip() or None,
            "offer_hours": self.offer_hours.data,
            "cover": self.cover_change(),
        }

    def fill_from(self, event) -> None:
        """Show an event's current values."""
        for name in (
            "title",
            "description",
            "place",
            "capacity",
            "max_companions",
            "model_filter",
            "attendance_points",
            "deposit_points",
            "waiver_text",
            "cover_url",
            "offer_hours",
        ):
            getattr(self, name).data = getattr(event, name)
        self.kind.data = event.kind.value
        self.min_tier_code.data = event.min_tier_code or ""
        self.price_yuan.data = fen_to_decimal(event.price_fen)
        for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
            getattr(self, name).data = to_local(getattr(event, name))
        self.cancel_until.data = to_local(event.cancel_until)


class SignUpForm(FlaskForm):
    """An owner's sign-up; the view fills the companion and car choices."""

    companions = SelectField(_l("Companions"), coerce=int, default=0)
    companion_names = StringField(
        _l("Companions' names (optional)"),
        [Optional(), Length(max=200)],
        description=_l("So the organisers know who comes."),
    )
    vehicle_id = SelectField(
        _l("The car you will drive"), coerce=optional_int, validate_choice=False
    )
    accept_waiver = BooleanField(_l("I have read and accept the waiver"))

    def setup(self, event, member) -> None:
        """Companion choices up to the event's limit; the member's cars."""
        self.companions.choices = [SelectChoice(n, str(n)) for n in range(event.max_companions + 1)]
        self.vehicle_id.choices = [
            SelectChoice(v.id, f"{v.model} {v.plate or ''}".strip()) for v in member.vehicles
        ]
