"""The C3 thresholds' form (HQ)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField
from wtforms.validators import InputRequired

from app.core.forms import TwoDecimals
from app.core.money import fen_to_decimal, to_fen


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
        [
            InputRequired(_l("Enter the spend in yuan.")),
            TwoDecimals(_l("Use at most two decimals (fen).")),
        ],
        places=2,
        render_kw={"inputmode": "decimal"},
    )
    repair_ratio_pct = IntegerField(
        _l("Repair ratio in percent of visits (high from)"),
        [InputRequired(_l("Enter the repair ratio in percent."))],
    )

    def fen_of_spend(self) -> int:
        """The spend threshold in fen."""
        return to_fen(self.spend_yuan.data)

    def fill(self, thresholds) -> None:
        """Show ``thresholds`` in the form."""
        self.period_months.data = thresholds.period_months
        self.maintenance_visits.data = thresholds.maintenance_visits
        self.spend_yuan.data = fen_to_decimal(thresholds.spend_fen)
        self.repair_ratio_pct.data = thresholds.repair_ratio_pct
