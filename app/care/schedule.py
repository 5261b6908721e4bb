"""The daily care job (R8; seed 002, SSI 客户关怀): find today's care moments, remind once.

``run_daily`` (``flask care run-daily``) looks at every active owner and car and creates a
``CareReminder`` for each care moment whose notice window holds today, with its outbox messages
(and, for the moments the seed says to phone about, a care task for an agent). The texts are the
dealer's care manager's where they wrote one (app/care/texts/), else the built-in ones:

=================  ==========================================================================
first_maintenance  首保提示: day 60 after delivery (window until day 90), unless the car already
                   had a maintenance visit since delivery. Call task; SMS only if the call fails.
maintenance_due    定保提醒: a week before the next maintenance, the earlier of 6 months after
                   the last maintenance visit and the day the car reaches 5,000 km more, estimated
                   from its average daily km (delivery counts as 0 km, then every visit's
                   mileage). Window until 30 days after the due day. Call task.
warranty_expiry    保修到期提醒: 30 days before the warranty ends (``warranty_until``, or 3 years
                   after delivery, or after purchase when the delivery date is unknown:
                   app/members/warranty.py). Call task.
inspection         年检提醒: 30 days before ``inspection_due_on``.
insurance_expiry   保险到期提醒: 30 and 14 days before ``insurance_expires_on``.
birthday           生日祝福: on the day (29 February: on 28 February in other years). Call task;
                   the SMS waits until two hours after opening (app/care/birthdays.py).
anniversary        购车周年: on the first day of the purchase month in later years, the month in
                   which service visits earn the anniversary multiplier (app/loyalty/rules.py).
                   A marketing message: only for owners who opted in.
points_expiry      积分到期: 30 and 7 days before points expire, per expiry date.
=================  ==========================================================================

Every interval is a constant in ``DEFAULTS`` (app/care/settings.py) and can be overridden with
a ``CARE_<NAME>`` config value (e.g. ``CARE_MAINTENANCE_KM = 7500``). When a car's maintenance
is due is app/care/maintenance.py (the owner's home and car page show the same day). A notice
with several offsets (30 and 14 days) sends the one whose window holds today: a job that did
not run for a while sends the latest notice, not all of them.

Finding the moments takes a few queries, whatever the number of owners: the active owners'
cars (their dates only), the few visits per car the maintenance rules look at (on its first
and last visit days and its last maintenance day), today's birthdays and the points expiring
soon; the rules below then decide in Python.

Exactly once: each moment has a unique key (``care_reminders.key``) and is inserted with
``ON CONFLICT DO NOTHING``; only the transaction that inserted it queues the messages and the
task. Moments are created in batches of ``BATCH_SIZE``, in key order, one transaction each
(a few multi-row statements). A rerun the same day creates nothing, and on PostgreSQL a second
host running the job at once waits for the first one's rows, then skips them; as both take the
keys in the same order, neither waits for the other in turn. A batch that fails is tried again
moment by moment, so one owner's bad data fails alone.
"""

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import extract, func, or_, select

from app.auth.models import User
from app.care.birthdays import close_past_birthday_tasks, greeting_deadline, responsible_staff
from app.care.maintenance import Visit, first_maintenance_pending, next_maintenance, visits_by_car
from app.care.models import CareReminder, CareTask
from app.care.settings import intervals, setting
from app.care.texts.placeholders import render
from app.care.texts.reminders import message_for, reminder_values
from app.care.texts.services import TextBook
from app.core.clock import local_date, utcnow
from app.extensions import db
from app.loyalty.models import PointsAccount, PointsEntry
from app.loyalty.rules import rules_in_force
from app.members.models import Member, Vehicle
from app.members.outbox import (
    Channel,
    Message,
    Recipient,
    any_of,
    insert_new,
    insert_rows,
    load_recipients,
    queue_messages,
    recipient_channels,
)
from app.members.warranty import warranty_end

log = logging.getLogger(__name__)


class ReminderKind(StrEnum):
    """The care moments of seed 002."""

    FIRST_MAINTENANCE = "first_maintenance"  # 首保提示
    MAINTENANCE_DUE = "maintenance_due"  # 定保提醒
    WARRANTY_EXPIRY = "warranty_expiry"  # 保修到期提醒
    INSPECTION = "inspection"  # 年检提醒
    INSURANCE_EXPIRY = "insurance_expiry"  # 保险到期提醒
    BIRTHDAY = "birthday"  # 车主生日祝福
    ANNIVERSARY = "anniversary"  # 购车周年关怀
    POINTS_EXPIRY = "points_expiry"


