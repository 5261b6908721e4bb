"""Member profiles, vehicles, chapters and the staff's view of members."""

from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.identifiers import (
    is_valid_plate,
    is_valid_vin,
    normalize_mobile,
    normalize_plate,
    normalize_vin,
)
from app.core.permissions import Role
from app.core.signals import member_search
from app.extensions import db
from app.members.models import (
    TRANSFER,
    ChapterTransfer,
    Colour,
    Dealer,
    Gender,
    Member,
    TransferStatus,
    Transmission,
    Vehicle,
)
from app.members.models import TRANSFER_SIDES as TRANSFER_SIDE_MACHINES

# ---------------------------------------------------------------------------- dealers


def list_dealers() -> list[Dealer]:
    """Every dealer, by code."""
    return list(db.session.scalars(select(Dealer).order_by(Dealer.code)))


def get_dealer_by_code(code: str) -> Dealer | None:
    """The dealer with ``code`` (case-insensitive), if any."""
    return db.session.scalar(select(Dealer).where(Dealer.code == code.strip().upper()))


def ensure_dealer(code: str, name: str, city: str) -> Dealer:
    """The dealer with ``code``, created if missing (used by demo data and set-up)."""
    dealer = get_dealer_by_code(code)
    if dealer is None:
        dealer = Dealer(code=code.upper(), name=name, city=city)
        db.session.add(dealer)
        db.session.flush()
    return dealer


# ---------------------------------------------------------------------------- members


def create_member(
    user: User, *, name: str, dealer_id: int, marketing_opt_in: bool, now: datetime
) -> Member:
    """Create the club profile of a newly registered owner."""
    if db.session.get(Dealer, dealer_id) is None:
        raise ValidationFailed(_l("Choose your dealer."), field="dealer_id")
    member = Member(
        user=user,
        dealer_id=dealer_id,
        name=name.strip(),
        privacy_version=current_app.config["PRIVACY_NOTICE_VERSION"],
        privacy_accepted_at=now,
        marketing_opt_in=marketing_opt_in,
        marketing_changed_at=now,
        created_at=now,
    )
    db.session.add(member)
    db.session.flush()
    return member


def _check_birthday(birthday: date | None, now: datetime) -> None:
    if birthday is None:
        return
    if birthday > local_date(now):
        raise ValidationFailed(_l("A birthday cannot be in the future."), field="birthday")
    if birthday.year < 1900:
        raise ValidationFailed(_l("Enter a birthday after 1900."), field="birthday")


def update_profile(
    member: Member,
    *,
    name: str,
    birthday: date | None,
    gender: Gender | None,
    occupation: str,
    home_area: str,
    hobbies: str,
    marketing_opt_in: bool,
    locale: str | None = None,
    now: datetime | None = None,
) -> Member:
    """Save the owner's profile (``locale``: the language of their pages and messages)."""
    from app.auth.services import set_locale

    now = now or utcnow()
    _check_birthday(birthday, now)
    if locale is not None:
        set_locale(member.user, locale)
    member.name = name.strip()
    member.user.name = member.name
    member.birthday = birthday
    member.gender = gender
    member.occupation = occupation.strip()
    member.home_area = home_area.strip()
    member.hobbies = ", ".join(
        h.strip() for h in hobbies.replace("，", ",").split(",") if h.strip()
    )
    if member.marketing_opt_in != marketing_opt_in:
        member.marketing_opt_in = marketing_opt_in
        member.marketing_changed_at = now
    db.session.flush()
    return member


def rename_member(member: Member, name: str) -> Member:
    """Change the owner's name (staff taking the name a delivery gave)."""
    name = " ".join(name.split())
    if not name or len(name) > 64:
        raise ValidationFailed(_l("Enter a name of up to 64 characters."), field="name")
    member.name = name
    member.user.name = name
    db.session.flush()
    return member


def set_marketing_consent(member: Member, given: bool, *, now: datetime | None = None) -> bool:
    """Give or withdraw the marketing consent (PIPL: at any time); True when it changed.

    Campaign selection and the outbox sender read the consent when they run, so a withdrawal
    stops marketing at once; it is audited with its time.
    """
    if member.marketing_opt_in == given:
        return False
    now = now or utcnow()
    member.marketing_opt_in = given
    member.marketing_changed_at = now
    db.session.flush()
    record_audit(
        member.user,
        "member.marketing_given" if given else "member.marketing_withdrawn",
        subject=member,
        dealer_id=member.dealer_id,
        now=now,
    )
    return True


