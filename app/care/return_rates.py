"""Return rates (issue 20; seed 002): 每周、每月进行首保分析, 包含首保回厂率、未回厂原因等内容,
对于其他店已做首保的须获取该店信息如店面名称、位置、相关费用等; 每周、每月进行定保分析, 包含定保
回厂率、未回厂原因等内容.

Per dealer (the owner's) and month M:

- **First maintenance** (首保回厂率): the cars delivered in the cohort month, M minus
  ``FIRST_MAINTENANCE_COHORT_MONTHS`` (3), and how many came for a maintenance visit within the
  first-maintenance window, from delivery to ``FIRST_MAINTENANCE_LAST_DAY`` (90) days after it
  (app/care/settings.py). A car whose window is still open and that has not come yet is
  counted apart ("window open"), neither returned nor lost.
- **Regular maintenance** (定保回厂率): the cars the care job found due for a regular maintenance
  in M (its ``maintenance_due`` reminders, whose day is the one app/care/maintenance.py gives:
  6 months or 5,000 km after the last maintenance) and how many came for a maintenance visit
  from the reminder's notice (7 days before) to 30 days after the due day.
- **Why not** (未回厂原因): the reasons owners gave on the first-maintenance and regular
  maintenance calls of those cars (app/care/outcomes.py), and the other workshops they named.

A visit counts at any of the group's dealers (as for the lost customers); refunded visits do
not count. Every figure is one set-based query on the service visits' (vehicle, day) index, so
the page stays under a second at 100,000 owners.
"""

from datetime import date, datetime, timedelta

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import Integer, case, exists, func, literal, select

from app.auth.models import User
from app.care.models import CallOutcome, CareReminder, CareTask, LostReason
from app.care.settings import setting
from app.core.clock import add_months, local_date, utcnow
from app.core.reports import NONE, Column, Report, Table, chart, percent, ratio, row, yuan_or_none
from app.extensions import db
from app.members.models import Member, Vehicle
from app.members.scope import dealer_scope, scoped_dealers
from app.service.models import COUNTED_VISIT, ServiceCategory, ServiceVisit