KIND_LABELS = {
    ReminderKind.FIRST_MAINTENANCE: _l("First maintenance"),
    ReminderKind.MAINTENANCE_DUE: _l("Maintenance due"),
    ReminderKind.WARRANTY_EXPIRY: _l("Warranty ending"),
    ReminderKind.INSPECTION: _l("Annual inspection"),
    ReminderKind.INSURANCE_EXPIRY: _l("Insurance ending"),
    ReminderKind.BIRTHDAY: _l("Birthday"),
    ReminderKind.ANNIVERSARY: _l("Purchase anniversary"),
    ReminderKind.POINTS_EXPIRY: _l("Points expiring"),
    # Not a reminder: the callback after a visit (app/care/followups/visits.py).
    "visit_followup": _l("After a visit"),
    # Not a reminder: the daily job's recall tasks of lost owners (app/care/recall.py).
    "recall": _l("Lost owner recall"),
}

# The seed has an agent phone these owners (SMS only when three calls fail: app/care/tasks.py;
# the birthday's SMS when one fails, or at the deadline: app/care/birthdays.py).
CALL_KINDS = frozenset(
    {
        ReminderKind.FIRST_MAINTENANCE,
        ReminderKind.MAINTENANCE_DUE,
        ReminderKind.WARRANTY_EXPIRY,
        ReminderKind.BIRTHDAY,
    }
)
MARKETING_KINDS = frozenset({ReminderKind.ANNIVERSARY})


@dataclass(frozen=True)
class Moment:
    """A care moment due today: what to remind whom of, under which unique key."""

    kind: ReminderKind
    key: str
    member_id: int
    vehicle_id: int | None
    due_on: date
    facts: dict = field(default_factory=dict, compare=False)


def notice_offset(due: date, today: date, offsets) -> int | None:
    """The notice (days before ``due``) whose window holds ``today``; None outside them all."""
    if today >= due:
        return None
    for days in sorted(offsets):
        if today >= due - timedelta(days=days):
            return days
    return None


def _same_day_this_year(day: date, year: int) -> date:
    if (day.month, day.day) == (2, 29) and not _is_leap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# ------------------------------------------------------------------------- finding moments


class _Car(NamedTuple):
    """What the rules read of a car (a named tuple: a SQLAlchemy row is slower to read)."""

    id: int
    member_id: int
    purchased_on: date
    delivered_on: date | None
    warranty_until: date | None
    insurance_expires_on: date | None
    inspection_due_on: date | None


def _vehicle_moments(
    vehicle: Vehicle, visits: list[Visit], today: date, *, every: dict, anniversary_times: str
) -> list[Moment]:
    moments = []
    member_id, vid = vehicle.member_id, vehicle.id

    delivered = vehicle.delivered_on
    if delivered is not None:
        age = (today - delivered).days
        if every["FIRST_MAINTENANCE_DAY"] <= age <= every[
            "FIRST_MAINTENANCE_LAST_DAY"
        ] and first_maintenance_pending(vehicle, visits):
            due = delivered + timedelta(days=every["FIRST_MAINTENANCE_DAY"])
            key = f"first_maintenance:v{vid}"
            moments.append(Moment(ReminderKind.FIRST_MAINTENANCE, key, member_id, vid, due))

    found = next_maintenance(vehicle, visits, every=every)
    if found is not None:
        base, due = found
        remind_on = due - timedelta(days=every["MAINTENANCE_NOTICE_DAYS"])
        if remind_on <= today <= due + timedelta(days=every["MAINTENANCE_OVERDUE_DAYS"]):
            moments.append(
                Moment(
                    ReminderKind.MAINTENANCE_DUE,
                    f"maintenance_due:v{vid}:{base.id}",
                    member_id,
                    vid,
                    due,
                    {"last_on": base.visited_on},
                )
            )

    for kind, due, notices in (
        (ReminderKind.WARRANTY_EXPIRY, warranty_end(vehicle), "WARRANTY_NOTICE_DAYS"),
        (ReminderKind.INSPECTION, vehicle.inspection_due_on, "INSPECTION_NOTICE_DAYS"),
        (ReminderKind.INSURANCE_EXPIRY, vehicle.insurance_expires_on, "INSURANCE_NOTICE_DAYS"),
    ):
        offset = notice_offset(due, today, every[notices]) if due else None
        if offset is not None:
            moments.append(Moment(kind, f"{kind}:v{vid}:{due}:{offset}", member_id, vid, due))

    bought = vehicle.purchased_on
    if today.month == bought.month and today.year > bought.year:
        moments.append(
            Moment(
                ReminderKind.ANNIVERSARY,
                f"anniversary:v{vid}:{today.year}",
                member_id,
                vid,
                _same_day_this_year(bought, today.year),
                {"years": today.year - bought.year, "times": anniversary_times},
            )
        )
    return moments