# ---------------------------------------------------------------------------- colours


def active_colours() -> list[Colour]:
    """Colours an owner can choose, by name."""
    return list(db.session.scalars(select(Colour).where(Colour.active).order_by(Colour.name_en)))


def all_colours() -> list[Colour]:
    """Every colour of the managed list, grouped by confusion group."""
    return list(db.session.scalars(select(Colour).order_by(Colour.confusion_group, Colour.name_en)))


def colours_confusable(a: Colour, b: Colour) -> bool:
    """True when a person could easily mistake colour ``a`` for ``b`` (or they are one)."""
    if a.id == b.id:
        return True
    return a.confusion_group is not None and a.confusion_group == b.confusion_group


def save_colour(
    actor: User,
    colour: Colour | None,
    *,
    code: str,
    name_en: str,
    name_zh: str,
    confusion_group: str | None,
    active: bool,
    now: datetime | None = None,
) -> Colour:
    """Add a colour to the managed list, or change one."""
    code = code.strip().lower()
    other = db.session.scalar(select(Colour).where(Colour.code == code))
    if other is not None and other is not colour:
        raise Conflict(_l("Another colour already has this code."), field="code")
    before = None
    if colour is None:
        colour = Colour(code=code)
        db.session.add(colour)
    else:
        before = {"code": colour.code, "group": colour.confusion_group, "active": colour.active}
    colour.code = code
    colour.name_en = name_en.strip()
    colour.name_zh = name_zh.strip()
    colour.confusion_group = (confusion_group or "").strip().lower() or None
    colour.active = active
    db.session.flush()
    record_audit(
        actor,
        "colour.saved",
        subject=colour,
        details={
            "before": before,
            "after": {"code": code, "group": colour.confusion_group, "active": active},
        },
        now=now,
    )
    return colour


# ---------------------------------------------------------------------------- vehicles


@dataclass
class VehicleData:
    """Validated vehicle fields, as a form gives them."""

    vin: str
    plate: str
    model: str
    colour_id: int
    transmission: Transmission
    purchased_on: date
    delivered_on: date | None


def vin_error(raw: str):
    """Why ``raw`` is not a valid VIN, or None when it is."""
    vin = normalize_vin(raw)
    if len(vin) != 17:
        return _l("A VIN has exactly 17 characters.")
    if any(ch in "IOQ" for ch in vin):
        return _l("A VIN never contains I, O or Q.")
    if not is_valid_vin(vin):
        return _l("This VIN's check digit (9th character) is wrong: check for a typo.")
    return None


def plate_error(raw: str):
    """Why ``raw`` is not a mainland plate, or None when it is (or is empty)."""
    plate = normalize_plate(raw)
    if plate and not is_valid_plate(plate):
        return _l("Enter a mainland plate such as 粤B12345, or 粤BD12345 for a new-energy car.")
    return None


def _check_vehicle(data: VehicleData, vehicle: Vehicle | None, now: datetime) -> VehicleData:
    vin = normalize_vin(data.vin)
    problem = vin_error(vin)
    if problem:
        raise ValidationFailed(problem, field="vin")
    plate = normalize_plate(data.plate) if data.plate else ""
    problem = plate_error(plate)
    if problem:
        raise ValidationFailed(problem, field="plate")
    # None: no colour chosen (or a number that can name no row, refused by the form).
    colour = db.session.get(Colour, data.colour_id) if data.colour_id else None
    if colour is None or (
        not colour.active and (vehicle is None or vehicle.colour_id != colour.id)
    ):
        raise ValidationFailed(_l("Choose a colour from the list."), field="colour_id")
    if data.purchased_on > local_date(now):
        raise ValidationFailed(
            _l("The purchase date cannot be in the future."), field="purchased_on"
        )
    if data.delivered_on and data.delivered_on < data.purchased_on:
        raise ValidationFailed(
            _l("The delivery date cannot be before the purchase date."), field="delivered_on"
        )
    if data.delivered_on and data.delivered_on > local_date(now):
        raise ValidationFailed(
            _l("The delivery date cannot be in the future."), field="delivered_on"
        )
    same_vin = db.session.scalar(select(Vehicle).where(Vehicle.vin == vin))
    if same_vin is not None and same_vin is not vehicle:
        raise Conflict(_l("A car with this VIN is already registered in the club."), field="vin")
    if plate:
        same_plate = db.session.scalar(select(Vehicle).where(Vehicle.plate == plate))
        if same_plate is not None and same_plate is not vehicle:
            raise Conflict(_l("A car with this plate is already registered."), field="plate")
    return VehicleData(
        vin=vin,
        plate=plate,
        model=data.model.strip(),
        colour_id=colour.id,
        transmission=data.transmission,
        purchased_on=data.purchased_on,
        delivered_on=data.delivered_on,
    )


