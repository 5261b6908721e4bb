"""Owners' side of the events' outreach: an invitation's link (recorded as opened), a ticket's
calendar file and its map link. The staff page of invitations is
app/campaigns/event_invites/views.py (it chooses owners with the campaign filters)."""

from flask import Response, abort, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.clock import utcnow
from app.core.errors import NotFound
from app.core.permissions import member_required
from app.events import browsing, calendar, invitations
from app.events.views import bp


@bp.app_template_global()
def event_map_url(place: str) -> str:
    """A maps search for an event's place (a plain link; the page makes no call)."""
    return calendar.map_url(place)


@bp.get("/invitations/<int:invitation_id>")
@member_required
def open_invitation(invitation_id: int):
    """The invitation's link: noted as opened, then the event's page."""
    try:
        event = invitations.open_invitation(current_user.member, invitation_id)
    except NotFound:
        abort(404)
    return redirect(url_for("events.detail", event_id=event.id))


@bp.get("/me/tickets/<int:registration_id>/calendar.ics")
@member_required
def ticket_calendar(registration_id: int):
    """The ticket as a calendar file (the owner's own tickets only)."""
    try:
        registration = browsing.get_own_registration(current_user.member, registration_id)
    except NotFound:
        abort(404)
    body = calendar.ics_for(
        registration,
        url=url_for("events.ticket", registration_id=registration.id, _external=True),
        description=calendar.description_for(registration, _("Ticket code")),
        now=utcnow(),
    )
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="event-{registration.event_id}.ics"',
            "Cache-Control": "private, no-store",
        },
    )
