"""`flask care run-daily` and `flask care send`, as cron runs them."""

from datetime import date

from sqlalchemy import func, select

from app.care.models import CareReminder
from app.extensions import db
from app.members.models import OutboxMessage
from tests.care.helpers import make_car, make_owner


def test_the_daily_job_reminds_then_sends_and_a_rerun_does_nothing(
    app, seeded, dealers, sms, clock
):
    with seeded():
        owner = make_owner(dealers["SZ01"], name="Cron", birthday=date(1980, 11, 23))
        make_car(owner, purchased_on=date(2024, 1, 1), inspection_due_on=date(2026, 12, 20))
    runner = app.test_cli_runner()

    first = runner.invoke(args=["care", "run-daily"])  # 10:00 in Shenzhen
    assert first.exit_code == 0, first.output
    assert "Created 2 care reminders (birthday 1, inspection 1)" in first.output
    # The inspection's SMS; the birthday's waits for the agent's call until 10:45.
    assert "Sent 1 messages" in first.output

    again = runner.invoke(args=["care", "run-daily"])
    assert "Created 0 care reminders (none)" in again.output
    assert "Sent 0 messages" in again.output
    assert len(sms.sent) == 1
    clock.advance(minutes=45)
    assert "Sent 1 messages" in runner.invoke(args=["care", "send"]).output
    assert len(sms.sent) == 2
    with app.app_context():
        assert db.session.scalar(select(func.count(CareReminder.id))) == 2
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 4


def test_the_sender_runs_on_its_own(app):
    result = app.test_cli_runner().invoke(args=["care", "send", "--limit", "10"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Sent 0 messages; 0 to retry later")


def test_one_failing_reminder_does_not_stop_the_others(app, seeded, dealers, monkeypatch):
    from app.care import schedule

    with seeded():
        for name in ("Good", "Bad"):
            make_owner(dealers["SZ01"], name=name, birthday=date(1980, 11, 23))
    real = schedule.message_for

    def message_for(moment, member, vehicle, today):
        if member.name == "Bad":
            raise RuntimeError("broken data")
        return real(moment, member, vehicle, today)

    monkeypatch.setattr(schedule, "message_for", message_for)
    result = app.test_cli_runner().invoke(args=["care", "run-daily"])
    assert "Created 1 care reminders (birthday 1)" in result.output
    assert "Failed (see the log; retried tomorrow): birthday:m" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(CareReminder.id))) == 1
