"""A car's warranty (R8): the date on its record, else DEFAULT_WARRANTY_MONTHS from delivery
(purchase when the delivery is unknown). One rule for Python and for SQL."""

from datetime import date

from sqlalchemy import and_, func, or_

from app.core.clock import add_months
from app.members.models import DEFAULT_WARRANTY_MONTHS, Vehicle


def warranty_end(car) -> date:
    """When ``car``'s warranty ends (a Vehicle, or a row with its warranty_until, delivered_on
    and purchased_on)."""
    if car.warranty_until is not None:
        return car.warranty_until
    return add_months(car.delivered_on or car.purchased_on, DEFAULT_WARRANTY_MONTHS)


def in_warranty(today: date):
    """In warranty on ``today``, as an SQL condition on Vehicle that is never NULL."""
    start = func.coalesce(Vehicle.delivered_on, Vehicle.purchased_on)
    # start + N months >= today  ⇔  start >= today - N months (add_months clamps both ways).
    default_from = add_months(today, -DEFAULT_WARRANTY_MONTHS)
    until = Vehicle.warranty_until
    return or_(
        and_(until.is_not(None), until >= today), and_(until.is_(None), start >= default_from)
    )
