"""Permission-matrix routes: appointments (issue 6).

Empty POSTs change nothing: forms re-show with the reasons (422), one-tap actions redirect to
the day with the reason flashed; saving the settings empty means "no reward".
"""

from datetime import time

from app.core.clock import local_date
from app.service.appointments import book_appointment
from app.service.workshop import add_slots
from tests.admin.matrix import Route
from tests.factories import make_staff

P = "appointments.manage"

ROUTES: tuple[Route, ...] = (
    Route("GET", "/admin/appointments", "/admin/appointments", P, 200),
    Route("GET", "/admin/appointments/slots/new", "/admin/appointments/slots/new", P, 200),
    Route("POST", "/admin/appointments/slots/new", "/admin/appointments/slots/new", P, 422),
    Route(
        "POST",
        "/admin/appointments/slots/<int:slot_id>/capacity",
        "/admin/appointments/slots/{appointment_slot_id}/capacity",
        P,
        302,
    ),
    Route(
        "POST",
        '/admin/appointments/<int:appointment_id>/<any(kept, "no-show"):outcome>',
        "/admin/appointments/{appointment_id}/kept",
        P,
        302,
    ),
    Route(
        "POST",
        '/admin/appointments/<int:appointment_id>/<any(kept, "no-show"):outcome>',
        "/admin/appointments/{appointment_id}/no-show",
        P,
        302,
    ),
    Route("GET", "/admin/appointments/settings", "/admin/appointments/settings", P, 200),
    Route("POST", "/admin/appointments/settings", "/admin/appointments/settings", P, 302),
    # Staff book for an owner (issue 20): another dealer's owner is not found.
    Route(
        "GET",
        "/admin/appointments/owners/<int:member_id>/book",
        "/admin/appointments/owners/{member_id}/book",
        "appointments.book_for_owner",
        200,
        other_dealer=404,
    ),
    Route(
        "POST",
        "/admin/appointments/owners/<int:member_id>/book",
        "/admin/appointments/owners/{member_id}/book",
        "appointments.book_for_owner",
        422,
        other_dealer=404,
    ),
)


def desk(dealer, owner) -> dict[str, int]:
    """A time later today at ``dealer`` with ``owner``'s car booked for it."""
    advisor = make_staff("service_advisor", dealer.id)
    (slot,) = add_slots(
        advisor,
        day=local_date(),
        first=time(20),
        last=time(20),
        every_minutes=30,
        capacity=2,
    ).added
    appointment = book_appointment(owner, slot_id=slot.id, vehicle_id=owner.vehicles[0].id)
    return {"appointment_slot_id": slot.id, "appointment_id": appointment.id}
