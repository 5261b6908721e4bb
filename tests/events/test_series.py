"""Event series (seed 002: 每月举办两次车主讲堂,时间放在天气较好的周末举行): staff create a lecture
every second Saturday in one step; each date is an ordinary event of its series."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.errors import ValidationFailed
from app.events.models import Event, EventKind, EventSeries
from app.events.series import MAX_OCCURRENCES, Repeat, publish_event, series_events
from app.events.services import sign_up
from app.extensions import db
from tests.conftest import NOW, login
from tests.factories import make_dealer, make_event, make_member, make_staff

SHANGHAI = ZoneInfo("Asia/Shanghai")
# NOW is Monday 23 November 2026, 10:00 in Shanghai; the first lecture is that Saturday 14:00.
FIRST = datetime(2026, 11, 28, 14, 0, tzinfo=SHANGHAI).astimezone(UTC)


def lecture(**changes) -> dict:
    """A two-hour owner lecture on Saturday 28 November, sign-up from now until Friday."""
    return {
        "kind": EventKind.LECTURE,
        "title": "车主讲堂: winter care",
        "place": "Showroom, 2nd floor",
        "starts_at": FIRST,
        "ends_at": FIRST + timedelta(hours=2),
        "registration_opens_at": NOW,
        "registration_closes_at": FIRST - timedelta(days=1),
        "cancel_until": FIRST - timedelta(days=2),
        "capacity": 40,
        **changes,
    }


@pytest.fixture
def staff(ctx):
    return make_staff("event_staff", make_dealer("SZ01").id)


def _events() -> list[Event]:
    return list(db.session.scalars(select(Event).order_by(Event.starts_at)))


def test_a_lecture_every_second_saturday_is_a_series_of_ordinary_events(staff):
    first = publish_event(staff, Repeat(every_weeks=2, occurrences=4), now=NOW, **lecture())
    events = _events()
    assert first.id == events[0].id
    local = [e.starts_at.astimezone(SHANGHAI) for e in events]
    assert [d.date() for d in local] == [
        date(2026, 11, 28),
        date(2026, 12, 12),
        date(2026, 12, 26),
        date(2027, 1, 9),
    ]
    assert {(d.weekday(), d.hour, d.minute) for d in local} == {(5, 14, 0)}
    # Each keeps its sign-up window and cancellation cut-off relative to its own date.
    for event in events:
        assert event.ends_at - event.starts_at == timedelta(hours=2)
        assert event.starts_at - event.registration_closes_at == timedelta(days=1)
        assert event.starts_at - event.cancel_until == timedelta(days=2)
        assert event.kind == EventKind.LECTURE and event.capacity == 40
    series = db.session.get(EventSeries, first.series_id)
    assert (series.every_weeks, series.occurrences, series.dealer_id) == (2, 4, staff.dealer_id)
    assert series_events(events[2]) == events
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "event.series_created"))
    assert audit.details["events"] == [e.id for e in events]


def test_owners_sign_up_for_one_date_of_a_series_at_a_time(staff):
    first = publish_event(staff, Repeat(every_weeks=2, occurrences=2), now=NOW, **lecture())
    owner = make_member(staff.dealer_id)
    second = series_events(first)[1]
    # The second date's sign-up opens two weeks later than the first's.
    assert second.registration_opens_at == NOW + timedelta(weeks=2)
    sign_up(owner, first.id, now=NOW)
    assert sign_up(owner, second.id, now=NOW + timedelta(weeks=2)).status == "confirmed"


def test_a_series_until_a_date_holds_every_date_up_to_it(staff):
    publish_event(
        staff, Repeat(every_weeks=2, until=date(2027, 1, 15)), now=NOW, **lecture(title="Until")
    )
    days = [e.starts_at.astimezone(SHANGHAI).date() for e in _events()]
    assert days == [date(2026, 11, 28), date(2026, 12, 12), date(2026, 12, 26), date(2027, 1, 9)]


def test_an_event_that_does_not_repeat_stands_alone(staff):
    event = publish_event(staff, Repeat(), now=NOW, **lecture())
    assert event.series_id is None and series_events(event) == []
    assert db.session.scalar(select(func.count(EventSeries.id))) == 0


@pytest.mark.parametrize(
    ("repeat", "changes", "field", "words"),
    [
        (Repeat(every_weeks=2, occurrences=1), {}, "occurrences", "at least 2"),
        (Repeat(every_weeks=2, occurrences=MAX_OCCURRENCES + 1), {}, "occurrences", "at most"),
        (Repeat(every_weeks=2, occurrences=10**12), {}, "occurrences", "at most"),
        (Repeat(every_weeks=2, occurrences=-3), {}, "occurrences", "at least 2"),
        (Repeat(every_weeks=2), {}, "occurrences", "how many"),
        (Repeat(every_weeks=2, occurrences=3, until=date(2027, 1, 1)), {}, "repeat_until", "not"),
        (Repeat(every_weeks=2, until=date(2026, 11, 28)), {}, "repeat_until", "after the first"),
        (Repeat(every_weeks=2, until=date(2026, 12, 5)), {}, "repeat_until", "at least 2"),
        (Repeat(every_weeks=1, until=date(2028, 1, 1)), {}, "repeat_until", "at most"),
        (Repeat(every_weeks=9, occurrences=3), {}, "repeat_weeks", "how often"),
        (
            Repeat(every_weeks=2, occurrences=3),
            {
                "starts_at": NOW - timedelta(hours=1),
                "ends_at": NOW + timedelta(hours=1),
                "registration_opens_at": NOW - timedelta(days=3),
                "registration_closes_at": NOW - timedelta(days=1),
                "cancel_until": None,
            },
            "starts_at",
            "future",
        ),
    ],
)
def test_a_series_that_breaks_a_rule_is_refused_and_nothing_is_created(
    staff, repeat, changes, field, words
):
    with pytest.raises(ValidationFailed) as refused:
        publish_event(staff, repeat, now=NOW, **lecture(**changes))
    assert refused.value.field == field
    assert words in str(refused.value.message)
    assert _events() == []


def test_a_date_that_already_holds_the_same_event_is_refused(staff):
    # The third Saturday already holds this lecture (made by hand, or by a first submit).
    make_event(
        staff,
        now=NOW,
        kind=EventKind.LECTURE,
        title="车主讲堂: Winter care ",
        starts_at=datetime(2026, 12, 26, 9, 0, tzinfo=SHANGHAI),
        ends_at=datetime(2026, 12, 26, 11, 0, tzinfo=SHANGHAI),
    )
    with pytest.raises(ValidationFailed) as refused:
        publish_event(staff, Repeat(every_weeks=2, occurrences=4), now=NOW, **lecture())
    assert "2026-12-26" in str(refused.value.message)
    assert len(_events()) == 1


def test_submitting_the_same_series_twice_creates_it_once(staff):
    publish_event(staff, Repeat(every_weeks=2, occurrences=3), now=NOW, **lecture())
    with pytest.raises(ValidationFailed):
        publish_event(staff, Repeat(every_weeks=2, occurrences=3), now=NOW, **lecture())
    assert len(_events()) == 3
    # Another dealer's lecture of the same title on the same days is no duplicate.
    other = make_staff("event_staff", make_dealer("GZ01").id)
    publish_event(other, Repeat(every_weeks=2, occurrences=3), now=NOW, **lecture())
    assert len(_events()) == 6


# ----------------------------------------------------------------------------- the form


def _form(**changes) -> dict:
    local = {
        "kind": "lecture",
        "title": "Owner lecture",
        "place": "Showroom",
        "starts_at": "2026-11-28T14:00",
        "ends_at": "2026-11-28T16:00",
        "registration_opens_at": "2026-11-23T10:00",
        "registration_closes_at": "2026-11-27T20:00",
        "capacity": "30",
        "max_companions": "0",
        "price_yuan": "0",
        "attendance_points": "0",
        "deposit_points": "0",
        "offer_hours": "48",
        "repeat_weeks": "2",
        "occurrences": "6",
    }
    return {**local, **changes}


@pytest.fixture
def staff_client(app, seeded):
    with seeded():
        mobile = make_staff("event_staff", make_dealer("SZ01").id).mobile
    client = app.test_client()
    login(client, mobile)
    return client


def test_staff_create_a_series_from_the_event_form(app, staff_client):
    assert "Every 2 weeks" in staff_client.get("/admin/events/new").get_data(as_text=True)
    response = staff_client.post("/admin/events/new", data=_form())
    assert response.status_code == 302
    page = staff_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The series of 6 events is published to your owners." in page
    assert "Event 1 of a series of 6" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Event.id))) == 6


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"repeat_weeks": "abc"}, "could not coerce"),
        ({"repeat_weeks": "99"}, "Not a valid choice"),
        ({"occurrences": "99999999999999999999"}, "at most 26 events"),
        ({"occurrences": "", "repeat_until": "2026-02-30"}, "Not a valid date value"),
        ({"occurrences": ""}, "Give how many events the series holds"),
        (
            {
                "starts_at": "2026-11-20T14:00",
                "ends_at": "2026-11-20T16:00",
                "registration_opens_at": "2026-11-10T10:00",
                "registration_closes_at": "2026-11-19T10:00",
            },
            "A series starts in the future",
        ),
    ],
)
def test_a_refused_series_says_why_and_creates_nothing(app, staff_client, changes, message):
    response = staff_client.post("/admin/events/new", data=_form(**changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Event.id))) == 0


def test_the_edit_form_offers_no_repeat(app, staff_client):
    staff_client.post("/admin/events/new", data=_form(repeat_weeks="0"))
    with app.app_context():
        event_id = db.session.scalar(select(Event.id))
    page = staff_client.get(f"/admin/events/{event_id}/edit").get_data(as_text=True)
    assert "Every 2 weeks" not in page
