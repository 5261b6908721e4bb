"""Recording service visits and refunding them: the points they earn, exactly once (R3, R4)."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.identifiers import normalize_vin
from app.extensions import db
from app.loyalty.ledger import lock_account, post_points, reverse_entry
from app.loyalty.models import EntryKind, PointsAccount, Tier
from app.loyalty.rules import visit_points
from app.members.models import Member, Vehicle
from app.members.services import vin_error
from app.service.models import ServiceCategory, ServiceVisit, VisitStatus

RO_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_/]{0,31}$")
MAX_AMOUNT_FEN = 100_000_000  # ¥1,000,000: anything above is a typo
MAX_MILEAGE_KM = 2_000_000


@dataclass(frozen=True)
class VisitResult:
    """A recorded visit (``created`` False on a replay) and the member's figures after it."""

    visit: ServiceVisit
    created: bool
    points_awarded: int
    balance: int
    tier: str


@dataclass(frozen=True)
class RefundResult:
    """A refunded visit (``created`` False on a replay) and the member's balance after it."""

    visit: ServiceVisit
    created: bool
    points_reversed: int
    balance: int


def _check_visit_input(ro_number, vin, visited_on, mileage_km, amount_fen, category, now):
    if not RO_PATTERN.match(ro_number or ""):
        raise ValidationFailed(
            _l("A repair order number has 1-32 letters, digits, -, _ or /."), field="ro_number"
        )
    problem = vin_error(vin)
    if problem:
        raise ValidationFailed(problem, field="vin")
    if visited_on > local_date(now):
        raise ValidationFailed(_l("The visit date cannot be in the future."), field="visited_on")
    oldest = local_date(now) - timedelta(days=current_app.config["VISIT_BACKDATE_DAYS"])
    if visited_on < oldest:
        raise ValidationFailed(
            _l("Visits older than %(date)s cannot be recorded.", date=oldest.isoformat()),
            field="visited_on",
        )
    if not 0 <= mileage_km <= MAX_MILEAGE_KM:
        raise ValidationFailed(_l("Enter the mileage in km (0 to 2,000,000)."), field="mileage_km")
    if not 0 < amount_fen <= MAX_AMOUNT_FEN:
        raise ValidationFailed(
            _l("Enter the amount paid by the owner (more than ¥0, at most ¥1,000,000)."),
            field="amount_yuan",
        )
    if category not in ServiceCategory._value2member_map_:
        raise ValidationFailed(_l("Choose a service category."), field="category")


def _dealer_vehicle(dealer_id: int, vin: str) -> Vehicle:
    vehicle = db.session.scalar(select(Vehicle).where(Vehicle.vin == normalize_vin(vin)))
    if vehicle is None or vehicle.member.dealer_id != dealer_id:
        raise NotFound(_l("No car with this VIN belongs to this dealer's club."), field="vin")
    return vehicle


def _visit(dealer_id: int, ro_number: str) -> ServiceVisit | None:
    return db.session.scalar(
        select(ServiceVisit)
        .where(ServiceVisit.dealer_id == dealer_id, ServiceVisit.ro_number == ro_number)
        .execution_options(populate_existing=True)
    )


def _account(member_id: int) -> PointsAccount:
    return db.session.scalar(select(PointsAccount).where(PointsAccount.member_id == member_id))


