"""Permission-matrix routes: campaigns (issue 8): managers' campaign pages and the agents' call
lists. The desk has a draft campaign and a launched one whose target is the desk's owner, on
the matrix care agent's list (another agent's owners are not found: only their agent and the
managers open them)."""

from datetime import date

from sqlalchemy import select

from app.auth.services import get_user_by_mobile
from app.campaigns.calls import groups, services
from app.campaigns.calls.models import CampaignTarget
from app.campaigns.calls.targeting import TargetFilters
from app.extensions import db
from tests.admin.matrix import Route
from tests.factories import make_staff

C = "/admin/campaigns"

ROUTES: tuple[Route, ...] = (
    Route("GET", C, C, "campaigns.manage", 200),
    Route("GET", f"{C}/new", f"{C}/new", "campaigns.manage", 200),
    # An empty POST re-shows the form with its errors and saves nothing.
    Route("POST", f"{C}/new", f"{C}/new", "campaigns.manage", 200),
    Route("GET", f"{C}/<int:campaign_id>", f"{C}/{{campaign_id}}", "campaigns.manage", 200),
    Route(
        "GET", f"{C}/<int:campaign_id>/edit", f"{C}/{{campaign_id}}/edit", "campaigns.manage", 200
    ),
    Route(
        "POST", f"{C}/<int:campaign_id>/edit", f"{C}/{{campaign_id}}/edit", "campaigns.manage", 200
    ),
    Route(
        "GET",
        f"{C}/<int:campaign_id>/groups/new",
        f"{C}/{{campaign_id}}/groups/new",
        "campaigns.manage",
        200,
    ),
    # An empty POST counts (no "save" action): nothing saved.
    Route(
        "POST",
        f"{C}/<int:campaign_id>/groups/new",
        f"{C}/{{campaign_id}}/groups/new",
        "campaigns.manage",
        200,
    ),
    Route(
        "GET",
        f"{C}/<int:campaign_id>/groups/count.json",
        f"{C}/{{campaign_id}}/groups/count.json",
        "campaigns.manage",
        200,
    ),
    # A group of the launched campaign: refused (launched), back to the campaign.
    Route(
        "POST",
        f"{C}/<int:campaign_id>/groups/<int:group_id>/remove",
        f"{C}/{{launched_id}}/groups/{{launched_group_id}}/remove",
        "campaigns.manage",
        302,
    ),
    # Without agents: refused, still a draft.
    Route(
        "POST",
        f"{C}/<int:campaign_id>/launch",
        f"{C}/{{campaign_id}}/launch",
        "campaigns.manage",
        302,
    ),
    # Inside its window: refused.
    Route(
        "POST",
        f"{C}/<int:campaign_id>/close",
        f"{C}/{{launched_id}}/close",
        "campaigns.manage",
        302,
    ),
    Route(
        "POST", f"{C}/<int:campaign_id>/move", f"{C}/{{launched_id}}/move", "campaigns.manage", 302
    ),
    Route("GET", f"{C}/calls", f"{C}/calls", "campaigns.call", 200),
    Route("GET", f"{C}/calls/<int:target_id>", f"{C}/calls/{{target_id}}", "campaigns.call", 200),
    # No outcome chosen: nothing recorded.
    Route("POST", f"{C}/calls/<int:target_id>", f"{C}/calls/{{target_id}}", "campaigns.call", 302),
    Route(
        "POST",
        f"{C}/calls/<int:target_id>/reveal",
        f"{C}/calls/{{target_id}}/reveal",
        "campaigns.call",
        302,
    ),
    # No agent picked: nothing changed.
    Route(
        "POST",
        f"{C}/calls/<int:target_id>/assign",
        f"{C}/calls/{{target_id}}/assign",
        "campaigns.manage",
        302,
    ),
)


def desk(dealer, owner) -> dict[str, int]:
    """A draft campaign with a group, and a launched one whose target is the owner's car."""
    owner.marketing_opt_in = True  # campaigns invite and call only owners who accepted
    manager = make_staff("showroom_manager", dealer.id)
    agent = make_staff("care_agent", dealer.id)
    window = {"starts_on": date(2026, 11, 1), "ends_on": date(2026, 12, 31)}
    draft = services.create_campaign(manager, services.CampaignData(name="Desk draft", **window))
    groups.add_group(manager, draft.id, name="Every car", filters=TargetFilters())
    launched = services.create_campaign(
        manager, services.CampaignData(name="Desk campaign", **window)
    )
    group = groups.add_group(
        manager, launched.id, name="Every car", filters=TargetFilters(), confirm_overlap=True
    )
    services.launch_campaign(manager, launched.id, agent_ids=[agent.id])
    target = db.session.scalars(
        select(CampaignTarget).where(
            CampaignTarget.campaign_id == launched.id, CampaignTarget.member_id == owner.id
        )
    ).first()
    return {
        "campaign_id": draft.id,
        "launched_id": launched.id,
        "launched_group_id": group.id,
        "target_id": target.id,
    }


def principals(ids: dict, mobiles: dict) -> None:
    """The launched campaign's target goes to the matrix's care agent."""
    target = db.session.get(CampaignTarget, ids["target_id"])
    target.agent_id = get_user_by_mobile(mobiles["care_agent"]).id
    db.session.flush()
