"""The outbox: e-mail to a real (local) SMTP server, SMS, retries, quiet hours, consent."""

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.care.schedule import run_daily
from app.extensions import db
from app.members.inbox import notify
from app.members.models import Notification, OutboxMessage
from app.members.outbox import (
    INTERRUPTED,
    MAX_ATTEMPTS,
    claim_next,
    queue_message,
    quiet_hours_end,
    send_due,
)
from tests.care.helpers import make_car, make_owner
from tests.factories import make_dealer
from tests.test_postgres_concurrency import race


@pytest.fixture
def owner(ctx):
    """An owner of SZ01 with an e-mail address, e-mail and SMS on, English."""
    member = make_owner(make_dealer("SZ01").id, name="Zhou Min", email="zhou@example.com")
    member.user.locale = "en"
    db.session.commit()
    return member


def _queue(member, *, key="test:1", kind="maintenance_due", channels=("email",), **kwargs):
    ids = queue_message(
        member, kind, "Maintenance due", "Book a visit.", key=key, channels=channels, **kwargs
    )
    db.session.commit()
    return [db.session.get(OutboxMessage, i) for i in ids]


def _status(message_id: int) -> OutboxMessage:
    return db.session.get(OutboxMessage, message_id, populate_existing=True)


# ---------------------------------------------------------------------------------- e-mail


def test_an_email_reaches_the_smtp_server_once(owner, smtp_server, clock):
    notify(
        owner,
        "invitation",
        lambda: (_l("Welcome to the owners' club"), "Set your password."),
        dedupe_key="welcome:1",
    )
    db.session.commit()

    report = send_due()

    assert report.sent == 2  # the e-mail and the SMS (log backend)
    ((recipients, email),) = smtp_server.messages
    assert recipients == ["zhou@example.com"]
    assert email["Subject"] == "Welcome to the owners' club"
    assert email["From"] == "Car Club <club@carclub.example>"
    assert email.get_content().strip() == "Set your password."
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == "welcome:1:email")
    )
    assert (message.status, message.attempts, message.sent_at) == ("sent", 1, clock.now())
    # Nothing is left to send: the next run sends nothing more.
    assert send_due().sent == 0
    assert len(smtp_server.messages) == 1


def test_the_email_is_in_the_owners_language(owner, smtp_server):
    owner.user.locale = "zh"
    notify(owner, "invitation", lambda: (_l("Welcome to the owners' club"), "…"), dedupe_key="w")
    db.session.commit()
    send_due()
    ((_recipients, email),) = smtp_server.messages
    assert email["Subject"] == "欢迎加入车友会"


def test_a_failing_smtp_server_is_retried_with_back_off_and_sends_once(owner, smtp_server, clock):
    smtp_server.refuse = ["451 4.3.0 Try again later", "421 4.3.2 Shutting down"]
    (message,) = _queue(owner)
    start = clock.now()

    report = send_due()
    assert (report.sent, report.retried) == (0, 1)
    first = _status(message.id)
    assert (first.status, first.attempts) == ("pending", 1)
    assert first.next_attempt_at == start + timedelta(minutes=5)
    assert "451" in first.last_error

    clock.advance(minutes=4)
    assert send_due().retried == 0  # not due yet
    clock.advance(minutes=1)
    assert send_due().retried == 1
    second = _status(message.id)
    assert second.attempts == 2
    assert second.next_attempt_at == clock.now() + timedelta(minutes=10)

    clock.advance(minutes=10)
    assert send_due().sent == 1
    assert send_due().sent == 0
    clock.advance(days=1)
    assert send_due().sent == 0
    assert len(smtp_server.messages) == 1
    sent = _status(message.id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 3, "")


def test_an_smtp_server_that_is_down_is_retried(owner, app, clock):
    from tests.care.conftest import free_port

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_STARTTLS=False)
    (message,) = _queue(owner)
    assert send_due().retried == 1
    assert "unavailable" in _status(message.id).last_error