def _birthday_moments(today: date) -> list[Moment]:
    months_days = [(today.month, today.day)]
    if (today.month, today.day) == (2, 28) and not _is_leap(today.year):
        months_days.append((2, 29))
    month, day = extract("month", Member.birthday), extract("day", Member.birthday)
    rows = db.session.execute(
        select(Member.id, Member.birthday)
        .join(User, User.id == Member.user_id)
        .where(
            User.active,
            Member.birthday.is_not(None),
            or_(*((month == m) & (day == d) for m, d in months_days)),
        )
    )
    return [
        Moment(ReminderKind.BIRTHDAY, f"birthday:m{member_id}:{today.year}", member_id, None, today)
        for member_id, _birthday in rows
    ]


def _points_moments(today: date) -> list[Moment]:
    offsets = setting("POINTS_NOTICE_DAYS")
    rows = db.session.execute(
        select(PointsAccount.member_id, PointsEntry.expires_on, func.sum(PointsEntry.remaining))
        .join(PointsAccount, PointsAccount.id == PointsEntry.account_id)
        .join(Member, Member.id == PointsAccount.member_id)
        .join(User, User.id == Member.user_id)
        .where(
            User.active,
            PointsEntry.remaining > 0,
            PointsEntry.expires_on > today,
            PointsEntry.expires_on <= today + timedelta(days=max(offsets)),
        )
        .group_by(PointsAccount.member_id, PointsEntry.expires_on)
    )
    moments = []
    for member_id, expires_on, points in rows:
        offset = notice_offset(expires_on, today, offsets)
        if offset is not None:
            moments.append(
                Moment(
                    ReminderKind.POINTS_EXPIRY,
                    f"points_expiry:m{member_id}:{expires_on}:{offset}",
                    member_id,
                    None,
                    expires_on,
                    {"points": int(points)},
                )
            )
    return moments


def find_moments(today: date) -> list[Moment]:
    """Every care moment whose window holds ``today``, in key order (stable across hosts)."""
    visits = visits_by_car(today)
    cars = db.session.execute(
        select(*(getattr(Vehicle, name) for name in _Car._fields))
        .join(Member, Member.id == Vehicle.member_id)
        .join(User, User.id == Member.user_id)
        .where(User.active)
    )
    every, times = intervals(), _multiplier(today)
    moments = [
        m
        for car in map(_Car._make, cars)
        for m in _vehicle_moments(
            car, visits.get(car.id, []), today, every=every, anniversary_times=times
        )
    ]
    moments += _birthday_moments(today) + _points_moments(today)
    return sorted(moments, key=lambda m: m.key)


# ---------------------------------------------------------------------------- the messages


def _multiplier(today: date) -> str:
    rules = rules_in_force(today)
    pct = rules.anniversary_multiplier_pct if rules is not None else 100
    return f"{pct / 100:g}"


def _texts(moment: Moment, member: Recipient, car, today: date, book: TextBook):
    """The reminder's (title, body): the text the owner's dealer's manager wrote for its kind
    (app/care/texts/), else the built-in one; run it in the member's language."""
    custom = book.find(moment.kind, member.dealer_id, member.locale)
    if custom is None:
        return message_for(moment, member, car, today)
    values = reminder_values(moment, member, car, dealer=book.dealer_name(member.dealer_id))
    return render(custom[0], values), render(custom[1], values)


# ------------------------------------------------------------------------------ the job


BATCH_SIZE = 1000


def _cars(vehicle_ids: set[int]) -> dict:
    """What the messages say of the cars, by id."""
    if not vehicle_ids:
        return {}
    rows = db.session.execute(
        select(Vehicle.id, Vehicle.model, Vehicle.plate, Vehicle.delivered_on).where(
            any_of(Vehicle.id, vehicle_ids)
        )
    )
    return {row.id: row for row in rows}


