"""Form pieces shared by every domain: mobile number fields and their validators."""

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import ValidationError

from app.core.identifiers import normalize_mobile


class MobileField(StringField):
    """A mainland mobile number, normalised to 11 digits when valid."""

    def __init__(self, label=None, validators=None, **kwargs):
        render_kw = {"inputmode": "tel", "autocomplete": "tel", **kwargs.pop("render_kw", {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def pre_validate(self, form):
        normalised = normalize_mobile(self.data or "")
        if normalised is None:
            raise ValidationError(
                _l("Enter a mainland mobile number of 11 digits, e.g. 13912345678.")
            )
        self.data = normalised
