"""Service visits (repair orders) and the points they earn.

Service answers members' signals (app/core/signals.py): the export lists the owner's visits and
appointments, a deletion cancels the appointments still booked.
"""

from app.core.signals import member_deleting, member_export


@member_export.connect
def _export_service(member, **_):
    from app.members.privacy import export_rows
    from app.service.models import Appointment, ServiceVisit

    return {
        "service_visits": export_rows(
            ServiceVisit, ServiceVisit.member_id == member.id, skip=("member_id",)
        ),
        "appointments": export_rows(
            Appointment, Appointment.member_id == member.id, skip=("member_id",)
        ),
    }


@member_deleting.connect
def _cancel_appointments(member, *, now, **_):
    from sqlalchemy import select

    from app.extensions import db
    from app.service.appointments import AppointmentRefused, cancel_appointment
    from app.service.models import Appointment, AppointmentStatus

    cancelled = 0
    booked = db.session.scalars(
        select(Appointment.id).where(
            Appointment.member_id == member.id, Appointment.status == AppointmentStatus.BOOKED
        )
    ).all()
    for appointment_id in booked:
        try:
            cancel_appointment(member, appointment_id, now=now)
            cancelled += 1
        except AppointmentRefused:
            continue  # begun already: the dealer closes it as kept or missed
    return {"appointments_cancelled": cancelled}
