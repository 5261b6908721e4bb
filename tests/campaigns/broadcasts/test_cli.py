"""`flask care send-broadcasts`, and the daily job and the sender that run it."""

from app.campaigns.broadcasts import services
from tests.campaigns.broadcasts.helpers import draft, owner_with_car
from tests.factories import make_staff


def test_the_commands_send_a_due_broadcast_once(app, seeded, dealers, clock):
    with seeded():
        owner_with_car(dealers["SZ01"], "Yes", marketing_opt_in=True)
        owner_with_car(dealers["SZ01"], "No")
        admin = make_staff("dealer_admin", dealers["SZ01"])
        broadcast = draft(admin, dealers["SZ01"])
        services.schedule_broadcast(admin, broadcast.id)
    runner = app.test_cli_runner()

    early = runner.invoke(args=["care", "send-broadcasts"])
    assert early.exit_code == 0, early.output
    assert "Broadcasts: 0 finished" in early.output
    assert "Broadcasts" not in runner.invoke(args=["care", "send"]).output  # quiet when idle

    clock.advance(hours=1)
    sent = runner.invoke(args=["care", "send"])
    assert "Broadcasts: 1 finished; 1 owners sent to, 1 left out without marketing consent." in (
        sent.output
    )
    assert "Sent 1 messages" in sent.output  # the SMS, in the same run
    daily = runner.invoke(args=["care", "run-daily"])
    assert "Broadcasts: 0 finished; 0 owners sent to" in daily.output
    clock.advance(days=1)
    assert "0 owners sent to" in runner.invoke(args=["care", "send-broadcasts"]).output
