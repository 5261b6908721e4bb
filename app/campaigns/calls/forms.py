"""Forms of campaigns: a campaign, its target groups, the launch, the call lists' changes and
a call's outcome."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.money import to_fen
from app.service.forms import SlotPick


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (easier on a phone than a multiple select)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _optional_int(label, **kwargs):
    return IntegerField(label, [Optional()], render_kw={"inputmode": "numeric"}, **kwargs)


class CampaignForm(FlaskForm):
    """A campaign's details; the rules (window, goal ranges, reward) are the service's."""

    dealer_id = SelectField(_l("Dealer"), coerce=int, choices=[])
    name = StringField(
        _l("Name"), [InputRequired(_l("Give the campaign a name.")), Length(max=120)]
    )
    starts_on = DateField(
        _l("First day"), [InputRequired(_l("Enter the first day of the campaign."))]
    )
    ends_on = DateField(_l("Last day"), [InputRequired(_l("Enter the last day of the campaign."))])
    goal_visits = _optional_int(
        _l("Goal: participating visits (台次)"),
        description=_l("Packages sold or cars in for the campaign."),
    )
    goal_revenue_yuan = _optional_int(_l("Goal: revenue, ¥"))
    goal_success_rate_pct = _optional_int(
        _l("Goal: success rate, %"),
        description=_l("Participating targets ÷ invited targets."),
    )
    offer = TextAreaField(
        _l("Offer"),
        [Length(max=2000)],
        description=_l("Appointment gift (预约礼), visit gift (进店礼), voucher…"),
    )
    reward_id = SelectField(_l("Reward from the catalog"), coerce=int, choices=[])
    call_script = TextAreaField(_l("Call script"), [Length(max=4000)])
    second_round_days = IntegerField(
        _l("Second call after (days)"),
        [InputRequired(_l("Enter the days before the second call."))],
        default=14,
        description=_l("Interested owners who have not come are called again after this."),
        render_kw={"inputmode": "numeric"},
    )

    def data_for_service(self):
        """The campaign as the service takes it (money in fen)."""
        from app.campaigns.calls.services import CampaignData

        revenue = self.goal_revenue_yuan.data
        return CampaignData(
            name=self.name.data or "",
            starts_on=self.starts_on.data,
            ends_on=self.ends_on.data,
            offer=self.offer.data or "",
            reward_id=self.reward_id.data or None,
            call_script=self.call_script.data or "",
            second_round_days=self.second_round_days.data,
            goal_visits=self.goal_visits.data,
            goal_revenue_fen=to_fen(revenue) if revenue is not None else None,
            goal_success_rate_pct=self.goal_success_rate_pct.data,
        )

    def fill(self, campaign) -> None:
        """Show ``campaign`` in the form."""
        for name in ("name", "starts_on", "ends_on", "goal_visits", "goal_success_rate_pct"):
            getattr(self, name).data = getattr(campaign, name)
        for name in ("offer", "call_script", "second_round_days"):
            getattr(self, name).data = getattr(campaign, name)
        self.reward_id.data = campaign.reward_id or 0
        fen = campaign.goal_revenue_fen
        self.goal_revenue_yuan.data = fen // 100 if fen is not None else None


class TargetFilterForm(FlaskForm):
    """The campaign target filters (targeting.py), shared by target groups and broadcasts."""

    segment = SelectField(_l("C3 group"), choices=[], default="")
    tiers = MultiCheckboxField(_l("Tiers"), choices=[])
    models = MultiCheckboxField(_l("Models"), choices=[])
    age_min = _optional_int(_l("Car age from (years)"))
    age_max = _optional_int(_l("Car age to (years)"))
    plate_prefix = StringField(_l("Plate starts with"), [Length(max=7)], description=_l("e.g. 粤B"))
    last_visit = SelectField(
        _l("Last visit"),
        default="",
        choices=[
            SelectChoice("", _l("Any")),
            SelectChoice("none_for", _l("No visit for at least … days")),
            SelectChoice("within", _l("A visit within … days")),
        ],
    )
    last_visit_days = _optional_int(_l("Days"))
    warranty = SelectField(
        _l("Warranty at the start"),
        default="",
        choices=[
            SelectChoice("", _l("Any")),
            SelectChoice("in", _l("In warranty")),
            SelectChoice("out", _l("Out of warranty")),
        ],
    )

    def set_choices(self, segments, tiers, models) -> None:
        """The filters' choices: C3 groups, tiers and the dealer's models."""
        self.segment.choices = [SelectChoice("", _l("Any")), *(SelectChoice(*c) for c in segments)]
        self.tiers.choices = [SelectChoice(*c) for c in tiers]
        self.models.choices = [SelectChoice(m, m) for m in models]

    def filters(self):
        """The filters as the targeting module takes them."""
        from app.campaigns.calls.targeting import TargetFilters

        return TargetFilters(
            segment=self.segment.data or "",
            tiers=tuple(self.tiers.data or ()),
            models=tuple(self.models.data or ()),
            age_min=self.age_min.data,
            age_max=self.age_max.data,
            plate_prefix=(self.plate_prefix.data or "").strip().upper(),
            last_visit=self.last_visit.data or "",
            last_visit_days=self.last_visit_days.data,
            warranty=self.warranty.data or "",
        )

    def fill_filters(self, filters) -> None:
        """Show saved ``filters`` in the form."""
        for name in ("segment", "plate_prefix", "last_visit", "warranty"):
            getattr(self, name).data = getattr(filters, name)
        for name in ("age_min", "age_max", "last_visit_days"):
            getattr(self, name).data = getattr(filters, name)
        self.tiers.data, self.models.data = list(filters.tiers), list(filters.models)

    def show_error(self, err) -> None:
        """Show a refused filter's reason next to its field, once (a refused save has already
        put it there)."""
        field = getattr(self, err.field or "", None)
        if field is not None and err.message not in field.errors:
            field.errors = [*field.errors, err.message]


class GroupForm(TargetFilterForm):
    """A target group: its name, goal and filters. "Count" shows how many cars match, "Save"
    adds the group; the overlap box confirms a selection that overlaps another campaign."""

    name = StringField(_l("Group name"), [Length(max=120)], description=_l("e.g. 盈利忠诚 2–5 yr"))
    goal_success_rate_pct = _optional_int(_l("Goal: success rate, %"))
    confirm_overlap = BooleanField(_l("Save anyway: these owners may hear from two campaigns"))

    def to_group(self) -> dict:
        """The group as the service's ``add_group`` takes it."""
        return {
            "name": self.name.data or "",
            "filters": self.filters(),
            "goal_success_rate_pct": self.goal_success_rate_pct.data,
            "confirm_overlap": self.confirm_overlap.data,
        }


