"""Permission-matrix routes: campaign results (issue 8): the results and their CSV, the staff
incentives (managers only) and the satisfaction callbacks (agents and managers)."""

from datetime import date

from tests.admin.matrix import Route

_CAMPAIGN = "/admin/campaigns/{results_campaign_id}"

ROUTES: tuple[Route, ...] = (
    Route("GET", "/admin/campaigns/results", "/admin/campaigns/results", "campaigns.results", 200),
    Route(
        "GET",
        "/admin/campaigns/<int:campaign_id>/results",
        f"{_CAMPAIGN}/results",
        "campaigns.results",
        200,
    ),
    *(
        Route(
            "GET",
            "/admin/campaigns/<int:campaign_id>/results.csv",
            f"{_CAMPAIGN}/results.csv?table={table}",
            "campaigns.results",
            200,
        )
        for table in ("groups", "models", "agents", "targets", "goals", "survey")
    ),
    *(
        Route(
            "GET",
            "/admin/campaigns/<int:campaign_id>/results.csv",
            f"{_CAMPAIGN}/results.csv?table={table}",
            "campaigns.incentives",
            200,
        )
        for table in ("incentives", "incentive_totals")
    ),
    Route(
        "GET",
        "/admin/campaigns/<int:campaign_id>/incentives",
        f"{_CAMPAIGN}/incentives",
        "campaigns.incentives",
        200,
    ),
    # An empty POST re-shows the form with its errors and saves nothing.
    Route(
        "POST",
        "/admin/campaigns/<int:campaign_id>/incentives",
        f"{_CAMPAIGN}/incentives",
        "campaigns.incentives",
        200,
    ),
    Route("GET", "/admin/campaigns/survey", "/admin/campaigns/survey", "campaigns.call", 200),
    Route(
        "GET",
        "/admin/campaigns/<int:campaign_id>/survey",
        f"{_CAMPAIGN}/survey",
        "campaigns.call",
        200,
    ),
    # An empty POST flashes what is missing and goes back to the list.
    Route(
        "POST",
        "/admin/campaigns/<int:campaign_id>/survey",
        f"{_CAMPAIGN}/survey",
        "campaigns.call",
        302,
    ),
)


def desk(dealer, owner) -> dict[str, int]:
    """An ended campaign of the desk's dealer whose target is the owner's car, seen in the
    window (the desk's visit of 20 November)."""
    from tests.campaigns.factories_campaigns import make_campaign, make_group, make_target

    campaign = make_campaign(
        dealer.id, name="Desk air-con care", starts_on=date(2026, 11, 1), ends_on=date(2026, 11, 21)
    )
    make_target(make_group(campaign, "Profitable-loyal"), owner.vehicles[0])
    return {"results_campaign_id": campaign.id}
