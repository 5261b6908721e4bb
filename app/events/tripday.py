"""Trip day (R7, seed 002): the cars' safety check before departure and the organisers' list."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.csvfile import csv_text
from app.core.errors import Conflict, NotFound
from app.core.permissions import Role
from app.events.models import (
    CheckIn,
    Event,
    EventKind,
    EventRegistration,
    RegistrationStatus,
    SafetyCheck,
)
from app.extensions import db

SAFETY_ITEM_LABELS = {
    "tyres": _l("Tyres"),
    "lights": _l("Lights"),
    "brakes": _l("Brakes"),
    "fluids": _l("Fluids (oil, coolant, brake fluid, washer)"),
    "fuel": _l("Fuel"),
}

STATUS_LABELS = {
    RegistrationStatus.CONFIRMED: _l("Confirmed"),
    RegistrationStatus.PENDING: _l("Awaiting payment"),
    RegistrationStatus.OFFERED: _l("Place offered"),
    RegistrationStatus.WAITING: _l("Waiting list"),
    RegistrationStatus.CANCELLED: _l("Cancelled"),
    RegistrationStatus.EXPIRED: _l("Expired"),
}

# Who the organisers list, and in what order: the cars that are coming first.
LISTED = (
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.PENDING,
    RegistrationStatus.OFFERED,
    RegistrationStatus.WAITING,
)
_LIST_ORDER = case(
    {status: rank for rank, status in enumerate(LISTED)}, value=EventRegistration.status
)


def status_label(status) -> str:
    """A registration status as the organisers read it (the owner's ticket words it for them)."""
    return str(STATUS_LABELS.get(RegistrationStatus(status), status))


# ----------------------------------------------------------------------------- scoping


def event_for_staff(actor: User, event_id: int) -> Event:
    """An event of the actor's dealer (any for HQ); NotFound otherwise."""
    event = db.session.get(Event, event_id)
    if event is None or (actor.role != Role.HQ_ADMIN and event.dealer_id != actor.dealer_id):
        raise NotFound(_l("No such event."))
    return event


def registration_for_staff(actor: User, event_id: int, registration_id: int) -> EventRegistration:
    """A registration of an event the actor may see; NotFound otherwise."""
    event = event_for_staff(actor, event_id)
    registration = db.session.get(EventRegistration, registration_id)
    if registration is None or registration.event_id != event.id:
        raise NotFound(_l("No such registration."))
    return registration


# ------------------------------------------------------------------------- safety check


def safety_check_for(registration: EventRegistration) -> SafetyCheck | None:
    """The car's safety check, if it has had one."""
    return db.session.scalar(
        select(SafetyCheck).where(SafetyCheck.registration_id == registration.id)
    )


def record_safety_check(
    actor: User,
    event_id: int,
    registration_id: int,
    *,
    tyres_ok: bool,
    lights_ok: bool,
    brakes_ok: bool,
    fluids_ok: bool,
    fuel_ok: bool,
    notes: str = "",
    now: datetime | None = None,
) -> SafetyCheck:
    """Record a trip car's check (passed only if every item is ok); a re-check replaces it."""
    now = now or utcnow()
    registration = registration_for_staff(actor, event_id, registration_id)
    event = registration.event
    if event.kind != EventKind.TRIP:
        raise NotFound(_l("Safety checks are for self-drive trips."))
    if registration.status != RegistrationStatus.CONFIRMED:
        raise Conflict(_l("Only cars with a confirmed place are checked."))
    if now >= event.ends_at:
        raise Conflict(_l("The trip is over: its safety checks can no longer change."))
    items = {
        "tyres_ok": bool(tyres_ok),
        "lights_ok": bool(lights_ok),
        "brakes_ok": bool(brakes_ok),
        "fluids_ok": bool(fluids_ok),
        "fuel_ok": bool(fuel_ok),
    }
    values = {**items, "passed": all(items.values()), "notes": (notes or "").strip()[:500]}
    check = safety_check_for(registration)
    before = None
    if check is None:
        check = SafetyCheck(registration_id=registration.id, event_id=event.id)
        db.session.add(check)
    else:
        before = {key: getattr(check, key) for key in values} | {
            "checked_at": check.checked_at.isoformat(),
            "staff_id": check.staff_id,
        }
    for key, value in values.items():
        setattr(check, key, value)
    check.checked_at = now
    check.staff_id = actor.id
    db.session.flush()
    record_audit(
        actor,
        "event.safety_rechecked" if before else "event.safety_checked",
        subject=check,
        dealer_id=event.dealer_id,
        details={"registration_id": registration.id, **values}
        | ({"before": before} if before else {}),
        now=now,
    )
    return check


# ------------------------------------------------------------------------ attendee list


@dataclass(frozen=True)
class AttendeeRow:
    """One line of the organisers' list: who, with whom, which car, checked or not."""

    registration_id: int
    name: str
    mobile: str
    status: RegistrationStatus
    companions: int
    companion_names: str
    car_model: str
    plate: str
    safety: SafetyCheck | None
    checked_in_at: datetime | None

    @property
    def people(self) -> int:
        """The driver (or the owner) and their companions."""
        return 1 + self.companions


def attendee_query(event: Event):
    """The event's live registrations (a query): confirmed first, then in sign-up order."""
    return (
        select(EventRegistration)
        .where(EventRegistration.event_id == event.id, EventRegistration.status.in_(LISTED))
        .order_by(_LIST_ORDER, EventRegistration.created_at, EventRegistration.id)
    )


def attendee_rows(registrations: list[EventRegistration]) -> list[AttendeeRow]:
    """The list's lines for ``registrations``, with their safety checks and check-ins."""
    ids = [r.id for r in registrations]
    checks = {
        c.registration_id: c
        for c in db.session.scalars(select(SafetyCheck).where(SafetyCheck.registration_id.in_(ids)))
    }
    arrivals = dict(
        db.session.execute(
            select(CheckIn.registration_id, CheckIn.checked_in_at).where(
                CheckIn.registration_id.in_(ids)
            )
        ).all()
    )
    return [
        AttendeeRow(
            registration_id=r.id,
            name=r.member.name,
            mobile=r.member.mobile,
            status=r.status,
            companions=r.companions,
            companion_names=r.companion_names,
            car_model=r.vehicle.model if r.vehicle else "",
            plate=(r.vehicle.plate or "") if r.vehicle else "",
            safety=checks.get(r.id),
            checked_in_at=arrivals.get(r.id),
        )
        for r in registrations
    ]


@dataclass(frozen=True)
class AttendeeSummary:
    """The head count the organisers plan with: confirmed places only."""

    confirmed: int
    people: int
    checked_in: int
    safety_passed: int
    safety_failed: int
    safety_missing: int
    waiting: int


def attendee_summary(event: Event) -> AttendeeSummary:
    """Counts over the confirmed registrations (and how many wait for a place)."""
    rows = attendee_rows(list(db.session.scalars(attendee_query(event))))
    confirmed = [row for row in rows if row.status == RegistrationStatus.CONFIRMED]
    return AttendeeSummary(
        confirmed=len(confirmed),
        people=sum(row.people for row in confirmed),
        checked_in=sum(1 for row in confirmed if row.checked_in_at),
        safety_passed=sum(1 for row in confirmed if row.safety and row.safety.passed),
        safety_failed=sum(1 for row in confirmed if row.safety and not row.safety.passed),
        safety_missing=sum(1 for row in confirmed if row.safety is None),
        waiting=sum(1 for row in rows if row.status != RegistrationStatus.CONFIRMED),
    )


def local_time(moment: datetime | None) -> str:
    """``moment`` in the club's time zone as 2026-11-23 10:00 (empty for None)."""
    if moment is None:
        return ""
    zone = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def safety_result(check: SafetyCheck | None) -> str:
    """Passed, failed (and which items), or not checked: in the user's language."""
    if check is None:
        return str(_l("Not checked"))
    if check.passed:
        return str(_l("Passed"))
    failed = [
        str(label) for item, label in SAFETY_ITEM_LABELS.items() if not getattr(check, f"{item}_ok")
    ]
    return str(_l("Failed: %(items)s", items=", ".join(failed)))


CSV_COLUMNS = (
    _l("Name"),
    _l("Mobile"),
    _l("Status"),
    _l("Companions"),
    _l("Companion names"),
    _l("Car model"),
    _l("Plate"),
    _l("Safety check"),
    _l("Safety notes"),
    _l("Checked in at"),
)


def _number(numbers: dict, row: AttendeeRow) -> int | str:
    found = numbers.get(row.registration_id)
    return found.number if found else ""


def export_attendees_csv(actor: User, event_id: int, *, now: datetime | None = None) -> str:
    """The attendee list as CSV (UTF-8 with a BOM, for Excel); the export is audited."""
    from app.events.trips import car_numbers

    now = now or utcnow()
    event = event_for_staff(actor, event_id)
    rows = attendee_rows(list(db.session.scalars(attendee_query(event))))
    # A trip's sheet starts with the car's number (issue 21): empty for places not confirmed.
    is_trip = event.kind == EventKind.TRIP
    numbers = car_numbers(event) if is_trip else {}
    body = csv_text(
        ((_l("Car no."),) if is_trip else ()) + CSV_COLUMNS,
        (
            ([_number(numbers, row)] if is_trip else [])
            + [
                row.name,
                row.mobile,
                status_label(row.status),
                row.companions,
                row.companion_names,
                row.car_model,
                row.plate,
                safety_result(row.safety),
                row.safety.notes if row.safety else "",
                local_time(row.checked_in_at),
            ]
            for row in rows
        ),
    )
    record_audit(
        actor,
        "event.attendees_exported",
        subject=event,
        dealer_id=event.dealer_id,
        details={"rows": len(rows)},
        now=now,
    )
    return body