def test_a_refused_address_fails_without_retry(owner, smtp_server, clock):
    smtp_server.refuse = ["550 5.1.1 No such mailbox"]
    (message,) = _queue(owner)
    assert send_due().failed == 1
    clock.advance(days=1)
    assert send_due().sent == 0
    failed = _status(message.id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert smtp_server.messages == []


def test_a_message_fails_after_its_last_attempt(owner, smtp_server, clock):
    smtp_server.refuse = ["451 Try again later"] * MAX_ATTEMPTS
    (message,) = _queue(owner)
    for _ in range(MAX_ATTEMPTS):
        send_due()
        clock.advance(days=1)
    failed = _status(message.id)
    assert (failed.status, failed.attempts) == ("failed", MAX_ATTEMPTS)
    assert smtp_server.messages == []


def test_a_send_interrupted_after_its_claim_is_never_sent_again(owner, smtp_server, clock):
    (message,) = _queue(owner)
    # A worker claims the message, then dies before writing the result.
    assert claim_next().id == message.id
    db.session.commit()
    assert send_due().sent == 0  # still leased to the dead worker

    clock.advance(minutes=10)
    report = send_due()

    assert (report.interrupted, report.sent) == (1, 0)
    failed = _status(message.id)
    assert (failed.status, failed.last_error) == ("failed", INTERRUPTED)
    assert smtp_server.messages == []


def test_only_due_messages_are_claimed_each_once(owner, clock):
    messages = [_queue(owner, key=f"due:{n}")[0] for n in range(3)]
    messages[1].next_attempt_at = clock.now() + timedelta(minutes=30)
    db.session.commit()

    claimed = [claim_next() for _ in range(3)]

    assert sorted(m.id for m in claimed[:2]) == [messages[0].id, messages[2].id]
    assert claimed[2] is None
    assert {(m.status, m.attempts) for m in claimed[:2]} == {("sending", 1)}
    clock.advance(minutes=30)
    assert claim_next().id == messages[1].id


# ------------------------------------------------------------------------------------- SMS


def test_the_log_backend_keeps_one_sms_and_logs_no_text(owner, app, caplog):
    (message,) = _queue(owner, channels=("sms",))
    with caplog.at_level(logging.INFO, logger="app.core.channels"):
        assert send_due().sent == 1
        assert send_due().sent == 0
    (record,) = [r for r in caplog.records if r.getMessage().startswith("SMS to")]
    masked = f"{owner.mobile[:3]}****{owner.mobile[-4:]}"
    assert record.getMessage() == (
        f"SMS to {masked} (test:1:sms): 29 characters, not sent (log backend)"
    )
    assert owner.mobile not in caplog.text and "Book a visit" not in caplog.text
    backend = app.extensions["sms_backend"]
    assert list(backend.sent) == [(owner.mobile, "Maintenance due Book a visit.", "test:1:sms")]
    assert _status(message.id).status == "sent"


def test_a_configured_sms_provider_is_used(owner, app):
    app.config["SMS_BACKEND"] = "tests.care.conftest:RecordingSms"
    _queue(owner, channels=("sms",))
    send_due()
    backend = app.extensions["sms_backend"]
    assert backend.sent == [(owner.mobile, "Maintenance due Book a visit.", "test:1:sms")]


# ----------------------------------------------------------------------- quiet hours, consent


def test_quiet_hours_end_at_eight_local_time(app, ctx):
    shanghai_22 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert quiet_hours_end(shanghai_22) == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    shanghai_06 = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert quiet_hours_end(shanghai_06) == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert quiet_hours_end(datetime(2026, 11, 24, 0, 0, tzinfo=UTC)) is None
    assert quiet_hours_end(datetime(2026, 11, 23, 12, 59, tzinfo=UTC)) is None
    app.config["QUIET_HOURS"] = ""
    assert quiet_hours_end(shanghai_22) is None


def test_a_service_reminder_due_at_ten_pm_goes_out_at_eight(owner, smtp_server, sms, clock):
    make_car(owner, purchased_on=date(2025, 1, 1), insurance_expires_on=date(2026, 12, 7))
    db.session.commit()
    clock.advance(hours=12)  # 22:00 in Shanghai
    assert run_daily().total == 1  # the insurance ends in 14 days

    assert send_due().sent == 0
    clock.advance(hours=9, minutes=59)  # 07:59
    assert send_due().sent == 0
    assert (smtp_server.messages, sms.sent) == ([], [])

    clock.advance(minutes=1)  # 08:00
    assert send_due().sent == 2
    assert len(smtp_server.messages) == 1
    assert len(sms.sent) == 1
    # The inbox got it at once: it does not ring.
    assert db.session.scalar(select(Notification.kind)) == "insurance_expiry"


def test_a_freed_event_place_is_offered_at_any_hour(owner, sms, clock):
    clock.advance(hours=12)  # 22:00
    _queue(owner, kind="event_offer", channels=("sms",))
    assert send_due().sent == 1


def test_offers_are_skipped_for_owners_who_opted_out(owner, sms):
    owner.marketing_opt_in = False
    messages = _queue(owner, channels=("in_app", "email", "sms"), marketing=True)
    assert {m.status for m in messages} == {"skipped"}
    assert {m.last_error for m in messages} == {"no marketing consent"}
    assert send_due().sent == 0
    assert sms.sent == []
    assert db.session.scalar(select(Notification.id)) is None


def test_an_owner_who_opts_out_before_the_send_gets_no_offer(owner, sms):
    owner.marketing_opt_in = True
    (message,) = _queue(owner, channels=("sms",), marketing=True)
    owner.marketing_opt_in = False
    db.session.commit()
    assert send_due().skipped == 1
    assert sms.sent == []
    assert _status(message.id).status == "skipped"


def test_no_email_without_an_address(owner, smtp_server, sms):
    owner.email = None
    db.session.commit()
    notify(owner, "test", lambda: ("Hello", "World"), dedupe_key="hello")
    db.session.commit()
    channels = set(db.session.scalars(select(OutboxMessage.channel)))
    assert channels == {"in_app", "sms"}
    send_due()
    assert smtp_server.messages == []


def test_an_email_whose_address_was_removed_is_skipped(owner, smtp_server):
    (message,) = _queue(owner)
    owner.email = None
    db.session.commit()
    assert send_due().skipped == 1
    skipped = _status(message.id)
    assert (skipped.status, skipped.last_error) == ("skipped", "e-mail turned off or no address")
    assert smtp_server.messages == []


def test_notify_keeps_the_inbox_and_follows_the_owners_channels(owner, sms, clock):
    owner.notify_email = False
    db.session.commit()
    message = notify(owner, "lecture_answer", lambda: ("Answered", "See it."), dedupe_key="q:1")
    again = notify(owner, "lecture_answer", lambda: ("Answered", "See it."), dedupe_key="q:1")
    db.session.commit()
    assert message.title == "Answered"
    assert again is None
    rows = dict(db.session.execute(select(OutboxMessage.channel, OutboxMessage.status)).all())
    assert rows == {"in_app": "sent", "sms": "pending"}
    assert send_due().sent == 1
    assert sms.sent[0][1] == "Answered See it."


# ------------------------------------------------------------------------------ PostgreSQL


@pytest.mark.postgres
def test_two_senders_at_once_send_each_message_once(pg_app):
    from tests.care.conftest import RecordingSms

    backend = RecordingSms()
    pg_app.extensions["sms_backend"] = backend
    with pg_app.app_context(), pg_app.test_request_context():
        owner = make_owner(make_dealer("SZ01").id, name="Racer")
        for n in range(12):
            queue_message(owner, "points_expiry", f"M{n}", "", key=f"race:{n}", channels=["sms"])
        db.session.commit()
        owner_id = owner.id

    results = race(pg_app, lambda: send_due().sent, racers=4)

    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 12
    assert sorted(ref for _mobile, _text, ref in backend.sent) == sorted(
        f"race:{n}:sms" for n in range(12)
    )
    with pg_app.app_context():
        statuses = db.session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.member_id == owner_id)
        ).all()
        assert statuses == ["sent"] * 12


def test_a_retry_that_falls_in_the_quiet_hours_waits_for_the_morning(owner, smtp_server, clock):
    clock.advance(hours=10, minutes=58)  # 20:58 in Shanghai
    smtp_server.refuse = ["451 Try again later"]
    (message,) = _queue(owner)
    assert send_due().retried == 1
    # 21:03 is in the quiet hours: 08:00 the next morning instead.
    assert _status(message.id).next_attempt_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