def _apply(vehicle: Vehicle, data: VehicleData) -> None:
    vehicle.vin = data.vin
    vehicle.plate = data.plate or None
    vehicle.model = data.model
    vehicle.colour_id = data.colour_id
    vehicle.transmission = data.transmission
    vehicle.purchased_on = data.purchased_on
    vehicle.delivered_on = data.delivered_on


def _flush_vehicle() -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            _l("A car with this VIN or plate is already registered."), field="vin"
        ) from None


def add_vehicle(member: Member, data: VehicleData, *, now: datetime | None = None) -> Vehicle:
    """Add a car to the owner's garage."""
    now = now or utcnow()
    data = _check_vehicle(data, None, now)
    vehicle = Vehicle(member=member, created_at=now)
    _apply(vehicle, data)
    db.session.add(vehicle)
    _flush_vehicle()
    return vehicle


def update_vehicle(vehicle: Vehicle, data: VehicleData, *, now: datetime | None = None) -> Vehicle:
    """Correct a car's details."""
    data = _check_vehicle(data, vehicle, now or utcnow())
    _apply(vehicle, data)
    _flush_vehicle()
    return vehicle


def remove_vehicle(vehicle: Vehicle) -> None:
    """Take a car out of the owner's garage (sold, scrapped), unless the club holds its history
    (service visits, bookings, events, referrals, reminders): that record must stay."""
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "vehicles" and db.session.scalar(
                select(fk.parent).where(fk.parent == vehicle.id).limit(1)
            ):
                raise Conflict(
                    _l(
                        "This car has a history with the club (service visits, bookings or "
                        "events), so it stays on record. Ask your dealer to mark it as sold."
                    )
                )
    db.session.delete(vehicle)
    db.session.flush()


def get_own_vehicle(member: Member, vehicle_id: int) -> Vehicle:
    """One of the owner's own cars; NotFound for anyone else's."""
    vehicle = db.session.get(Vehicle, vehicle_id)
    if vehicle is None or vehicle.member_id != member.id:
        raise NotFound(_l("No such car."))
    return vehicle


# ---------------------------------------------------------------------------- transfers


def pending_transfer(member: Member) -> ChapterTransfer | None:
    """The member's open transfer request, if any."""
    return db.session.scalar(
        select(ChapterTransfer).where(
            ChapterTransfer.member_id == member.id,
            ChapterTransfer.status == TransferStatus.PENDING,
        )
    )


def request_transfer(
    member: Member, *, to_dealer_id: int, reason: str, now: datetime | None = None
) -> ChapterTransfer:
    """Ask to move to another dealer's chapter; both dealers decide."""
    now = now or utcnow()
    # A form sent without a choice names no dealer (not a key to look up).
    target = db.session.get(Dealer, to_dealer_id) if to_dealer_id else None
    if target is None:
        raise ValidationFailed(_l("Choose a dealer."), field="to_dealer_id")
    if target.id == member.dealer_id:
        raise ValidationFailed(_l("You already belong to this chapter."), field="to_dealer_id")
    if pending_transfer(member) is not None:
        raise Conflict(_l("You already have a transfer request waiting for a decision."))
    transfer = ChapterTransfer(
        member=member,
        from_dealer_id=member.dealer_id,
        to_dealer_id=target.id,
        reason=reason.strip(),
        requested_at=now,
    )
    db.session.add(transfer)
    db.session.flush()
    record_audit(
        member.user, "transfer.requested", subject=transfer, dealer_id=member.dealer_id, now=now
    )
    return transfer


def cancel_transfer(member: Member, *, now: datetime | None = None) -> None:
    """Withdraw the member's pending transfer request."""
    transfer = pending_transfer(member)
    if transfer is None:
        raise NotFound(_l("You have no pending transfer request."))
    TRANSFER.move(transfer, TransferStatus.CANCELLED)
    transfer.decided_at = now or utcnow()
    db.session.flush()


TRANSFER_SIDES = ("from", "to")


def latest_transfer(member: Member) -> ChapterTransfer | None:
    """The member's newest transfer request (pending or decided), for their chapter page."""
    return db.session.scalar(
        select(ChapterTransfer)
        .where(ChapterTransfer.member_id == member.id)
        .order_by(ChapterTransfer.requested_at.desc(), ChapterTransfer.id.desc())
        .limit(1)
    )


