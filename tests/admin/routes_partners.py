"""Permission-matrix routes: partners and their perks (issue 6).

Empty POSTs re-show their form with the reasons (422) and save nothing; the partner's edit
form is sent as it is and saves nothing new.
"""

from tests.admin.matrix import Route
from tests.partners.helpers import make_partner, make_perk

_PARTNER = "/admin/partners/<int:partner_id>"
_PARTNER_PATH = "/admin/partners/{partner_id}"

ROUTES: tuple[Route, ...] = (
    Route("GET", "/admin/partners", "/admin/partners", "partners.manage", 200),
    Route("GET", "/admin/partners/new", "/admin/partners/new", "partners.manage", 200),
    Route("POST", "/admin/partners/new", "/admin/partners/new", "partners.manage", 422),
    Route("GET", _PARTNER, _PARTNER_PATH, "partners.manage", 200),
    Route("GET", f"{_PARTNER}/edit", f"{_PARTNER_PATH}/edit", "partners.manage", 200),
    Route(
        "POST",
        f"{_PARTNER}/edit",
        f"{_PARTNER_PATH}/edit",
        "partners.manage",
        302,
        # The partner as it is (its dealer and address kept), so a permitted save changes nothing.
        {"name": "Desk car spa", "category": "car_care", "active": "y"},
    ),
    Route("GET", f"{_PARTNER}/perks/new", f"{_PARTNER_PATH}/perks/new", "partners.manage", 200),
    Route("POST", f"{_PARTNER}/perks/new", f"{_PARTNER_PATH}/perks/new", "partners.manage", 422),
    Route(
        "GET",
        "/admin/perks/<int:perk_id>/edit",
        "/admin/perks/{perk_id}/edit",
        "partners.manage",
        200,
    ),
    Route(
        "POST",
        "/admin/perks/<int:perk_id>/edit",
        "/admin/perks/{perk_id}/edit",
        "partners.manage",
        422,
    ),
    Route("GET", f"{_PARTNER}/users/new", f"{_PARTNER_PATH}/users/new", "partners.manage", 200),
    Route("POST", f"{_PARTNER}/users/new", f"{_PARTNER_PATH}/users/new", "partners.manage", 422),
    Route("GET", f"{_PARTNER}/settlement", f"{_PARTNER_PATH}/settlement", "partners.manage", 200),
    Route(
        "GET",
        f"{_PARTNER}/settlement.csv",
        f"{_PARTNER_PATH}/settlement.csv",
        "partners.manage",
        200,
    ),
)


def desk(dealer, owner) -> dict[str, int]:
    """A partner of the desk's dealer with one perk."""
    partner = make_partner(dealer.id, name="Desk car spa", category="car_care")
    return {"partner_id": partner.id, "perk_id": make_perk(partner, title="Desk wash").id}
