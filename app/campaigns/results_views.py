"""Staff pages of a campaign's outcome: its results (seed 000 tables, charts, CSV), the staff
incentive steps and figures (managers only), and the satisfaction callbacks agents make."""

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DecimalField, FieldList, Form, FormField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Optional, ValidationError

from app.campaigns import incentives, results, survey
from app.campaigns.access import get_campaign, visible_campaigns
from app.campaigns.models import Campaign
from app.core.clock import local_date, utcnow
from app.core.forms import TwoDecimals, optional_int
from app.core.money import fen_to_decimal, to_fen
from app.core.permissions import has_permission, permission_required
from app.core.reports import csv_response
from app.core.scope import dealer_choices
from app.core.web import call_service, flash_service, int_arg, page_arg, scope_arg
from app.extensions import db

bp = Blueprint("campaign_results", __name__, url_prefix="/admin/campaigns")

INCENTIVE_TABLES = ("incentives", "incentive_totals")
STEP_ROWS = 6
PER_PAGE = 20


# -------------------------------------------------------------------------------- forms


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


# -------------------------------------------------------------------------------- pages


def _dealer_codes() -> dict[int, str]:
    """Dealer codes by id, for HQ's lists (others see their dealer's campaigns only)."""
    return {d.id: d.code for d in dealer_choices(current_user)}


def _campaign_list(mode: str, *, ended_by=None, counts=None):
    """A page of the campaigns the viewer may see (HQ: of the dealer picked, if any)."""
    scope = scope_arg()
    query = visible_campaigns(current_user)
    if scope is not None:
        query = query.where(Campaign.dealer_id == scope)
    if ended_by is not None:
        query = query.where(Campaign.ends_on <= ended_by)
    pagination = db.paginate(query, page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "campaigns/results_index.html",
        page=pagination,
        mode=mode,
        codes=_dealer_codes(),
        dealers=dealer_choices(current_user),
        dealer_id=scope,
        counts=counts(pagination.items) if counts else {},
    )


@bp.get("/results")
@permission_required("campaigns.results")
def index():
    """The campaigns the viewer may see, with links to their results."""
    return _campaign_list("results")


@bp.get("/<int:campaign_id>/results")
@permission_required("campaigns.results")
def results_page(campaign_id: int):
    """The campaign's results: the seed 000 tables, live."""
    campaign = get_campaign(current_user, campaign_id)
    return render_template(
        "campaigns/results.html",
        campaign=campaign,
        report=results.campaign_results(campaign),
        bands=results.AGE_BANDS,
    )


@bp.get("/<int:campaign_id>/results.csv")
@permission_required("campaigns.results")
def results_csv(campaign_id: int):
    """One table of the results (or, for managers, of the incentives) as CSV."""
    campaign = get_campaign(current_user, campaign_id)
    key = request.args.get("table") or results.TABLES[0]
    if key in INCENTIVE_TABLES:
        if not has_permission(current_user, "campaigns.incentives"):
            abort(403)
        tables = incentives.incentive_tables(campaign, results.groups_of(campaign))
    else:
        tables = results.campaign_results(campaign).tables
    table = next((t for t in tables if t.key == key), None)
    if table is None:
        abort(404)
    name = f"campaign-{campaign.id}-{table.key}-{local_date(utcnow()).isoformat()}.csv"
    return csv_response(name, table)


def _scope_choices(groups) -> list[tuple[str | int, str]]:
    return [("", _("Whole campaign (groups without steps of their own)"))] + [
        (g.id, g.name) for g in groups
    ]


def _fill(form: IncentivesForm, steps: list[incentives.Step]) -> None:
    for row, step in zip(form.steps, steps, strict=False):
        row.form.from_pct.data = Decimal(step.from_rate_bp) / 100
        row.form.per_yuan.data = fen_to_decimal(step.per_participant_fen)
        row.form.bonus_yuan.data = fen_to_decimal(step.bonus_fen)


def _incentives_form(groups, steps) -> IncentivesForm:
    """The steps form; a GET shows the group in ``?scope=`` (else the whole campaign)."""
    form = IncentivesForm()
    form.scope.choices = _scope_choices(groups)
    if request.method == "GET":
        group_id = int_arg("scope")
        form.scope.data = group_id if group_id in {g.id for g in groups} else None
        _fill(form, steps.get(form.scope.data, []))
    return form


def _incentives_template(campaign, form, groups, steps):
    return render_template(
        "campaigns/incentives.html",
        campaign=campaign,
        form=form,
        groups=groups,
        steps=steps,
        tables=incentives.incentive_tables(campaign, groups),
        full=incentives.FULL_RATE_BP,
    )


@bp.route("/<int:campaign_id>/incentives", methods=["GET", "POST"])
@permission_required("campaigns.incentives")
def incentives_page(campaign_id: int):
    """Set the incentive steps (campaign-wide or per group) and see what each agent earns."""
    campaign = get_campaign(current_user, campaign_id)
    groups = results.groups_of(campaign)
    steps = incentives.steps_of(campaign)
    form = _incentives_form(groups, steps)
    if form.validate_on_submit():
        ok, _rows = call_service(
            form,
            incentives.set_incentive_steps,
            current_user,
            campaign,
            group_id=form.scope.data,
            steps=form.chosen_steps(),
        )
        if ok:
            flash(_("Incentive steps saved."), "success")
            return redirect(
                url_for(".incentives_page", campaign_id=campaign.id, scope=form.scope.data or None)
            )
    return _incentives_template(campaign, form, groups, steps)


@bp.get("/survey")
@permission_required("campaigns.call")
def survey_index():
    """Campaigns of the viewer's dealer, with links to their satisfaction callbacks."""
    return _campaign_list(
        "survey",
        ended_by=local_date(utcnow()),
        counts=lambda shown: survey.callback_counts(current_user, [c.id for c in shown]),
    )


@bp.route("/<int:campaign_id>/survey", methods=["GET", "POST"])
@permission_required("campaigns.call")
def survey_page(campaign_id: int):
    """The participating targets to call back, and a callback's record (POST)."""
    campaign = get_campaign(current_user, campaign_id)
    page = page_arg()
    unreached = request.args.get("unreached") == "1"
    if request.method == "POST":
        form = SurveyForm()
        if not form.validate_on_submit():
            flash(_("Choose the owner to record the callback for."), "error")
        else:
            flash_service(
                survey.record_survey_call,
                current_user,
                form.target_id.data,
                reached=form.answer(form.reached),
                satisfied=form.answer(form.satisfied),
                note=form.note.data or "",
                campaign_id=campaign.id,
                success=_("Callback recorded."),
            )
        return redirect(
            url_for(
                ".survey_page",
                campaign_id=campaign.id,
                page=page,
                unreached="1" if unreached else None,
            )
        )
    today = local_date(utcnow())
    is_open = survey.survey_open(campaign, today)
    pagination, rows = (None, [])
    if is_open:
        pagination, rows = survey.survey_page(
            current_user, campaign, page=page, unreached=unreached
        )
    return render_template(
        "campaigns/survey.html",
        campaign=campaign,
        is_open=is_open,
        page=pagination,
        rows=rows,
        everyone=survey.calls_everyone(current_user),
        unreached=unreached,
        form=SurveyForm(formdata=None),
    )
