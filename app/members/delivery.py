"""Deliveries pushed by a dealer's DMS: enrol the owner at delivery (R1, seed 004, R12).

The car joins the garage of the account its buyer's mobile number belongs to, or of a new one.
An account whose mobile nobody has proved with an SMS code (one the DMS enrolled, or one made
without a code) is a waiting place that nobody controls: the car and its points wait there for
whoever proves the mobile, and the number is invited to do so. A proven owner's name is never
overwritten by the DMS's: a different one is flagged for staff. Replaying a delivery (same VIN)
changes nothing.
"""

from dataclasses import dataclass
from datetime import date, datetime

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app.auth.models import User
from app.auth.services import get_user_by_mobile
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, DomainError, ValidationFailed
from app.core.identifiers import normalize_mobile, normalize_plate, normalize_vin
from app.core.signals import car_delivered
from app.extensions import db
from app.members.models import Colour, Member, NameMismatch, Transmission, Vehicle
from app.members.name_checks import flag_name_mismatch, open_name_check
from app.members.registration import register_member
from app.members.services import VehicleData, add_vehicle, plate_error, vin_error

# What the response tells the dealer's system about the account the car went to.
PROVEN = "proven"
WAITING_FOR_PROOF = "waiting_for_proof"

# Service field names → the delivery's field names, for error messages.
_VEHICLE_FIELDS = {
    "vin": "vehicle.vin",
    "plate": "vehicle.plate",
    "colour_id": "vehicle.colour",
    "purchased_on": "delivered_on",
    "delivered_on": "delivered_on",
}


@dataclass(frozen=True)
class DeliveryCustomer:
    """The buyer as the DMS knows them."""

    name: str
    mobile: str
    birthday: date | None = None
    employer: str = ""
    home_area: str = ""


@dataclass(frozen=True)
class DeliveryVehicle:
    """The delivered car; ``colour`` is a colour code or its English or Chinese name."""

    vin: str
    model: str
    colour: str
    transmission: Transmission | str
    plate: str = ""


@dataclass(frozen=True)
class DeliveryResult:
    """The owner and the car; ``created`` False when it was a replay (the owner's card is
    ``cards.services.active_card(member)``).

    ``owner_status`` is ``proven`` when someone proved the account's mobile with an SMS code,
    ``waiting_for_proof`` while the car waits there for whoever proves it; ``name_mismatch``
    says the DMS named the buyer differently from the proven owner (staff check it).
    """

    member: Member
    vehicle: Vehicle
    created: bool
    owner_status: str = PROVEN
    name_mismatch: bool = False


def find_colour(text: str) -> Colour | None:
    """The active colour whose code, English or Chinese name is ``text`` (any case)."""
    wanted = (text or "").strip().lower()
    if not wanted:
        return None
    return db.session.scalar(
        select(Colour)
        .where(
            Colour.active,
            or_(
                Colour.code == wanted,
                func.lower(Colour.name_en) == wanted,
                Colour.name_zh == text.strip(),
            ),
        )
        .order_by(Colour.id)
        .limit(1)
    )


def _colour(text: str) -> Colour:
    colour = find_colour(text)
    if colour is None:
        codes = db.session.scalars(select(Colour.code).where(Colour.active).order_by(Colour.code))
        raise ValidationFailed(
            _l("Unknown colour. Use one of: %(codes)s.", codes=", ".join(codes)),
            field="vehicle.colour",
        )
    return colour


def _transmission(value: Transmission | str) -> Transmission:
    try:
        return Transmission(value)
    except ValueError:
        raise ValidationFailed(
            _l(
                "Unknown transmission. Use one of: %(values)s.",
                values=", ".join(t.value for t in Transmission),
            ),
            field="vehicle.transmission",
        ) from None


def _replay(vehicle: Vehicle, dealer_id: int, mobile: str) -> DeliveryResult:
    member = vehicle.member
    if member.dealer_id != dealer_id:
        raise Conflict(
            _l("A car with this VIN is already registered to an owner of another dealer."),
            field="vehicle.vin",
        )
    if member.user.mobile != mobile:
        raise Conflict(
            _l("A car with this VIN is already registered to another owner."),
            field="vehicle.vin",
        )
    return DeliveryResult(
        member,
        vehicle,
        created=False,
        owner_status=_owner_status(member.user),
        name_mismatch=open_name_check(member, vehicle) is not None,
    )


def _owner_status(user: User) -> str:
    return PROVEN if user.mobile_verified_at is not None else WAITING_FOR_PROOF


