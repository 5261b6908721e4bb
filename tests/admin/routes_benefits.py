"""Permission-matrix routes: member benefits (issue 21): the counter (an owner's benefits,
recording and taking back a use) and HQ's catalogue with its draft."""

from app.loyalty.member_benefits import catalogue
from app.loyalty.member_benefits.uses import UseClaim, record_use
from tests.admin.matrix import Route
from tests.factories import make_staff

ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/admin/members/<int:member_id>/benefits",
        "/admin/members/{member_id}/benefits",
        "members.view",
        200,
    ),
    # A code no tier has: refused on the page (nothing recorded), whoever holds the permission.
    Route(
        "POST",
        "/admin/members/<int:member_id>/benefits/<code>/use",
        "/admin/members/{member_id}/benefits/no-such-benefit/use",
        "benefits.record",
        200,
    ),
    # Without a reason nothing is taken back: the counter page says why.
    Route(
        "POST",
        "/admin/benefit-uses/<int:use_id>/void",
        "/admin/benefit-uses/{benefit_use_id}/void",
        "benefits.void",
        302,
    ),
    Route("GET", "/admin/benefits", "/admin/benefits", "benefits.manage", 200),
    # The desk's draft is open already: a second one is refused with a message.
    Route("POST", "/admin/benefits/draft", "/admin/benefits/draft", "benefits.manage", 302),
    Route(
        "POST",
        "/admin/benefits/<int:catalogue_id>/withdraw",
        "/admin/benefits/999999/withdraw",
        "benefits.manage",
        302,
    ),
    Route("GET", "/admin/benefits/draft/new", "/admin/benefits/draft/new", "benefits.manage", 200),
    Route("POST", "/admin/benefits/draft/new", "/admin/benefits/draft/new", "benefits.manage", 200),
    Route(
        "GET",
        "/admin/benefits/draft/<int:benefit_id>",
        "/admin/benefits/draft/{draft_benefit_id}",
        "benefits.manage",
        200,
    ),
    Route(
        "POST",
        "/admin/benefits/draft/<int:benefit_id>",
        "/admin/benefits/draft/{draft_benefit_id}",
        "benefits.manage",
        200,
        {"code": ""},
    ),
    Route(
        "POST",
        "/admin/benefits/draft/<int:benefit_id>/remove",
        "/admin/benefits/draft/{spare_benefit_id}/remove",
        "benefits.manage",
        302,
    ),
    Route(
        "POST",
        "/admin/benefits/draft/announce",
        "/admin/benefits/draft/announce",
        "benefits.manage",
        200,
    ),
    # Without the draft's id (a stale page) the draft stays.
    Route(
        "POST",
        "/admin/benefits/draft/discard",
        "/admin/benefits/draft/discard",
        "benefits.manage",
        302,
    ),
)


def desk(dealer, owner) -> dict[str, int]:
    """A car wash the owner used, and HQ's draft with a benefit to change and a spare one."""
    advisor = make_staff("service_advisor", dealer.id)
    used = record_use(advisor, owner, UseClaim(code="car-wash"), dealer_id=dealer.id).use
    hq = make_staff("hq_admin", None)
    draft = catalogue.start_draft(hq)
    kept, spare = draft.benefits[0], draft.benefits[1]
    return {"benefit_use_id": used.id, "draft_benefit_id": kept.id, "spare_benefit_id": spare.id}
