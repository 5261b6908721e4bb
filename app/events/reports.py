"""Events' reports (R7, R10): attendance per event, and each ended event's outcome in the seed
000 result table's terms (invited, attended, success rate, revenue, average ticket).

The outcome of an event, as the page says: invited = confirmed (or checked-in) registrations,
attended = checked in, revenue = the attendees' service visits at the event's dealer from the
event's first day until 30 days after its last day; average ticket = revenue / visits. A visit
in the windows of two events counts for both. (A campaign's own results, its targets and their
visits, are app/campaigns/results/.)
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import Date, Integer, and_, case, func, literal, or_, select, values
from sqlalchemy import column as sql_column
from sqlalchemy.dialects.postgresql import ARRAY

from app.auth.models import User
from app.core.clock import local_date, local_midnight, utcnow
from app.core.money import yuan
from app.core.reports import (
    Cell,
    Column,
    Report,
    Table,
    average_fen,
    chart,
    percent,
    ratio,
    row,
    yuan_or_none,
)
from app.events.models import CheckIn, Event, EventRegistration, RegistrationStatus
from app.events.services import registration_counts
from app.extensions import db
from app.members.scope import dealer_scope, scoped_dealers
from app.service.models import COUNTED_VISIT, ServiceVisit

# An event's revenue counts the attendees' visits until this many days after it ends.
REVENUE_WINDOW_DAYS = 30
EVENTS_PER_PAGE = 20
# Events per VALUES list when figures are computed for many events at once on SQLite.
_CHUNK = 500


def _started_events(scope: int | None, now: datetime, *, ended: bool = False):
    column = Event.ends_at if ended else Event.starts_at
    query = select(Event).where(column <= now).order_by(Event.starts_at.desc(), Event.id.desc())
    if scope is not None:
        query = query.where(Event.dealer_id == scope)
    return query


def _event_page(query, page: int | None, per_page: int):
    if page is None:
        return None, list(db.session.scalars(query))
    pagination = db.paginate(query, page=page, per_page=per_page, error_out=False)
    return pagination, list(pagination.items)


def _event_columns(scope: int | None) -> list[Column]:
    return [Column(_("Event"))] + ([Column(_("Dealer"))] if scope is None else [])


def _event_cells(event: Event, scope: int | None, codes: dict[int, str]) -> list[Cell]:
    return row(event.title, *([codes[event.dealer_id]] if scope is None else []))


def _rate_bar(title: str, part: int, whole: int):
    """A bar of ``part`` of ``whole`` in percent (the chart's scale is 100)."""
    return title, percent(part, whole), [("insight-fill-bar", "", ratio(part, whole))]


def event_attendance(
    actor: User,
    *,
    dealer_id: int | None = None,
    page: int | None = None,
    per_page: int = EVENTS_PER_PAGE,
    now: datetime | None = None,
) -> Report:
    """Per event that has started: places, confirmed, checked in and the attendance rate
    (checked in / confirmed); a page of events, or all when ``page`` is None."""
    scope = dealer_scope(actor, dealer_id)
    now = now or utcnow()
    query = _started_events(scope, now)
    every = list(db.session.scalars(query.with_only_columns(Event.id)))
    counts = registration_counts(every)
    pagination, shown = _event_page(query, page, per_page)
    codes = {d.id: d.code for d in scoped_dealers(scope)}
    rows, bars = [], []
    for event in shown:
        c = counts[event.id]
        confirmed, checked_in = c.get(RegistrationStatus.CONFIRMED.value, 0), c["checked_in"]
        rows.append(
            _event_cells(event, scope, codes)
            + row(
                local_date(event.starts_at).isoformat(),
                event.capacity,
                c["places"],
                confirmed,
                checked_in,
                percent(checked_in, confirmed),
            )
        )
        bars.append(_rate_bar(event.title, checked_in, confirmed))
    confirmed = sum(c.get(RegistrationStatus.CONFIRMED.value, 0) for c in counts.values())
    checked_in = sum(c["checked_in"] for c in counts.values())
    table = Table(
        "events",
        _("Event attendance"),
        [
            *_event_columns(scope),
            Column(_("Date")),
            Column(_("Capacity"), True),
            Column(_("Places taken"), True),
            Column(_("Confirmed"), True),
            Column(_("Checked in"), True),
            Column(_("Attendance rate"), True),
        ],
        rows,
        empty=_("No event has started yet."),
    )
    drawn = chart(_("Attendance rate"), bars, scale=100)
    return Report(
        scope,
        [table],
        [drawn],
        page=pagination,
        facts={
            "events": len(every),
            "confirmed": confirmed,
            "checked_in": checked_in,
            "rate": percent(checked_in, confirmed),
        },
    )


# ------------------------------------------------------------------------ event outcomes


@dataclass
class EventOutcome:
    """The seed 000 result table's figures for one event, as if it were a campaign."""

    invited: int = 0
    attended: int = 0
    visits: int = 0
    revenue_fen: int = 0


def revenue_window(event: Event) -> tuple[date, date]:
    """The days whose service visits count for ``event``: its first day to 30 days after its
    last day (local dates)."""
    return local_date(event.starts_at), local_date(event.ends_at) + timedelta(
        days=REVENUE_WINDOW_DAYS
    )


def _event_windows(events: Sequence) -> list:
    """The events' (event_id, dealer_id, first_day, last_day) as tables to join, the windows
    worked out here (in the club's time zone). PostgreSQL takes them all as four arrays; SQLite
    as VALUES lists of _CHUNK events (SQLAlchemy compiles those at about a millisecond a row)."""
    columns = (
        sql_column("event_id", Integer),
        sql_column("dealer_id", Integer),
        sql_column("first_day", Date),
        sql_column("last_day", Date),
    )
    windows = [(event.id, event.dealer_id, *revenue_window(event)) for event in events]
    if db.session.get_bind().dialect.name == "postgresql":
        if not windows:
            return []
        arrays = [literal([w[i] for w in windows], ARRAY(c.type)) for i, c in enumerate(columns)]
        return [func.unnest(*arrays).table_valued(*columns).render_derived(name="windows")]
    return [
        values(*columns, name="windows").data(windows[start : start + _CHUNK]).cte()
        for start in range(0, len(windows), _CHUNK)
    ]


def event_outcomes(events: Sequence) -> dict[int, EventOutcome]:
    """Invited, attended, visits and revenue per event (an Event or a row with its id, dealer_id,
    starts_at and ends_at), in one query (on SQLite, one per _CHUNK events)."""
    figures = {event.id: EventOutcome() for event in events}
    for windows in _event_windows(events):
        # The events' registrations, each with its check-in if any (the gate checks a ticket in
        # at its own event only), read once for every figure.
        registrations = (
            select(
                windows,
                EventRegistration.member_id,
                EventRegistration.status,
                CheckIn.id.label("check_in_id"),
            )
            .join(EventRegistration, EventRegistration.event_id == windows.c.event_id)
            .outerjoin(CheckIn, CheckIn.registration_id == EventRegistration.id)
            .cte("registrations")
        )
        checked_in = registrations.c.check_in_id.is_not(None)
        counts = (
            select(
                registrations.c.event_id,
                func.sum(
                    case(
                        (
                            or_(registrations.c.status == RegistrationStatus.CONFIRMED, checked_in),
                            1,
                        ),
                        else_=0,
                    )
                ).label("invited"),
                func.count(registrations.c.check_in_id).label("attended"),
            )
            .group_by(registrations.c.event_id)
            .subquery()
        )
        # Each attendee once per event (an owner may hold two tickets), so that a visit counts
        # once per event, with the event's window: their visits are then one range probe of
        # the (member_id, visited_on, dealer_id, amount_fen) index, which answers alone. In
        # the index's order, the probes read its pages one after another (a quarter faster).
        attendees = (
            select(
                registrations.c.event_id,
                registrations.c.dealer_id,
                registrations.c.first_day,
                registrations.c.last_day,
                registrations.c.member_id,
            )
            .where(checked_in)
            .distinct()
            .order_by(registrations.c.member_id)
            .subquery()
        )
        revenue = (
            select(
                attendees.c.event_id,
                func.count().label("visits"),
                func.sum(ServiceVisit.amount_fen).label("fen"),
            )
            .join(
                ServiceVisit,
                and_(
                    ServiceVisit.member_id == attendees.c.member_id,
                    ServiceVisit.visited_on >= attendees.c.first_day,
                    ServiceVisit.visited_on <= attendees.c.last_day,
                    ServiceVisit.dealer_id == attendees.c.dealer_id,
                    COUNTED_VISIT,
                ),
            )
            .group_by(attendees.c.event_id)
            .subquery()
        )
        query = select(
            counts.c.event_id, counts.c.invited, counts.c.attended, revenue.c.visits, revenue.c.fen
        ).outerjoin(revenue, revenue.c.event_id == counts.c.event_id)
        for event_id, invited, attended, visits, fen in db.session.execute(query):
            figures[event_id] = EventOutcome(int(invited), attended, visits or 0, int(fen or 0))
    return figures


def _outcome_cells(f: EventOutcome) -> list[Cell]:
    ticket = average_fen(f.revenue_fen, f.visits)
    return row(
        f.invited,
        f.attended,
        percent(f.attended, f.invited),
        f.visits,
        yuan(f.revenue_fen),
        yuan_or_none(ticket),
    )


def event_results(
    actor: User,
    *,
    dealer_id: int | None = None,
    page: int | None = None,
    per_page: int = EVENTS_PER_PAGE,
    now: datetime | None = None,
) -> Report:
    """Ended events as campaigns (the insight page "Campaign results"): invited, attended,
    success rate, revenue and average ticket (seed 000), with the total over every ended event
    in scope."""
    scope = dealer_scope(actor, dealer_id)
    now = now or utcnow()
    today = local_date(now)
    query = _started_events(scope, now, ended=True)
    every = db.session.execute(
        query.with_only_columns(Event.id, Event.dealer_id, Event.starts_at, Event.ends_at)
    ).all()
    figures = event_outcomes(every)
    pagination, shown = _event_page(query, page, per_page)
    codes = {d.id: d.code for d in scoped_dealers(scope)}
    rows, rate_bars, revenue_bars = [], [], []
    for event in shown:
        f = figures[event.id]
        _first, last = revenue_window(event)
        rows.append(
            _event_cells(event, scope, codes)
            + row(local_date(event.starts_at).isoformat())
            + _outcome_cells(f)
            + row(last.isoformat())
        )
        rate_bars.append(_rate_bar(event.title, f.attended, f.invited))
        revenue_bars.append(
            (event.title, yuan(f.revenue_fen), [("insight-fill-loyal", "", f.revenue_fen)])
        )
    total = EventOutcome(
        invited=sum(f.invited for f in figures.values()),
        attended=sum(f.attended for f in figures.values()),
        visits=sum(f.visits for f in figures.values()),
        revenue_fen=sum(f.revenue_fen for f in figures.values()),
    )
    lead = _event_columns(scope)
    table = Table(
        "campaigns",
        _("Events as campaigns"),
        [
            *lead,
            Column(_("Date")),
            Column(_("Invited"), True),
            Column(_("Attended"), True),
            Column(_("Success rate"), True),
            Column(_("Visits"), True),
            Column(_("Revenue (¥)"), True),
            Column(_("Average ticket (¥)"), True),
            Column(_("Counted until")),
        ],
        rows,
        # "Total", blanks under the dealer and the date, the figures, a blank under the window.
        row(_("Total"), *([""] * len(lead))) + _outcome_cells(total) + row("") if every else None,
        _("No event has ended yet."),
    )
    charts = [
        chart(_("Success rate"), rate_bars, scale=100),
        chart(_("Revenue (¥)"), revenue_bars),
    ]
    # Windows still open: the last day counted (30 days after the event's last day) is today or
    # later, i.e. the event ended on or after the first moment of the day 30 days ago.
    still_counting = local_midnight(today - timedelta(days=REVENUE_WINDOW_DAYS))
    open_windows = sum(1 for e in every if e.ends_at >= still_counting)
    return Report(
        scope,
        [table],
        charts,
        page=pagination,
        facts={"window_days": REVENUE_WINDOW_DAYS, "open": open_windows, "events": len(every)},
    )
