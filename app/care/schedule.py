"""The daily care job (R8; seed 002, SSI 客户关怀): find today's care moments, remind once.

``run_daily`` (``flask care run-daily``) looks at every active owner and car and creates a
``CareReminder`` for each care moment whose notice window holds today, with its outbox messages
(and, for the moments the seed says to phone about, a care task for an agent):

=================  ==========================================================================
first_maintenance  首保提示: day 60 after delivery (window until day 90), unless the car already
                   had a maintenance visit since delivery. Call task; SMS only if the call fails.
maintenance_due    定保提醒: a week before the next maintenance, the earlier of 6 months after
                   the last maintenance visit and the day the car reaches 5,000 km more, estimated
                   from its average daily km (delivery counts as 0 km, then every visit's
                   mileage). Window until 30 days after the due day. Call task.
warranty_expiry    保修到期提醒: 30 days before the warranty ends (``warranty_until``, or 3 years
                   after delivery, or after purchase when the delivery date is unknown). Call task.
inspection         年检提醒: 30 days before ``inspection_due_on``.
insurance_expiry   保险到期提醒: 30 and 14 days before ``insurance_expires_on``.
birthday           生日祝福: on the day (29 February: on 28 February in other years).
anniversary        购车周年: on the first day of the purchase month in later years, the month in
                   which service visits earn the anniversary multiplier (app/loyalty/rules.py).
                   A marketing message: only for owners who opted in.
points_expiry      积分到期: 30 and 7 days before points expire, per expiry date.
=================  ==========================================================================

Every interval is a constant in ``DEFAULTS`` and can be overridden with a ``CARE_<NAME>``
config value (e.g. ``CARE_MAINTENANCE_KM = 7500``). A notice with several offsets (30 and 14
days) sends the one whose window holds today: a job that did not run for a while sends the
latest notice, not all of them.

Exactly once: each moment has a unique key (``care_reminders.key``) and is inserted with
``ON CONFLICT DO NOTHING``; only the transaction that inserted it queues the messages and the
task, and each moment is committed on its own. A rerun the same day creates nothing, and on
PostgreSQL a second host running the job at once waits for the first one's row, then skips it.
"""

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from flask import current_app
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _nl
from sqlalchemy import extract, func, or_, select

from app.auth.models import User
from app.care.models import CareReminder, CareTask
from app.care.outbox import Channel, insert_once, member_channels, queue_message, render_for
from app.core.clock import local_date, utcnow
from app.extensions import db
from app.loyalty.ledger import add_months
from app.loyalty.models import PointsAccount, PointsEntry
from app.loyalty.rules import rules_in_force
from app.members.models import Member, Vehicle
from app.service.models import ServiceCategory, ServiceVisit, VisitStatus

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


K = ReminderKind
KIND_LABELS = {
    K.FIRST_MAINTENANCE: _l("First maintenance"),
    K.MAINTENANCE_DUE: _l("Maintenance due"),
    K.WARRANTY_EXPIRY: _l("Warranty ending"),
    K.INSPECTION: _l("Annual inspection"),
    K.INSURANCE_EXPIRY: _l("Insurance ending"),
    K.BIRTHDAY: _l("Birthday"),
    K.ANNIVERSARY: _l("Purchase anniversary"),
    K.POINTS_EXPIRY: _l("Points expiring"),
}

DEFAULTS = {
    "FIRST_MAINTENANCE_DAY": 60,
    "FIRST_MAINTENANCE_LAST_DAY": 90,
    "MAINTENANCE_MONTHS": 6,
    "MAINTENANCE_KM": 5000,
    "MAINTENANCE_NOTICE_DAYS": 7,
    "MAINTENANCE_OVERDUE_DAYS": 30,
    "WARRANTY_YEARS": 3,
    "WARRANTY_NOTICE_DAYS": (30,),
    "INSPECTION_NOTICE_DAYS": (30,),
    "INSURANCE_NOTICE_DAYS": (30, 14),
    "POINTS_NOTICE_DAYS": (30, 7),
}
# The seed has an agent phone these owners (SMS only when three calls fail: app/care/tasks.py).
CALL_KINDS = frozenset({K.FIRST_MAINTENANCE, K.MAINTENANCE_DUE, K.WARRANTY_EXPIRY})
MARKETING_KINDS = frozenset({K.ANNIVERSARY})


def setting(name: str):
    """An interval of the schedule: ``CARE_<name>`` from the config, else the default."""
    return current_app.config.get(f"CARE_{name}", DEFAULTS[name])


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


@dataclass(frozen=True)
class _Visit:
    id: int
    visited_on: date
    mileage_km: int
    maintenance: bool


def _visits(today: date) -> dict[int, list[_Visit]]:
    rows = db.session.execute(
        select(
            ServiceVisit.vehicle_id,
            ServiceVisit.id,
            ServiceVisit.visited_on,
            ServiceVisit.mileage_km,
            ServiceVisit.category,
        )
        .where(ServiceVisit.status == VisitStatus.RECORDED, ServiceVisit.visited_on <= today)
        .order_by(ServiceVisit.visited_on, ServiceVisit.id)
    )
    by_vehicle: dict[int, list[_Visit]] = defaultdict(list)
    for vehicle_id, visit_id, visited_on, mileage, category in rows:
        by_vehicle[vehicle_id].append(
            _Visit(visit_id, visited_on, mileage, category == ServiceCategory.MAINTENANCE)
        )
    return by_vehicle


