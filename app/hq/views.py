"""HQ pages: recruitment rate, dealers' regions, the monthly points settlement (with CSV)."""

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import NotFound, ValidationFailed
from app.core.permissions import permission_required
from app.core.reports import csv_response
from app.core.web import dealer_arg, try_service
from app.extensions import db
from app.hq import recruitment, settlement
from app.hq import services as hq
from app.hq.forms import RegionForm
from app.hq.months import current_month, parse_month
from app.members.models import Dealer
from app.members.scope import dealer_choices, export_table

bp = Blueprint("hq", __name__, url_prefix="/admin/hq")


def _month():
    """The month asked for (?month=YYYY-MM), or 400 with the reason."""
    try:
        return parse_month(request.args.get("month"))
    except ValidationFailed as err:
        page = render_template(
            "errors/error.html", code=400, title=_("No such month"), message=err.message
        )
        abort(make_response(page, 400))


def _build(service, *args, **kwargs):
    """A report, or 404 for a dealer outside the viewer's scope."""
    try:
        return service(current_user, *args, **kwargs)
    except NotFound:
        abort(404)


def _csv(report, prefix: str, month) -> Response:
    export = export_table(report, request.args.get("table"), prefix=prefix, stamp=month.key)
    if export is None:
        abort(404)
    return csv_response(export.filename, export.body)


def _months():
    """The twelve months up to this one, newest first, for the month picker."""
    latest = current_month()
    return [latest.shift(-k) for k in range(12)]


# ------------------------------------------------------------------------- recruitment


@bp.get("/recruitment")
@permission_required("hq.recruitment")
def recruitment_page():
    """Recruitment rate per dealer, region and nationally, and its monthly trend."""
    month = _month()
    report = _build(recruitment.recruitment_report, month=month, dealer_id=dealer_arg())
    return render_template(
        "hq/recruitment.html",
        report=report,
        month=month,
        months=_months(),
        dealers=dealer_choices(current_user),
        csv_args={"dealer": report.dealer_id, "month": month.key},
    )


@bp.get("/recruitment.csv")
@permission_required("hq.recruitment")
def recruitment_csv():
    """One table of the recruitment page as CSV (UTF-8 with a BOM for Excel)."""
    month = _month()
    report = _build(recruitment.recruitment_report, month=month, dealer_id=dealer_arg())
    return _csv(report, "recruitment", month)


# ---------------------------------------------------------------------------- regions


@bp.get("/regions")
@permission_required("hq.regions")
def regions():
    """Every dealer and its sales region."""
    return render_template(
        "hq/regions.html",
        dealers=db.session.scalars(db.select(Dealer).order_by(Dealer.code)).all(),
        known=hq.known_regions(),
        form=RegionForm(),
    )


@bp.post("/regions/<int:dealer_id>")
@permission_required("hq.regions")
def set_region(dealer_id: int):
    """Put one dealer in a region."""
    form = RegionForm()
    if not form.validate():
        for message in [*form.region.errors, *form.csrf_token.errors]:
            flash(str(message), "error")
        return redirect(url_for("hq.regions"))
    ok, dealer = try_service(hq.set_dealer_region, current_user, dealer_id, region=form.region.data)
    if ok:
        flash(_("Region of %(dealer)s saved.", dealer=dealer.code), "success")
    return redirect(url_for("hq.regions"))


# ------------------------------------------------------------------------- settlement


@bp.get("/settlement")
@permission_required("hq.settlement")
def settlement_page():
    """The month's settlement of every dealer (a dealer's admin: their own)."""
    month = _month()
    report = _build(settlement.settlement_overview, month=month)
    return render_template(
        "hq/settlement.html",
        report=report,
        month=month,
        months=_months(),
        csv_args={"month": month.key},
    )


@bp.get("/settlement/<int:dealer_id>")
@permission_required("hq.settlement")
def statement_page(dealer_id: int):
    """One dealer's statement for the month."""
    month = _month()
    report = _build(settlement.dealer_statement, dealer_id, month=month)
    return render_template(
        "hq/statement.html",
        report=report,
        month=month,
        months=_months(),
        dealer=db.session.get(Dealer, report.dealer_id),
        csv_args={"dealer": report.dealer_id, "month": month.key},
    )


@bp.get("/settlement.csv")
@permission_required("hq.settlement")
def settlement_csv():
    """The overview (no dealer) or a dealer's statement table as CSV."""
    month = _month()
    dealer_id = dealer_arg()
    if dealer_id is None:
        report = _build(settlement.settlement_overview, month=month)
    else:
        report = _build(settlement.dealer_statement, dealer_id, month=month)
    return _csv(report, "settlement", month)
