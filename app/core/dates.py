"""Dates and times in the reader's language and time zone, for templates.

The same strings as ``flask_babel.format_datetime`` / ``format_date`` in the date locale of the
reader's language (a test compares them): English dates read day-month-year with a 24-hour clock
(en_GB: "7 Dec 2026", "07/12/2026, 09:30"), not the US "12/7/26, 9:30 AM"; Chinese ones read
year first ("2026/12/7"). The catalogue stays "en"; only dates and times use the date locale,
with each language's parsed patterns kept per process: a points history of 30 rows formats 30
times a page, and Flask-Babel looks the locale and patterns up again for every one.
"""

from datetime import UTC, date, datetime
from functools import lru_cache

from babel import Locale
from babel.dates import get_date_format, get_datetime_format, get_time_format, parse_pattern
from flask_babel import get_locale, get_timezone

NAMED = ("short", "medium", "long", "full")
# The locale whose date and time patterns each language shows.
DATE_LOCALES = {"en": "en_GB"}


def date_locale() -> str:
    """The locale of the reader's dates and times (see ``DATE_LOCALES``)."""
    code = str(get_locale())
    return DATE_LOCALES.get(code, code)


@lru_cache(maxsize=64)
def _patterns(code: str, fmt: str):
    locale = Locale.parse(code)
    if fmt not in NAMED:
        return locale, None, parse_pattern(fmt), parse_pattern(fmt)
    combined = get_datetime_format(fmt, locale).replace("'", "")
    return locale, combined, get_time_format(fmt, locale), get_date_format(fmt, locale)


def _reader():
    # Asked each time, not kept per request: force_locale() may change the language meanwhile.
    return date_locale(), get_timezone()


def _local(value: datetime, zone) -> datetime:
    # Stored times are UTC; a naive one is taken as UTC, as Flask-Babel does.
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(zone)


def format_local_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """``value`` (UTC-aware, or naive UTC) in the user's time zone and language."""
    if not value:
        return ""
    code, zone = _reader()
    locale, combined, time_pattern, date_pattern = _patterns(code, fmt)
    local = _local(value, zone)
    if combined is None:
        return time_pattern.apply(local, locale)
    return combined.replace("{0}", time_pattern.apply(local, locale)).replace(
        "{1}", date_pattern.apply(local, locale)
    )


def format_local_date(value: date | datetime | None, fmt: str = "medium") -> str:
    """A calendar day in the user's language (a datetime counts in the user's time zone)."""
    if not value:
        return ""
    code, zone = _reader()
    if isinstance(value, datetime):
        value = _local(value, zone).date()
    locale, _combined, _time, date_pattern = _patterns(code, fmt)
    return date_pattern.apply(value, locale)