def next_maintenance(vehicle: Vehicle, visits: list[_Visit]) -> tuple[_Visit, date] | None:
    """The last maintenance visit and the next one's due day (by months or km, the earlier)."""
    maintenance = [v for v in visits if v.maintenance]
    if not maintenance:
        return None
    base = maintenance[-1]
    due = add_months(base.visited_on, setting("MAINTENANCE_MONTHS"))
    points = [(v.visited_on, v.mileage_km) for v in visits]
    if vehicle.delivered_on is not None:
        points.insert(0, (vehicle.delivered_on, 0))
    (first_day, first_km), (last_day, last_km) = min(points), max(points)
    span, driven = (last_day - first_day).days, last_km - first_km
    if span > 0 and driven > 0:
        # Days to drive the remaining km at the car's average, in whole days, rounded up.
        remaining = base.mileage_km + setting("MAINTENANCE_KM") - last_km
        due = min(due, last_day + timedelta(days=max(0, -(-remaining * span // driven))))
    return base, due


def warranty_end(vehicle: Vehicle) -> date:
    """When the car's warranty ends: as entered, else 3 years after delivery (or purchase)."""
    start = vehicle.delivered_on or vehicle.purchased_on
    return vehicle.warranty_until or add_months(start, 12 * setting("WARRANTY_YEARS"))


def _vehicle_moments(vehicle: Vehicle, visits: list[_Visit], today: date) -> list[Moment]:
    moments = []
    member_id, vid = vehicle.member_id, vehicle.id

    delivered = vehicle.delivered_on
    if delivered is not None:
        age = (today - delivered).days
        first_done = any(v.maintenance and v.visited_on >= delivered for v in visits)
        if (
            setting("FIRST_MAINTENANCE_DAY") <= age <= setting("FIRST_MAINTENANCE_LAST_DAY")
            and not first_done
        ):
            due = delivered + timedelta(days=setting("FIRST_MAINTENANCE_DAY"))
            key = f"first_maintenance:v{vid}"
            moments.append(Moment(K.FIRST_MAINTENANCE, key, member_id, vid, due))

    found = next_maintenance(vehicle, visits)
    if found is not None:
        base, due = found
        remind_on = due - timedelta(days=setting("MAINTENANCE_NOTICE_DAYS"))
        if remind_on <= today <= due + timedelta(days=setting("MAINTENANCE_OVERDUE_DAYS")):
            moments.append(
                Moment(
                    K.MAINTENANCE_DUE,
                    f"maintenance_due:v{vid}:{base.id}",
                    member_id,
                    vid,
                    due,
                    {"last_on": base.visited_on},
                )
            )

    for kind, due, notices in (
        (K.WARRANTY_EXPIRY, warranty_end(vehicle), "WARRANTY_NOTICE_DAYS"),
        (K.INSPECTION, vehicle.inspection_due_on, "INSPECTION_NOTICE_DAYS"),
        (K.INSURANCE_EXPIRY, vehicle.insurance_expires_on, "INSURANCE_NOTICE_DAYS"),
    ):
        offset = notice_offset(due, today, setting(notices)) if due else None
        if offset is not None:
            moments.append(Moment(kind, f"{kind}:v{vid}:{due}:{offset}", member_id, vid, due))

    bought = vehicle.purchased_on
    if today.month == bought.month and today.year > bought.year:
        moments.append(
            Moment(
                K.ANNIVERSARY,
                f"anniversary:v{vid}:{today.year}",
                member_id,
                vid,
                _same_day_this_year(bought, today.year),
                {"years": today.year - bought.year},
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
        Moment(K.BIRTHDAY, f"birthday:m{member_id}:{today.year}", member_id, None, today)
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
                    K.POINTS_EXPIRY,
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
    visits = _visits(today)
    vehicles = db.session.scalars(
        select(Vehicle)
        .join(Member, Member.id == Vehicle.member_id)
        .join(User, User.id == Member.user_id)
        .where(User.active)
        .order_by(Vehicle.id)
    )
    moments = [m for v in vehicles for m in _vehicle_moments(v, visits.get(v.id, []), today)]
    moments += _birthday_moments(today) + _points_moments(today)
    return sorted(moments, key=lambda m: m.key)


# ---------------------------------------------------------------------------- the messages


def _car(vehicle: Vehicle | None) -> str:
    if vehicle is None:
        return ""
    return f"{vehicle.model} {vehicle.plate}" if vehicle.plate else vehicle.model


def _multiplier(today: date) -> str:
    rules = rules_in_force(today)
    pct = rules.anniversary_multiplier_pct if rules is not None else 100
    return f"{pct / 100:g}"


def message_for(moment: Moment, member: Member, vehicle: Vehicle | None, today: date):
    """The reminder's (title, body); run it in the member's language."""
    car, due = _car(vehicle), format_date(moment.due_on, "long")
    kind = moment.kind
    if kind == K.FIRST_MAINTENANCE:
        return (
            _l("Time for the first maintenance of your %(car)s", car=car),
            _l(
                "Your car was delivered on %(delivered)s: its first maintenance is due within "
                "three months of delivery. Book a visit and bring the maintenance booklet and "
                "the vehicle licence (行驶证).",
                delivered=format_date(vehicle.delivered_on, "long"),
            ),
        )
    if kind == K.MAINTENANCE_DUE:
        return (
            _l("Your %(car)s is due for maintenance on %(date)s", car=car, date=due),
            _l(
                "Its last maintenance was on %(last)s; cars need one every %(months)s months or "
                "%(km)s km, whichever comes first. Book a visit before %(date)s.",
                last=format_date(moment.facts["last_on"], "long"),
                months=setting("MAINTENANCE_MONTHS"),
                km=f"{setting('MAINTENANCE_KM'):,}",
                date=due,
            ),
        )
    if kind == K.WARRANTY_EXPIRY:
        return (
            _l("The warranty of your %(car)s ends on %(date)s", car=car, date=due),
            _l(
                "Book a check-up before then, so that anything the warranty covers is repaired "
                "free of charge."
            ),
        )
    if kind == K.INSPECTION:
        return (
            _l("Annual inspection of your %(car)s: %(date)s", car=car, date=due),
            _l("Your car is due for its annual inspection (年检) by %(date)s.", date=due),
        )
    if kind == K.INSURANCE_EXPIRY:
        return (
            _l("The insurance of your %(car)s ends on %(date)s", car=car, date=due),
            _l("Renew it in time: our insurance desk will gladly give you a quote."),
        )
    if kind == K.BIRTHDAY:
        return (
            _l("Happy birthday, %(name)s!", name=member.name),
            _l("Everyone at your owners' club wishes you a wonderful year."),
        )
    if kind == K.ANNIVERSARY:
        years = moment.facts["years"]
        return (
            _nl(
                "%(num)d year with your %(car)s",
                "%(num)d years with your %(car)s",
                years,
                car=car,
            ),
            _l(
                "Thank you for driving with us. This month, every service visit of this car "
                "earns %(times)s× points.",
                times=_multiplier(today),
            ),
        )
    return (
        _l("%(points)s points expire on %(date)s", points=moment.facts["points"], date=due),
        _l("Use them before then: see what they buy in the rewards catalogue."),
    )


# ------------------------------------------------------------------------------ the job


def create_reminder(moment: Moment, *, now: datetime | None = None) -> int | None:
    """Record the moment once, with its messages and call task; None when it already exists."""
    now = now or utcnow()
    today = local_date(now)
    reminder_id = insert_once(
        CareReminder,
        {
            "member_id": moment.member_id,
            "vehicle_id": moment.vehicle_id,
            "kind": str(moment.kind),
            "due_on": moment.due_on,
            "key": moment.key,
            "created_at": now,
        },
        "key",
    )
    if reminder_id is None:
        return None
    member = db.session.get(Member, moment.member_id)
    vehicle = db.session.get(Vehicle, moment.vehicle_id) if moment.vehicle_id else None
    title, body = render_for(member, lambda: message_for(moment, member, vehicle, today))
    channels = member_channels(member)
    if moment.kind in CALL_KINDS:
        # The SMS waits: it is the fallback when the agent cannot reach the owner.
        if Channel.SMS in channels:
            channels.remove(Channel.SMS)
        db.session.add(
            CareTask(
                dealer_id=member.dealer_id,
                member_id=member.id,
                vehicle_id=moment.vehicle_id,
                reminder_id=reminder_id,
                kind=str(moment.kind),
                due_on=today,
                status="open",
                created_at=now,
            )
        )
    queue_message(
        member,
        str(moment.kind),
        title,
        body,
        key=moment.key,
        channels=channels,
        marketing=moment.kind in MARKETING_KINDS,
        now=now,
    )
    return reminder_id


@dataclass
class DailyReport:
    """What one run of the daily job did."""

    created: Counter = field(default_factory=Counter)
    tasks_closed: int = 0
    failed: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Reminders created."""
        return sum(self.created.values())


def run_daily(*, now: datetime | None = None) -> DailyReport:
    """The daily care job: close settled call tasks, then create today's reminders, each in
    its own transaction (commits). Safe to rerun and to run on two hosts at once."""
    from app.care.tasks import close_settled_tasks

    now = now or utcnow()
    report = DailyReport()
    report.tasks_closed = close_settled_tasks(now=now)
    db.session.commit()
    for moment in find_moments(local_date(now)):
        try:
            if create_reminder(moment, now=now) is not None:
                report.created[str(moment.kind)] += 1
            db.session.commit()
        except Exception:
            # One owner's bad data must not stop everyone else's reminders; the moment is
            # tried again tomorrow while its window is open.
            db.session.rollback()
            log.exception("Care reminder %s failed", moment.key)
            report.failed.append(moment.key)
    return report
