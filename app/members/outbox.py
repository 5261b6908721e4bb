"""The outbox (R8): every message to an owner, one row per channel, sent once.

Queueing. ``queue_message`` writes one row per channel under a unique ``dedupe_key`` with an
insert that skips a duplicate (``ON CONFLICT DO NOTHING``), so a rerun, or a second host running
the same job, queues nothing twice. ``queue_messages`` does the same for a batch job's many
messages in a few statements, with the owners' choices loaded in one query
(``load_recipients``). The in-app channel is delivered at once, in the same transaction (it is
the inbox row itself). E-mail and SMS wait for the sender.

Owners' choices. E-mail goes out when the owner keeps e-mail on and gave an address; SMS
when they keep SMS on; marketing messages only with the marketing opt-in. The sender checks
these again just before sending, since the owner may change them in between. Care reminders
and other non-urgent messages respect the quiet hours (QUIET_HOURS, local TIMEZONE): one due in
them waits until they end; kinds in ``ANY_HOUR_KINDS`` (a place offered for a few hours) do not.

Sending (``send_due``, run by ``flask care send``). A worker claims one due message by moving
it from ``pending`` to ``sending`` in a committed transaction of its own (on PostgreSQL the row
is picked with ``FOR UPDATE SKIP LOCKED`` and the move is conditional on ``pending``), so two
workers never hold the same message. It then sends outside any transaction and writes the
result (sent, or pending again with back-off, or failed) in one transaction.

A crash between the provider accepting a message and that last commit leaves the row in
``sending``: nobody can know whether the owner got it. We choose at-most-once: once its lease
(``SENDING_LEASE``) has passed, such a row is marked ``failed`` with the reason, never sent
again. A lost reminder is visible in the outbox; a duplicate SMS costs money and annoys the
owner, and the brief is "each sent once". The SMS ``reference`` (the dedupe key) lets a provider
that supports client references refuse a duplicate too.
"""

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import JSON, Text, any_, cast, column, func, literal, select, update

from app.auth.models import User
from app.core.channels import DeliveryError, mailer, sms_backend
from app.core.clock import utcnow
from app.core.models import dialect_insert
from app.core.states import StateMachine
from app.extensions import db
from app.members.models import Member, Notification, OutboxMessage


class Channel(StrEnum):
    """Where a message goes."""

    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"


class OutboxStatus(StrEnum):
    """pending → sending → sent | pending (retry) | failed; pending → skipped."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


_O = OutboxStatus
# The sender moves rows with set-based UPDATEs whose WHERE is ``OUTBOX.sources(to)``; a send
# whose lease ran out (marked failed as interrupted) may still record its late result.
OUTBOX = StateMachine(
    OutboxStatus,
    {
        _O.PENDING: {_O.SENDING, _O.SKIPPED},
        _O.SENDING: {_O.SENT, _O.PENDING, _O.FAILED, _O.SKIPPED},
        _O.FAILED: {_O.SENT, _O.PENDING, _O.FAILED, _O.SKIPPED},
        _O.SENT: set(),
        _O.SKIPPED: set(),
    },
    name="outbox",
)


# Retries: 5, 10, 20, 40, 80 minutes after the attempts that failed; then the message fails.
MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(minutes=5)
MAX_RETRY_DELAY = timedelta(hours=6)
# Longer than any send can take (SMTP times out after 30 s): a row still "sending" after it
# was interrupted.
SENDING_LEASE = timedelta(minutes=10)
# Urgent kinds go out at any hour: a freed event place is offered for a few hours only.
ANY_HOUR_KINDS = frozenset({"event_offer"})
SMS_MAX_CHARS = 300

INTERRUPTED = "Interrupted while sending: not retried, so that it cannot arrive twice."


DEFAULT_LOCALE = "zh"  # the club's language, for owners who chose none


def render_for(member: Member, render: Callable[[], tuple]) -> tuple[str, str]:
    """``render()``'s (title, body) in the member's language."""
    with force_locale(member.user.locale or DEFAULT_LOCALE):
        title, body = (str(part) for part in render())
    return title, body


@dataclass(frozen=True)
class Recipient:
    """An owner as the outbox sees them: their language and the channels they chose."""

    id: int
    dealer_id: int
    name: str
    locale: str
    active: bool
    mobile: str
    email: str | None
    notify_email: bool
    notify_sms: bool
    marketing_opt_in: bool

    @classmethod
    def of(cls, member: Member) -> "Recipient":
        """The member's recipient facts (their account's language and state)."""
        return cls(
            member.id,
            member.dealer_id,
            member.name,
            member.user.locale or DEFAULT_LOCALE,
            member.user.active,
            member.user.mobile,
            member.email,
            member.notify_email,
            member.notify_sms,
            member.marketing_opt_in,
        )


def any_of(column, values: Iterable):
    """SQL: ``column`` is one of ``values``. On PostgreSQL one array parameter: psycopg spends
    longer on an IN list of a thousand placeholders than the database on the query."""
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(literal(values, ARRAY(column.type)))
    return column.in_(values)


def load_recipients(member_ids: Iterable[int]) -> dict[int, Recipient]:
    """The members' recipient facts by id, in one query."""
    rows = db.session.execute(
        select(
            Member.id,
            Member.dealer_id,
            Member.name,
            User.locale,
            User.active,
            User.mobile,
            Member.email,
            Member.notify_email,
            Member.notify_sms,
            Member.marketing_opt_in,
        )
        .join(User, User.id == Member.user_id)
        .where(any_of(Member.id, set(member_ids)))
    )
    return {
        row.id: Recipient(
            row.id,
            row.dealer_id,
            row.name,
            row.locale or DEFAULT_LOCALE,
            row.active,
            row.mobile,
            row.email,
            row.notify_email,
            row.notify_sms,
            row.marketing_opt_in,
        )
        for row in rows
    }


