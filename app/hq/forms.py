"""HQ forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length


class RegionForm(FlaskForm):
    """The sales region of one dealer."""

    region = StringField(
        _l("Region"),
        [Length(max=32, message=_l("A region name has at most %(max)d characters."))],
    )
