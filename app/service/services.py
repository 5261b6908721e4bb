"""Recording service visits and refunding them: the points they earn, exactly once (R3, R4)."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.core.identifiers import normalize_vin
from app.core.money import fen_to_decimal
from app.core.signals import visit_recorded, visit_refunded
from app.extensions import db
from app.loyalty.ledger import lock_account, lock_member_account, post_points, reverse_entry
from app.loyalty.member_benefits.uses import (
    UseClaim,
    record_use,
    uses_of_repair_order,
    void_repair_order_uses,
)
from app.loyalty.models import EntryKind, PointsAccount
from app.loyalty.rules import visit_points
from app.loyalty.tiers import tier_table
from app.members.models import Member, Vehicle
from app.members.services import vin_error
from app.service.kept_reward import reward_after_visit
from app.service.models import (
    VISIT,
    ServiceCategory,
    ServiceVisit,
    VisitAmendment,
    VisitStatus,
)

CATEGORY_LABELS = {
    ServiceCategory.MAINTENANCE: _l("Maintenance"),
    ServiceCategory.REPAIR: _l("Repair"),
    ServiceCategory.ACCIDENT: _l("Accident repair"),
    ServiceCategory.OTHER: _l("Other"),
}


def category_label(category: ServiceCategory | str) -> str:
    """What a visit was for, in the user's language."""
    return str(CATEGORY_LABELS.get(ServiceCategory(category), category))


RO_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_/]{0,31}$")
MAX_AMOUNT_FEN = 100_000_000  # ¥1,000,000: anything above is a typo
MAX_MILEAGE_KM = 2_000_000


@dataclass(frozen=True)
class BenefitClaim:
    """A member benefit the DMS applied on a repair order: its code, and the discount (and
    the amount it was taken off) in fen."""

    code: str
    discount_fen: int
    base_fen: int | None = None


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


class RepairOrderDiffers(Conflict):
    """A repair order number already recorded with other figures: both versions, to compare."""

    def __init__(self, recorded: dict, sent: dict):
        super().__init__(
            _l(
                "This repair order was already recorded with other figures. "
                "To correct it, amend the visit."
            ),
            field="ro_number",
            code="repair_order_differs",
        )
        self.recorded = recorded
        self.sent = sent


@dataclass(frozen=True)
class AmendResult:
    """An amended visit (``created`` False when the visit already had these figures), the
    points the amendment reversed and earned, and the owner's figures after it."""

    visit: ServiceVisit
    amendment: VisitAmendment | None
    created: bool
    balance: int
    tier: str

    @property
    def number(self) -> int:
        """The amendment's number; 0 when the visit stands as first recorded."""
        return self.amendment.number if self.amendment else 0

    @property
    def points_reversed(self) -> int:
        """The points the amendment took back (the earning it replaced)."""
        return self.amendment.points_reversed if self.amendment else 0


def visit_figures(visit: ServiceVisit) -> dict:
    """What a repair order says, as plain values: what replays and amendments compare."""
    return {
        "ro_number": visit.ro_number,
        "vin": visit.vehicle.vin,
        "visited_on": visit.visited_on.isoformat(),
        "mileage_km": visit.mileage_km,
        "amount_fen": visit.amount_fen,
        "category": ServiceCategory(visit.category).value,
    }


def visit_form_data(visit: ServiceVisit):
    """The visit's figures as the desk's amendment form shows them."""
    return SimpleNamespace(
        vin=visit.vehicle.vin,
        visited_on=visit.visited_on,
        mileage_km=visit.mileage_km,
        amount_yuan=fen_to_decimal(visit.amount_fen),
        category=ServiceCategory(visit.category).value,
        reason="",
    )


def _sent_figures(ro_number, vin, visited_on, mileage_km, amount_fen, category) -> dict:
    return {
        "ro_number": ro_number,
        "vin": normalize_vin(vin),
        "visited_on": visited_on.isoformat(),
        "mileage_km": mileage_km,
        "amount_fen": amount_fen,
        "category": category,
    }


