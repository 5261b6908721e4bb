"""The broadcast form: what kind, when, the words in Chinese and English, and the campaign
target filters choosing the owners."""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from app.campaigns.calls.forms import TargetFilterForm
from app.care.texts.kinds import BROADCAST_KINDS, LABELS
from app.events.forms import to_local, to_utc


class BroadcastForm(TargetFilterForm):
    """A greeting or a weather warning; "Count" shows how many owners the filters choose, "Save"
    keeps it as a draft. The rules (placeholders, lengths, filters) are the service's."""

    kind = SelectField(
        _l("Kind"), choices=[SelectChoice(k.value, LABELS[k]) for k in BROADCAST_KINDS]
    )
    send_at = DateTimeLocalField(
        _l("Send at"),
        [InputRequired(_l("Choose when to send it."))],
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        description=_l("Messages due in the quiet hours wait until they end."),
    )
    title_zh = StringField(_l("Title (Chinese)"))
    body_zh = TextAreaField(_l("Text (Chinese)"), render_kw={"rows": 5})
    title_en = StringField(_l("Title (English)"))
    body_en = TextAreaField(_l("Text (English)"), render_kw={"rows": 5})

    def data_for_service(self):
        """The broadcast as the services take it (the send time in UTC)."""
        from app.campaigns.broadcasts.services import BroadcastData

        return BroadcastData(
            kind=self.kind.data or "",
            send_at=to_utc(self.send_at.data),
            title_zh=self.title_zh.data or "",
            body_zh=self.body_zh.data or "",
            title_en=self.title_en.data or "",
            body_en=self.body_en.data or "",
            filters=self.filters(),
        )

    def fill(self, data) -> None:
        """Show a composed broadcast (``BroadcastData``) in the form."""
        self.kind.data = data.kind
        self.send_at.data = to_local(data.send_at)
        for name in ("title_zh", "body_zh", "title_en", "body_en"):
            getattr(self, name).data = getattr(data, name)
        self.fill_filters(data.filters)

    def start(self, kind: str, texts: dict, now: datetime) -> None:
        """A new broadcast of ``kind``: the care texts in force, to go at the next full hour."""
        self.kind.data = kind
        for name, value in texts.items():
            getattr(self, name).data = value
        local = to_local(now).replace(minute=0, second=0, microsecond=0)
        self.send_at.data = local + timedelta(hours=1)
