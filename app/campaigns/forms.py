"""The HQ form for the C3 thresholds."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField
from wtforms.validators import InputRequired, ValidationError


class ThresholdsForm(FlaskForm):
    """Period and the three thresholds; their ranges are the segments service's rule."""

    period_months = IntegerField(
        _l("Period (months)"), [InputRequired(_l("Enter the period in months."))]
    )
    maintenance_visits = IntegerField(
        _l("Maintenance visits in the period (high from)"),
        [InputRequired(_l("Enter the number of maintenance visits."))],
    )
    spend_yuan = DecimalField(
        _l("Spend in the period, ¥ (high from)"),
        [InputRequired(_l("Enter the spend in yuan."))],
        places=2,
        render_kw={"inputmode": "decimal"},
    )
    repair_ratio_pct = IntegerField(
        _l("Repair ratio in percent of visits (high from)"),
        [InputRequired(_l("Enter the repair ratio in percent."))],
    )

    def validate_spend_yuan(self, field):
        """Yuan and fen only: no third decimal."""
        if field.data is not None and field.data.as_tuple().exponent < -2:
            raise ValidationError(_l("Use at most two decimals (fen)."))

    def fen_of_spend(self) -> int:
        """The spend threshold in fen."""
        return int(self.spend_yuan.data * 100)

    def fill(self, thresholds) -> None:
        """Show ``thresholds`` in the form."""
        self.period_months.data = thresholds.period_months
        self.maintenance_visits.data = thresholds.maintenance_visits
        self.spend_yuan.data = Decimal(thresholds.spend_fen) / 100
        self.repair_ratio_pct.data = thresholds.repair_ratio_pct