def list_pending_transfers(actor: User) -> list[ChapterTransfer]:
    """Transfer requests waiting for a decision, oldest first: every one for HQ, those that
    release or receive a member of the staff member's dealer for the dealers' staff."""
    query = (
        select(ChapterTransfer)
        .options(joinedload(ChapterTransfer.member))
        .where(ChapterTransfer.status == TransferStatus.PENDING)
        .order_by(ChapterTransfer.requested_at, ChapterTransfer.id)
    )
    if actor.role != Role.HQ_ADMIN:
        query = query.where(
            or_(
                ChapterTransfer.from_dealer_id == actor.dealer_id,
                ChapterTransfer.to_dealer_id == actor.dealer_id,
            )
        )
    return list(db.session.scalars(query))


def transfer_side(actor: User, transfer: ChapterTransfer) -> str | None:
    """The side (``from`` releases, ``to`` receives) the staff member decides; None for HQ,
    who may decide either."""
    if actor.role == Role.HQ_ADMIN:
        return None
    return "from" if actor.dealer_id == transfer.from_dealer_id else "to"


def mask_name(name: str) -> str:
    """A name with all but its first character hidden: 张伟 → 张*, Zhang Wei → Z**** ***."""
    return name[:1] + "".join(" " if ch == " " else "*" for ch in name[1:])


def transfer_member_name(actor: User, transfer: ChapterTransfer) -> str:
    """The member's name as ``actor`` may read it: the receiving dealer sees it masked until
    the member has moved (they are not its member yet)."""
    if transfer_side(actor, transfer) == "to" and transfer.status != TransferStatus.APPROVED:
        return mask_name(transfer.member.name)
    return transfer.member.name


def _decide_side(transfer: ChapterTransfer, side: str, actor: User, approve: bool, now) -> None:
    decision = TransferStatus.APPROVED if approve else TransferStatus.REJECTED
    TRANSFER_SIDE_MACHINES[side].move(transfer, decision)
    setattr(transfer, f"{side}_decided_at", now)
    setattr(transfer, f"{side}_decided_by_id", actor.id)
    dealer_id = transfer.from_dealer_id if side == "from" else transfer.to_dealer_id
    record_audit(
        actor,
        f"transfer.side_{decision.value}",
        subject=transfer,
        dealer_id=dealer_id,
        details={
            "member_id": transfer.member_id,
            "side": side,
            "hq_override": actor.role == Role.HQ_ADMIN,
        },
        now=now,
    )


def _tell_owner(transfer: ChapterTransfer, now: datetime) -> None:
    """The owner's inbox says how their transfer request ended."""
    from app.members.inbox import notify

    if transfer.status == TransferStatus.APPROVED:
        dealer = transfer.to_dealer.name
        message = (
            _l("Your chapter transfer is approved"),
            _l("You now belong to the chapter of %(dealer)s.", dealer=dealer),
        )
    else:
        dealer = transfer.from_dealer.name
        message = (
            _l("Your chapter transfer was not approved"),
            _l(
                "You stay in the chapter of %(dealer)s. Ask your dealer why, or request "
                "another transfer.",
                dealer=dealer,
            ),
        )
    notify(
        transfer.member,
        "transfer_decided",
        lambda: message,
        dedupe_key=f"transfer:{transfer.id}",
        now=now,
    )