def _same_name(a: str, b: str) -> bool:
    """Names equal but for spacing and (Latin) letter case."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _matched_member(user: User, dealer_id: int, customer: DeliveryCustomer) -> Member:
    member = user.member
    if member is None:
        raise Conflict(
            _l("This mobile number belongs to a staff account, not an owner."),
            field="customer.mobile",
        )
    if member.dealer_id != dealer_id:
        raise Conflict(
            _l(
                "This owner belongs to another dealer's chapter: they can ask to transfer to yours."
            ),
            field="customer.mobile",
        )
    # What the owner wrote themselves wins; the DMS only fills gaps.
    member.birthday = member.birthday or customer.birthday
    member.occupation = member.occupation or customer.employer.strip()
    member.home_area = member.home_area or customer.home_area.strip()
    return member


def _invite(member: Member, car: Vehicle, now: datetime) -> None:
    """Tell the number the car waits for it: whoever proves the mobile by code gets it.

    No name in the text (an unproven account's name may be anyone's) and no link that signs in:
    the register page sends the code. Once per account and car, so a replay sends nothing.
    """
    from app.members.inbox import notify

    link = url_for("auth.register", _external=True)
    notify(
        member,
        "invitation",
        lambda: (
            _l("Your car is waiting in the owners' club"),
            _l(
                "Your dealer %(dealer)s recorded the delivery of your %(model)s. To join the "
                "owners' club or sign in, open %(link)s and enter this mobile number: we send "
                "you a code by SMS.",
                dealer=member.dealer.name,
                model=car.model,
                link=link,
            ),
        ),
        dedupe_key=f"invitation:{member.user_id}:{car.id}",
        now=now,
    )


def _enrol(dealer_id: int, customer: DeliveryCustomer, mobile: str, now: datetime) -> Member:
    user = register_member(
        mobile=mobile, password=None, name=customer.name, dealer_id=dealer_id, now=now
    )
    member = user.member
    member.birthday = customer.birthday
    member.occupation = customer.employer.strip()
    member.home_area = customer.home_area.strip()
    db.session.flush()
    return member


def record_delivery(
    *,
    dealer_id: int,
    delivered_on: date,
    sales_consultant: str,
    customer: DeliveryCustomer,
    vehicle: DeliveryVehicle,
    actor=None,
    source: str = "dms",
    now: datetime | None = None,
) -> DeliveryResult:
    """Enrol (or match by mobile) the buyer of a delivered car and add the car to their garage."""
    now = now or utcnow()
    vin = normalize_vin(vehicle.vin)
    problem = vin_error(vin)
    if problem:
        raise ValidationFailed(problem, field="vehicle.vin")
    mobile = normalize_mobile(customer.mobile)
    if mobile is None:
        raise ValidationFailed(
            _l("Enter a mainland mobile number of 11 digits."), field="customer.mobile"
        )
    existing = db.session.scalar(select(Vehicle).where(Vehicle.vin == vin))
    if existing is not None:
        return _replay(existing, dealer_id, mobile)
    if delivered_on > local_date(now):
        raise ValidationFailed(
            _l("The delivery date cannot be in the future."), field="delivered_on"
        )
    if customer.birthday is not None and customer.birthday > local_date(now):
        raise ValidationFailed(_l("A birthday cannot be in the future."), field="customer.birthday")
    if customer.birthday is not None and customer.birthday.year < 1900:
        raise ValidationFailed(_l("Enter a birthday after 1900."), field="customer.birthday")
    colour = _colour(vehicle.colour)
    transmission = _transmission(vehicle.transmission)
    # Checked before anyone is enrolled, so a refused delivery leaves no half-made owner.
    plate = normalize_plate(vehicle.plate or "")
    problem = plate_error(plate)
    if problem:
        raise ValidationFailed(problem, field="vehicle.plate")
    if plate and db.session.scalar(select(Vehicle.id).where(Vehicle.plate == plate)):
        raise Conflict(_l("A car with this plate is already registered."), field="vehicle.plate")
    user = get_user_by_mobile(mobile)
    invited = user is None
    member = (
        _enrol(dealer_id, customer, mobile, now)
        if invited
        else _matched_member(user, dealer_id, customer)
    )
    data = VehicleData(
        vin=vin,
        plate=plate,
        model=vehicle.model,
        colour_id=colour.id,
        transmission=transmission,
        purchased_on=delivered_on,
        delivered_on=delivered_on,
    )
    try:
        car = add_vehicle(member, data, now=now)
    except DomainError as err:
        err.field = _VEHICLE_FIELDS.get(err.field, err.field)
        raise
    status = _owner_status(member.user)
    record_audit(
        actor,
        "delivery.recorded",
        subject=car,
        dealer_id=dealer_id,
        details={
            "member_id": member.id,
            "member_enrolled": invited,
            "waiting_for_proof": status == WAITING_FOR_PROOF,
            "sales_consultant": sales_consultant.strip(),
            "source": source,
        },
        now=now,
    )
    mismatch: NameMismatch | None = None
    if status == WAITING_FOR_PROOF:
        _invite(member, car, now)
    elif not _same_name(member.name, customer.name):
        mismatch = flag_name_mismatch(actor, member, car, dms_name=customer.name, now=now)
    # A friend registered by a referrer before this purchase: the referral moves on.
    car_delivered.send(member, vehicle=car, mobile=mobile, now=now)
    return DeliveryResult(
        member,
        car,
        created=True,
        owner_status=status,
        name_mismatch=mismatch is not None,
    )
