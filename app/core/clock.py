"""An injectable clock, so services and tests can travel in time."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until moved; used by tests."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        """Return the frozen time."""
        return self.at

    def advance(self, **kwargs: float) -> None:
        """Move the clock forward by a timedelta's keyword arguments."""
        self.at += timedelta(**kwargs)


_system = SystemClock()


def utcnow() -> datetime:
    """Return now from the app's clock (``app.extensions['clock']``), or the system time."""
    if has_app_context():
        return current_app.extensions.get("clock", _system).now()
    return _system.now()


def local_date(moment: datetime | None = None) -> date:
    """The calendar date of ``moment`` (default now) in the club's time zone (TIMEZONE)."""
    moment = moment or utcnow()
    zone = current_app.config.get("TIMEZONE", "Asia/Shanghai") if has_app_context() else "UTC"
    return moment.astimezone(ZoneInfo(zone)).date()


def local_midnight(day: date) -> datetime:
    """The UTC instant at which ``day`` begins in the club's time zone."""
    zone = current_app.config.get("TIMEZONE", "Asia/Shanghai") if has_app_context() else "UTC"
    return datetime.combine(day, time(), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")
