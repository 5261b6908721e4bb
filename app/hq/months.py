"""Calendar months in the club's time zone (TIMEZONE, Asia/Shanghai by default)."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l

from app.core.clock import add_months, local_date, local_midnight, utcnow
from app.core.errors import ValidationFailed

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Month:
    """A local calendar month: its first day, and the UTC instants it starts and ends at."""

    first: date

    @property
    def key(self) -> str:
        """'2026-11'."""
        return self.first.strftime("%Y-%m")

    @property
    def last(self) -> date:
        """The month's last day."""
        return add_months(self.first, 1) - timedelta(days=1)

    @property
    def starts(self) -> datetime:
        """Local midnight of the first day, in UTC."""
        return local_midnight(self.first)

    @property
    def ends(self) -> datetime:
        """Local midnight of the next month's first day, in UTC (exclusive)."""
        return local_midnight(add_months(self.first, 1))

    def shift(self, months: int) -> "Month":
        """The month ``months`` later (earlier when negative)."""
        return Month(add_months(self.first, months))


def current_month(now: datetime | None = None) -> Month:
    """The month today belongs to."""
    return Month(local_date(now or utcnow()).replace(day=1))


def parse_month(text: str | None, *, now: datetime | None = None) -> Month:
    """The month ``text`` names as YYYY-MM (the current month when empty); ValidationFailed
    for another format, a month that does not exist, or a month still to come."""
    current = current_month(now)
    text = (text or "").strip()
    if not text:
        return current
    match = _MONTH.match(text)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise ValidationFailed(
            _l("Give the month as YYYY-MM, for example %(example)s.", example=current.key),
            field="month",
        )
    month = Month(date(int(match.group(1)), int(match.group(2)), 1))
    if month.first > current.first:
        raise ValidationFailed(
            _l("%(month)s has not begun yet: choose this month or an earlier one.", month=text),
            field="month",
        )
    return month


def last_months(month: Month, count: int) -> list[Month]:
    """The ``count`` months ending with ``month``, oldest first."""
    return [month.shift(k - count + 1) for k in range(count)]
