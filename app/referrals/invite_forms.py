"""Forms of the referral's front door: the friend's pre-registration through an invite link,
the showroom visit with the referrer the friend names, the duty manager's refusal, the owner's
dispute and the manager's decision on it."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.core.forms import MODEL_INPUT, VisibleName, optional_int
from app.referrals.disputes import MAX_REASON
from app.referrals.forms import ShowroomVisitForm
from app.referrals.showroom import NamedReferrer

_MOBILE_KW = {"inputmode": "tel", "autocomplete": "tel"}


class FriendForm(FlaskForm):
    """A friend pre-registers through an owner's invite link."""

    friend_name = StringField(
        _l("Your name"),
        [DataRequired(_l("Enter your name.")), Length(max=64), VisibleName()],
        render_kw={"autocomplete": "name"},
    )
    friend_mobile = StringField(
        _l("Your mobile number"),
        [DataRequired(_l("Enter your mobile number.")), Length(max=20)],
        render_kw=_MOBILE_KW,
    )
    model_of_interest = StringField(
        _l("Model you are interested in (optional)"),
        [Length(max=64)],
        description=_l("e.g. Golf, Tiguan L"),
        render_kw=MODEL_INPUT,
    )
    dealer_id = SelectField(_l("Showroom"), coerce=optional_int)

    def setup(self, dealers, default_id: int) -> None:
        """The showrooms to choose from; the inviting owner's first."""
        self.dealer_id.choices = [
            SelectChoice(d.id, f"{d.name} · {d.city}" if d.city else d.name) for d in dealers
        ]
        if self.dealer_id.data is None:
            self.dealer_id.data = default_id

    def to_friend(self) -> dict:
        """The friend as ``accept_invite`` takes them."""
        return {
            "friend_name": self.friend_name.data,
            "friend_mobile": self.friend_mobile.data,
            "model_of_interest": self.model_of_interest.data or "",
            "dealer_id": self.dealer_id.data,
        }


class VisitForm(ShowroomVisitForm):
    """A prospect's visit, and the referrer they name (提供老客户相关信息), if any."""

    referrer_mobile = StringField(
        _l("Referrer's mobile number"), [Length(max=20)], render_kw={"inputmode": "tel"}
    )
    referrer_name = StringField(_l("Referrer's name"), [Length(max=64)])
    referrer_plate = StringField(
        _l("Referrer's plate"),
        [Length(max=16)],
        render_kw={"autocapitalize": "characters", "autocomplete": "off"},
    )

    def named(self) -> NamedReferrer:
        """What the visitor said of the referrer."""
        return NamedReferrer(
            mobile=self.referrer_mobile.data or "",
            name=self.referrer_name.data or "",
            plate=self.referrer_plate.data or "",
        )


class RefuseForm(FlaskForm):
    """The duty manager refuses a referral, with the reason the owner is told."""

    reason = TextAreaField(
        _l("Why not?"),
        [DataRequired(_l("Say why.")), Length(max=500)],
        render_kw={"rows": 2},
    )


class DisputeForm(FlaskForm):
    """The owner disputes a fraud outcome; a word is optional."""

    reason = TextAreaField(
        _l("What should we know? (optional)"),
        [Length(max=MAX_REASON)],
        render_kw={"rows": 4},
    )


class DisputeDecisionForm(FlaskForm):
    """The manager's decision on a dispute, with the recording reviewed."""

    decision = SelectField(
        _l("Decision"),
        [DataRequired(_l("Choose a decision."))],
        choices=[
            SelectChoice("", _l("Choose…")),
            SelectChoice("uphold", _l("Uphold: the referral stays not genuine")),
            SelectChoice("overturn", _l("Overturn: approve and reward both owners")),
        ],
    )
    recording_ref = StringField(
        _l("Call recording reviewed"),
        [Length(max=128)],
        description=_l("Its reference in the call system."),
        render_kw={"autocomplete": "off"},
    )
    note = TextAreaField(
        _l("Reason (the owner reads it)"),
        [DataRequired(_l("Say why: the owner is told.")), Length(max=1000)],
        render_kw={"rows": 3},
    )
