"""Permission-matrix routes: broadcasts (issue 20). A draft of SZ01 for the pages that show
or edit one, a spare one for the moves (each answers with a redirect however often it is
taken); GZ01's admin finds neither, nor SZ01's count or compose page."""

from datetime import timedelta

from app.campaigns.broadcasts.models import Broadcast, BroadcastStatus
from app.core.clock import utcnow
from app.extensions import db
from tests.admin.matrix import Route

BASE = "/admin/campaigns/broadcasts"
ROUTES: tuple[Route, ...] = (
    Route("GET", BASE, BASE, "campaigns.broadcasts", 200),
    Route(
        "GET",
        f"{BASE}/new",
        f"{BASE}/new?dealer={{broadcast_dealer_id}}",
        "campaigns.broadcasts",
        200,
    ),
    # An empty POST re-shows the form with its errors and saves nothing.
    Route(
        "POST",
        f"{BASE}/new",
        f"{BASE}/new?dealer={{broadcast_dealer_id}}",
        "campaigns.broadcasts",
        200,
    ),
    Route(
        "GET",
        f"{BASE}/count.json",
        f"{BASE}/count.json?dealer={{broadcast_dealer_id}}",
        "campaigns.broadcasts",
        200,
    ),
    Route(
        "GET",
        f"{BASE}/<int:broadcast_id>",
        f"{BASE}/{{broadcast_id}}",
        "campaigns.broadcasts",
        200,
    ),
    Route(
        "GET",
        f"{BASE}/<int:broadcast_id>/edit",
        f"{BASE}/{{broadcast_id}}/edit",
        "campaigns.broadcasts",
        200,
    ),
    Route(
        "POST",
        f"{BASE}/<int:broadcast_id>/edit",
        f"{BASE}/{{broadcast_id}}/edit",
        "campaigns.broadcasts",
        200,
    ),
    *(
        Route(
            "POST",
            f"{BASE}/<int:broadcast_id>/{move}",
            f"{BASE}/{{spare_broadcast_id}}/{move}",
            "campaigns.broadcasts",
            302,
        )
        for move in ("schedule", "unschedule", "cancel")
    ),
)


def desk(dealer, owner) -> dict[str, int]:
    """Two drafts of SZ01 (their words name SZ01's partner, which GZ01 must never see)."""
    now = utcnow()
    ids = {"broadcast_dealer_id": dealer.id}
    for name in ("broadcast_id", "spare_broadcast_id"):
        broadcast = Broadcast(
            dealer_id=dealer.id,
            kind="weather_warning",
            title_zh="Desk car spa 台风提醒",
            body_zh="{name}，请注意安全。",
            title_en="Desk car spa typhoon warning",
            body_en="{name}, stay safe.",
            filters={},
            send_at=now + timedelta(days=1),
            status=BroadcastStatus.DRAFT,
            created_at=now,
            updated_at=now,
        )
        db.session.add(broadcast)
        db.session.flush()
        ids[name] = broadcast.id
    return ids
