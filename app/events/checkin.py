"""Tickets and the gate (R7): signed tickets, check-in once, points once, replay-safe.

A scanning phone checks tickets online (``check_in``) or, without signal, on its own with the
event's public keys and attendee list (``gate_attendees``); it uploads those offline scans
later (``check_in_batch``). Each scan carries the phone's random nonce, so an upload replayed
after a lost answer changes nothing; a ticket checked in on two phones is checked in once and
the second scan is recorded as a ``ScanConflict``.

What the gate reads is one of: the ticket's QR (``CC1.``, a signed token of the registration),
the ticket's short code typed (``K7QX-2MXP``, any case, with or without the dash), or the
owner's live member card (``CC2.``, ``cards/devices.py``): the card stands for the owner's
sign-up to this event when it was made within CARD_CODE_WINDOW_SECONDS of the gate's clock.
Staff may also check an attendee in from the list by a tap (``check_in_manually``), recorded
as ``manual`` and audit-logged.

A scan is the gate's hot path (issue 19): the event's gate facts are kept per process
(``GATE_EVENTS``, forgotten when an event changes), the registration is read and locked with
its owner and car in one statement, and the check-in is one ``INSERT … ON CONFLICT DO
NOTHING``; only a scan that does not check a ticket in now (a replay, a second scan, a refusal)
reads more.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.cards import devices
from app.cards.models import CardStatus, MemberCard
from app.cards.services import REFUSAL_MESSAGES as CARD_REFUSALS
from app.core.audit import record_audit
from app.core.caches import ProcessCache
from app.core.clock import utcnow
from app.core.dates import format_local_datetime
from app.core.errors import NotFound
from app.core.identifiers import is_code, normalize_code
from app.core.permissions import Role
from app.core.tokens import PREFIX, TokenError, signer
from app.events.models import CheckIn, Event, EventRegistration, RegistrationStatus, ScanConflict
from app.events.services import TICKET_CODE_LENGTH, return_deposit
from app.extensions import db
from app.loyalty.ledger import post_member_points
from app.loyalty.models import EntryKind
from app.members.models import Colour, Member, Vehicle

# What the gate answers, best first.
STATUSES = (
    "checked_in",
    "already_checked_in",
    "invalid",
    "wrong_event",
    "not_signed_up",
    "cancelled",
    "unpaid",
    "outside_window",
)
# The most scans one upload may carry.
MAX_BATCH = 500
MANUAL = "manual"


def ticket_token(registration: EventRegistration, *, now: datetime | None = None) -> str:
    """The signed token in the ticket's QR (kind "ticket"; it does not expire)."""
    return signer().sign("ticket", registration.id, now=now or utcnow())


@dataclass(frozen=True)
class CheckInResult:
    """What the gate shows: checked_in, already_checked_in, invalid, wrong_event, cancelled,
    unpaid, outside_window (with ``message`` saying when the check-in opens)."""

    status: str
    registration: EventRegistration | None = None
    checked_in_at: datetime | None = None
    message: str | None = None
    # True when this call made the check-in (not a replay of an earlier one).
    new: bool = False
    # What the gate shows of the registration's owner, read with it.
    attendee: "Attendee | None" = None


@dataclass(frozen=True)
class Attendee:
    """Who a ticket lets in, as the gate shows them: no contact details."""

    registration_id: int
    name: str
    companions: int
    companion_names: str
    car_model: str | None  # None: no car (not a trip)
    car_plate: str | None
    car_colour: Colour | None

    @classmethod
    def of(cls, registration: EventRegistration) -> "Attendee":
        """From a registration with its owner and car loaded."""
        vehicle = registration.vehicle
        return cls(
            registration.id,
            registration.member.name,
            registration.companions,
            registration.companion_names,
            vehicle.model if vehicle else None,
            vehicle.plate if vehicle else None,
            vehicle.colour if vehicle else None,
        )


@dataclass(frozen=True)
class Scan:
    """A scan made without signal: the QR's text (or typed code), the phone's nonce and the
    phone's time; or, with ``registration_id`` instead of a text, a tap on the list."""

    ticket: str | None
    nonce: str
    scanned_at: datetime
    registration_id: int | None = None


@dataclass(frozen=True)
class BatchResult:
    """The answer to one uploaded scan; ``conflict`` when another scan checked it in first."""

    nonce: str
    result: CheckInResult
    conflict: bool


