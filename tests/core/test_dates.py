"""Template dates and times read exactly as Flask-Babel writes them, in both languages."""

from datetime import UTC, date, datetime, timedelta

import flask_babel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.dates import format_local_date, format_local_datetime

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
        assert format_local_datetime(value, fmt) == flask_babel.format_datetime(value, fmt)
        if fmt in DATE_FORMATS:
            assert format_local_date(value, fmt) == flask_babel.format_date(value, fmt)
            day = moment.date()
            assert format_local_date(day, fmt) == flask_babel.format_date(day, fmt)


def test_a_late_utc_evening_is_the_next_day_in_shanghai(app):
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        late = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
        assert format_local_date(late) == "Jan 1, 2027"
        assert format_local_datetime(late, "HH:mm") == "04:00"
        assert format_local_date(date(2026, 12, 31) + timedelta(days=1), "long") == (
            "January 1, 2027"
        )


def test_nothing_to_show_is_an_empty_string(app):
    with app.test_request_context():
        assert format_local_datetime(None) == ""
        assert format_local_date(None) == ""