# ----------------------------------------------------------------------------- quiet hours


def _quiet_hours() -> tuple[int, int] | None:
    spec = (current_app.config.get("QUIET_HOURS") or "").strip()
    if not spec:
        return None
    start, _, end = spec.partition("-")
    start_hour, end_hour = int(start) % 24, int(end) % 24
    return None if start_hour == end_hour else (start_hour, end_hour)


def quiet_hours_text() -> str:
    """The quiet hours as people read them, e.g. '21:00–08:00' ('' when there are none)."""
    hours = _quiet_hours()
    return f"{hours[0]:02d}:00–{hours[1]:02d}:00" if hours else ""


def quiet_hours_end(moment: datetime) -> datetime | None:
    """When the quiet hours around ``moment`` end (UTC); None when ``moment`` is not in them."""
    hours = _quiet_hours()
    if hours is None:
        return None
    start, end = hours
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    local = moment.astimezone(zone)
    # "21-8" wraps past midnight; "1-6" does not.
    wraps = start > end
    quiet = (local.hour >= start or local.hour < end) if wraps else start <= local.hour < end
    if not quiet:
        return None
    day = local.date() if local.hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end), tzinfo=zone).astimezone(moment.tzinfo)


def not_before(moment: datetime, kind: str) -> datetime:
    """The earliest time a message of ``kind`` may go out at or after ``moment``."""
    if kind in ANY_HOUR_KINDS:
        return moment
    return quiet_hours_end(moment) or moment


# -------------------------------------------------------------------------------- queueing


def _json_value(value):
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("naive datetime given for a UTC column")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not serialisable")


def insert_rows(model, rows: Sequence[dict], *, unless_key: str | None = None, returning=()):
    """Insert many rows (dicts with the same columns) in one statement; with ``unless_key``,
    skip those whose unique key exists or is being inserted by a concurrent transaction (which
    this one then waits for): ``ON CONFLICT DO NOTHING``. Rows go in in their order.

    On PostgreSQL the rows travel as one JSON array (``json_to_recordset``): as a multi-row
    VALUES or as arrays, psycopg would adapt each value in Python, most of the daily job's time.
    """
    table = model.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        names = list(rows[0])
        # A batch's timestamps are a few (its run's "now"): each is written out once.
        written: dict = {}

        def write(value):
            if value not in written:
                written[value] = _json_value(value)
            return written[value]

        document = json.dumps(rows, default=write, ensure_ascii=False)
        source = (
            func.json_to_recordset(cast(literal(document, Text), JSON))
            .table_valued(*(column(name, table.c[name].type) for name in names))
            .render_derived(with_types=True)
        )
        statement, parameters = dialect_insert(table).from_select(names, select(source)), None
    else:
        statement, parameters = dialect_insert(table), list(rows)
    if unless_key:
        statement = statement.on_conflict_do_nothing(index_elements=[unless_key])
    if returning:
        statement = statement.returning(*returning)
    return db.session.execute(statement, parameters)


def insert_new(model, rows: Sequence[dict], key: str) -> list[tuple[int, str]]:
    """Insert the rows whose unique ``key`` column is new (``insert_rows``): (id, key) of
    each row inserted."""
    if not rows:
        return []
    table = model.__table__
    inserted = insert_rows(model, rows, unless_key=key, returning=(table.c.id, table.c[key]))
    return [tuple(row) for row in inserted]