def create_reminders(
    moments: Sequence[Moment], *, now: datetime | None = None
) -> tuple[Counter, list[str]]:
    """Record the moments not recorded yet, once, with their messages and call tasks, in a few
    statements (the caller commits): how many of each kind were created, and the keys whose
    message could not be written (tried again while their window is open)."""
    now = now or utcnow()
    today = local_date(now)
    created: Counter = Counter()
    failed: list[str] = []
    keys = [m.key for m in moments]
    known = set(db.session.scalars(select(CareReminder.key).where(any_of(CareReminder.key, keys))))
    moments = [m for m in moments if m.key not in known]
    if not moments:
        return created, failed
    owners = load_recipients(m.member_id for m in moments)
    cars = _cars({m.vehicle_id for m in moments if m.vehicle_id})

    book = TextBook.load()
    by_language = defaultdict(list)
    for moment in moments:
        by_language[owners[moment.member_id].locale].append(moment)
    texts = {}
    for language, group in by_language.items():
        with force_locale(language):
            for moment in group:
                member, car = owners[moment.member_id], cars.get(moment.vehicle_id)
                try:
                    title, body = (str(part) for part in _texts(moment, member, car, today, book))
                except Exception:
                    log.exception("Care reminder %s failed", moment.key)
                    failed.append(moment.key)
                else:
                    texts[moment.key] = title, body

    # In key order: hosts running the job at once wait for each other's keys in one order.
    ready = sorted((m for m in moments if m.key in texts), key=lambda m: m.key)
    inserted = {
        key: reminder_id
        for reminder_id, key in insert_new(
            CareReminder,
            [
                {
                    "member_id": m.member_id,
                    "vehicle_id": m.vehicle_id,
                    "kind": str(m.kind),
                    "due_on": m.due_on,
                    "key": m.key,
                    "created_at": now,
                }
                for m in ready
            ],
            "key",
        )
    }
    tasks, messages = [], []
    birthdays = [m.member_id for m in ready if m.kind == ReminderKind.BIRTHDAY]
    assignees = responsible_staff(ReminderKind.BIRTHDAY, birthdays)
    for moment in ready:
        if moment.key not in inserted:
            continue  # another host's, made meanwhile
        member = owners[moment.member_id]
        channels = recipient_channels(member)
        title, body = texts[moment.key]
        if moment.kind in CALL_KINDS and Channel.SMS in channels:
            # The SMS waits: it is the fallback when the agent cannot reach the owner. The
            # birthday's is queued now, to go at the deadline unless the call reached them.
            channels.remove(Channel.SMS)
            if moment.kind == ReminderKind.BIRTHDAY:
                sms = (Channel.SMS,)
                deadline = greeting_deadline(today)
                messages.append(
                    Message(
                        member, str(moment.kind), title, body, moment.key, sms, send_at=deadline
                    )
                )
        if moment.kind in CALL_KINDS:
            tasks.append(
                {
                    "dealer_id": member.dealer_id,
                    "member_id": member.id,
                    "vehicle_id": moment.vehicle_id,
                    "reminder_id": inserted[moment.key],
                    "kind": str(moment.kind),
                    "due_on": today,
                    "status": "open",
                    "assigned_to_id": assignees.get(member.id),
                    "created_at": now,
                }
            )
        messages.append(
            Message(
                member,
                str(moment.kind),
                title,
                body,
                moment.key,
                tuple(channels),
                marketing=moment.kind in MARKETING_KINDS,
            )
        )
        created[str(moment.kind)] += 1
    if tasks:
        insert_rows(CareTask, tasks)
    queue_messages(messages, now=now)
    return created, failed


@dataclass
class DailyReport:
    """What one run of the daily job did."""

    created: Counter = field(default_factory=Counter)
    tasks_closed: int = 0
    complaints_escalated: int = 0
    failed: list[str] = field(default_factory=list)
    # Recall (app/care/recall.py): tasks of owners who came back closed, new ones made.
    recalls_closed: int = 0
    recalls_made: int = 0

    @property
    def total(self) -> int:
        """Reminders created."""
        return sum(self.created.values())


def run_daily(*, now: datetime | None = None) -> DailyReport:
    """The daily care job: close settled call tasks, escalate overdue complaint cases to their
    dealer admin, then create today's reminders, a batch per transaction (commits). Safe to
    rerun and to run on two hosts at once."""
    from app.care.followups.complaints import escalate_overdue
    from app.care.tasks import close_settled_tasks

    now = now or utcnow()
    report = DailyReport()
    report.tasks_closed = close_settled_tasks(now=now)
    report.tasks_closed += close_past_birthday_tasks(now=now)
    db.session.commit()
    report.complaints_escalated = escalate_overdue(now=now)

    def create(batch: Sequence[Moment]) -> None:
        created, failed = create_reminders(batch, now=now)
        db.session.commit()
        report.created.update(created)
        report.failed.extend(failed)

    moments = find_moments(local_date(now))
    for start in range(0, len(moments), BATCH_SIZE):
        batch = moments[start : start + BATCH_SIZE]
        try:
            create(batch)
        except Exception:
            db.session.rollback()
            # One owner's bad data must not stop everyone else's reminders: the batch again,
            # a moment at a time. A moment that fails is tried again tomorrow while its window
            # is open.
            for moment in batch:
                try:
                    create([moment])
                except Exception:
                    db.session.rollback()
                    log.exception("Care reminder %s failed", moment.key)
                    report.failed.append(moment.key)
    from app.care.recall import run_recall

    report.recalls_closed, report.recalls_made = run_recall(now=now)
    return report
