"""Staff pages of a campaign's outcome: its results (seed 000 tables, charts, CSV), the staff
incentive steps and figures (managers only), and the satisfaction callbacks agents make."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.campaigns.access import get_campaign, visible_campaigns
from app.campaigns.calls.models import Campaign
from app.campaigns.results import figures, incentives, reports, survey
from app.campaigns.results.forms import IncentivesForm, SurveyForm
from app.core.clock import local_date, utcnow
from app.core.permissions import has_permission, permission_required
from app.core.reports import csv_response
from app.core.web import call_service, flash_service, int_arg, page_arg
from app.extensions import db
from app.members.scope import dealer_choices, scope_arg

bp = Blueprint("campaign_results", __name__, url_prefix="/admin/campaigns")

INCENTIVE_TABLES = ("incentives", "incentive_totals")
PER_PAGE = 20


def _dealer_codes() -> dict[int, str]:
    """Dealer codes by id, for HQ's lists (others see their dealer's campaigns only)."""
    return {d.id: d.code for d in dealer_choices(current_user)}


def _campaign_list(mode: str, *, ended_by=None, counts=None):
    """A page of the campaigns the viewer may see (HQ: of the dealer picked, if any)."""
    scope = scope_arg()
    query = visible_campaigns(current_user, scope)
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
        report=reports.campaign_results(campaign),
        bands=figures.AGE_BANDS,
    )


@bp.get("/<int:campaign_id>/results.csv")
@permission_required("campaigns.results")
def results_csv(campaign_id: int):
    """One table of the results (or, for managers, of the incentives) as CSV."""
    campaign = get_campaign(current_user, campaign_id)
    key = request.args.get("table") or reports.TABLES[0]
    if key in INCENTIVE_TABLES:
        if not has_permission(current_user, "campaigns.incentives"):
            abort(403)
        tables = incentives.incentive_tables(campaign, reports.groups_of(campaign))
    else:
        tables = reports.campaign_results(campaign).tables
    table = next((t for t in tables if t.key == key), None)
    if table is None:
        abort(404)
    name = f"campaign-{campaign.id}-{table.key}-{local_date(utcnow()).isoformat()}.csv"
    return csv_response(name, table)


def _scope_choices(groups) -> list[tuple[str | int, str]]:
    return [("", _("Whole campaign (groups without steps of their own)"))] + [
        (g.id, g.name) for g in groups
    ]


def _incentives_form(groups, steps) -> IncentivesForm:
    """The steps form; a GET shows the group in ``?scope=`` (else the whole campaign)."""
    form = IncentivesForm()
    form.scope.choices = _scope_choices(groups)
    if request.method == "GET":
        group_id = int_arg("scope")
        form.scope.data = group_id if group_id in {g.id for g in groups} else None
        form.fill(steps.get(form.scope.data, []))
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
    groups = reports.groups_of(campaign)
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
    page, unreached = page_arg(), request.args.get("unreached") == "1"
    if request.method == "POST":
        _record_callback(campaign)
        again = {"page": page, "unreached": "1" if unreached else None}
        return redirect(url_for(".survey_page", campaign_id=campaign.id, **again))
    sheet = survey.survey_sheet(current_user, campaign, page=page, unreached=unreached)
    form = SurveyForm(formdata=None)
    return render_template("campaigns/survey.html", campaign=campaign, **vars(sheet), form=form)


def _record_callback(campaign: Campaign) -> None:
    """Record the callback posted, or say what is missing."""
    form = SurveyForm()
    if not form.validate_on_submit():
        flash(_("Choose the owner to record the callback for."), "error")
        return
    flash_service(
        survey.record_survey_call,
        current_user,
        form.target_id.data,
        **form.answers(),
        campaign_id=campaign.id,
        success=_("Callback recorded."),
    )
