"""Permission-matrix routes: an event's invitations (issue 21). An empty POST counts the owners
the (empty) filters choose and invites nobody; GZ01's admin finds no SZ01 event."""

from app.core.clock import utcnow
from app.events.models import EventInvitation
from app.extensions import db
from tests.admin.matrix import Route

OUTREACH_ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/admin/events/<int:event_id>/invitations",
        "/admin/events/{event_id}/invitations",
        "events.manage",
        200,
    ),
    Route(
        "POST",
        "/admin/events/<int:event_id>/invitations",
        "/admin/events/{event_id}/invitations",
        "events.manage",
        200,
    ),
    Route(
        "GET",
        "/admin/events/<int:event_id>/invitations.csv",
        "/admin/events/{event_id}/invitations.csv",
        "events.manage",
        200,
    ),
)


def desk_outreach(owner, event_id: int) -> dict[str, int]:
    """The desk owner's invitation to the desk trip (its link is theirs alone)."""
    invitation = EventInvitation(event_id=event_id, member_id=owner.id, invited_at=utcnow())
    db.session.add(invitation)
    db.session.flush()
    return {"invitation_id": invitation.id}
