"""When a car's maintenance is due (seed 002: 首保 60 days after delivery, 定保 every 6 months or
5,000 km, the earlier): the rules the daily care job reminds by (app/care/schedule.py) and the
owner's home and car page show.

The rules read a few visits per car (on its first and last visit days and its last maintenance
day), found in one query for many cars: ``next_maintenance`` and the first-maintenance check
give the same answers on them as on all the car's visits.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from operator import attrgetter
from typing import NamedTuple

from sqlalchemy import and_, case, func, select

from app.care.settings import intervals
from app.core.clock import add_months
from app.extensions import db
from app.members.models import Vehicle
from app.service.models import ServiceCategory, ServiceVisit, VisitStatus


class Visit(NamedTuple):
    id: int
    visited_on: date
    mileage_km: int
    maintenance: bool


def visits_by_car(today: date, vehicle_ids: Sequence[int] | None = None) -> dict[int, list[Visit]]:
    """Per car (every car, or those of ``vehicle_ids``), the recorded visits up to ``today``
    that the rules look at, in visit order: those on the car's first and last visit days (the
    mileage estimate) and on its last maintenance day, a few of its visits.
    ``next_maintenance`` and the first-maintenance check give the same answers on them as on
    all the car's visits."""
    until_today = (ServiceVisit.status == VisitStatus.RECORDED, ServiceVisit.visited_on <= today)
    if vehicle_ids is not None:
        until_today += (ServiceVisit.vehicle_id.in_(vehicle_ids),)
    maintenance = ServiceVisit.category == ServiceCategory.MAINTENANCE
    days = (
        select(
            ServiceVisit.vehicle_id,
            func.min(ServiceVisit.visited_on).label("first"),
            func.max(ServiceVisit.visited_on).label("last"),
            func.max(case((maintenance, ServiceVisit.visited_on))).label("maintained"),
        )
        .where(*until_today)
        .group_by(ServiceVisit.vehicle_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            ServiceVisit.vehicle_id,
            ServiceVisit.id,
            ServiceVisit.visited_on,
            ServiceVisit.mileage_km,
            ServiceVisit.category,
        )
        .join(
            days,
            and_(
                days.c.vehicle_id == ServiceVisit.vehicle_id,
                ServiceVisit.visited_on.in_([days.c.first, days.c.last, days.c.maintained]),
            ),
        )
        .where(*until_today)
    )
    by_vehicle: dict[int, list[Visit]] = defaultdict(list)
    for vehicle_id, visit_id, visited_on, mileage, category in rows:
        by_vehicle[vehicle_id].append(
            Visit(visit_id, visited_on, mileage, category == ServiceCategory.MAINTENANCE)
        )
    # Sorting each car's few visits here is cheaper than a sort of all of them in SQL.
    in_visit_order = attrgetter("visited_on", "id")
    for car_visits in by_vehicle.values():
        car_visits.sort(key=in_visit_order)
    return by_vehicle


def next_maintenance(
    vehicle: Vehicle, visits: list[Visit], *, every: dict | None = None
) -> tuple[Visit, date] | None:
    """The last maintenance visit and the next one's due day (by months or km, the earlier);
    ``every``: the ``intervals()`` when the caller has them."""
    maintenance = [v for v in visits if v.maintenance]
    if not maintenance:
        return None
    every = every or intervals()
    base = maintenance[-1]
    due = add_months(base.visited_on, every["MAINTENANCE_MONTHS"])
    points = [(v.visited_on, v.mileage_km) for v in visits]
    if vehicle.delivered_on is not None:
        points.insert(0, (vehicle.delivered_on, 0))
    (first_day, first_km), (last_day, last_km) = min(points), max(points)
    span, driven = (last_day - first_day).days, last_km - first_km
    if span > 0 and driven > 0:
        # Days to drive the remaining km at the car's average, in whole days, rounded up.
        remaining = base.mileage_km + every["MAINTENANCE_KM"] - last_km
        due = min(due, last_day + timedelta(days=max(0, -(-remaining * span // driven))))
    return base, due


def first_maintenance_pending(vehicle: Vehicle, visits: list[Visit]) -> bool:
    """A delivered car that has had no maintenance visit since its delivery (首保 to come)."""
    delivered = vehicle.delivered_on
    return delivered is not None and not any(
        v.maintenance and v.visited_on >= delivered for v in visits
    )


@dataclass(frozen=True)
class MaintenanceDue:
    """When a car's next maintenance is due, as the care reminders count it."""

    due_on: date
    first: bool  # the first maintenance after delivery
    last_on: date | None  # the last maintenance visit, if any
    overdue: bool


def maintenance_due(vehicles: Sequence[Vehicle], today: date) -> dict[int, MaintenanceDue]:
    """Per car id, the next maintenance the care schedule reminds of (the first one after
    delivery, or the regular one after the last maintenance); cars with neither are left out."""
    visits = visits_by_car(today, [v.id for v in vehicles])
    every = intervals()
    due = {}
    for vehicle in vehicles:
        car_visits = visits.get(vehicle.id, [])
        if first_maintenance_pending(vehicle, car_visits):
            day = vehicle.delivered_on + timedelta(days=every["FIRST_MAINTENANCE_DAY"])
            due[vehicle.id] = MaintenanceDue(day, True, None, day < today)
        elif (found := next_maintenance(vehicle, car_visits, every=every)) is not None:
            base, day = found
            due[vehicle.id] = MaintenanceDue(day, False, base.visited_on, day < today)
    return due
