"""Staff forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp


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
