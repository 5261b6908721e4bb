"""Permission-matrix routes: HQ operations (issue 8): recruitment rate, dealers' regions and
the monthly points settlement, with their CSV."""

from tests.admin.matrix import Route

ROUTES: tuple[Route, ...] = (
    Route("GET", "/admin/hq/recruitment", "/admin/hq/recruitment", "hq.recruitment", 200),
    *(
        Route(
            "GET",
            "/admin/hq/recruitment.csv",
            f"/admin/hq/recruitment.csv?table={table}",
            "hq.recruitment",
            200,
        )
        for table in ("dealers", "trend")
    ),
    Route("GET", "/admin/hq/regions", "/admin/hq/regions", "hq.regions", 200),
    Route(
        "POST",
        "/admin/hq/regions/<int:dealer_id>",
        "/admin/hq/regions/{hq_dealer_id}",
        "hq.regions",
        302,
        {"region": "South"},
    ),
    Route("GET", "/admin/hq/settlement", "/admin/hq/settlement", "hq.settlement", 200),
    # SZ01's statement: GZ01's admin gets a 404, as for any row of another dealer.
    Route(
        "GET",
        "/admin/hq/settlement/<int:dealer_id>",
        "/admin/hq/settlement/{hq_dealer_id}",
        "hq.settlement",
        200,
    ),
    Route(
        "GET",
        "/admin/hq/settlement.csv",
        "/admin/hq/settlement.csv?table=dealers",
        "hq.settlement",
        200,
    ),
    Route(
        "GET",
        "/admin/hq/settlement.csv",
        "/admin/hq/settlement.csv?table=statement&dealer={hq_dealer_id}",
        "hq.settlement",
        200,
    ),
)


def desk(dealer, owner) -> dict[str, int]:
    """Rows the routes above need in the desk's database, by the names their paths use."""
    return {"hq_dealer_id": dealer.id}
