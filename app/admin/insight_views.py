"""Dealer insight (R10): members by tier, segments, lost customers, points liability,
referrals, events and campaign results; charts and CSV, scoped to the viewer's dealer."""

from flask import abort, render_template, request
from flask_login import current_user

from app.admin import insight
from app.admin.views import bp
from app.core.permissions import permission_required
from app.core.web import dealer_arg, page_arg

_REPORTS = "members, segments, lost, liability, referrals, events, campaigns"


def _warranty_arg() -> str:
    value = request.args.get("warranty", "all")
    return value if value in insight.WARRANTY_FILTERS else "all"


def _render(name: str, report: insight.Report, **filters):
    """A report page: its tables and charts, the dealer picker, CSV links with its filters."""
    return render_template(
        f"admin/insight/{name}.html",
        report=report,
        report_name=name,
        dealers=insight.dealer_choices(current_user),
        csv_args={"dealer": report.dealer_id, **filters},
    )


@bp.get("/insight")
@permission_required("insight.view")
def insight_overview():
    """The insight reports, with the figures a manager looks at first."""
    return render_template(
        "admin/insight/overview.html",
        headline=insight.headline(current_user, dealer_id=dealer_arg()),
        dealers=insight.dealer_choices(current_user),
        report_name="overview",
    )


@bp.get("/insight/members")
@permission_required("insight.view")
def insight_members():
    """Members per dealer and tier."""
    return _render("members", insight.members_by_tier(current_user, dealer_id=dealer_arg()))


@bp.get("/insight/segments")
@permission_required("insight.view")
def insight_segments():
    """Loyal / swinging / lost × gold / platinum / diamond."""
    return _render("segments", insight.segments(current_user, dealer_id=dealer_arg()))


@bp.get("/insight/lost")
@permission_required("insight.view")
def insight_lost():
    """Cars unseen for 90–360 days, in and out of warranty, a page at a time."""
    warranty = _warranty_arg()
    report = insight.lost_customers(
        current_user,
        dealer_id=dealer_arg(),
        warranty=warranty,
        page=page_arg(),
        per_page=insight.LOST_PER_PAGE,
    )
    return _render("lost", report, warranty=None if warranty == "all" else warranty)


@bp.get("/insight/liability")
@permission_required("insight.view")
def insight_liability():
    """Outstanding points, their value, and when they expire."""
    return _render("liability", insight.points_liability(current_user, dealer_id=dealer_arg()))


@bp.get("/insight/referrals")
@permission_required("insight.view")
def insight_referrals():
    """The referral funnel (the referrals domain's), per dealer."""
    return _render("referrals", insight.referral_funnel(current_user, dealer_id=dealer_arg()))


@bp.get("/insight/events")
@permission_required("insight.view")
def insight_events():
    """Attendance per event."""
    report = insight.event_attendance(
        current_user, dealer_id=dealer_arg(), page=page_arg(), per_page=insight.EVENTS_PER_PAGE
    )
    return _render("events", report)


@bp.get("/insight/campaigns")
@permission_required("insight.view")
def insight_campaigns():
    """Events as campaigns: invited, attended, success rate, revenue, average ticket."""
    report = insight.campaign_results(
        current_user, dealer_id=dealer_arg(), page=page_arg(), per_page=insight.EVENTS_PER_PAGE
    )
    return _render("campaigns", report)


@bp.get(f"/insight/<any({_REPORTS}):report>.csv")
@permission_required("insight.view")
def insight_csv(report: str):
    """One table of a report as CSV (every row, UTF-8 with a BOM for Excel)."""
    export = insight.export_table(
        current_user,
        report,
        request.args.get("table"),
        dealer_id=dealer_arg(),
        warranty=_warranty_arg(),
    )
    if export is None:
        abort(404)
    return insight.csv_response(export.filename, export.body)