def _check_visit_input(
    ro_number, vin, visited_on, mileage_km, amount_fen, category, now, *, recorded_on=None
):
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
    # An amendment that keeps the recorded date may correct an old visit's other figures.
    if visited_on < oldest and visited_on != recorded_on:
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
    benefits: Sequence[BenefitClaim] = (),
    now: datetime | None = None,
) -> VisitResult:
    """Record a repair order and award its points, with the member benefits applied on it
    (discounts the DMS gave, checked against the owner's tier and limits); replaying the same
    RO changes nothing."""
    now = now or utcnow()
    ro_number = (ro_number or "").strip()
    _check_visit_input(ro_number, vin, visited_on, mileage_km, amount_fen, category, now)
    vehicle = _dealer_vehicle(dealer_id, vin)
    if visited_on < vehicle.purchased_on:
        raise ValidationFailed(
            _l("The visit date is before the car was bought."), field="visited_on"
        )
    # Every visit of this member queues on the account lock, so replays see the first one.
    account = lock_member_account(vehicle.member_id)
    existing = _visit(dealer_id, ro_number)
    if existing is not None:
        recorded = visit_figures(existing)
        sent = _sent_figures(ro_number, vin, visited_on, mileage_km, amount_fen, category)
        if recorded != sent:
            raise RepairOrderDiffers(recorded, sent)
        _check_benefits_replayed(existing, benefits)
        return VisitResult(
            existing, False, existing.points_awarded, account.balance, account.tier_code
        )
    tier = next(t for t in tier_table() if t.code == account.tier_code)
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
        recorded = visit_figures(_visit(dealer_id, ro_number))
        sent = _sent_figures(ro_number, vin, visited_on, mileage_km, amount_fen, category)
        raise RepairOrderDiffers(recorded, sent) from None
    _earn_for_visit(visit, account, earned.points, f"visit:{visit.id}", actor, now)
    _use_benefits(actor, visit, benefits, now)
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
    # Care starts the after-visit callback and questionnaire (app/care/__init__.py).
    visit_recorded.send(visit, now=now)
    # A kept booking's reward waits for the day's spend (seed 002: 整体消费满100送20工时卷).
    reward_after_visit(visit, now)
    return VisitResult(visit, True, earned.points, account.balance, account.tier_code)


def _use_benefits(actor, visit: ServiceVisit, claims: Sequence[BenefitClaim], now) -> None:
    """Record each benefit applied on the repair order as a use; a refused one refuses the
    whole visit, its field named ``benefits.<n>.<field>``."""
    for n, claim in enumerate(claims):
        use = UseClaim(
            code=claim.code,
            reference=visit.ro_number,
            category=visit.category.value,
            base_fen=claim.base_fen,
            discount_fen=claim.discount_fen,
        )
        try:
            record_use(
                actor,
                visit.member,
                use,
                dealer_id=visit.dealer_id,
                used_on=visit.visited_on,
                source="dms",
                now=now,
            )
        except DomainError as err:
            raise type(err)(err.message, field=f"benefits.{n}.{err.field or 'code'}") from None


def _check_benefits_replayed(visit: ServiceVisit, claims: Sequence[BenefitClaim]) -> None:
    """A replayed repair order names the benefits its first sending recorded, or none."""
    if not claims:
        return
    recorded = {
        (u.code, u.base_fen, u.discount_fen)
        for u in uses_of_repair_order(visit.dealer_id, visit.ro_number)
        if u.source == "dms"
    }
    sent = {(c.code, c.base_fen, c.discount_fen) for c in claims}
    if sent != recorded:
        raise Conflict(
            _l("This repair order was recorded with other benefits applied."), field="benefits"
        )


def _earn_for_visit(visit: ServiceVisit, account, points: int, key: str, actor, now) -> None:
    """Post what a visit earns (none for a visit that earns nothing) and link the entry."""
    if points:
        entry = post_points(
            account.id,
            points,
            kind=EntryKind.EARN,
            source="service_visit",
            key=key,
            reference=visit.ro_number,
            qualifying=True,
            actor=actor,
            dealer_id=visit.dealer_id,
            now=now,
        )
        visit.entry_id = entry.id


def refund_visit(
    actor, *, dealer_id: int, ro_number: str, now: datetime | None = None
) -> RefundResult:
    """Reverse exactly the points a visit earned, once; a second refund changes nothing."""
    now = now or utcnow()
    visit = _visit(dealer_id, (ro_number or "").strip())
    if visit is None:
        raise NotFound(_l("No visit with this repair order number at this dealer."))
    account = lock_member_account(visit.member_id)
    visit = _visit(dealer_id, visit.ro_number)  # re-read under the lock
    if visit.status == VisitStatus.REFUNDED:
        return RefundResult(visit, False, visit.points_reversed or 0, account.balance)
    taken = 0
    if visit.entry_id is not None:
        owed_before = account.debt
        reversal = reverse_entry(
            visit.entry_id, reason=f"refund of {visit.ro_number}", actor=actor, now=now
        )
        # What the refund takes back now or as debt: points that had expired are not owed.
        taken = (-reversal.delta if reversal is not None else 0) + account.debt - owed_before
    VISIT.move(visit, VisitStatus.REFUNDED)
    visit.refunded_at = now
    # The member benefits used on it count no more against the owner's year.
    void_repair_order_uses(
        actor,
        dealer_id=dealer_id,
        reference=visit.ro_number,
        reason=f"refund of {visit.ro_number}",
        now=now,
    )
    visit.points_reversed = taken
    db.session.flush()
    record_audit(
        actor,
        "visit.refunded",
        subject=visit,
        dealer_id=dealer_id,
        details={"ro": visit.ro_number, "points_reversed": visit.points_reversed},
        now=now,
    )
    visit_refunded.send(visit, now=now)
    return RefundResult(visit, True, visit.points_reversed, account.balance)


