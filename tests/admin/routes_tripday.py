"""Permission-matrix routes: routes_tripday (attendee list, safety checks, lecture questions).

Empty POSTs change nothing: the safety form and the answer form re-show with their errors.
"""

from tests.admin.matrix import Route

TRIPDAY_ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/admin/events/<int:event_id>/attendees",
        "/admin/events/{event_id}/attendees",
        "events.manage",
        200,
    ),
    Route(
        "GET",
        "/admin/events/<int:event_id>/attendees.csv",
        "/admin/events/{event_id}/attendees.csv",
        "events.manage",
        200,
    ),
    Route(
        "GET",
        "/admin/events/<int:event_id>/registrations/<int:registration_id>/safety",
        "/admin/events/{event_id}/registrations/{registration_id}/safety",
        "events.manage",
        200,
    ),
    Route(
        "POST",
        "/admin/events/<int:event_id>/registrations/<int:registration_id>/safety",
        "/admin/events/{event_id}/registrations/{registration_id}/safety",
        "events.manage",
        200,
    ),
    Route(
        "GET",
        "/admin/events/<int:event_id>/questions",
        "/admin/events/{lecture_id}/questions",
        "events.answer",
        200,
    ),
    Route(
        "POST",
        "/admin/events/<int:event_id>/questions/<int:question_id>",
        "/admin/events/{lecture_id}/questions/{lecture_question_id}",
        "events.answer",
        200,
    ),
    Route(
        "GET",
        "/admin/events/questions/overdue",
        "/admin/events/questions/overdue",
        "events.answer",
        200,
    ),
)
