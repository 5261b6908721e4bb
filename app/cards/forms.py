"""Card forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

REASON_CHOICES = [
    SelectChoice("lost", _l("I lost my card or phone")),
    SelectChoice("stolen", _l("My card or phone was stolen")),
    SelectChoice("damaged", _l("My card is damaged")),
]


class ReissueForm(FlaskForm):
    """Replace a lost card."""

    reason = SelectField(_l("Why"), choices=REASON_CHOICES)
    confirm = BooleanField(
        _l("I understand that my current card number and QR code stop working at once."),
        [DataRequired(_l("Tick the box to confirm."))],
    )


class ScanForm(FlaskForm):
    """Staff paste or type what they scanned."""

    code = TextAreaField(
        _l("QR text or card number"),
        [DataRequired(_l("Scan or type a code.")), Length(max=400)],
        render_kw={"rows": 3, "autocomplete": "off", "spellcheck": "false", "autofocus": True},
    )
