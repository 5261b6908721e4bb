"""Tickets and the gate (R7): signed tickets, check-in once, points once, replay-safe."""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.core.clock import utcnow
from app.core.errors import NotFound
from app.core.permissions import Role
from app.core.tokens import TokenError
from app.events.models import CheckIn, Event, EventRegistration, ScanConflict
from app.events.services import R, return_deposit
from app.extensions import db
from app.loyalty.ledger import post_points
from app.loyalty.models import EntryKind
from app.loyalty.services import account_for


def ticket_token(registration: EventRegistration, *, now: datetime | None = None) -> str:
    """The signed token in the ticket's QR (kind "ticket"; it does not expire)."""
    return current_app.extensions["token_signer"].sign(
        "ticket", registration.id, now=now or utcnow()
    )


@dataclass(frozen=True)
class CheckInResult:
    """What the gate shows: checked_in, already_checked_in, invalid, wrong_event, cancelled,
    unpaid."""

    status: str
    registration: EventRegistration | None = None
    checked_in_at: datetime | None = None


def _staff_event(actor: User | None, event_id: int, dealer_id: int | None) -> Event:
    event = db.session.get(Event, event_id)
    scope = (
        dealer_id if actor is None else (None if actor.role == Role.HQ_ADMIN else actor.dealer_id)
    )
    if event is None or (scope is not None and event.dealer_id != scope):
        raise NotFound(_l("No such event."))
    return event


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
    event = _staff_event(actor, event_id, dealer_id)
    try:
        claims = current_app.extensions["token_signer"].verify(ticket, kind="ticket", now=now)
    except TokenError:
        return CheckInResult("invalid")
    found = db.session.get(EventRegistration, claims.subject_id)
    if found is None:
        return CheckInResult("invalid")
    if found.event_id != event.id:
        return CheckInResult("wrong_event", found)
    if found.status == R.PENDING:
        return CheckInResult("unpaid", found)
    if found.status != R.CONFIRMED:
        return CheckInResult("cancelled", found)
    # Scans of one ticket queue on its row: two phones cannot both check it in.
    registration = db.session.execute(
        select(EventRegistration)
        .where(EventRegistration.id == found.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if nonce and (replayed := db.session.scalar(select(CheckIn).where(CheckIn.nonce == nonce))):
        return CheckInResult("checked_in", registration, replayed.checked_in_at)
    done = db.session.scalar(select(CheckIn).where(CheckIn.registration_id == registration.id))
    if done is not None:
        if nonce and not db.session.scalar(
            select(ScanConflict.id).where(ScanConflict.nonce == nonce)
        ):
            db.session.add(
                ScanConflict(
                    registration_id=registration.id,
                    scanned_at=now,
                    staff_id=getattr(actor, "id", None),
                    nonce=nonce,
                )
            )
            db.session.flush()
        return CheckInResult("already_checked_in", registration, done.checked_in_at)
    check = CheckIn(
        registration_id=registration.id,
        event_id=event.id,
        checked_in_at=now,
        staff_id=getattr(actor, "id", None),
        nonce=nonce,
    )
    db.session.add(check)
    db.session.flush()
    return_deposit(registration, actor=actor, now=now)
    if event.attendance_points:
        post_points(
            account_for(registration.member).id,
            event.attendance_points,
            kind=EntryKind.EARN,
            source="event",
            key=f"ticket:{registration.ticket_uuid}",
            reference=event.title[:64],
            qualifying=True,
            actor=actor,
            now=now,
        )
    return CheckInResult("checked_in", registration, now)
