"""The reminder the day before an event: each confirmed attendee once, in their language, the
inbox at once and SMS after the quiet hours, however often the daily job runs."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.events.models import EventKind, EventRegistration, RegistrationStatus
from app.events.reminders import send_reminders
from app.events.services import cancel_registration, confirm_offer, sign_up
from app.extensions import db
from app.members.models import Notification, OutboxMessage
from tests.conftest import NOW, login
from tests.factories import make_dealer, make_event, make_member, make_staff

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Saturday 28 November 2026, 14:00 in Shanghai; the reminder goes on Friday 27th.
STARTS = datetime(2026, 11, 28, 14, 0, tzinfo=SHANGHAI).astimezone(UTC)


def _local(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def lecture(ctx):
    """A lecture of two seats on Saturday with four owners: two confirmed (one reads English and
    keeps SMS off), one who cancelled from the waiting list, one still waiting; and a second
    lecture on Sunday."""
    dealer = make_dealer("SZ01")
    staff = make_staff("event_staff", dealer.id)
    fields = {
        "kind": EventKind.LECTURE,
        "title": "Winter care",
        "place": "Showroom",
        "starts_at": STARTS,
        "ends_at": STARTS + timedelta(hours=2),
        "registration_closes_at": STARTS - timedelta(hours=20),
        "capacity": 2,
    }
    event = make_event(staff, now=NOW, **fields)
    sunday = make_event(
        staff,
        now=NOW,
        **{
            **fields,
            "title": "Sunday",
            "starts_at": STARTS + timedelta(days=1),
            "ends_at": STARTS + timedelta(days=1, hours=2),
        },
    )
    owners = {name: make_member(dealer.id, name=name) for name in ("zh", "en", "gone", "wait")}
    owners["en"].user.locale = "en"
    owners["en"].notify_sms = False
    places = {name: sign_up(owners[name], event.id, now=NOW) for name in owners}
    cancel_registration(owners["gone"], places["gone"].id, now=NOW)
    sign_up(owners["zh"], sunday.id, now=NOW)
    db.session.flush()
    return {"event": event, "owners": owners, "places": places}


def _outbox(member) -> dict[str, OutboxMessage]:
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.member_id == member.id))
    return {row.channel: row for row in rows if row.kind == "event_reminder"}


def test_confirmed_attendees_are_reminded_the_day_before_once(lecture):
    owners, places = lecture["owners"], lecture["places"]
    assert places["wait"].status == RegistrationStatus.WAITING
    # Thursday: the lecture is two days away.
    assert send_reminders(now=_local(26, 10)) == 0
    # Friday at 22:00, in the quiet hours (21–8).
    assert send_reminders(now=_local(27, 22)) == 2
    zh = _outbox(owners["zh"])
    assert set(zh) == {"in_app", "sms"}
    assert zh["in_app"].status == "sent"
    assert zh["sms"].status == "pending" and zh["sms"].next_attempt_at == _local(28, 8)
    assert "Winter care" in zh["sms"].subject
    assert "明天" in zh["sms"].subject
    code = places["zh"].ticket_code
    assert f"{code[:4]}-{code[4:]}" in zh["sms"].body
    # The owner who keeps SMS off hears in the inbox only, in English.
    en = _outbox(owners["en"])
    assert en["in_app"].status == "sent" and en["in_app"].subject == "Tomorrow: Winter care"
    assert en.get("sms") is None or en["sms"].status == "skipped"
    assert _outbox(owners["gone"]) == _outbox(owners["wait"]) == {}
    # A second run that day, or the next morning, reminds nobody twice.
    assert send_reminders(now=_local(27, 23)) == 0
    assert send_reminders(now=_local(28, 7)) == 1  # Sunday's lecture is now tomorrow
    inbox = db.session.scalar(
        select(func.count(Notification.id)).where(Notification.kind == "event_reminder")
    )
    assert inbox == 3


def test_a_place_confirmed_after_the_run_is_reminded_by_a_later_run_that_day(lecture):
    owners, event = lecture["owners"], lecture["event"]
    assert send_reminders(now=_local(27, 6)) == 2
    late = make_member(event.dealer_id, name="late")
    # A place frees up on Friday morning; the owner waiting takes the offer, and a new owner
    # takes the next (sign-up closes at 18:00).
    cancel_registration(owners["en"], lecture["places"]["en"].id, now=_local(27, 9))
    confirm_offer(owners["wait"], lecture["places"]["wait"].id, now=_local(27, 9))
    cancel_registration(owners["zh"], lecture["places"]["zh"].id, now=_local(27, 9))
    sign_up(late, event.id, now=_local(27, 10))
    assert send_reminders(now=_local(27, 12)) == 2
    assert _outbox(late)["in_app"].status == "sent"
    assert _outbox(owners["wait"])["in_app"].status == "sent"


def test_the_daily_job_sends_the_reminders(app, seeded, clock):
    with seeded():
        dealer = make_dealer("SZ01")
        staff = make_staff("event_staff", dealer.id)
        event = make_event(
            staff,
            now=NOW,
            starts_at=NOW + timedelta(days=1),
            ends_at=NOW + timedelta(days=1, hours=3),
            registration_closes_at=NOW + timedelta(hours=5),
        )
        owner = make_member(dealer.id, name="Driver")
        owner.user.locale = "en"
        from tests.factories import make_vehicle

        sign_up(owner, event.id, vehicle_id=make_vehicle(owner).id, accept_waiver=True)
        mobile = owner.user.mobile
    runner = app.test_cli_runner()
    first = runner.invoke(args=["care", "run-daily"])
    assert first.exit_code == 0, first.output
    assert "Events: 1 owners reminded of tomorrow's event." in first.output
    again = runner.invoke(args=["care", "run-daily"])
    assert "Events: 0 owners reminded" in again.output
    # The inbox message leads to the ticket.
    client = app.test_client()
    login(client, mobile)
    inbox = client.get("/me/inbox").get_data(as_text=True)
    with app.app_context():
        registration_id = db.session.scalar(select(EventRegistration.id))
    assert "Tomorrow: Lake Dongjiang self-drive" in inbox
    assert f'href="/me/tickets/{registration_id}"' in inbox


def test_the_sms_keeps_the_ticket_code_however_long_the_place(lecture):
    from app.members.outbox import SMS_MAX_CHARS

    lecture["event"].title, lecture["event"].place = "长" * 120, "地" * 200
    send_reminders(now=_local(27, 10))
    sms = _outbox(lecture["owners"]["zh"])["sms"]
    code = lecture["places"]["zh"].ticket_code
    assert f"{code[:4]}-{code[4:]}" in f"{sms.subject} {sms.body}"[:SMS_MAX_CHARS]
