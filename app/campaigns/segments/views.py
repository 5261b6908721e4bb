"""Staff pages of campaigns: the C3 segments and their thresholds."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.campaigns.segments import services
from app.campaigns.segments.forms import ThresholdsForm
from app.core.clock import local_date, utcnow
from app.core.permissions import permission_required
from app.core.reports import csv_response
from app.core.web import call_service
from app.members.scope import dealer_choices, export_table, scope_arg

bp = Blueprint("campaigns", __name__, url_prefix="/admin/campaigns")


@bp.get("/segments")
@permission_required("campaigns.segments")
def segments_page():
    """The C3 groups' sizes this period and the previous one, and who moved where."""
    report = services.segment_report(current_user, dealer_id=scope_arg())
    return render_template(
        "campaigns/segments.html",
        report=report,
        dealers=dealer_choices(current_user),
        csv_args={"dealer": report.dealer_id},
        labels=services.SEGMENT_LABELS,
    )


@bp.get("/segments.csv")
@permission_required("campaigns.segments")
def segments_csv():
    """One table of the segments page as CSV (UTF-8 with a BOM for Excel)."""
    now = utcnow()
    report = services.segment_report(current_user, dealer_id=scope_arg(), now=now)
    export = export_table(
        report, request.args.get("table"), prefix="c3-segments", stamp=local_date(now)
    )
    if export is None:
        abort(404)
    return csv_response(export.filename, export.body)


@bp.route("/segments/thresholds", methods=["GET", "POST"])
@permission_required("campaigns.thresholds")
def thresholds():
    """Tune the C3 period and thresholds (HQ); the history of changes below."""
    form = ThresholdsForm()
    if request.method == "GET":
        form.fill(services.current_thresholds())
    if form.validate_on_submit():
        ok, _row = call_service(
            form,
            services.update_thresholds,
            current_user,
            period_months=form.period_months.data,
            maintenance_visits=form.maintenance_visits.data,
            spend_fen=form.fen_of_spend(),
            repair_ratio_pct=form.repair_ratio_pct.data,
        )
        if ok:
            flash(_("Segment thresholds saved."), "success")
            return redirect(url_for("campaigns.thresholds"))
    return render_template(
        "campaigns/thresholds.html", form=form, history=services.threshold_history()
    )
