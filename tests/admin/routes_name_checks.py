"""Permission-matrix routes: the name checks a DMS delivery raised (issue 15, R12)."""

from app.members.name_checks import flag_name_mismatch
from tests.admin.matrix import Route
from tests.factories import make_member, make_vehicle

RESOLVE = "/admin/members/name-checks/<int:check_id>/<any(keep, rename):resolution>"

ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/admin/members/name-checks",
        "/admin/members/name-checks",
        "members.name_checks",
        200,
    ),
    # The first holder decides; the others are told it was decided (a redirect, never a 500).
    # GZ01's admin gets a 404: the check is SZ01's.
    Route(
        "POST",
        RESOLVE,
        "/admin/members/name-checks/{keep_check_id}/keep",
        "members.name_checks",
        302,
    ),
    Route(
        "POST",
        RESOLVE,
        "/admin/members/name-checks/{rename_check_id}/rename",
        "members.name_checks",
        302,
    ),
)


def desk(dealer, owner) -> dict[str, int]:
    """An open check on the desk's owner (never decided, so the queue always shows it) and
    spare owners' checks for the two decisions."""
    flag_name_mismatch(None, owner, owner.vehicles[0], dms_name="Zhang Weiming")
    ids = {}
    for decision in ("keep", "rename"):
        spare = make_member(dealer.id, name=f"Spare {decision}")
        check = flag_name_mismatch(
            None, spare, make_vehicle(spare), dms_name=f"Spare {decision} DMS"
        )
        ids[f"{decision}_check_id"] = check.id
    return ids
