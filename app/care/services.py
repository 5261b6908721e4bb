"""The care dates of the owners' cars (the inbox and the owner's channels are in
app/members/inbox.py)."""

from datetime import date

from flask_babel import lazy_gettext as _l

from app.core.errors import NotFound, ValidationFailed
from app.extensions import db
from app.members.models import Member, Vehicle


def get_own_vehicle(member: Member, vehicle_id: int) -> Vehicle:
    """One of the owner's cars; NotFound for anyone else's."""
    vehicle = db.session.get(Vehicle, vehicle_id)
    if vehicle is None or vehicle.member_id != member.id:
        raise NotFound(_l("No such car."))
    return vehicle


def set_care_dates(
    member: Member,
    vehicle_id: int,
    *,
    warranty_until: date | None,
    insurance_expires_on: date | None,
    inspection_due_on: date | None,
) -> Vehicle:
    """The owner tells the club when their car's warranty, insurance and inspection run out."""
    vehicle = get_own_vehicle(member, vehicle_id)
    if warranty_until is not None and warranty_until < vehicle.purchased_on:
        raise ValidationFailed(
            _l("The warranty cannot end before the car was bought."), field="warranty_until"
        )
    vehicle.warranty_until = warranty_until
    vehicle.insurance_expires_on = insurance_expires_on
    vehicle.inspection_due_on = inspection_due_on
    db.session.flush()
    return vehicle
