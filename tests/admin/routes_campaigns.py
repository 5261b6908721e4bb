"""Permission-matrix routes: campaigns (issue 8): the C3 segments, their CSV and thresholds."""

from tests.admin.matrix import Route

ROUTES: tuple[Route, ...] = (
    Route(
        "GET", "/admin/campaigns/segments", "/admin/campaigns/segments", "campaigns.segments", 200
    ),
    *(
        Route(
            "GET",
            "/admin/campaigns/segments.csv",
            f"/admin/campaigns/segments.csv?table={table}",
            "campaigns.segments",
            200,
        )
        for table in ("sizes", "moves")
    ),
    Route(
        "GET",
        "/admin/campaigns/segments/thresholds",
        "/admin/campaigns/segments/thresholds",
        "campaigns.thresholds",
        200,
    ),
    # An empty POST re-shows the form with its errors and saves nothing.
    Route(
        "POST",
        "/admin/campaigns/segments/thresholds",
        "/admin/campaigns/segments/thresholds",
        "campaigns.thresholds",
        200,
    ),
)


def desk(dealer, owner) -> dict[str, int]:
    """Rows the routes above need in the desk's database, by the names their paths use."""
    return {}
