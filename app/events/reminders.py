"""The reminder the day before (issue 21): each owner with a confirmed place at an event that
starts tomorrow (the club's calendar, ``TIMEZONE``) is reminded once, in their language: in the
inbox at once, by e-mail and SMS as they chose, after the quiet hours (app/members/outbox.py).

``flask care run-daily`` runs it (app/cli.py). Once per registration: the outbox key
``event-reminder:<registration id>`` is inserted with ``ON CONFLICT DO NOTHING``, so a second
run, or a second host running the job at once, queues nothing again. A place confirmed after
the day's run (a late sign-up, a waiting-list offer taken) is reminded by the next run only if
the event is still tomorrow then: an owner who signed up the day before knows.
"""

from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.core.clock import local_date, local_midnight, utcnow
from app.core.dates import format_local_datetime
from app.events.models import Event, EventRegistration, RegistrationStatus
from app.events.services import format_ticket_code
from app.extensions import db
from app.members.models import OutboxMessage
from app.members.outbox import Message, load_recipients, queue_messages, recipient_channels

REMINDER_KIND = "event_reminder"


def reminder_key(registration_id: int) -> str:
    """The outbox key of a registration's reminder (the inbox links it to the ticket)."""
    return f"event-reminder:{registration_id}"


def due_tomorrow(now: datetime) -> list[tuple[EventRegistration, Event]]:
    """Confirmed places at the events that start tomorrow, in event and sign-up order."""
    tomorrow = local_date(now) + timedelta(days=1)
    return list(
        db.session.execute(
            select(EventRegistration, Event)
            .join(Event, Event.id == EventRegistration.event_id)
            .where(
                EventRegistration.status == RegistrationStatus.CONFIRMED,
                Event.starts_at >= local_midnight(tomorrow),
                Event.starts_at < local_midnight(tomorrow + timedelta(days=1)),
            )
            .order_by(Event.starts_at, Event.id, EventRegistration.id)
        ).all()
    )


def reminder_text(registration: EventRegistration, event: Event, locale: str) -> tuple[str, str]:
    """The reminder's title and text in ``locale``."""
    with force_locale(locale):
        title = _("Tomorrow: %(title)s", title=event.title)
        # The ticket code before the place: an SMS too long for the provider loses its end.
        body = _(
            "%(when)s. Your ticket %(code)s is in My tickets: show its QR code at the gate. "
            "Place: %(place)s",
            when=format_local_datetime(event.starts_at, "short"),
            place=event.place,
            code=format_ticket_code(registration.ticket_code),
        )
    return title, body


def send_reminders(*, now: datetime | None = None) -> int:
    """Queue the day-before reminders not yet queued (flushes); returns how many."""
    now = now or utcnow()
    due = due_tomorrow(now)
    if not due:
        return 0
    keys = {reminder_key(r.id) for r, _event in due}
    sent = {
        key.rsplit(":", 1)[0]
        for key in db.session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.dedupe_key.in_([f"{k}:in_app" for k in keys])
            )
        )
    }
    due = [(r, event) for r, event in due if reminder_key(r.id) not in sent]
    recipients = load_recipients({r.member_id for r, _event in due})
    messages = []
    for registration, event in due:
        recipient = recipients[registration.member_id]
        title, body = reminder_text(registration, event, recipient.locale)
        messages.append(
            Message(
                recipient,
                REMINDER_KIND,
                title,
                body,
                reminder_key(registration.id),
                tuple(recipient_channels(recipient)),
            )
        )
    queue_messages(messages, now=now)
    return len(messages)
