"""Forms of a campaign's outcome: the staff incentive steps and a satisfaction callback."""

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, FieldList, Form, FormField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Optional, ValidationError

from app.campaigns.results import incentives
from app.core.forms import TwoDecimals, optional_int
from app.core.money import fen_to_decimal, to_fen

STEP_ROWS = 6


class StepForm(Form):
    """One incentive step; a row left empty is no step."""

    from_pct = DecimalField(_l("From success rate (%)"), [Optional(), TwoDecimals()], places=2)
    per_yuan = DecimalField(_l("Per participating owner (¥)"), [Optional(), TwoDecimals()])
    bonus_yuan = DecimalField(_l("Bonus, or penalty below zero (¥)"), [Optional(), TwoDecimals()])

    def is_empty(self) -> bool:
        return all(f.data is None for f in (self.from_pct, self.per_yuan, self.bonus_yuan))


class IncentivesForm(FlaskForm):
    """The steps of the campaign (scope "") or of one of its target groups (its id)."""

    scope = SelectField(_l("Steps for"), choices=[], coerce=optional_int)
    steps = FieldList(FormField(StepForm), min_entries=STEP_ROWS, max_entries=10)

    def validate_scope(self, field):
        # A post without the field (not the form's own "whole campaign") must not clear the
        # campaign's steps: only the rendered form sends it.
        if not field.raw_data:
            raise ValidationError(_("Choose what the steps are for."))

    def validate_steps(self, field):
        for row in field:
            if not row.form.is_empty() and row.form.from_pct.data is None:
                raise ValidationError(_("Give each step the success rate it starts from."))

    def fill(self, steps: list[incentives.Step]) -> None:
        """Show ``steps`` in the rows."""
        for row, step in zip(self.steps, steps, strict=False):
            row.form.from_pct.data = Decimal(step.from_rate_bp) / 100
            row.form.per_yuan.data = fen_to_decimal(step.per_participant_fen)
            row.form.bonus_yuan.data = fen_to_decimal(step.bonus_fen)

    def chosen_steps(self) -> list[incentives.Step]:
        """The filled rows as steps, in the order given (the service checks the order)."""
        chosen = []
        for row in self.steps:
            f = row.form
            if f.is_empty():
                continue
            chosen.append(
                incentives.Step(
                    from_rate_bp=int(f.from_pct.data * 100),
                    per_participant_fen=to_fen(f.per_yuan.data or 0),
                    bonus_fen=to_fen(f.bonus_yuan.data or 0),
                )
            )
        return chosen


class SurveyForm(FlaskForm):
    """A satisfaction callback: reached yes/no, satisfied yes/no when reached, a note."""

    target_id = IntegerField(validators=[InputRequired()])
    reached = StringField()
    satisfied = StringField()
    note = StringField()

    @staticmethod
    def answer(field) -> bool | None:
        return {"yes": True, "no": False}.get(field.data or "")

    def answers(self) -> dict:
        """Reached, satisfied and the note as the service takes them."""
        return {
            "reached": self.answer(self.reached),
            "satisfied": self.answer(self.satisfied),
            "note": self.note.data or "",
        }