def gate_status(registration: EventRegistration) -> str:
    """How the gate treats a registration of its event: ok, unpaid or cancelled."""
    if registration.status == RegistrationStatus.CONFIRMED:
        return "ok"
    if registration.status == RegistrationStatus.PENDING:
        return "unpaid"
    # Waiting, offered, expired and cancelled places hold no ticket for the gate.
    return "cancelled"


def checkin_window(event: Event) -> tuple[datetime, datetime]:
    """When the event's tickets check in: from ``CHECKIN_OPENS_HOURS_BEFORE`` hours (default 2)
    before its start until its end."""
    hours = current_app.config.get("CHECKIN_OPENS_HOURS_BEFORE", 2)
    return event.starts_at - timedelta(hours=hours), event.ends_at


def outside_window(event: Event, at: datetime) -> str | None:
    """Why a ticket of ``event`` cannot check in at ``at``, or None inside the window."""
    opens, closes = checkin_window(event)
    if at < opens:
        return str(
            _l(
                "This event's check-in is not open: it opens at %(time)s.",
                time=format_local_datetime(opens, "HH:mm"),
            )
        )
    if at > closes:
        return str(_l("This event is over: its tickets no longer check in."))
    return None


def _in_scope(event, actor: User | None, dealer_id: int | None):
    """``event`` if ``actor`` (or a key of ``dealer_id``) may run its gate; NotFound otherwise."""
    scope = (
        dealer_id if actor is None else (None if actor.role == Role.HQ_ADMIN else actor.dealer_id)
    )
    if event is None or (scope is not None and event.dealer_id != scope):
        raise NotFound(_l("No such event."))
    return event


def event_for_gate(actor: User | None, event_id: int, *, dealer_id: int | None = None) -> Event:
    """The event whose gate ``actor`` (or a key of ``dealer_id``) may run; NotFound otherwise."""
    return _in_scope(db.session.get(Event, event_id), actor, dealer_id)


@dataclass(frozen=True)
class GateEvent:
    """What a scan needs of its event (a copy kept per process: no session holds it)."""

    id: int
    dealer_id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    attendance_points: int
    deposit_points: int


# A gate scans hundreds of tickets of one event; an edited event is forgotten at once.
GATE_EVENTS = ProcessCache("gate_events", ttl=30, watches=(Event,))
_GATE_EVENT = select(
    Event.id,
    Event.dealer_id,
    Event.title,
    Event.starts_at,
    Event.ends_at,
    Event.attendance_points,
    Event.deposit_points,
).where(Event.id == bindparam("event_id"))


def _load_gate_event(event_id: int) -> GateEvent | None:
    row = db.session.execute(_GATE_EVENT, {"event_id": event_id}).one_or_none()
    return None if row is None else GateEvent(*row)


def gate_event(actor: User | None, event_id: int, *, dealer_id: int | None = None) -> GateEvent:
    """``event_for_gate`` for a scan: the event's gate facts, from the process's cache."""
    found = GATE_EVENTS.get(event_id, lambda: _load_gate_event(event_id))
    return _in_scope(found, actor, dealer_id)


def check_in(
    actor: User | None,
    *,
    event_id: int,
    ticket: str,
    nonce: str | None = None,
    dealer_id: int | None = None,
    now: datetime | None = None,
) -> CheckInResult:
    """Check a scanned ticket in, once; the attendance points are awarded once."""
    now = now or utcnow()
    event = gate_event(actor, event_id, dealer_id=dealer_id)
    return _check_one(actor, event, ticket, nonce, at=now, now=now, source="online")


def check_in_batch(
    actor: User | None,
    *,
    event_id: int,
    scans: list[Scan],
    dealer_id: int | None = None,
    now: datetime | None = None,
) -> list[BatchResult]:
    """Check in the scans a phone made offline, earliest first; the same upload twice changes
    nothing. Results are in the order of ``scans``. A scan made outside the event's check-in
    window is refused (``outside_window``)."""
    now = now or utcnow()
    event = gate_event(actor, event_id, dealer_id=dealer_id)
    results: dict[int, BatchResult] = {}
    for index in sorted(range(len(scans)), key=lambda i: scans[i].scanned_at):
        scan = scans[index]
        # A phone's clock may be ahead: a time in the future is replaced by the upload's time,
        # the latest moment the scan can have happened.
        at = min(scan.scanned_at, now)
        if scan.registration_id is not None:
            result = _check_in_listed(
                actor, event, scan.registration_id, scan.nonce, at=at, now=now, offline=True
            )
        else:
            # A member card's code is judged by the gate's clock when it was scanned.
            result = _check_one(
                actor,
                event,
                scan.ticket or "",
                scan.nonce,
                at=at,
                now=now,
                source="offline",
                seen_at=scan.scanned_at,
            )
        results[index] = BatchResult(scan.nonce, result, result.status == "already_checked_in")
    return [results[i] for i in range(len(scans))]