def decide_transfer(
    actor: User,
    transfer_id: int,
    *,
    approve: bool,
    side: str | None = None,
    now: datetime | None = None,
) -> ChapterTransfer:
    """Approve or reject one dealer's side of a pending transfer.

    A dealer's staff decide their own dealer's side (releasing or receiving). HQ may decide
    ``side`` in a dealer's place, or with no side every side still pending (an override, audited).
    The member moves when both sides have approved; either side rejecting rejects the request.
    """
    now = now or utcnow()
    transfer = db.session.get(ChapterTransfer, transfer_id, with_for_update=True)
    if transfer is None or (
        actor.role != Role.HQ_ADMIN
        and actor.dealer_id not in (transfer.from_dealer_id, transfer.to_dealer_id)
    ):
        raise NotFound(_l("No such transfer request."))
    if transfer.status != TransferStatus.PENDING:
        raise Conflict(_l("This request was already decided."))
    own = transfer_side(actor, transfer)
    if own is not None:
        sides = [own]
    elif side in TRANSFER_SIDES:
        sides = [side]
    elif side:
        raise ValidationFailed(_l("Choose the releasing or the receiving dealer's side."))
    else:
        sides = [s for s in TRANSFER_SIDES if getattr(transfer, f"{s}_status") == "pending"]
    if any(getattr(transfer, f"{s}_status") != TransferStatus.PENDING for s in sides):
        raise Conflict(_l("This side of the request was already decided."))
    for each in sides:
        _decide_side(transfer, each, actor, approve, now)
    sides_now = {transfer.from_status, transfer.to_status}
    if TransferStatus.REJECTED in sides_now:
        final = TransferStatus.REJECTED
    elif sides_now == {TransferStatus.APPROVED}:
        final = TransferStatus.APPROVED
    else:
        db.session.flush()
        return transfer
    TRANSFER.move(transfer, final)
    transfer.decided_at = now
    transfer.decided_by_id = actor.id
    if final == TransferStatus.APPROVED:
        transfer.member.dealer_id = transfer.to_dealer_id
    db.session.flush()
    _tell_owner(transfer, now)
    for dealer_id in (transfer.from_dealer_id, transfer.to_dealer_id):
        record_audit(
            actor,
            f"transfer.{final.value}",
            subject=transfer,
            dealer_id=dealer_id,
            details={"member_id": transfer.member_id},
            now=now,
        )
    return transfer


# ---------------------------------------------------------------------------- staff view

SEARCH_FIELDS = ("all", "name", "mobile", "plate", "vin", "card", "hobby")


def scoped_members(actor: User) -> Select:
    """Members the staff member may see: their dealer's, or all for HQ."""
    query = select(Member)
    if actor.role != Role.HQ_ADMIN:
        query = query.where(Member.dealer_id == actor.dealer_id)
    return query


def get_member_for_staff(actor: User, member_id: int) -> Member:
    """A member visible to ``actor``; NotFound for another dealer's member."""
    member = db.session.get(Member, member_id)
    if member is None or (actor.role != Role.HQ_ADMIN and member.dealer_id != actor.dealer_id):
        raise NotFound(_l("No such member."))
    return member


def _search_condition(field: str, q: str):
    conditions = []
    if field in ("all", "name"):
        conditions.append(func.lower(Member.name).contains(q.lower(), autoescape=True))
    if field in ("all", "mobile"):
        digits = normalize_mobile(q) or "".join(ch for ch in q if ch.isdigit())
        if len(digits) >= 4:
            conditions.append(
                exists().where(
                    User.id == Member.user_id, User.mobile.contains(digits, autoescape=True)
                )
            )
    if field in ("all", "plate"):
        plate = normalize_plate(q)
        if plate:
            conditions.append(
                exists().where(
                    Vehicle.member_id == Member.id, Vehicle.plate.contains(plate, autoescape=True)
                )
            )
    if field in ("all", "vin"):
        vin = normalize_vin(q)
        if len(vin) >= 4:
            conditions.append(
                exists().where(
                    Vehicle.member_id == Member.id, Vehicle.vin.contains(vin, autoescape=True)
                )
            )
    # The card number is cards' (app/core/signals.py, ``member_search``).
    for _receiver, condition in member_search.send(field, q=q):
        if condition is not None:
            conditions.append(condition)
    if field in ("all", "hobby"):
        conditions.append(func.lower(Member.hobbies).contains(q.lower(), autoescape=True))
    return or_(*conditions) if conditions else None


def search_members(actor: User, q: str, field: str = "all") -> Select:
    """A query of the members ``actor`` may see that match ``q`` in ``field``, by name."""
    # The result list shows each member's mobile, cars and dealer: load them in bulk.
    query = (
        scoped_members(actor)
        .options(
            selectinload(Member.user), selectinload(Member.vehicles), joinedload(Member.dealer)
        )
        .order_by(Member.name, Member.id)
    )
    q = (q or "").strip()
    if not q:
        return query
    if field not in SEARCH_FIELDS:
        field = "all"
    condition = _search_condition(field, q)
    return query.where(condition) if condition is not None else query.where(False)


def reveal_mobile(actor: User, member: Member, *, now: datetime | None = None) -> str:
    """The member's full mobile number, for staff who must call; the reveal is audited."""
    record_audit(
        actor, "member.mobile_revealed", subject=member, dealer_id=member.dealer_id, now=now
    )
    return member.user.mobile


def count_members(actor: User) -> int:
    """How many members ``actor`` can see."""
    return db.session.scalar(select(func.count()).select_from(scoped_members(actor).subquery()))