def recipient_channels(recipient: Recipient) -> list[Channel]:
    """The channels the owner chose: the inbox always, e-mail with an address, SMS."""
    channels = [Channel.IN_APP]
    if recipient.notify_email and recipient.email:
        channels.append(Channel.EMAIL)
    if recipient.notify_sms:
        channels.append(Channel.SMS)
    return channels


def member_channels(member: Member) -> list[Channel]:
    """The channels the member chose (``recipient_channels``)."""
    return recipient_channels(Recipient.of(member))


def skip_reason(recipient: Recipient, channel: str, marketing: bool) -> str:
    """Why this message must not go to the owner on ``channel`` now ('' when it may)."""
    if not recipient.active:
        return "account closed"
    if marketing and not recipient.marketing_opt_in:
        return "no marketing consent"
    if channel == Channel.EMAIL and not (recipient.notify_email and recipient.email):
        return "e-mail turned off or no address"
    if channel == Channel.SMS and not recipient.notify_sms:
        return "SMS turned off"
    return ""


@dataclass(frozen=True)
class Message:
    """A message to queue: to whom, why (``kind``, a unique ``key``), what, on which channels."""

    recipient: Recipient
    kind: str
    title: str
    body: str
    key: str
    channels: tuple[str, ...]
    marketing: bool = False
    # E-mail and SMS wait until then (and the quiet hours); None: as soon as may be.
    send_at: datetime | None = None


def queue_messages(
    messages: Iterable[Message], *, inbox_written: bool = False, now: datetime | None = None
) -> list[int]:
    """Queue each message on each of its channels, once per key, in a few statements; the
    in-app ones are delivered now (their inbox rows are written too).

    ``inbox_written``: the caller already put the messages in the inbox (``notify``).
    Returns the ids of the rows this call created.
    """
    now = now or utcnow()
    later = {}  # when a message of each kind may go out (quiet hours)
    rows, inbox = [], {}
    for message in messages:
        recipient, kind = message.recipient, message.kind
        if kind not in later:
            later[kind] = not_before(now, kind)
        for channel in message.channels:
            reason = skip_reason(recipient, channel, message.marketing)
            in_app = channel == Channel.IN_APP
            if reason:
                status = OutboxStatus.SKIPPED
            else:
                status = OutboxStatus.SENT if in_app else OutboxStatus.PENDING
            dedupe_key = f"{message.key}:{channel}"
            due = later[kind]
            if message.send_at is not None and message.send_at > now:
                due = not_before(message.send_at, kind)
            rows.append(
                {
                    "member_id": recipient.id,
                    "channel": str(channel),
                    "kind": kind,
                    "subject": message.title[:200],
                    "body": message.body,
                    "marketing": message.marketing,
                    "dedupe_key": dedupe_key,
                    "status": str(status),
                    "attempts": 1 if status == OutboxStatus.SENT else 0,
                    "next_attempt_at": now if in_app else due,
                    "sent_at": now if status == OutboxStatus.SENT else None,
                    "last_error": reason,
                    "created_at": now,
                }
            )
            if in_app and status == OutboxStatus.SENT and not inbox_written:
                inbox[dedupe_key] = message
    created = insert_new(OutboxMessage, rows, "dedupe_key")
    notifications = [
        {
            "member_id": message.recipient.id,
            "kind": message.kind,
            "title": message.title[:200],
            "body": message.body,
            "dedupe_key": message.key[:128],
            "created_at": now,
        }
        for _id, dedupe_key in created
        if (message := inbox.get(dedupe_key)) is not None
    ]
    if notifications:
        insert_rows(Notification, notifications)
    return [message_id for message_id, _key in created]


def queue_message(
    member: Member,
    kind: str,
    title: str,
    body: str,
    *,
    key: str,
    channels: Iterable[str],
    marketing: bool = False,
    inbox_written: bool = False,
    now: datetime | None = None,
) -> list[int]:
    """Queue one message on each channel, once per ``key``; the in-app one is delivered now.

    ``inbox_written``: the caller already put the message in the inbox (``notify``).
    Returns the ids of the rows this call created.
    """
    message = Message(Recipient.of(member), kind, title, body, key, tuple(channels), marketing)
    return queue_messages([message], inbox_written=inbox_written, now=now)


def release_message(dedupe_key: str, *, now: datetime | None = None) -> bool:
    """A pending message held back (``send_at``) goes as soon as the quiet hours let it.
    Returns whether there was one."""
    now = now or utcnow()
    message = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.dedupe_key == dedupe_key, OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    if message is None:
        return False
    message.next_attempt_at = min(message.next_attempt_at, not_before(now, message.kind))
    db.session.flush()
    return True


