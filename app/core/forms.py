"""Form pieces shared by every domain: mobile number fields, decimal inputs and their
validators, the cover picture upload."""

import unicodedata
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, StringField
from wtforms.validators import StopValidation, ValidationError

from app.core.errors import ValidationFailed
from app.core.identifiers import normalize_mobile
from app.core.images import KEEP_COVER, prepare_cover, save_prepared
from app.core.security import id_in_range, plain_int

# Categories that show nothing: spaces, controls, format characters (zero-width joiners, bidi
# overrides and isolates, the BOM), unassigned and surrogate code points.
_INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cn", "Co", "Cs"})


def is_visible_text(text: str) -> bool:
    """True when ``text`` shows at least one character (not only spaces, bidi or zero-width
    marks)."""
    return any(unicodedata.category(char) not in _INVISIBLE for char in text)


class VisibleName:
    """A name must show something: one made only of zero-width or bidi characters (U+200B,
    U+202E...) would leave an empty-looking row on every list and card."""

    def __init__(self, message=None):
        self.message = message

    def __call__(self, form, field):
        if field.data and not is_visible_text(field.data):
            raise StopValidation(self.message or _l("Enter a name with visible letters."))


# A car model input: the browser suggests the managed model list (the <datalist> of the
# ``model_suggestions`` macro in _macros.html); any other name may still be typed.
MODEL_INPUT = {"list": "car-models", "autocomplete": "off"}


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


class TwoDecimals:
    """A DecimalField holding yuan or a percentage: a finite number below one billion either
    way, with at most two decimals, so ``app.core.money.to_fen(value)`` is exact and safe.

    Put it first in the chain: NaN, Infinity and 1E+999999 parse as decimals, yet comparing
    NaN (NumberRange) or converting them to fen raises, so they stop the chain here. The
    domain's own ranges stay with the later validators or the service."""

    LIMIT = Decimal(1_000_000_000)

    def __init__(self, message=None):
        self.message = message or _l("Use at most two decimals.")

    def __call__(self, form, field):
        value = field.data
        if value is None:
            return
        if not value.is_finite():
            raise StopValidation(_l("Enter a number, e.g. 12.50."))
        if abs(value) >= self.LIMIT:
            raise StopValidation(_l("Enter a number below one billion."))
        if value.as_tuple().exponent < -2:
            raise StopValidation(self.message)


def optional_int(value):
    """A select's ``coerce`` for an optional row id: '' (none chosen) → None, else the id.

    Anything that cannot be an id (not a plain number, beyond 2**31 - 1) raises ValueError,
    which the field shows as an invalid choice, so it never reaches the database."""
    if value in ("", None):
        return None
    number = value if isinstance(value, int) else plain_int(value)
    if not id_in_range(number):
        raise ValueError("not an id")
    return number


class CoverUpload:
    """Form mixin: a cover picture (app/core/images.py) and a box to remove the current one.

    Validating the form checks and re-encodes the picture in memory (a refusal is shown beside
    the field); ``cover_change`` stores it when the view is about to save.
    """

    cover = FileField(
        _l("Picture (optional)"),
        description=_l("A photo (JPEG, PNG or WebP), landscape works best. Owners see it."),
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
    )
    remove_cover = BooleanField(_l("Remove the picture"))

    def validate_cover(self, field) -> None:
        """Check and re-encode the upload (it is not stored yet)."""
        field.prepared = None
        upload = field.data
        if not isinstance(upload, FileStorage) or not (upload.filename or upload.content_length):
            return
        config = current_app.config
        try:
            field.prepared = prepare_cover(
                upload.stream,
                max_bytes=config["COVER_MAX_BYTES"],
                max_pixels=config["COVER_MAX_PIXELS"],
            )
        except ValidationFailed as err:
            raise ValidationError(err.message) from None

    def cover_change(self):
        """The new picture (stored now), None to remove the current one, or ``KEEP_COVER``."""
        prepared = getattr(self.cover, "prepared", None)
        if prepared is not None:
            return save_prepared(prepared)
        return None if self.remove_cover.data else KEEP_COVER
