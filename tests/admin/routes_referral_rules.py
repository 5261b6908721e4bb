"""Permission-matrix routes: the referral rules of issue 21: HQ's referral terms, a manager's
staff check of a referrer, the staff identity register."""

from tests.admin.matrix import Route

ROUTES: tuple[Route, ...] = (
    Route("GET", "/admin/referral-terms", "/admin/referral-terms", "referrals.terms", 200),
    # Empty: the form shows what is missing, nothing is announced.
    Route("POST", "/admin/referral-terms", "/admin/referral-terms", "referrals.terms", 200),
    # No version 999999 is announced: the page says nothing changed.
    Route(
        "POST",
        "/admin/referral-terms/<int:version_id>/withdraw",
        "/admin/referral-terms/999999/withdraw",
        "referrals.terms",
        302,
    ),
    # The desk's referral has no staff match: the page says so, an empty POST re-shows it.
    Route(
        "GET",
        "/admin/referrals/<int:referral_id>/staff-review",
        "/admin/referrals/{referral_id}/staff-review",
        "referrals.decide",
        200,
    ),
    Route(
        "POST",
        "/admin/referrals/<int:referral_id>/staff-review",
        "/admin/referrals/{referral_id}/staff-review",
        "referrals.decide",
        200,
    ),
    Route(
        "GET",
        "/admin/referrals/staff-register",
        "/admin/referrals/staff-register",
        "referrals.staff_register",
        200,
    ),
    Route(
        "POST",
        "/admin/referrals/staff-register",
        "/admin/referrals/staff-register",
        "referrals.staff_register",
        200,
    ),
    # No such entry: a holder is told so (404); removing one is tested with the register.
    Route(
        "POST",
        "/admin/referrals/staff-register/<int:identity_id>/remove",
        "/admin/referrals/staff-register/999999/remove",
        "referrals.staff_register",
        404,
    ),
)


def desk(dealer, owner) -> dict[str, int]:
    """The routes use the desk's referral (``referral_id``): nothing of their own."""
    return {}
