"""Insight on the care loop (issue 20): the recall report and the maintenance return rates,
per dealer and month; charts and CSV, scoped to the viewer's dealer.

The figures are care's reports (app/care/recall_reports.py, app/care/return_rates.py)."""

from flask import abort, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app.admin.views import bp
from app.care import recall_reports, return_rates
from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.core.permissions import permission_required
from app.core.reports import csv_response
from app.hq.months import current_month, last_months, parse_month
from app.members.scope import dealer_choices, export_table, scope_arg

CARE_REPORTS = {"recall": recall_reports.recall_report, "returns": return_rates.return_rates}
MONTHS_TO_PICK = 12


def _month():
    """The month asked for (?month=YYYY-MM; this month by default), or 400 with the reason."""
    try:
        return parse_month(request.args.get("month"))
    except ValidationFailed as err:
        page = render_template(
            "errors/error.html", code=400, title=_("No such month"), message=err.message
        )
        abort(make_response(page, 400))


def _build(name: str, now=None):
    """The month and report ``name`` for the dealer asked for (404 outside the scope)."""
    month = _month()
    report = CARE_REPORTS[name](
        current_user, dealer_id=scope_arg(), month=month.first, now=now or utcnow()
    )
    return month, report


def _page(name: str):
    month, report = _build(name)
    return render_template(
        f"admin/insight/{name}.html",
        report=report,
        report_name=name,
        month=month,
        months=last_months(current_month(), MONTHS_TO_PICK),
        dealers=dealer_choices(current_user),
        csv_args={"report": name, "dealer": report.dealer_id, "month": month.key},
    )


@bp.get("/insight/recall")
@permission_required("insight.view")
def insight_recall():
    """Lost owners recalled in a month: called, reached, reasons, won back, by seed class."""
    return _page("recall")


@bp.get("/insight/returns")
@permission_required("insight.view")
def insight_returns():
    """First- and regular-maintenance return rates of a month, with the reasons."""
    return _page("returns")


@bp.get("/insight/<any(recall, returns):report>.csv")
@permission_required("insight.view")
def insight_care_csv(report: str):
    """One table of the recall report or the return rates as CSV."""
    month, built = _build(report)
    export = export_table(
        built, request.args.get("table"), prefix=f"insight-{report}", stamp=month.key
    )
    if export is None:
        abort(404)
    return csv_response(export.filename, export.body)