class AgentsForm(FlaskForm):
    """A form whose ``AGENT_FIELDS`` offer the campaign dealer's care agents."""

    AGENT_FIELDS: tuple[str, ...] = ()

    @classmethod
    def for_agents(cls, agents: list[SelectChoice]):
        """The form, its agent fields offering ``agents``."""
        form = cls()
        for name in cls.AGENT_FIELDS:
            getattr(form, name).choices = agents
        return form


class LaunchForm(AgentsForm):
    """The care agents who share the invitation list."""

    AGENT_FIELDS = ("agents",)

    agents = MultiCheckboxField(_l("Care agents"), coerce=int, choices=[])


class MoveForm(AgentsForm):
    """Move a batch of owners not yet called from one agent's list to another's."""

    AGENT_FIELDS = ("from_agent_id", "to_agent_id")

    count = IntegerField(
        _l("Owners"),
        [InputRequired(_l("Enter how many owners to move.")), NumberRange(min=1)],
        render_kw={"inputmode": "numeric"},
    )
    from_agent_id = SelectField(_l("From"), coerce=int, choices=[])
    to_agent_id = SelectField(_l("To"), coerce=int, choices=[])


class AssignForm(AgentsForm):
    """Give one target to another agent."""

    AGENT_FIELDS = ("agent_id",)

    agent_id = SelectField(_l("Care agent"), coerce=int, choices=[])


class OutcomeForm(SlotPick):
    """One call's outcome (a button each), a note, and a service time to book with "Booked"."""

    outcome = SelectField(
        _l("Outcome"),
        choices=[
            SelectChoice("not_reached", _l("Not reached")),
            SelectChoice("interested", _l("Interested")),
            SelectChoice("booked", _l("Booked")),
            SelectChoice("declined", _l("Declined")),
            SelectChoice("wrong_number", _l("Wrong number")),
        ],
        validators=[InputRequired(_l("Choose what the call achieved."))],
    )
    note = StringField(_l("Note"), [Length(max=500)])
