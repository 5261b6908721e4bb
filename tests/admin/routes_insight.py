"""Permission-matrix routes: insight (issue 6): the reports and their CSV exports."""

from tests.admin.matrix import Route

_CSV_RULE = (
    "/admin/insight/<any(members, segments, lost, liability, referrals, events, campaigns, "
    "satisfaction):report>.csv"
)
_PAGES = (
    "members",
    "segments",
    "lost",
    "liability",
    "referrals",
    "events",
    "campaigns",
    "satisfaction",
)

ROUTES: tuple[Route, ...] = (
    Route("GET", "/admin/insight", "/admin/insight", "insight.view", 200),
    *(
        Route("GET", f"/admin/insight/{page}", f"/admin/insight/{page}", "insight.view", 200)
        for page in _PAGES
    ),
    *(
        Route("GET", _CSV_RULE, f"/admin/insight/{page}.csv", "insight.view", 200)
        for page in _PAGES
    ),
)


def desk(dealer, owner) -> dict[str, int]:
    """Rows the routes above need in the desk's database, by the names their paths use."""
    return {}
