"""Permission-matrix routes: routes_checkin (the gate's page, its offline data and worker)."""

from tests.admin.matrix import Route

CHECKIN_ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/admin/events/<int:event_id>/checkin",
        "/admin/events/{event_id}/checkin",
        "events.checkin",
        200,
    ),
    # An empty ticket field re-shows the page with its error.
    Route(
        "POST",
        "/admin/events/<int:event_id>/checkin",
        "/admin/events/{event_id}/checkin",
        "events.checkin",
        200,
    ),
    Route(
        "GET",
        "/admin/events/<int:event_id>/checkin/data",
        "/admin/events/{event_id}/checkin/data",
        "events.checkin",
        200,
    ),
    Route(
        "GET",
        "/admin/events/checkin-sw.js",
        "/admin/events/checkin-sw.js",
        "events.checkin",
        200,
    ),
)
