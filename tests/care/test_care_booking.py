"""A care call marked "booked" books the chosen time for the owner (issue 20, seed 002 主动预约),
as a campaign call does: in the call's transaction, so a refused time records no call."""

from datetime import date, time, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.care.models import CallOutcome, CareCall, CareTask
from app.care.outcomes import CallReport, Outcome, bookable_times, record_outcome
from app.care.recall import create_recall_tasks
from app.core.audit import AuditEntry
from app.core.clock import utcnow
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.members.models import Notification
from app.service.appointments import AppointmentRefused
from app.service.models import Appointment, AppointmentStatus
from app.service.staff_booking import book_for_owner
from app.service.workshop import add_slots
from tests.care.helpers import add_visit, make_car, make_owner
from tests.factories import make_dealer, make_staff

TODAY = date(2026, 11, 23)  # the test clock's day (tests/conftest.py NOW)
KEY = "care-booking-key-000001"


def _slot(dealer_id: int, hour: int = 9, capacity: int = 1) -> int:
    (slot,) = add_slots(
        make_staff("service_advisor", dealer_id),
        day=TODAY + timedelta(days=1),
        first=time(hour),
        last=time(hour),
        every_minutes=30,
        capacity=capacity,
    ).added
    return slot.id


def _world() -> SimpleNamespace:
    """Two lost owners of SZ01 with their recall tasks, a care agent, a 09:00 time tomorrow
    for one car, and a time of GZ01."""
    sz, gz = make_dealer("SZ01").id, make_dealer("GZ01").id
    cars = []
    for name in ("Lost Liu", "Lost Wu"):
        owner = make_owner(sz, name=name, marketing_opt_in=True)
        car = make_car(owner, purchased_on=date(2024, 5, 1), delivered_on=date(2024, 5, 3))
        add_visit(car, on=TODAY - timedelta(days=120), km=9_000)
        cars.append(car)
    create_recall_tasks()
    tasks = db.session.scalars(select(CareTask).order_by(CareTask.id)).all()
    return SimpleNamespace(
        sz=sz,
        agent=make_staff("care_agent", sz),
        tasks=tasks,
        cars=cars,
        slot=_slot(sz),
        gz_slot=_slot(gz),
    )


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def world(ctx):
    return _world()


# ---------------------------------------------------------------------------- the service


def test_booked_with_a_time_books_it_for_the_owner_and_closes_the_task(world):
    task = world.tasks[0]
    assert [s.id for s in bookable_times(world.agent, task)] == [world.slot]

    row = record_outcome(world.agent, task.id, CallReport(Outcome.BOOKED, slot_id=world.slot))

    assert row.outcome == "booked" and task.status == "reached"
    (appointment,) = db.session.scalars(select(Appointment)).all()
    assert (appointment.member_id, appointment.vehicle_id) == (task.member_id, task.vehicle_id)
    assert appointment.booked_by_id == world.agent.id
    assert appointment.status == AppointmentStatus.BOOKED
    told = db.session.scalar(
        select(Notification.body).where(
            Notification.member_id == task.member_id, Notification.kind == "appointment_booked"
        )
    )
    assert "My appointments" in told or "我的预约" in told  # the owner can cancel it there
    audit = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "appointment.booked_for_owner")
    )
    assert audit.details["source"] == f"care_task:{task.id}"
    # A closed task offers no time any more.
    assert bookable_times(world.agent, task) == []


def test_a_second_submit_on_the_closed_task_books_nothing_more(world):
    task = world.tasks[0]
    report = CallReport(Outcome.BOOKED, slot_id=world.slot)
    record_outcome(world.agent, task.id, report)
    with pytest.raises(Conflict, match="already closed"):
        record_outcome(world.agent, task.id, report)
    assert count(Appointment) == 1 and count(CareCall) == 1


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("full", AppointmentRefused, "fully booked"),
        ("wrong outcome", ValidationFailed, "record the call as “Reached: booked a visit”"),
        ("other dealer", ValidationFailed, "No such time"),
    ],
)
def test_a_refused_time_records_no_call(world, case, error, message):
    first, second = world.tasks
    if case == "full":  # the other owner's booking took the one place meanwhile
        book_for_owner(world.agent, world.cars[0].member, first.vehicle_id, world.slot)
    outcome = Outcome.WILL_COME if case == "wrong outcome" else Outcome.BOOKED
    slot = world.gz_slot if case == "other dealer" else world.slot
    before = count(Appointment)
    savepoint = db.session.begin_nested()
    with pytest.raises(error, match=message) as refused:
        record_outcome(world.agent, second.id, CallReport(outcome, slot_id=slot))
    savepoint.rollback()
    assert refused.value.field == "slot_id"
    assert count(CareCall) == 0 and count(CallOutcome) == 0
    assert count(Appointment) == before
    assert db.session.get(CareTask, second.id).status == "open"


