"""Template dates and times read exactly as Flask-Babel writes them, in both languages."""

from datetime import UTC, date, datetime, timedelta

import flask_babel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.dates import DATE_LOCALES, format_local_date, format_local_datetime

DATE_FORMATS = ["short", "medium", "long", "full", "EEE d MMM", "M月d日"]
FORMATS = [*DATE_FORMATS, "HH:mm", "d MMM HH:mm"]
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
)


@pytest.mark.parametrize("lang", ["en", "zh"])
# The app is only read (no database): one for all the examples is fine.
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moment=moments, fmt=st.sampled_from(FORMATS), naive=st.booleans())
def test_times_read_as_flask_babel_writes_them(app, lang, moment, fmt, naive):
    value = moment.replace(tzinfo=None) if naive else moment
    with app.test_request_context(headers={"Cookie": f"lang={lang}"}):
        dated = fmt in DATE_FORMATS
        ours = format_local_datetime(value, fmt), dated and format_local_date(value, fmt)
        ours_day = dated and format_local_date(moment.date(), fmt)
        with flask_babel.force_locale(DATE_LOCALES.get(lang, lang)):
            assert ours[0] == flask_babel.format_datetime(value, fmt)
            if dated:
                assert ours[1] == flask_babel.format_date(value, fmt)
                assert ours_day == flask_babel.format_date(moment.date(), fmt)


def test_a_late_utc_evening_is_the_next_day_in_shanghai(app):
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        late = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
        assert format_local_date(late) == "1 Jan 2027"
        assert format_local_datetime(late, "HH:mm") == "04:00"
        assert format_local_date(date(2026, 12, 31) + timedelta(days=1), "long") == (
            "1 January 2027"
        )


def test_nothing_to_show_is_an_empty_string(app):
    with app.test_request_context():
        assert format_local_datetime(None) == ""
        assert format_local_date(None) == ""


@pytest.mark.parametrize(
    ("lang", "short", "medium", "moment"),
    [
        ("en", "07/12/2026", "7 Dec 2026", "07/12/2026, 09:30"),
        ("zh", "2026/12/7", "2026年12月7日", "2026/12/7 09:30"),
    ],
)
def test_each_language_reads_dates_in_its_own_order(app, lang, short, medium, moment):
    """English day-month-year on a 24-hour clock (not the US "12/7/26, 9:30 AM"); Chinese
    year first."""
    with app.test_request_context(headers={"Cookie": f"lang={lang}"}):
        assert format_local_date(date(2026, 12, 7), "short") == short
        assert format_local_date(date(2026, 12, 7)) == medium
        assert format_local_datetime(datetime(2026, 12, 7, 1, 30, tzinfo=UTC), "short") == moment
