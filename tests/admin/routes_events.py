"""Permission-matrix routes: organising events (list, create, edit, the event's page).

Empty POSTs re-show their form with the reasons (422) and save nothing.
"""

from tests.admin.matrix import Route

ORGANISING_ROUTES: tuple[Route, ...] = (
    Route("GET", "/admin/events", "/admin/events", "events.manage", 200),
    Route("GET", "/admin/events/new", "/admin/events/new", "events.manage", 200),
    Route("POST", "/admin/events/new", "/admin/events/new", "events.manage", 422),
    Route(
        "GET",
        "/admin/events/<int:event_id>",
        "/admin/events/{event_id}",
        "events.manage",
        200,
    ),
    Route(
        "GET",
        "/admin/events/<int:event_id>/edit",
        "/admin/events/{event_id}/edit",
        "events.manage",
        200,
    ),
    Route(
        "POST",
        "/admin/events/<int:event_id>/edit",
        "/admin/events/{event_id}/edit",
        "events.manage",
        422,
    ),
)
