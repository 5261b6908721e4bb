"""Permission-matrix routes: ABC grading (issue 8): owner care, owners to grade, an owner's
grading card and contacts, the care standards."""

from app.campaigns.grading.services import grade_owner
from tests.admin.matrix import Route
from tests.factories import make_staff

BASE = "/admin/campaigns/grading"

ROUTES: tuple[Route, ...] = (
    Route("GET", BASE, BASE, "campaigns.grading", 200),
    *(
        Route("GET", f"{BASE}/care.csv", f"{BASE}/care.csv?table={t}", "campaigns.grading", 200)
        for t in ("grades", "consultants", "overdue")
    ),
    Route("GET", f"{BASE}/owners", f"{BASE}/owners", "campaigns.grading", 200),
    Route(
        "GET",
        f"{BASE}/owners/<int:member_id>",
        f"{BASE}/owners/{{member_id}}",
        "campaigns.grading",
        200,
    ),
    # Empty POSTs re-show the card with the form's errors and save nothing.
    Route(
        "POST",
        f"{BASE}/owners/<int:member_id>",
        f"{BASE}/owners/{{member_id}}",
        "campaigns.grading",
        200,
    ),
    Route(
        "POST",
        f"{BASE}/owners/<int:member_id>/contacts",
        f"{BASE}/owners/{{member_id}}/contacts",
        "campaigns.grading",
        200,
    ),
    Route("GET", f"{BASE}/standards", f"{BASE}/standards", "campaigns.grading_standards", 200),
    Route("POST", f"{BASE}/standards", f"{BASE}/standards", "campaigns.grading_standards", 200),
)


def desk(dealer, owner) -> dict[str, int]:
    """The owner graded A by a consultant of the dealer, so the pages have a row to show."""
    consultant = make_staff("sales_consultant", dealer.id)
    grade_owner(consultant, owner.id, grade="A", reason="Desk VIP")
    return {}
