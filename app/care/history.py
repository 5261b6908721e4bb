"""An owner's own car: its service visits, its next maintenance and its care dates."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from app.care.maintenance import MaintenanceDue, maintenance_due
from app.core.clock import local_date, utcnow
from app.extensions import db
from app.members.models import Dealer, Member, Vehicle
from app.members.services import get_own_vehicle
from app.members.warranty import warranty_end
from app.service.models import ServiceVisit, VisitAmendment

VISITS_PER_PAGE = 20


@dataclass(frozen=True)
class CarHistory:
    """What the car's page shows: the visits (a page of them, newest first), the dealers'
    names, how many times each visit was amended, the next maintenance and the car's dates."""

    vehicle: Vehicle
    visits: object  # a Flask-SQLAlchemy pagination of ServiceVisit
    dealers: dict[int, str]
    amendments: dict[int, int]
    due: MaintenanceDue | None
    warranty_until: date
    warranty_default: bool  # no date on record: the default length from delivery


def car_history(
    member: Member, vehicle_id: int, *, page: int = 1, now: datetime | None = None
) -> CarHistory:
    """One of the owner's own cars with its service history; NotFound for anyone else's."""
    vehicle = get_own_vehicle(member, vehicle_id)
    visits = db.paginate(
        select(ServiceVisit)
        .where(ServiceVisit.vehicle_id == vehicle.id, ServiceVisit.member_id == member.id)
        .order_by(ServiceVisit.visited_on.desc(), ServiceVisit.id.desc()),
        page=page,
        per_page=VISITS_PER_PAGE,
        error_out=False,
    )
    ids = [v.id for v in visits.items]
    dealer_ids = {v.dealer_id for v in visits.items}
    dealers = dict(
        db.session.execute(select(Dealer.id, Dealer.name).where(Dealer.id.in_(dealer_ids))).all()
    )
    amendments = dict(
        db.session.execute(
            select(VisitAmendment.visit_id, func.count(VisitAmendment.id))
            .where(VisitAmendment.visit_id.in_(ids))
            .group_by(VisitAmendment.visit_id)
        ).all()
    )
    today = local_date(now or utcnow())
    return CarHistory(
        vehicle=vehicle,
        visits=visits,
        dealers=dealers,
        amendments=amendments,
        due=maintenance_due([vehicle], today).get(vehicle.id),
        warranty_until=warranty_end(vehicle),
        warranty_default=vehicle.warranty_until is None,
    )
