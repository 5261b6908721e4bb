"""Staff forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from app.core.forms import VisibleName
from app.loyalty.services import TierSetting


class ColourForm(FlaskForm):
    """A colour of the managed list."""

    code = StringField(
        _l("Code"),
        [
            DataRequired(_l("Enter a code.")),
            Length(max=32),
            Regexp(r"^[a-zA-Z0-9_-]+$", message=_l("Use letters, digits, - and _ only.")),
        ],
    )
    name_en = StringField(
        _l("Name in English"), [DataRequired(_l("Enter a name.")), Length(max=64)]
    )
    name_zh = StringField(
        _l("Name in Chinese"), [DataRequired(_l("Enter a name.")), Length(max=64)]
    )
    confusion_group = StringField(
        _l("Confusion group"),
        [
            Optional(),
            Length(max=32),
            Regexp(r"^[a-zA-Z0-9_-]*$", message=_l("Use letters, digits, - and _ only.")),
        ],
        description=_l("Colours with the same group are easily mistaken for each other."),
    )
    active = BooleanField(_l("Owners can choose it"), default=True)


class CarModelForm(FlaskForm):
    """A model of the managed list."""

    name = StringField(
        _l("Model"),
        [
            DataRequired(_l("Enter the model's name.")),
            Length(max=64, message=_l("Enter at most %(max)s characters.")),
            VisibleName(_l("Enter a model name with visible letters.")),
        ],
        description=_l("Cars already recorded keep the name they were recorded with."),
    )
    family = StringField(
        _l("Family"),
        [
            DataRequired(_l("Enter the family, e.g. Golf for Golf GTI.")),
            Length(max=64, message=_l("Enter at most %(max)s characters.")),
            VisibleName(_l("Enter a family with visible letters.")),
        ],
        description=_l(
            "Models of one family are variants of one car: a callback never names one of them "
            "as the wrong model for another."
        ),
    )
    active = BooleanField(
        _l("In use"),
        default=True,
        description=_l(
            "Models in use are suggested where staff type a car's model and may be named in "
            "a callback; the family counts either way."
        ),
    )


def tier_form_class(tiers):
    """A form with a threshold and a multiplier field for each tier."""

    class TierForm(FlaskForm):
        effective_from = DateField(
            _l("Applies from"),
            [DataRequired(_l("Choose the day the change applies."))],
            description=_l("Members are told in advance; the change applies on this day."),
        )
        note = TextAreaField(
            _l("What changes (shown to members)"),
            [DataRequired(_l("Say what changes.")), Length(max=500)],
        )

        def to_settings(self) -> list:
            """Each tier's threshold and multiplier as typed."""
            return [
                TierSetting(
                    t.code, self[f"{t.code}_threshold"].data, self[f"{t.code}_multiplier"].data
                )
                for t in tiers
            ]

    for tier in tiers:
        setattr(
            TierForm,
            f"{tier.code}_threshold",
            IntegerField(
                _l("Qualifying points"),
                [InputRequired(_l("Enter a number.")), NumberRange(0, 10_000_000)],
                default=tier.threshold_points,
            ),
        )
        setattr(
            TierForm,
            f"{tier.code}_multiplier",
            IntegerField(
                _l("Earning multiplier (%)"),
                [InputRequired(_l("Enter a number.")), NumberRange(100, 1000)],
                default=tier.multiplier_pct,
            ),
        )
    return TierForm
