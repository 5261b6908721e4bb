"""The staff routes of partners, care, appointments and insight in the permission matrix,
and what the desk needs of them. Each part keeps its routes and desk data in its own module."""

from tests.admin import (
    routes_appointments,
    routes_benefits,
    routes_broadcasts,
    routes_campaign_lists,
    routes_campaign_results,
    routes_campaigns,
    routes_care,
    routes_followups,
    routes_grading,
    routes_hq,
    routes_insight,
    routes_invites,
    routes_name_checks,
    routes_partners,
    routes_recall,
    routes_referral_rules,
    routes_texts,
)

PARTS = (
    routes_partners,
    routes_care,
    routes_followups,
    routes_appointments,
    routes_insight,
    routes_campaigns,
    routes_grading,
    routes_hq,
    routes_campaign_lists,
    routes_campaign_results,
    routes_name_checks,
    routes_texts,
    routes_broadcasts,
    routes_recall,
    routes_referral_rules,
    routes_invites,
    routes_benefits,
)
CARE_ROUTES = tuple(route for part in PARTS for route in part.ROUTES)


def desk_care(dealer, owner) -> dict[str, int]:
    """Ids the routes' paths name, from each part's ``desk(dealer, owner)``."""
    ids: dict[str, int] = {}
    for part in PARTS:
        ids.update(part.desk(dealer, owner))
    return ids


def desk_principals(ids: dict, mobiles: dict) -> None:
    """Let each part give the matrix's principals (by role, their mobiles) desk rows of their
    own, through its optional ``principals(ids, mobiles)``."""
    for part in PARTS:
        hook = getattr(part, "principals", None)
        if hook is not None:
            hook(ids, mobiles)
