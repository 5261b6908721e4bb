"""Care agents' call list: outcomes, three missed calls then an SMS, dealer scoping."""

from datetime import date

import pytest
from sqlalchemy import select

from app.care.models import CareCall, CareTask
from app.care.schedule import run_daily
from app.care.tasks import record_call
from app.core.audit import AuditEntry
from app.core.errors import Conflict, NotFound
from app.extensions import db
from app.members.models import Member, OutboxMessage, Vehicle
from tests.care.helpers import add_visit, make_car, make_owner
from tests.factories import make_staff


@pytest.fixture
def task_id(app, seeded, dealers):
    """An open first-maintenance call task (day 60 after delivery) for an owner of SZ01."""
    with seeded():
        owner = make_owner(dealers["SZ01"], name="Ma Lin", email="ma@example.com")
        make_car(owner, purchased_on=date(2026, 9, 20), delivered_on=date(2026, 9, 24))
    with app.app_context(), app.test_request_context():
        run_daily()
        return db.session.scalar(select(CareTask.id))


def _task(app, task_id) -> CareTask:
    with app.app_context():
        return db.session.get(CareTask, task_id)


def _fallback(app, task_id) -> list[OutboxMessage]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.dedupe_key.startswith(f"care-task:{task_id}:")
                )
            )
        )


def _call(client, task_id, reached: str, **extra):
    return client.post(f"/admin/care/tasks/{task_id}/calls", data={"reached": reached, **extra})


def test_the_agent_sees_who_to_call_today(staff_factory, task_id):
    agent = staff_factory("care_agent", "SZ01")
    html = agent.get("/admin/care/tasks").get_data(as_text=True)
    assert "1 owner to call" in html
    assert "Ma Lin" in html
    assert "First maintenance" in html
    page = agent.get(f"/admin/care/tasks/{task_id}").get_data(as_text=True)
    assert 'href="tel:' in page


def test_reaching_the_owner_closes_the_task(app, staff_factory, task_id):
    agent = staff_factory("care_agent", "SZ01")
    response = _call(agent, task_id, "yes", note="Booked for Saturday")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/care/tasks"
    task = _task(app, task_id)
    assert (task.status, task.closed_at is not None) == ("reached", True)
    assert _fallback(app, task_id) == []
    with app.app_context():
        (call,) = db.session.scalars(select(CareCall)).all()
        assert (call.reached, call.note) == (True, "Booked for Saturday")
        (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "care.call"))
        assert entry.details == {"reached": True, "status": "reached"}
    html = agent.get("/admin/care/tasks").get_data(as_text=True)
    assert "Nobody to call today." in html
    # A closed task takes no more calls.
    _call(agent, task_id, "no")
    assert "This task is already closed." in agent.get(f"/admin/care/tasks/{task_id}").get_data(
        as_text=True
    )


def test_three_missed_calls_at_different_times_send_an_sms_and_close(
    app, staff_factory, task_id, clock
):
    agent = staff_factory("care_agent", "SZ01")
    _call(agent, task_id, "no")  # 10:00, morning
    clock.advance(hours=4)
    _call(agent, task_id, "no")  # 14:00, afternoon
    clock.advance(hours=1)
    _call(agent, task_id, "no")  # 15:00, afternoon again: does not count
    assert _task(app, task_id).status == "open"
    assert _fallback(app, task_id) == []
    page = agent.get(f"/admin/care/tasks/{task_id}").get_data(as_text=True)
    assert "Not reached in the last three days:" in page

    clock.advance(hours=28)  # the next day, 19:00: evening
    _call(agent, task_id, "no")

    task = _task(app, task_id)
    assert task.status == "sms_sent"
    (sms,) = _fallback(app, task_id)
    assert (sms.channel, sms.status) == ("sms", "pending")
    # In the owner's language: Chinese unless they chose English.
    assert sms.subject.startswith("您的 Sagitar") and sms.subject.endswith("该做首次保养了")
    assert sms.body.startswith("我们曾致电您告知此事，但未能接通。")


def test_missed_calls_spread_over_more_than_three_days_do_not_count(app, seeded, task_id, clock):
    with seeded():
        agent = make_staff("care_agent", db.session.get(CareTask, task_id).dealer_id)
        record_call(agent, task_id, reached=False)  # day 1, morning
        clock.advance(days=1, hours=5)
        record_call(agent, task_id, reached=False)  # day 2, afternoon
        clock.advance(days=2, hours=4)
        record_call(agent, task_id, reached=False)  # day 4, evening: day 1 is too long ago
        assert db.session.get(CareTask, task_id).status == "open"
        clock.advance(hours=-10)
        record_call(agent, task_id, reached=False)  # day 4, morning
        assert db.session.get(CareTask, task_id).status == "sms_sent"


def test_an_owner_without_sms_gets_the_email_instead(app, seeded, task_id, clock):
    with seeded():
        task = db.session.get(CareTask, task_id)
        db.session.get(Member, task.member_id).notify_sms = False
        agent = make_staff("care_agent", task.dealer_id)
        for _ in range(3):  # 10:00, 14:00, 18:00
            record_call(agent, task_id, reached=False)
            clock.advance(hours=4)
    ((channel, status),) = [(m.channel, m.status) for m in _fallback(app, task_id)]
    assert (channel, status) == ("email", "pending")


def test_another_dealers_agent_gets_404(app, staff_factory, task_id):
    gz_agent = staff_factory("care_agent", "GZ01")
    assert gz_agent.get(f"/admin/care/tasks/{task_id}").status_code == 404
    assert _call(gz_agent, task_id, "yes").status_code == 404
    assert "Ma Lin" not in gz_agent.get("/admin/care/tasks").get_data(as_text=True)
    assert _task(app, task_id).status == "open"
    with app.app_context():
        assert db.session.scalar(select(CareCall.id)) is None


def test_another_dealers_agent_cannot_record_a_call_in_the_service(seeded, dealers, task_id):
    with seeded():
        gz_agent = make_staff("care_agent", dealers["GZ01"])
        with pytest.raises(NotFound):
            record_call(gz_agent, task_id, reached=True)


def test_a_call_without_an_outcome_is_refused(app, staff_factory, task_id):
    agent = staff_factory("dealer_admin", "SZ01")
    response = _call(agent, task_id, "maybe")
    assert response.status_code == 302
    assert "Choose reached or not reached." in agent.get(response.headers["Location"]).get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.scalar(select(CareCall.id)) is None


def test_a_maintenance_visit_settles_the_call(app, seeded, task_id, clock):
    clock.advance(days=2)
    with seeded():
        task = db.session.get(CareTask, task_id)
        add_visit(db.session.get(Vehicle, task.vehicle_id), on=date(2026, 11, 25), km=2_000)
    with app.app_context(), app.test_request_context():
        assert run_daily().tasks_closed == 1
    assert _task(app, task_id).status == "closed"


def test_a_closed_task_refuses_a_call_in_the_service(seeded, task_id):
    with seeded():
        agent = make_staff("care_agent", db.session.get(CareTask, task_id).dealer_id)
        record_call(agent, task_id, reached=True)
        with pytest.raises(Conflict):
            record_call(agent, task_id, reached=False)
