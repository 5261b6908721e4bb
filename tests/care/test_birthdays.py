"""The birthday call (seed 002: 以电话形式关怀为主, 如暂时无法联系等以短信形式送上祝福。
发送时间不得晚于上班后两小时): a call task for the owner's dealer and responsible
consultant, its SMS held until two hours after opening, withdrawn when the call reaches the
owner, sent at once when it does not. The clock is 10:00 in Shenzhen (NOW); the dealer opens
at 09:00, the SMS goes at 10:45."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.campaigns.grading.services import grade_owner
from app.care.birthdays import greeting_deadline
from app.care.models import CareTask
from app.care.schedule import run_daily
from app.care.tasks import record_call
from app.extensions import db
from app.members.models import Notification, OutboxMessage
from app.members.outbox import send_due
from tests.care.helpers import make_car, make_owner
from tests.conftest import NOW
from tests.factories import make_dealer, make_staff

DEADLINE = datetime(2026, 11, 23, 2, 45, tzinfo=UTC)  # 10:45 in Shenzhen


@pytest.fixture
def born_today(ctx):
    """SZ01's owner born on 23 November, with a car, and a care agent."""
    sz = make_dealer("SZ01")
    owner = make_owner(sz.id, name="Gao Yan", birthday=date(1985, 11, 23), email="g@example.com")
    make_car(owner, purchased_on=date(2024, 3, 1))
    agent = make_staff("care_agent", sz.id)
    db.session.commit()
    return {"sz": sz, "owner": owner, "agent": agent}


def _outbox(owner) -> dict[str, tuple[str, datetime]]:
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.member_id == owner.id)
    ).all()
    return {m.channel: (m.status, m.next_attempt_at) for m in rows}


def _task() -> CareTask:
    return db.session.scalar(select(CareTask).where(CareTask.kind == "birthday"))


def test_the_deadline_is_two_hours_after_opening_less_the_senders_round(app, ctx):
    assert greeting_deadline(date(2026, 11, 23)) == DEADLINE
    app.config["CARE_OPENING_HOUR"] = 8
    assert greeting_deadline(date(2026, 11, 23)) == DEADLINE - timedelta(hours=1)


def test_a_birthday_is_a_call_task_with_the_greeting_held_back_for_it(born_today, sms):
    owner = born_today["owner"]
    report = run_daily()
    assert report.created == {"birthday": 1}
    task = _task()
    assert (task.dealer_id, task.member_id, task.status) == (owner.dealer_id, owner.id, "open")
    assert task.due_on == date(2026, 11, 23)
    # Inbox and e-mail at once; the SMS waits for the call until 10:45.
    assert _outbox(owner) == {
        "in_app": ("sent", NOW),
        "email": ("pending", NOW),
        "sms": ("pending", DEADLINE),
    }
    assert db.session.scalar(select(Notification.title)) == "Gao Yan，生日快乐！"
    send_due(now=NOW + timedelta(minutes=30))
    assert sms.sent == []


def test_reaching_the_owner_withdraws_the_sms(born_today, sms):
    run_daily()
    record_call(born_today["agent"], _task().id, reached=True, now=NOW + timedelta(minutes=5))
    db.session.commit()
    assert _task().status == "reached"
    assert _outbox(born_today["owner"])["sms"][0] == "skipped"
    send_due(now=DEADLINE + timedelta(minutes=5))
    assert sms.sent == []


def test_one_missed_call_sends_the_greeting_by_sms_at_once(born_today, sms):
    run_daily()
    called = NOW + timedelta(minutes=5)
    record_call(born_today["agent"], _task().id, reached=False, now=called)
    db.session.commit()
    assert _task().status == "sms_sent"
    assert _outbox(born_today["owner"])["sms"] == ("pending", called)
    send_due(now=called)
    ((mobile, text, reference),) = sms.sent
    assert mobile == born_today["owner"].user.mobile
    assert text.startswith("Gao Yan，生日快乐！")
    assert reference.startswith("birthday:m")
    # A second tap on "not reached" sends nothing more: the task is closed.
    with pytest.raises(Exception, match="already closed"):
        record_call(born_today["agent"], _task().id, reached=False, now=called)


def test_nobody_called_the_sms_goes_at_the_deadline_and_the_task_closes_the_next_day(
    born_today, sms, clock
):
    run_daily()
    send_due(now=DEADLINE - timedelta(minutes=1))
    assert sms.sent == []
    send_due(now=DEADLINE)
    assert len(sms.sent) == 1
    assert _task().status == "open"  # a late call the same day is still welcome
    clock.advance(days=1)
    report = run_daily()
    assert report.tasks_closed == 1
    task = _task()
    assert (task.status, task.closed_at) == ("sms_sent", clock.now())


def test_a_job_run_after_the_deadline_sends_the_sms_at_once(born_today, clock):
    clock.advance(hours=3)  # 13:00
    run_daily()
    assert _outbox(born_today["owner"])["sms"] == ("pending", clock.now())


def test_a_deadline_in_the_quiet_hours_waits_for_their_end(app, born_today):
    app.config.update(CARE_OPENING_HOUR=6, CARE_BIRTHDAY_SMS_MINUTES=30)  # 06:30, quiet to 08:00
    run_daily(now=datetime(2026, 11, 22, 20, 0, tzinfo=UTC))  # 04:00 on the birthday
    assert _outbox(born_today["owner"])["sms"][1] == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def test_an_owner_who_turned_sms_off_gets_no_second_greeting_when_the_call_fails(born_today):
    owner = born_today["owner"]
    owner.notify_sms = False
    db.session.commit()
    run_daily()
    assert set(_outbox(owner)) == {"in_app", "email"}
    record_call(born_today["agent"], _task().id, reached=False, now=NOW)
    db.session.commit()
    assert _task().status == "sms_sent"
    assert set(_outbox(owner)) == {"in_app", "email"}


def test_the_task_is_for_the_consultant_responsible_for_the_graded_owner(born_today):
    sz, owner = born_today["sz"], born_today["owner"]
    consultant = make_staff("sales_consultant", sz.id)
    grade_owner(consultant, owner.id, grade="A", reason="Loyal", now=NOW - timedelta(days=30))
    ungraded = make_owner(sz.id, name="Hu", birthday=date(1990, 11, 23))
    make_car(ungraded, purchased_on=date(2024, 1, 1))
    db.session.commit()
    run_daily()
    assigned = dict(db.session.execute(select(CareTask.member_id, CareTask.assigned_to_id)).all())
    assert assigned == {owner.id: consultant.id, ungraded.id: None}


def test_a_consultant_who_left_is_not_given_the_task(born_today):
    sz, owner = born_today["sz"], born_today["owner"]
    consultant = make_staff("sales_consultant", sz.id)
    grade_owner(consultant, owner.id, grade="A", reason="Loyal", now=NOW - timedelta(days=30))
    consultant.active = False
    db.session.commit()
    run_daily()
    assert _task().assigned_to_id is None


def test_the_agents_page_says_when_the_sms_goes(app, seeded, dealers, staff_factory):
    with seeded():
        owner = make_owner(dealers["SZ01"], name="Gao Yan", birthday=date(1985, 11, 23))
        make_car(owner, purchased_on=date(2024, 3, 1))
    with app.app_context(), app.test_request_context():
        run_daily()
        task_id = _task().id
    agent = staff_factory("care_agent", "SZ01")
    page = agent.get(f"/admin/care/tasks/{task_id}").get_data(as_text=True)
    assert "Birthday call script" in page
    assert "If nobody has reached the owner by" in page
    assert "10:45" in page
