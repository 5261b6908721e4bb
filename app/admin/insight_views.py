"""Dealer insight (R10): members by tier, segments, lost customers, points liability,
referrals, events and campaign results, satisfaction after visits; charts and CSV, scoped to the
viewer's dealer.

The figures are the domains' reports (``app/<domain>/reports.py``); these pages show them."""

from flask import abort, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app.admin.views import bp
from app.care import reports as members
from app.care.followups import reports as followups
from app.core.clock import local_date, utcnow
from app.core.errors import ValidationFailed
from app.core.permissions import permission_required
from app.core.reports import Report, csv_response
from app.core.web import page_arg
from app.events import reports as events
from app.hq.months import current_month, parse_month
from app.loyalty import reports as loyalty
from app.members.scope import dealer_choices, export_table, scope_arg
from app.referrals import reports as referrals

# Each insight page (and its CSV) and the domain's report it shows.
REPORTS = {
    "members": members.members_by_tier,
    "segments": members.segments,
    "lost": members.lost_customers,
    "liability": loyalty.points_liability,
    "referrals": referrals.referral_funnel,
    "events": events.event_attendance,
    "campaigns": events.event_results,
    "satisfaction": followups.satisfaction,
}
# The reports whose figures depend on the day (the others count what is there now).
DATED = frozenset({"segments", "lost", "liability", "events", "campaigns", "satisfaction"})
# The reports of one month (?month=YYYY-MM, this month by default).
MONTHLY = frozenset({"satisfaction"})
_REPORTS = ", ".join(REPORTS)


def _warranty_arg() -> str:
    value = request.args.get("warranty", "all")
    return value if value in members.WARRANTY_FILTERS else "all"


def _month_arg():
    """The month asked for (?month=YYYY-MM), or 400 with the reason."""
    try:
        return parse_month(request.args.get("month"))
    except ValidationFailed as err:
        page = render_template(
            "errors/error.html", code=400, title=_("No such month"), message=err.message
        )
        abort(make_response(page, 400))


def _build(name: str, *, per_page: int | None = None, now=None) -> Report:
    """Report ``name`` for the dealer asked for (404 outside the viewer's scope) and the page's
    filters: a page of it when ``per_page`` is given, else every row."""
    kwargs = {"dealer_id": scope_arg()}
    if name in DATED:
        kwargs["now"] = now or utcnow()
    if name == "lost":
        kwargs["warranty"] = _warranty_arg()
    if name in MONTHLY:
        kwargs["month"] = _month_arg()
    if per_page is not None:
        kwargs.update(page=page_arg(), per_page=per_page)
    return REPORTS[name](current_user, **kwargs)


def _render(name: str, per_page: int | None = None, **filters):
    """A report page: its tables and charts, the dealer picker, CSV links with its filters."""
    report = _build(name, per_page=per_page)
    return render_template(
        f"admin/insight/{name}.html",
        report=report,
        report_name=name,
        dealers=dealer_choices(current_user),
        csv_args={"dealer": report.dealer_id, **filters},
        months=[current_month().shift(-k) for k in range(12)],
    )


@bp.get("/insight")
@permission_required("insight.view")
def insight_overview():
    """The insight reports, with the figures a manager looks at first."""
    scope = scope_arg()
    figures = members.headline(current_user, dealer_id=scope)
    figures.update(loyalty.headline(current_user, dealer_id=scope))
    return render_template(
        "admin/insight/overview.html",
        headline=figures,
        dealers=dealer_choices(current_user),
        report_name="overview",
    )


@bp.get("/insight/members")
@permission_required("insight.view")
def insight_members():
    """Members per dealer and tier."""
    return _render("members")


@bp.get("/insight/segments")
@permission_required("insight.view")
def insight_segments():
    """Loyal / swinging / lost × gold / platinum / diamond."""
    return _render("segments")


@bp.get("/insight/lost")
@permission_required("insight.view")
def insight_lost():
    """Cars unseen for 90–360 days, in and out of warranty, a page at a time."""
    warranty = _warranty_arg()
    return _render("lost", members.LOST_PER_PAGE, warranty=None if warranty == "all" else warranty)


@bp.get("/insight/liability")
@permission_required("insight.view")
def insight_liability():
    """Outstanding points, their value, and when they expire."""
    return _render("liability")


@bp.get("/insight/referrals")
@permission_required("insight.view")
def insight_referrals():
    """The referral funnel (the referrals domain's), per dealer."""
    return _render("referrals")


@bp.get("/insight/events")
@permission_required("insight.view")
def insight_events():
    """Attendance per event."""
    return _render("events", events.EVENTS_PER_PAGE)


@bp.get("/insight/campaigns")
@permission_required("insight.view")
def insight_campaigns():
    """Events as campaigns: invited, attended, success rate, revenue, average ticket."""
    return _render("campaigns", events.EVENTS_PER_PAGE)


@bp.get("/insight/satisfaction")
@permission_required("insight.view")
def insight_satisfaction():
    """Satisfaction after visits, a month: per dealer and service advisor."""
    return _render("satisfaction", month=_month_arg().key)


@bp.get(f"/insight/<any({_REPORTS}):report>.csv")
@permission_required("insight.view")
def insight_csv(report: str):
    """One table of a report as CSV (every row, UTF-8 with a BOM for Excel). Exporting the
    lost-customer list is audited."""
    now = utcnow()
    built = _build(report, now=now)
    stamp = built.facts["month"] if report in MONTHLY else local_date(now)
    export = export_table(built, request.args.get("table"), prefix=f"insight-{report}", stamp=stamp)
    if export is None:
        abort(404)
    if report == "lost":
        members.record_lost_export(current_user, built, warranty=_warranty_arg(), now=now)
    return csv_response(export.filename, export.body)