def check_in_manually(
    actor: User | None,
    *,
    event_id: int,
    registration_id: int,
    nonce: str | None = None,
    dealer_id: int | None = None,
    now: datetime | None = None,
) -> CheckInResult:
    """Check an attendee in from the gate's list by a tap (no ticket shown), once; audit-logged
    as manual."""
    now = now or utcnow()
    event = gate_event(actor, event_id, dealer_id=dealer_id)
    return _check_in_listed(actor, event, registration_id, nonce, at=now, now=now, offline=False)


def _check_in_listed(
    actor: User | None,
    event: GateEvent,
    registration_id: int,
    nonce: str | None,
    *,
    at: datetime,
    now: datetime,
    offline: bool,
) -> CheckInResult:
    _hold_event(event.id)
    found = _lock_registration(_BY_ID, registration_id=registration_id)
    if found is None or found[0].event_id != event.id:
        # Another dealer's registration is not revealed.
        return CheckInResult("invalid")
    registration = found[0]
    result = _admit(actor, event, found, nonce, at=at, now=now, source=MANUAL)
    if result.new:
        record_audit(
            actor,
            "event.checked_in_manually",
            subject=registration,
            dealer_id=event.dealer_id,
            details={"event_id": event.id, "offline": offline},
            now=now,
        )
    return result


def _locking(*where) -> Select:
    """A registration, its row locked (scans of one ticket queue on it, so two phones cannot
    both check it in), with what the gate shows of its owner and car as plain columns."""
    return (
        select(EventRegistration, Member.name, Vehicle.model, Vehicle.plate, Colour)
        .join(Member, Member.id == EventRegistration.member_id)
        .outerjoin(Vehicle, Vehicle.id == EventRegistration.vehicle_id)
        .outerjoin(Colour, Colour.id == Vehicle.colour_id)
        .where(*where)
        .order_by(EventRegistration.id.desc())
        .limit(1)
        .with_for_update(of=EventRegistration)
        .execution_options(populate_existing=True)
    )


# The check-in's insert holds the event row anyway (its foreign key, FOR KEY SHARE). Taken
# before the ticket's row lock, it keeps the order every other path takes (the event, then the
# registration): an owner's cancel that arrives between the gate's lock and its check-in waits
# for the gate instead of deadlocking with it. Other scans of the event share it.
_EVENT_HOLD = (
    select(Event.id)
    .where(Event.id == bindparam("event_id"))
    .with_for_update(read=True, key_share=True)
)


def _hold_event(event_id: int) -> None:
    """Hold the event row for the check-in (PostgreSQL; SQLite runs one writer at a time)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_EVENT_HOLD, {"event_id": event_id})


_R = EventRegistration
# Built once: every scan runs one of them.
_BY_ID = _locking(_R.id == bindparam("registration_id"))
_BY_CODE = _locking(_R.event_id == bindparam("event_id"), _R.ticket_code == bindparam("code"))
_BY_MEMBER = _locking(_R.event_id == bindparam("event_id"), _R.member_id == bindparam("member_id"))
_CONFIRMED_BY_MEMBER = _locking(
    _R.event_id == bindparam("event_id"),
    _R.member_id == bindparam("member_id"),
    _R.status == RegistrationStatus.CONFIRMED,
)


Found = tuple[EventRegistration, Attendee]


def _lock_registration(statement: Select, **params) -> Found | None:
    """The registration ``statement`` finds, locked, and its attendee."""
    row = db.session.execute(statement, params).one_or_none()
    if row is None:
        return None
    registration, name, model, plate, colour = row
    attendee = Attendee(
        registration.id,
        name,
        registration.companions,
        registration.companion_names,
        model,
        plate,
        colour,
    )
    return registration, attendee


def _registration_for(
    event: Event, text: str, *, now: datetime, seen_at: datetime
) -> EventRegistration | CheckInResult:
    """The registration a scanned or typed text names, or the gate's refusal."""
    text = (text or "").strip()
    if text.startswith(devices.CODE_PREFIX):
        try:
            code = devices.read_code(text, now=seen_at)
        except TokenError as err:
            return CheckInResult("invalid", message=str(CARD_REFUSALS[err.reason]))
        card = devices.card_of_code(code)
        if card is None:
            return CheckInResult("invalid", message=str(CARD_REFUSALS["device_revoked"]))
        # The owner's sign-up: the confirmed one if any, else the latest (to say why not).
        found = _lock_registration(
            _CONFIRMED_BY_MEMBER, event_id=event.id, member_id=card.member_id
        ) or _lock_registration(_BY_MEMBER, event_id=event.id, member_id=card.member_id)
        return found or CheckInResult("not_signed_up")
    if text.startswith(PREFIX):
        try:
            claims = signer().verify(text, kind="ticket", now=now)
        except TokenError:
            return CheckInResult("invalid")
        found = _lock_registration(_BY_ID, registration_id=claims.subject_id)
        if found is None:
            return CheckInResult("invalid")
        if found[0].event_id != event.id:
            return CheckInResult("wrong_event")
        return found
    code = normalize_code(text)
    if not is_code(code, TICKET_CODE_LENGTH):
        return CheckInResult("invalid")
    found = _lock_registration(_BY_CODE, event_id=event.id, code=code)
    return found or CheckInResult(
        "invalid", message=str(_l("No ticket of this event has this code."))
    )


