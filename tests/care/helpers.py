"""Owners, cars and visits for the care tests (flush, never commit)."""

import itertools
from datetime import date, datetime

from app.core.clock import utcnow
from app.extensions import db
from app.service.models import ServiceCategory, ServiceVisit
from tests.factories import make_member, make_vehicle

_ro = itertools.count(1)


def make_owner(dealer_id: int, *, name: str, **fields):
    """An owner with ``fields`` set on the member (email, birthday, marketing_opt_in...)."""
    member = make_member(dealer_id, name=name)
    for field, value in fields.items():
        setattr(member, field, value)
    db.session.flush()
    return member


def make_car(member, *, purchased_on: date, delivered_on: date | None = None, **fields):
    """A car of ``member``; care dates (warranty_until...) through ``fields``."""
    vehicle = make_vehicle(member, purchased_on=purchased_on, delivered_on=delivered_on)
    for field, value in fields.items():
        setattr(vehicle, field, value)
    db.session.flush()
    return vehicle


def add_visit(
    vehicle,
    *,
    on: date,
    km: int,
    category: ServiceCategory = ServiceCategory.MAINTENANCE,
    now: datetime | None = None,
) -> ServiceVisit:
    """A recorded visit of ``vehicle`` (as the DMS would push it; no points)."""
    visit = ServiceVisit(
        dealer_id=vehicle.member.dealer_id,
        ro_number=f"RO-C{next(_ro)}",
        vehicle_id=vehicle.id,
        member_id=vehicle.member_id,
        visited_on=on,
        mileage_km=km,
        amount_fen=50_000,
        category=category,
        source="dms",
        created_at=now or utcnow(),
    )
    db.session.add(visit)
    db.session.flush()
    return visit