def withdraw_message(dedupe_key: str, reason: str) -> bool:
    """A pending message is no longer to go (skipped with ``reason``): the SMS held back for a
    call that reached the owner. Returns whether one was withdrawn."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.dedupe_key == dedupe_key,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.SKIPPED, last_error=reason)
    )
    return result.rowcount > 0


# --------------------------------------------------------------------------------- sending


@dataclass
class SendReport:
    """What one run of the sender did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    interrupted: int = 0


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), MAX_RETRY_DELAY)


def fail_interrupted(*, now: datetime | None = None) -> int:
    """Mark messages whose send was interrupted (lease over, still ``sending``) as failed."""
    now = now or utcnow()
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.next_attempt_at <= now)
        .values(status=OutboxStatus.FAILED, last_error=INTERRUPTED)
    )
    return result.rowcount


def claim_next(*, now: datetime | None = None) -> OutboxMessage | None:
    """Take a due e-mail or SMS for this worker (``sending``, leased); None when none is due.

    One statement picks the row and moves it. No order among due messages: with its index,
    PostgreSQL reads them in due order anyway, but right after a bulk insert (the daily job),
    before the table's statistics catch up, it may pick another plan, and an ORDER BY then
    sorted every due message for each claim (seconds per hundred at 100,000 owners). The
    caller commits the claim before sending.
    """
    now = now or utcnow()
    next_due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.channel.in_([Channel.EMAIL, Channel.SMS]),
            OutboxMessage.next_attempt_at <= now,
        )
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return db.session.scalars(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == next_due,
            OutboxMessage.status.in_(OUTBOX.sources(OutboxStatus.SENDING)),
        )
        .values(
            status=OutboxStatus.SENDING,
            attempts=OutboxMessage.attempts + 1,
            next_attempt_at=now + SENDING_LEASE,
        )
        .returning(OutboxMessage)
        .execution_options(populate_existing=True)
    ).one_or_none()


def _deliver(channel: str, address: str, subject: str, body: str, reference: str) -> None:
    if channel == Channel.EMAIL:
        mailer().send(address, subject, body, reference=reference)
    else:
        text = f"{subject} {body}".strip()[:SMS_MAX_CHARS]
        sms_backend().send(address, text, reference=reference)


def send_one(message: OutboxMessage, *, now: datetime | None = None) -> str:
    """Send a claimed message and record the result (the caller commits): its new status.

    The transaction is ended before talking to the provider, so no lock is held meanwhile.
    """
    now = now or utcnow()
    owner = load_recipients([message.member_id])[message.member_id]
    reason = skip_reason(owner, message.channel, message.marketing)
    values: dict = {"last_error": ""}
    if reason:
        values |= {"status": OutboxStatus.SKIPPED, "last_error": reason}
    else:
        address = owner.email if message.channel == Channel.EMAIL else owner.mobile
        attempts = message.attempts
        db.session.commit()
        try:
            _deliver(message.channel, address, message.subject, message.body, message.dedupe_key)
        except DeliveryError as error:
            # The result of this attempt, in one transaction: retried later, or failed.
            if error.permanent or attempts >= MAX_ATTEMPTS:
                values |= {"status": OutboxStatus.FAILED, "last_error": str(error)[:500]}
            else:
                values |= {
                    "status": OutboxStatus.PENDING,
                    "last_error": str(error)[:500],
                    "next_attempt_at": not_before(now + retry_delay(attempts), message.kind),
                }
        else:
            values |= {"status": OutboxStatus.SENT, "sent_at": now}
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.status.in_(OUTBOX.sources(values["status"])),
        )
        .values(**values)
    )
    return values["status"]


def send_due(*, now: datetime | None = None, limit: int = 1000) -> SendReport:
    """Send due e-mails and SMS, each in its own claim → send → result transactions (commits)."""
    now = now or utcnow()
    report = SendReport()
    report.interrupted = fail_interrupted(now=now)
    db.session.commit()
    for _ in range(limit):
        message = claim_next(now=now)
        if message is not None:
            # Detached, it keeps its values past the claim's commit: no reload to send it.
            db.session.expunge(message)
        db.session.commit()
        if message is None:
            break
        status = send_one(message, now=now)
        db.session.commit()
        if status == OutboxStatus.SENT:
            report.sent += 1
        elif status == OutboxStatus.PENDING:
            report.retried += 1
        elif status == OutboxStatus.FAILED:
            report.failed += 1
        else:
            report.skipped += 1
    return report