def _check_one(
    actor: User | None,
    event: GateEvent,
    ticket: str,
    nonce: str | None,
    *,
    at: datetime,
    now: datetime,
    source: str,
    seen_at: datetime | None = None,
) -> CheckInResult:
    """One scan at ``event``'s gate, made at ``at`` and checked at ``now``."""
    _hold_event(event.id)
    found = _registration_for(event, ticket, now=now, seen_at=seen_at or now)
    if isinstance(found, CheckInResult):
        return found
    return _admit(actor, event, found, nonce, at=at, now=now, source=source)


_CHECK_INS = CheckIn.__table__
# INSERT … ON CONFLICT DO NOTHING, in each database's construct: a ticket checked in already (or
# a nonce spent) inserts nothing, and a concurrent scan of the same ticket waits for this one.
_NEW_CHECK_IN = {
    name: dialect.insert(_CHECK_INS).on_conflict_do_nothing().returning(_CHECK_INS.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _admit(
    actor: User | None,
    event: GateEvent,
    found: Found,
    nonce: str | None,
    *,
    at: datetime,
    now: datetime,
    source: str,
) -> CheckInResult:
    """Check the registration ``found`` (locked, of ``event``) in at ``at``, once."""
    registration, attendee = found

    def answer(status: str, checked_in_at=None, **more) -> CheckInResult:
        return CheckInResult(status, registration, checked_in_at, attendee=attendee, **more)

    status = gate_status(registration)
    if status != "ok":
        return answer(status)
    staff_id = getattr(actor, "id", None)
    if outside_window(event, at) is None:
        # The common case first: a ticket not checked in yet, with a new nonce (or none).
        inserted = db.session.execute(
            _NEW_CHECK_IN[db.session.get_bind().dialect.name],
            {
                "registration_id": registration.id,
                "event_id": event.id,
                "checked_in_at": at,
                "staff_id": staff_id,
                "nonce": nonce,
                "source": source,
            },
        ).first()
        if inserted is not None:
            return _checked_in(actor, event, registration, at=at, now=now, answer=answer)
    if nonce and (replayed := db.session.scalar(select(CheckIn).where(CheckIn.nonce == nonce))):
        if replayed.registration_id == registration.id:
            return answer("checked_in", replayed.checked_in_at)
        # A nonce already spent on another ticket proves nothing about this scan.
        nonce = None
    done = db.session.scalar(select(CheckIn).where(CheckIn.registration_id == registration.id))
    if done is not None:
        if nonce and not db.session.scalar(
            select(ScanConflict.id).where(ScanConflict.nonce == nonce)
        ):
            db.session.add(
                ScanConflict(
                    registration_id=registration.id,
                    scanned_at=at,
                    staff_id=staff_id,
                    nonce=nonce,
                )
            )
            db.session.flush()
        return answer("already_checked_in", done.checked_in_at)
    if (reason := outside_window(event, at)) is not None:
        return answer("outside_window", message=reason)
    db.session.add(
        CheckIn(
            registration_id=registration.id,
            event_id=event.id,
            checked_in_at=at,
            staff_id=staff_id,
            nonce=nonce,
            source=source,
        )
    )
    db.session.flush()
    return _checked_in(actor, event, registration, at=at, now=now, answer=answer)


def _checked_in(
    actor: User | None,
    event: GateEvent,
    registration: EventRegistration,
    *,
    at: datetime,
    now: datetime,
    answer,
) -> CheckInResult:
    """What a new check-in brings: the deposit back and the attendance points, through the
    ledger."""
    if event.deposit_points:  # fixed once owners have signed up
        return_deposit(registration, actor=actor, now=now)
    if event.attendance_points:
        post_member_points(
            registration.member_id,
            event.attendance_points,
            kind=EntryKind.EARN,
            source="event",
            key=f"ticket:{registration.ticket_uuid}",
            reference=event.title[:64],
            qualifying=True,
            actor=actor,
            dealer_id=event.dealer_id,
            now=now,
        )
    return answer("checked_in", at, new=True)


# ------------------------------------------------------------------------ the gate's lists


@dataclass(frozen=True)
class GateEntry:
    """A registration as the gate sees it."""

    registration: EventRegistration
    status: str  # ok, unpaid or cancelled
    checked_in_at: datetime | None
    card_number: str | None  # the owner's card in use, which also opens the gate


def gate_attendees(event: Event) -> list[GateEntry]:
    """Every registration of ``event`` with its gate status and check-in time, by name: what a
    phone needs to check tickets without signal."""
    rows = db.session.execute(
        select(EventRegistration, CheckIn.checked_in_at, MemberCard.number)
        .join(Member, Member.id == EventRegistration.member_id)
        .outerjoin(CheckIn, CheckIn.registration_id == EventRegistration.id)
        .outerjoin(
            MemberCard,
            (MemberCard.member_id == Member.id) & (MemberCard.status == CardStatus.ACTIVE),
        )
        .where(EventRegistration.event_id == event.id)
        .options(
            selectinload(EventRegistration.member),
            selectinload(EventRegistration.vehicle).selectinload(Vehicle.colour),
        )
        .order_by(Member.name, EventRegistration.id)
    ).all()
    return [GateEntry(r, gate_status(r), at, number) for r, at, number in rows]


def card_key(event: Event, card_number: str) -> str:
    """How the gate's list names an attendee's card: a hash salted with the event (the phone
    hashes the number a card code carries the same way), so the list holds no card numbers."""
    return hashlib.sha256(f"{event.id}:{card_number}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class GateSummary:
    """How far the gate is: confirmed places and check-ins."""

    expected: int
    checked_in: int
    conflicts: int


def gate_summary(event: Event) -> GateSummary:
    """Counts for the gate page."""
    expected = db.session.scalar(
        select(func.count(EventRegistration.id)).where(
            EventRegistration.event_id == event.id,
            EventRegistration.status == RegistrationStatus.CONFIRMED,
        )
    )
    checked_in = db.session.scalar(
        select(func.count(CheckIn.id)).where(CheckIn.event_id == event.id)
    )
    conflicts = db.session.scalar(
        select(func.count(ScanConflict.id))
        .join(EventRegistration, EventRegistration.id == ScanConflict.registration_id)
        .where(EventRegistration.event_id == event.id)
    )
    return GateSummary(expected, checked_in, conflicts)


@dataclass(frozen=True)
class ConflictEntry:
    """A second scan of a checked-in ticket, with the check-in it clashed with."""

    registration: EventRegistration
    scanned_at: datetime
    checked_in_at: datetime
    staff_name: str | None


def scan_conflicts(event: Event, *, limit: int = 50) -> list[ConflictEntry]:
    """The latest second scans of the event's tickets: reported for staff, never counted."""
    rows = db.session.execute(
        select(ScanConflict, EventRegistration, CheckIn.checked_in_at, User.name)
        .join(EventRegistration, EventRegistration.id == ScanConflict.registration_id)
        .join(CheckIn, CheckIn.registration_id == EventRegistration.id)
        .outerjoin(User, User.id == ScanConflict.staff_id)
        .where(EventRegistration.event_id == event.id)
        .options(selectinload(EventRegistration.member))
        .order_by(ScanConflict.scanned_at.desc(), ScanConflict.id.desc())
        .limit(limit)
    ).all()
    return [ConflictEntry(r, c.scanned_at, at, name) for c, r, at, name in rows]


def describe_attendee(who: Attendee | EventRegistration, *, locale: str = "en") -> dict:
    """Who the gate lets in: name, companions and car (no contact details)."""
    if isinstance(who, EventRegistration):
        who = Attendee.of(who)
    return {
        "registration_id": who.registration_id,
        "name": who.name,
        "companions": who.companions,
        "companion_names": who.companion_names,
        "car": None
        if who.car_model is None
        else {
            "model": who.car_model,
            "colour": who.car_colour.label(locale),
            "plate": who.car_plate,
        },
    }
