"""Staff forms for visits, points adjustments and earning rules."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
)

from app.core.forms import TwoDecimals
from app.core.money import to_fen
from app.service.services import CATEGORY_LABELS


class VisitForm(FlaskForm):
    """A repair order, as the service advisor types it."""

    ro_number = StringField(
        _l("Repair order number"),
        [DataRequired(_l("Enter the repair order number.")), Length(max=32)],
    )
    vin = StringField(
        _l("VIN"),
        [DataRequired(_l("Enter the car's VIN.")), Length(max=32)],
        render_kw={"autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"},
    )
    visited_on = DateField(_l("Visit date"), [DataRequired(_l("Enter the visit date."))])
    mileage_km = IntegerField(
        _l("Mileage (km)"), [InputRequired(_l("Enter the mileage.")), NumberRange(0, 2_000_000)]
    )
    amount_yuan = DecimalField(
        _l("Paid by the owner (¥)"),
        [
            InputRequired(_l("Enter the amount paid by the owner.")),
            TwoDecimals(_l("Use at most two decimals (fen).")),
            NumberRange(Decimal("0.01"), Decimal("1000000"), _l("Between ¥0.01 and ¥1,000,000.")),
        ],
        places=2,
        render_kw={"inputmode": "decimal"},
    )
    category = SelectField(
        _l("Category"),
        choices=[SelectChoice(c.value, label) for c, label in CATEGORY_LABELS.items()],
    )

    def to_visit(self) -> dict:
        """The repair order's figures as the visit services take them (the amount in fen)."""
        return {
            "vin": self.vin.data,
            "visited_on": self.visited_on.data,
            "mileage_km": self.mileage_km.data,
            "amount_fen": to_fen(self.amount_yuan.data),
            "category": self.category.data,
        }


class AmendVisitForm(VisitForm):
    """A recorded repair order's corrected figures, and why (the RO number stays)."""

    reason = StringField(
        _l("Why is it corrected?"),
        [DataRequired(_l("Say why the repair order is corrected.")), Length(max=200)],
    )

    def to_visit(self) -> dict:
        return {**super().to_visit(), "reason": self.reason.data}


class AdjustmentForm(FlaskForm):
    """Goodwill points (negative to correct a mistake)."""

    points = IntegerField(
        _l("Points (negative to take back)"),
        [InputRequired(_l("Enter a number of points.")), NumberRange(-100_000, 100_000)],
    )
    reason = TextAreaField(
        _l("Reason (the owner sees it)"), [DataRequired(_l("Say why.")), Length(max=500)]
    )


class RulesForm(FlaskForm):
    """A new version of the earning rules."""

    effective_from = DateField(_l("Takes effect on"), [DataRequired(_l("Choose a date."))])
    maintenance_rate = IntegerField(
        _l("Maintenance: points per ¥100"), [InputRequired(), NumberRange(0, 10_000)]
    )
    repair_rate = IntegerField(
        _l("Repair: points per ¥100"), [InputRequired(), NumberRange(0, 10_000)]
    )
    accident_rate = IntegerField(
        _l("Accident repair: points per ¥100"), [InputRequired(), NumberRange(0, 10_000)]
    )
    other_rate = IntegerField(
        _l("Other: points per ¥100"), [InputRequired(), NumberRange(0, 10_000)]
    )
    anniversary_multiplier_pct = IntegerField(
        _l("Anniversary month multiplier (%)"), [InputRequired(), NumberRange(100, 1000)]
    )
    points_worth_one_yuan = IntegerField(
        _l("Points worth ¥1"), [InputRequired(), NumberRange(1, 100_000)]
    )
    note = TextAreaField(_l("What changes (shown to members)"), [DataRequired(), Length(max=500)])

    VALUES = (
        "effective_from",
        "maintenance_rate",
        "repair_rate",
        "accident_rate",
        "other_rate",
        "anniversary_multiplier_pct",
        "points_worth_one_yuan",
        "note",
    )

    def values(self) -> dict:
        """The new version's values, as ``schedule_rules`` takes them."""
        return {name: self[name].data for name in self.VALUES}