def record_visit(
    actor,
    *,
    dealer_id: int,
    ro_number: str,
    vin: str,
    visited_on: date,
    mileage_km: int,
    amount_fen: int,
    category: str,
    source: str = "staff",
    now: datetime | None = None,
) -> VisitResult:
    """Record a repair order and award its points; replaying the same RO changes nothing."""
    now = now or utcnow()
    ro_number = (ro_number or "").strip()
    _check_visit_input(ro_number, vin, visited_on, mileage_km, amount_fen, category, now)
    vehicle = _dealer_vehicle(dealer_id, vin)
    if visited_on < vehicle.purchased_on:
        raise ValidationFailed(
            _l("The visit date is before the car was bought."), field="visited_on"
        )
    # Every visit of this member queues on the account lock, so replays see the first one.
    account = lock_account(_account(vehicle.member_id).id)
    existing = _visit(dealer_id, ro_number)
    if existing is not None:
        if existing.vehicle_id != vehicle.id:
            raise Conflict(
                _l("This repair order number was already used for another car."),
                field="ro_number",
            )
        return VisitResult(
            existing, False, existing.points_awarded, account.balance, account.tier_code
        )
    tier = db.session.scalar(select(Tier).where(Tier.code == account.tier_code))
    earned = visit_points(
        amount_fen=amount_fen,
        category=category,
        tier_multiplier_pct=tier.multiplier_pct,
        purchased_on=vehicle.purchased_on,
        visited_on=visited_on,
    )
    visit = ServiceVisit(
        dealer_id=dealer_id,
        ro_number=ro_number,
        vehicle_id=vehicle.id,
        member_id=vehicle.member_id,
        visited_on=visited_on,
        mileage_km=mileage_km,
        amount_fen=amount_fen,
        category=ServiceCategory(category),
        points_awarded=earned.points,
        source=source,
        recorded_by_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(visit)
    try:
        db.session.flush()
    except IntegrityError:
        # The same RO pushed at the same moment for another member's car.
        db.session.rollback()
        raise Conflict(
            _l("This repair order number was already used for another car."), field="ro_number"
        ) from None
    if earned.points:
        entry = post_points(
            account.id,
            earned.points,
            kind=EntryKind.EARN,
            source="service_visit",
            key=f"visit:{visit.id}",
            reference=ro_number,
            qualifying=True,
            actor=actor,
            dealer_id=dealer_id,
            now=now,
        )
        visit.entry_id = entry.id
    record_audit(
        actor,
        "visit.recorded",
        subject=visit,
        dealer_id=dealer_id,
        details={
            "ro": ro_number,
            "points": earned.points,
            "anniversary": earned.anniversary,
            "source": source,
        },
        now=now,
    )
    return VisitResult(visit, True, earned.points, account.balance, account.tier_code)


def refund_visit(
    actor, *, dealer_id: int, ro_number: str, now: datetime | None = None
) -> RefundResult:
    """Reverse exactly the points a visit earned, once; a second refund changes nothing."""
    now = now or utcnow()
    visit = _visit(dealer_id, (ro_number or "").strip())
    if visit is None:
        raise NotFound(_l("No visit with this repair order number at this dealer."))
    account = lock_account(_account(visit.member_id).id)
    visit = _visit(dealer_id, visit.ro_number)  # re-read under the lock
    if visit.status == VisitStatus.REFUNDED:
        return RefundResult(visit, False, visit.points_reversed or 0, account.balance)
    if visit.entry_id is not None:
        reverse_entry(visit.entry_id, reason=f"refund of {visit.ro_number}", actor=actor, now=now)
    visit.status = VisitStatus.REFUNDED
    visit.refunded_at = now
    visit.points_reversed = visit.points_awarded
    db.session.flush()
    record_audit(
        actor,
        "visit.refunded",
        subject=visit,
        dealer_id=dealer_id,
        details={"ro": visit.ro_number, "points_reversed": visit.points_reversed},
        now=now,
    )
    return RefundResult(visit, True, visit.points_reversed, account.balance)


def dealer_visits(dealer_id: int):
    """The dealer's visits, newest first (a query to paginate), with members and cars loaded."""
    return (
        select(ServiceVisit)
        .options(selectinload(ServiceVisit.member), selectinload(ServiceVisit.vehicle))
        .where(ServiceVisit.dealer_id == dealer_id)
        .order_by(ServiceVisit.created_at.desc(), ServiceVisit.id.desc())
    )


def member_visits(member: Member) -> list[ServiceVisit]:
    """A member's visits, newest first."""
    return list(
        db.session.scalars(
            select(ServiceVisit)
            .where(ServiceVisit.member_id == member.id)
            .order_by(ServiceVisit.visited_on.desc(), ServiceVisit.id.desc())
        )
    )