def test_booked_without_a_time_stays_allowed_and_books_nothing(world):
    task = world.tasks[0]
    record_outcome(world.agent, task.id, CallReport(Outcome.BOOKED))
    assert task.status == "reached" and count(Appointment) == 0


def test_a_task_about_no_car_books_the_owners_only_car(world):
    owner = world.cars[0].member
    task = CareTask(
        dealer_id=world.sz, member_id=owner.id, kind="birthday", due_on=TODAY, created_at=utcnow()
    )
    db.session.add(task)
    db.session.flush()
    record_outcome(world.agent, task.id, CallReport(Outcome.BOOKED, slot_id=world.slot))
    assert db.session.scalar(select(Appointment.vehicle_id)) == world.cars[0].id
    # With two cars the agent cannot tell which one: no time is offered.
    make_car(owner, purchased_on=date(2025, 1, 1))
    other = CareTask(
        dealer_id=world.sz, member_id=owner.id, kind="birthday", due_on=TODAY, created_at=utcnow()
    )
    db.session.add(other)
    db.session.flush()
    assert bookable_times(world.agent, other) == []


# ------------------------------------------------------------------------------- the page


@pytest.fixture
def page(app, seeded):
    """The world committed; a logged-in care agent's client and the ids."""
    with seeded():
        w = _world()
        ids = SimpleNamespace(
            tasks=[t.id for t in w.tasks], slot=w.slot, gz_slot=w.gz_slot, agent=w.agent.mobile
        )
    from tests.conftest import login

    client = app.test_client()
    login(client, ids.agent)
    return client, ids


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return count(Appointment), count(CareCall)


def test_the_task_page_books_the_chosen_time_once(app, page):
    agent, ids = page
    task = ids.tasks[0]
    html = agent.get(f"/admin/care/tasks/{task}").get_data(as_text=True)
    assert 'name="slot_id"' in html and f'value="{ids.slot}"' in html
    data = {"outcome": "booked", "slot_id": ids.slot, "idempotency_key": KEY}

    response = agent.post(f"/admin/care/tasks/{task}/outcome", data=data)
    again = agent.post(f"/admin/care/tasks/{task}/outcome", data=data)

    assert response.status_code == again.status_code == 302
    followed = agent.get(response.headers["Location"]).get_data(as_text=True)
    assert "The service time is booked and the owner is told." in followed
    assert _counts(app) == (1, 1)
    with app.app_context():
        assert db.session.get(CareTask, task).status == "reached"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("full", "This time is fully booked. Choose another one."),
        ("wrong outcome", "record the call as “Reached: booked a visit”"),
        ("other dealer", "No such time. Choose another one."),
    ],
)
def test_a_refused_time_is_shown_on_the_field_and_nothing_is_recorded(app, page, case, message):
    agent, ids = page
    first, second = ids.tasks
    if case == "full":
        agent.post(
            f"/admin/care/tasks/{first}/outcome", data={"outcome": "booked", "slot_id": ids.slot}
        )
    before = _counts(app)
    response = agent.post(
        f"/admin/care/tasks/{second}/outcome",
        data={
            "outcome": "will_come" if case == "wrong outcome" else "booked",
            "slot_id": ids.gz_slot if case == "other dealer" else ids.slot,
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html.split('id="slot_id-error"')[1].split("</p>")[0]
    assert _counts(app) == before
    with app.app_context():
        assert db.session.get(CareTask, second).status == "open"
