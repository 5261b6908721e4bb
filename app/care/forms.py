"""Forms of the care pages: the owner's channels and car dates, an agent's call outcome."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, StringField
from wtforms.validators import AnyOf, Length, Optional


class ChannelsForm(FlaskForm):
    """How the owner wants to hear from the club."""

    email = StringField(
        _l("E-mail address"),
        [Length(max=254)],
        description=_l("Optional. Reminders by e-mail go here."),
        render_kw={"type": "email", "autocomplete": "email", "inputmode": "email"},
    )
    notify_email = BooleanField(_l("Send reminders by e-mail"))
    notify_sms = BooleanField(_l("Send reminders by SMS to my mobile"))
    marketing = BooleanField(_l("Send me club news and offers"))

    @classmethod
    def for_member(cls, member) -> "ChannelsForm":
        """The form as the owner's settings stand. E-mail shows unticked while there is no
        address to send to, so the page can be saved as it opens."""
        form = cls(obj=member)
        if not form.is_submitted():
            form.marketing.data = member.marketing_opt_in
            form.notify_email.data = member.notify_email and bool(member.email)
        return form

    def to_channels(self) -> dict:
        """The settings as ``update_channels`` takes them."""
        return {
            "email": self.email.data or "",
            "notify_email": self.notify_email.data,
            "notify_sms": self.notify_sms.data,
            "marketing_opt_in": self.marketing.data,
        }


class CareDatesForm(FlaskForm):
    """When the car's warranty, insurance and annual inspection run out."""

    warranty_until = DateField(
        _l("Warranty ends"),
        [Optional()],
        description=_l("Leave empty for the usual 3 years from delivery."),
    )
    insurance_expires_on = DateField(_l("Insurance ends"), [Optional()])
    inspection_due_on = DateField(_l("Annual inspection due"), [Optional()])

    def to_dates(self) -> dict:
        """The dates as ``set_care_dates`` takes them."""
        names = ("warranty_until", "insurance_expires_on", "inspection_due_on")
        return {name: self[name].data for name in names}


class CallForm(FlaskForm):
    """The outcome of one call of a care task."""

    # Set by the button the agent taps: "yes" or "no".
    reached = HiddenField(validators=[AnyOf(("yes", "no"), _l("Choose reached or not reached."))])
    note = StringField(_l("Note"), [Length(max=500)], description=_l("Optional"))