def _latest_amendment(visit: ServiceVisit) -> VisitAmendment | None:
    return db.session.scalar(
        select(VisitAmendment)
        .where(VisitAmendment.visit_id == visit.id)
        .order_by(VisitAmendment.number.desc())
        .limit(1)
    )


def amend_visit(
    actor,
    *,
    dealer_id: int,
    ro_number: str,
    vin: str,
    visited_on: date,
    mileage_km: int,
    amount_fen: int,
    category: str,
    reason: str,
    source: str = "staff",
    now: datetime | None = None,
) -> AmendResult:
    """Correct a recorded repair order: reverse exactly the points it earned and earn them afresh
    under the new figures, once; sending figures the visit already has changes nothing."""
    now = now or utcnow()
    ro_number = (ro_number or "").strip()
    visit = _visit(dealer_id, ro_number)
    if visit is None:
        raise NotFound(_l("No visit with this repair order number at this dealer."))
    _check_visit_input(
        ro_number,
        vin,
        visited_on,
        mileage_km,
        amount_fen,
        category,
        now,
        recorded_on=visit.visited_on,
    )
    reason = " ".join((reason or "").split())
    if not 0 < len(reason) <= 200:
        raise ValidationFailed(
            _l("Say why the repair order is corrected (up to 200 characters)."), field="reason"
        )
    vehicle = _dealer_vehicle(dealer_id, vin)
    if visited_on < vehicle.purchased_on:
        raise ValidationFailed(
            _l("The visit date is before the car was bought."), field="visited_on"
        )
    # Both owners' accounts (a corrected VIN may move the visit), always in id order.
    accounts = {
        member_id: _account(member_id).id for member_id in {visit.member_id, vehicle.member_id}
    }
    locked = {aid: lock_account(aid) for aid in sorted(accounts.values())}
    account = locked[accounts[vehicle.member_id]]
    visit = _visit(dealer_id, ro_number)  # re-read under the locks
    if visit.status == VisitStatus.REFUNDED:
        raise Conflict(_l("A refunded visit cannot be amended."), code="visit_refunded")
    before = visit_figures(visit)
    after = _sent_figures(ro_number, vin, visited_on, mileage_km, amount_fen, category)
    if before == after:
        return AmendResult(
            visit, _latest_amendment(visit), False, account.balance, account.tier_code
        )
    latest = _latest_amendment(visit)
    number = (latest.number if latest else 0) + 1
    if visit.entry_id is not None:
        reverse_entry(
            visit.entry_id,
            reason=f"amendment {number} of {ro_number}: {reason}"[:200],
            actor=actor,
            now=now,
        )
    tier = next(t for t in tier_table() if t.code == account.tier_code)
    earned = visit_points(
        amount_fen=amount_fen,
        category=category,
        tier_multiplier_pct=tier.multiplier_pct,
        purchased_on=vehicle.purchased_on,
        visited_on=visited_on,
    )
    amendment = VisitAmendment(
        visit_id=visit.id,
        number=number,
        before=before,
        after=after,
        reason=reason,
        points_reversed=visit.points_awarded,
        points_awarded=earned.points,
        source=source,
        actor_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(amendment)
    visit.vehicle = vehicle
    visit.member = vehicle.member
    visit.visited_on = visited_on
    visit.mileage_km = mileage_km
    visit.amount_fen = amount_fen
    visit.category = ServiceCategory(category)
    visit.points_awarded = earned.points
    visit.entry_id = None
    db.session.flush()
    _earn_for_visit(visit, account, earned.points, f"visit:{visit.id}:amend:{number}", actor, now)
    db.session.flush()
    record_audit(
        actor,
        "visit.amended",
        subject=visit,
        dealer_id=dealer_id,
        details={
            "ro": ro_number,
            "amendment": number,
            "before": before,
            "after": after,
            "reason": reason,
            "points_reversed": amendment.points_reversed,
            "points_awarded": earned.points,
            "source": source,
        },
        now=now,
    )
    reward_after_visit(visit, now)
    return AmendResult(visit, amendment, True, account.balance, account.tier_code)


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
