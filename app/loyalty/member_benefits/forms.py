"""Forms of the benefit catalogue (HQ) and of a use at the counter."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.forms import TwoDecimals
from app.core.money import to_fen
from app.loyalty.member_benefits.catalogue import CATEGORY_LABELS, KIND_LABELS
from app.loyalty.member_benefits.models import BenefitKind
from app.loyalty.member_benefits.uses import UseClaim
from app.loyalty.services import list_tiers, tier_label

_AMOUNT = [
    Optional(),
    TwoDecimals(_l("Use at most two decimals (fen).")),
    NumberRange(Decimal("0.01"), Decimal("1000000"), _l("Between ¥0.01 and ¥1,000,000.")),
]


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (easier on a phone than a multiple select)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BenefitForm(FlaskForm):
    """One benefit of the draft; what each kind needs is the service's rule."""

    tier_code = SelectField(_l("Tier"))
    kind = SelectField(
        _l("Kind"), choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()]
    )
    code = StringField(
        _l("Code"),
        [DataRequired(_l("Give the benefit a code.")), Length(max=32)],
        description=_l(
            "Names the benefit in every tier and version, and for the DMS: the same code in "
            "two tiers is the same benefit, whose uses count together."
        ),
        render_kw={"autocapitalize": "none", "spellcheck": "false", "autocomplete": "off"},
    )
    name_en = StringField(_l("Name in English"), [DataRequired(), Length(max=80)])
    name_zh = StringField(_l("Name in Chinese"), [DataRequired(), Length(max=80)])
    percent = IntegerField(
        _l("Discount (percent off)"),
        [Optional(), NumberRange(1, 100)],
        description=_l("For discounts: 50 is half price."),
        render_kw={"inputmode": "numeric"},
    )
    excluded = MultiCheckboxField(
        _l("Not for (discounts)"),
        choices=[SelectChoice(c, label) for c, label in CATEGORY_LABELS.items()],
    )
    yearly_limit = IntegerField(
        _l("Times a membership year"),
        [Optional(), NumberRange(1, 366)],
        description=_l("Empty: no limit (a discount on every visit). Gifts are once a year."),
        render_kw={"inputmode": "numeric"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tier_code.choices = [SelectChoice(t.code, tier_label(t.code)) for t in list_tiers()]

    def values(self) -> dict:
        """The benefit's values as ``save_benefit`` takes them."""
        names = ("tier_code", "kind", "code", "name_en", "name_zh", "percent", "yearly_limit")
        return {**{n: self[n].data for n in names}, "excluded": self.excluded.data or []}


class AnnounceForm(FlaskForm):
    """The day the draft applies from, and what changes (owners read it)."""

    effective_from = DateField(_l("Takes effect on"), [DataRequired(_l("Choose a date."))])
    note = TextAreaField(
        _l("What changes (shown to members)"),
        [DataRequired(_l("Say what changes, for the announcement.")), Length(max=500)],
    )


class UseForm(FlaskForm):
    """A use at the counter; which fields count depends on the benefit's kind. Each benefit's
    form on the page has its code as prefix (unique ids); the app-wide CSRF check reads the
    page's token, which the prefix would otherwise rename."""

    class Meta:
        csrf = False

    reference = StringField(
        _l("Repair order or policy number"),
        [Length(max=64)],
        render_kw={"autocapitalize": "characters", "autocomplete": "off"},
    )
    # Not on every benefit's form: absent, it is "" (the service asks for it where it counts).
    category = SelectField(
        _l("Kind of work"),
        default="",
        choices=[SelectChoice("", _l("Choose…"))]
        + [SelectChoice(c, label) for c, label in CATEGORY_LABELS.items()],
    )
    base_yuan = DecimalField(
        _l("Amount before the discount (¥)"),
        _AMOUNT,
        places=2,
        render_kw={"inputmode": "decimal"},
    )
    discount_yuan = DecimalField(
        _l("Discount given (¥)"), _AMOUNT, places=2, render_kw={"inputmode": "decimal"}
    )
    claim_code = StringField(
        _l("Code from the owner's SMS"),
        [Length(max=16)],
        render_kw={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"},
    )
    note = TextAreaField(_l("Note"), [Length(max=500)], render_kw={"rows": 2})

    REFERENCE_LABELS = {
        BenefitKind.LABOUR_DISCOUNT: _l("Repair order number"),
        BenefitKind.PARTS_DISCOUNT: _l("Repair order number"),
        BenefitKind.FREE_ITEM: _l("Repair order number (if any)"),
        BenefitKind.RENEWAL_GIFT: _l("Insurance policy number"),
    }

    def fit(self, kind: str) -> "UseForm":
        """Name the reference as the benefit's kind has it (a repair order, a policy)."""
        label = self.REFERENCE_LABELS.get(BenefitKind(kind))
        if label is not None:
            self.reference.label.text = label
        return self

    def claim(self, code: str) -> UseClaim:
        """What the counter says was given, as ``record_use`` takes it (amounts in fen)."""
        return UseClaim(
            code=code,
            reference=self.reference.data or "",
            category=self.category.data or None,
            base_fen=to_fen(self.base_yuan.data) if self.base_yuan.data is not None else None,
            discount_fen=(
                to_fen(self.discount_yuan.data) if self.discount_yuan.data is not None else None
            ),
            claim_code=self.claim_code.data or "",
            note=self.note.data or "",
        )


class DiscardForm(FlaskForm):
    """Which draft the page showed: a page opened before another draft cannot throw it away."""

    draft_id = HiddenField()


class VoidForm(FlaskForm):
    """Why a use is taken back."""

    reason = StringField(
        _l("Why is it taken back?"),
        [InputRequired(_l("Say why the use is taken back.")), Length(max=200)],
    )
