"""Event series: staff create a recurring event in one step (seed 002: 每月举办两次车主讲堂,
时间放在天气较好的周末举行 — lectures twice a month, at weekends: "every 2 weeks").

Each occurrence is an ordinary event (signed up for, checked in, edited and closed on its own)
that names its series. The first occurrence is the one the form describes; each next one keeps
its times of day and its registration window relative to its start, shifted by whole weeks in
the club's time zone, so "Saturday 14:00" stays Saturday 14:00.

Rules: a series repeats every 1 to ``MAX_EVERY_WEEKS`` weeks, holds 2 to ``MAX_OCCURRENCES``
events (given as a number, or as the last date), starts in the future, and no occurrence may
fall on a day when the dealer already holds an event of the same title (a second submit of the
same form creates nothing).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.core.images import KEEP_COVER
from app.events.models import Event, EventSeries
from app.events.services import create_event
from app.extensions import db

MAX_OCCURRENCES = 26  # a year of "every 2 weeks"
MAX_EVERY_WEEKS = 4
# The moments of an event that move with each occurrence.
MOMENTS = (
    "starts_at",
    "ends_at",
    "registration_opens_at",
    "registration_closes_at",
    "cancel_until",
)


@dataclass(frozen=True)
class Repeat:
    """How an event repeats: every ``every_weeks`` weeks (0: it does not), ``occurrences``
    events in all or until the local date ``until``."""

    every_weeks: int = 0
    occurrences: int | None = None
    until: date | None = None


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _shifted(moment: datetime | None, weeks: int) -> datetime | None:
    """``moment`` moved by whole weeks of the club's calendar (same local time of day)."""
    if moment is None:
        return None
    local = moment.astimezone(_zone())
    return (local + timedelta(weeks=weeks)).astimezone(UTC)


def _count(repeat: Repeat, first_start: datetime) -> int:
    """How many events the series holds, or ValidationFailed naming the field."""
    if repeat.every_weeks not in range(1, MAX_EVERY_WEEKS + 1):
        raise ValidationFailed(_l("Choose how often the event repeats."), field="repeat_weeks")
    if repeat.occurrences is not None and repeat.until is not None:
        raise ValidationFailed(
            _l("Give the number of events or the last date, not both."), field="repeat_until"
        )
    if repeat.occurrences is None and repeat.until is None:
        raise ValidationFailed(
            _l("Give how many events the series holds, or the date of the last one."),
            field="occurrences",
        )
    if repeat.until is not None:
        first_day = first_start.astimezone(_zone()).date()
        if repeat.until <= first_day:
            raise ValidationFailed(
                _l("The last date must come after the first event."), field="repeat_until"
            )
        count = (repeat.until - first_day).days // (7 * repeat.every_weeks) + 1
        field = "repeat_until"
    else:
        count, field = repeat.occurrences, "occurrences"
    if count < 2:
        raise ValidationFailed(_l("A series holds at least 2 events."), field=field)
    if count > MAX_OCCURRENCES:
        raise ValidationFailed(
            _l(
                "A series holds at most %(max)s events: create the rest later.", max=MAX_OCCURRENCES
            ),
            field=field,
        )
    return count


def occurrences_of(fields: dict, repeat: Repeat) -> list[dict]:
    """Each occurrence's fields, the first as given (the count checked)."""
    count = _count(repeat, fields["starts_at"])
    return [
        {
            **fields,
            **{
                name: _shifted(fields.get(name), n * repeat.every_weeks)
                for name in MOMENTS
                if name in fields
            },
        }
        for n in range(count)
    ]


def _local_day(moment: datetime) -> date:
    return moment.astimezone(_zone()).date()


def _check_no_duplicate(dealer_id: int | None, occurrences: list[dict]) -> None:
    """Refuse a series an occurrence of which falls on a day the dealer already holds an
    event of the same title."""
    title = occurrences[0]["title"].strip().casefold()
    first, last = occurrences[0]["starts_at"], occurrences[-1]["starts_at"]
    taken = {
        _local_day(starts_at)
        for starts_at, other in db.session.execute(
            select(Event.starts_at, Event.title).where(
                Event.dealer_id == dealer_id,
                Event.starts_at >= first - timedelta(days=1),
                Event.starts_at <= last + timedelta(days=1),
            )
        )
        if other.strip().casefold() == title
    }
    for fields in occurrences:
        day = _local_day(fields["starts_at"])
        if day in taken:
            raise ValidationFailed(
                _l(
                    "“%(title)s” already takes place on %(day)s: change the title or the dates.",
                    title=fields["title"],
                    day=day.isoformat(),
                ),
                field="starts_at",
            )


def publish_event(
    actor: User,
    repeat: Repeat,
    *,
    now: datetime | None = None,
    cover=KEEP_COVER,
    **fields,
) -> Event:
    """Staff publish an event, or a whole series of them in one step (``repeat``); returns the
    (first) event."""
    now = now or utcnow()
    if not repeat.every_weeks:
        return create_event(actor, now=now, cover=cover, **fields)
    occurrences = occurrences_of(fields, repeat)
    if fields["starts_at"] <= now:
        raise ValidationFailed(
            _l("A series starts in the future: choose a later first date."), field="starts_at"
        )
    _check_no_duplicate(actor.dealer_id, occurrences)
    series = EventSeries(
        dealer_id=actor.dealer_id,
        title=fields["title"],
        every_weeks=repeat.every_weeks,
        occurrences=len(occurrences),
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(series)
    db.session.flush()
    events = [
        create_event(actor, now=now, cover=cover, series_id=series.id, **occurrence)
        for occurrence in occurrences
    ]
    record_audit(
        actor,
        "event.series_created",
        subject=series,
        dealer_id=series.dealer_id,
        details={
            "every_weeks": repeat.every_weeks,
            "events": [e.id for e in events],
        },
        now=now,
    )
    return events[0]


def series_events(event: Event) -> list[Event]:
    """The events of ``event``'s series in date order (empty when it stands alone)."""
    if event.series_id is None:
        return []
    return list(
        db.session.scalars(
            select(Event).where(Event.series_id == event.series_id).order_by(Event.starts_at)
        )
    )