def days_between(later, earlier):
    """SQL: the days from ``earlier`` to ``later`` (two dates), on PostgreSQL and SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        return later - earlier
    return func.julianday(later) - func.julianday(earlier)


def plus_days(day, days: int):
    """SQL: the date ``days`` days after ``day`` (a date column), on PostgreSQL and SQLite:
    a bound an index on a date column can use, where ``days_between`` is not."""
    if db.session.get_bind().dialect.name == "postgresql":
        return day + literal(days, Integer)
    return func.date(day, f"{days:+d} days")


def month_last(first: date) -> date:
    """The last day of the month that starts on ``first``."""
    return add_months(first, 1) - timedelta(days=1)


def _maintained(vehicle_id, start, *, low: int, high: int):
    """SQL: the car had a counted maintenance visit ``low`` to ``high`` days after ``start``
    (the days bound the partial (vehicle, day) index's search to the window)."""
    return exists().where(
        ServiceVisit.vehicle_id == vehicle_id,
        COUNTED_VISIT,
        ServiceVisit.category == ServiceCategory.MAINTENANCE,
        ServiceVisit.visited_on.between(plus_days(start, low), plus_days(start, high)),
    )


def _per_dealer(query) -> dict[int, tuple]:
    """Per dealer: (cars, came, window still open) from ``query``'s rows of (dealer, came,
    still open, cars): grouped by the two flags in SQL, so each car's visits are looked up
    once, not once per figure."""
    found: dict[int, list[int]] = {}
    for dealer_id, came, still_open, cars in db.session.execute(query):
        figures = found.setdefault(dealer_id, [0, 0, 0])
        figures[0] += cars
        figures[1] += cars if came else 0
        figures[2] += cars if still_open and not came else 0
    return {dealer_id: tuple(figures) for dealer_id, figures in found.items()}


def _flags(query, came, still_open):
    came, still_open = case((came, 1), else_=0), case((still_open, 1), else_=0)
    return query.add_columns(came, still_open, func.count()).group_by(
        Member.dealer_id, came, still_open
    )


def _first_counts(scope: int | None, cohort: date, today: date) -> dict[int, tuple]:
    """Per dealer: (cars delivered in the cohort month, returned, window still open)."""
    last_day = setting("FIRST_MAINTENANCE_LAST_DAY")
    returned = _maintained(Vehicle.id, Vehicle.delivered_on, low=0, high=last_day)
    still_open = days_between(today, Vehicle.delivered_on) <= last_day
    query = (
        select(Member.dealer_id)
        .join(Member, Member.id == Vehicle.member_id)
        .where(Vehicle.delivered_on.between(cohort, month_last(cohort)))
    )
    if scope is not None:
        query = query.where(Member.dealer_id == scope)
    return _per_dealer(_flags(query, returned, still_open))


def _regular_counts(scope: int | None, month: date, today: date) -> dict[int, tuple]:
    """Per dealer: (cars due a regular maintenance in the month, came, window still open)."""
    notice, overdue = setting("MAINTENANCE_NOTICE_DAYS"), setting("MAINTENANCE_OVERDUE_DAYS")
    came = _maintained(CareReminder.vehicle_id, CareReminder.due_on, low=-notice, high=overdue)
    still_open = days_between(today, CareReminder.due_on) <= overdue
    query = (
        select(Member.dealer_id)
        .join(Member, Member.id == CareReminder.member_id)
        .where(
            CareReminder.kind == "maintenance_due",
            CareReminder.due_on.between(month, month_last(month)),
        )
    )
    if scope is not None:
        query = query.where(Member.dealer_id == scope)
    return _per_dealer(_flags(query, came, still_open))


def _cohort_tasks(scope: int | None, cohort: date, month: date):
    """SQL: the ids of the first-maintenance tasks of the cohort's cars and of the regular
    maintenance tasks of the month's reminders, with the kind (the owners' dealer only when
    one is asked for: HQ's every dealer needs no join with the members)."""
    first = (
        select(CareTask.id, CareTask.kind)
        .join(Vehicle, Vehicle.id == CareTask.vehicle_id)
        .where(
            CareTask.kind == "first_maintenance",
            Vehicle.delivered_on.between(cohort, month_last(cohort)),
        )
    )
    regular = (
        select(CareTask.id, CareTask.kind)
        .join(CareReminder, CareReminder.id == CareTask.reminder_id)
        .where(
            CareTask.kind == "maintenance_due",
            CareReminder.due_on.between(month, month_last(month)),
        )
    )
    if scope is not None:
        first = first.join(Member, Member.id == Vehicle.member_id)
        regular = regular.join(Member, Member.id == CareReminder.member_id)
        first, regular = (q.where(Member.dealer_id == scope) for q in (first, regular))
    return first.union_all(regular).subquery()


def reason_rows(tasks, *, kinds: tuple[str, ...]) -> tuple[list, list]:
    """The reasons given on the calls of ``tasks`` (a subquery of id and kind): rows of
    (reason, count per kind, total), and the other workshops named (kind, name, place, price,
    day)."""
    locale = str(get_locale() or "zh")
    counts = db.session.execute(
        select(LostReason, tasks.c.kind, func.count())
        .join(CallOutcome, CallOutcome.reason_id == LostReason.id)
        .join(tasks, tasks.c.id == CallOutcome.task_id)
        .group_by(LostReason.id, tasks.c.kind)
        .order_by(LostReason.position, LostReason.id)
    ).all()
    by_reason: dict[int, list] = {}
    for reason, kind, n in counts:
        entry = by_reason.setdefault(reason.id, [reason.label(locale)] + [0] * len(kinds))
        entry[1 + kinds.index(kind)] += n
    rows = [row(*entry, sum(entry[1:])) for entry in by_reason.values()]
    shops = db.session.execute(
        select(
            tasks.c.kind,
            CallOutcome.workshop_name,
            CallOutcome.workshop_location,
            CallOutcome.workshop_price_fen,
            CallOutcome.called_on,
        )
        .join(tasks, tasks.c.id == CallOutcome.task_id)
        .where(CallOutcome.workshop_name != "")
        .order_by(CallOutcome.called_on, CallOutcome.id)
    ).all()
    return rows, shops


def workshops_table(shops, kind_label) -> Table:
    """The other workshops owners named (seed 002: 店面名称、位置、相关费用)."""
    return Table(
        "workshops",
        _("Other workshops named"),
        [
            Column(_("From the call")),
            Column(_("Workshop")),
            Column(_("Workshop location")),
            Column(_("Price (¥)"), True),
            Column(_("Day")),
        ],
        [
            row(kind_label(kind), name, place or NONE, yuan_or_none(price), day.isoformat())
            for kind, name, place, price, day in shops
        ],
        empty=_("No owner named another workshop."),
    )


def _rate_rows(dealers, counts: dict, first_cell) -> tuple[list, list, tuple]:
    rows, bars, totals = [], [], [0, 0, 0]
    for dealer in dealers:
        cars, came, still_open = counts.get(dealer.id, (0, 0, 0))
        totals = [totals[0] + cars, totals[1] + came, totals[2] + still_open]
        rows.append(
            row(
                dealer.code,
                *first_cell,
                cars,
                came,
                cars - came - still_open,
                still_open,
                percent(came, cars),
            )
        )
        bars.append(
            (dealer.code, percent(came, cars), [("insight-fill-in", "", ratio(came, cars))])
        )
    return rows, bars, tuple(totals)


def return_rates(
    actor: User,
    *,
    dealer_id: int | None = None,
    month: date | None = None,
    now: datetime | None = None,
) -> Report:
    """First- and regular-maintenance return rates of ``month`` (its first day; this month by
    default), per dealer, with the reasons and the other workshops (see the module)."""
    scope = dealer_scope(actor, dealer_id)
    today = local_date(now or utcnow())
    month = month or today.replace(day=1)
    cohort = add_months(month, -setting("FIRST_MAINTENANCE_COHORT_MONTHS"))
    dealers = scoped_dealers(scope)
    several = len(dealers) > 1

    first_rows, first_bars, f = _rate_rows(
        dealers, _first_counts(scope, cohort, today), (cohort.strftime("%Y-%m"),)
    )
    regular_rows, regular_bars, r = _rate_rows(dealers, _regular_counts(scope, month, today), ())
    first = Table(
        "first",
        _("First maintenance return rate"),
        [
            Column(_("Dealer")),
            Column(_("Delivered in")),
            Column(_("Cars delivered"), True),
            Column(_("Came"), True),
            Column(_("Did not come"), True),
            Column(_("Window open"), True),
            Column(_("Return rate"), True),
        ],
        first_rows,
        row(_("Total"), "", f[0], f[1], f[0] - f[1] - f[2], f[2], percent(f[1], f[0]))
        if several
        else None,
        _("No dealer."),
    )
    regular = Table(
        "regular",
        _("Regular maintenance return rate"),
        [
            Column(_("Dealer")),
            Column(_("Cars due"), True),
            Column(_("Came"), True),
            Column(_("Did not come"), True),
            Column(_("Window open"), True),
            Column(_("Return rate"), True),
        ],
        regular_rows,
        row(_("Total"), r[0], r[1], r[0] - r[1] - r[2], r[2], percent(r[1], r[0]))
        if several
        else None,
        _("No dealer."),
    )
    kinds = ("first_maintenance", "maintenance_due")
    reasons, shops = reason_rows(_cohort_tasks(scope, cohort, month), kinds=kinds)
    labels = {"first_maintenance": _("First maintenance"), "maintenance_due": _("Regular")}
    why = Table(
        "reasons",
        _("Why owners did not come"),
        [
            Column(_("Reason")),
            Column(_("First maintenance"), True),
            Column(_("Regular"), True),
            Column(_("Total"), True),
        ],
        reasons,
        empty=_("No reason recorded: the agents record them on the calls."),
    )
    charts = [
        chart(_("First maintenance return rate"), first_bars, scale=100),
        chart(_("Regular maintenance return rate"), regular_bars, scale=100),
    ]
    return Report(
        scope,
        [first, regular, why, workshops_table(shops, labels.get)],
        charts,
        facts={
            "month": month,
            "cohort": cohort,
            "first_last_day": setting("FIRST_MAINTENANCE_LAST_DAY"),
            "notice": setting("MAINTENANCE_NOTICE_DAYS"),
            "overdue": setting("MAINTENANCE_OVERDUE_DAYS"),
        },
    )
