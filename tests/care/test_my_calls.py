"""My calls (issue 20: the birthday becomes a call task for the responsible consultant): a
staff member without the care desk sees and works the care tasks given to them, theirs only,
of their dealer; the desk's tile says how many and how many are birthdays today."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.campaigns.grading.services import grade_owner
from app.care.models import CareTask
from app.care.schedule import run_daily
from app.care.tasks import get_own_task, record_call
from app.core.errors import NotFound
from app.extensions import db
from app.members.models import OutboxMessage
from tests.care.helpers import make_car, make_owner
from tests.conftest import NOW, login
from tests.factories import make_staff

BIRTHDAY = date(1985, 11, 23)  # NOW is 23 November, 10:00 in Shenzhen


@pytest.fixture
def calls(app, seeded, dealers):
    """SZ01's consultants Li and Ma, each the responsible consultant of an owner born today;
    an ungraded owner born today; a first-maintenance call given to nobody. Li logged in."""
    with seeded():
        li = make_staff("sales_consultant", dealers["SZ01"])
        ma = make_staff("sales_consultant", dealers["SZ01"])
        ids = {"li": li.id, "ma": ma.id, "li_mobile": li.mobile}
        for name, consultant in (("Gao Yan", li), ("Hu Bo", ma), ("Xu Fei", None)):
            owner = make_owner(dealers["SZ01"], name=name, birthday=BIRTHDAY)
            car = make_car(owner, purchased_on=date(2024, 3, 1))
            if consultant is not None:
                grade_owner(consultant, owner.id, grade="A", reason="Loyal", now=NOW - timedelta(1))
            ids[name] = owner.id
        db.session.add(
            CareTask(
                dealer_id=dealers["SZ01"],
                member_id=ids["Gao Yan"],
                vehicle_id=car.id,
                kind="first_maintenance",
                due_on=NOW.date(),
                status="open",
                created_at=NOW,
            )
        )
    with app.app_context():
        run_daily()
        tasks = db.session.execute(
            select(CareTask.member_id, CareTask.id).where(CareTask.kind == "birthday")
        ).all()
        ids["tasks"] = {member_id: task_id for member_id, task_id in tasks}
        ids["first"] = db.session.scalar(
            select(CareTask.id).where(CareTask.kind == "first_maintenance")
        )
    client = app.test_client()
    login(client, ids["li_mobile"])
    ids["client"] = client
    return ids


def _task(app, task_id) -> CareTask:
    with app.app_context():
        return db.session.get(CareTask, task_id)


def _sms(app, member_id) -> str:
    with app.app_context():
        return db.session.scalar(
            select(OutboxMessage.status).where(
                OutboxMessage.member_id == member_id, OutboxMessage.channel == "sms"
            )
        )


def test_the_consultant_sees_their_own_birthday_call_only(calls):
    client = calls["client"]
    page = client.get("/admin/care/my-calls").get_data(as_text=True)
    assert "Gao Yan" in page
    assert "Hu Bo" not in page  # Ma's
    assert "Xu Fei" not in page  # nobody's
    assert "First maintenance" not in page  # another kind, given to nobody
    assert client.get(f"/admin/care/my-calls/{calls['tasks'][calls['Hu Bo']]}").status_code == 404
    assert client.get(f"/admin/care/my-calls/{calls['tasks'][calls['Xu Fei']]}").status_code == 404
    assert client.get(f"/admin/care/my-calls/{calls['first']}").status_code == 404
    # The care desk stays closed to consultants.
    assert client.get("/admin/care/tasks").status_code == 403
    assert client.get(f"/admin/care/tasks/{calls['tasks'][calls['Gao Yan']]}").status_code == 403


def test_the_desk_tile_leads_to_my_calls_and_counts_the_birthdays(calls):
    desk = calls["client"].get("/admin/").get_data(as_text=True)
    assert "My calls" in desk
    assert "1 birthday today: call within two hours of opening" in desk
    assert "Owners to call today" not in desk


def test_the_care_desks_tile_says_how_many_birthdays_to_call_today(calls, staff_factory, clock):
    desk = staff_factory("care_agent", "SZ01").get("/admin/").get_data(as_text=True)
    assert desk.count("Owners to call today") == 1
    assert "3 birthdays today: call within two hours of opening" in desk
    assert "My calls" not in desk  # nothing given to this agent
    clock.advance(days=1)  # yesterday's birthdays are no longer today's
    desk = staff_factory("care_agent", "SZ01").get("/admin/").get_data(as_text=True)
    assert "birthdays today" not in desk and "Owners to call today" in desk


def test_reaching_the_owner_withdraws_the_birthday_sms(app, calls):
    client = calls["client"]
    task_id = calls["tasks"][calls["Gao Yan"]]
    page = client.get(f"/admin/care/my-calls/{task_id}").get_data(as_text=True)
    assert "Birthday call script" in page
    assert "10:45" in page  # when the SMS goes unless the owner is reached
    form = {"reached": "yes", "note": "Happy", "idempotency_key": "k" * 20}
    response = client.post(f"/admin/care/my-calls/{task_id}", data=form)
    assert response.headers["Location"] == "/admin/care/my-calls"
    assert client.post(f"/admin/care/my-calls/{task_id}", data=form).status_code == 302
    task = _task(app, task_id)
    assert (task.status, task.assigned_to_id) == ("reached", calls["li"])
    assert _sms(app, calls["Gao Yan"]) == "skipped"
    assert "Gao Yan" not in client.get("/admin/care/my-calls").get_data(as_text=True)


def test_not_reaching_the_owner_sends_the_sms_at_once(app, calls):
    task_id = calls["tasks"][calls["Gao Yan"]]
    calls["client"].post(f"/admin/care/my-calls/{task_id}", data={"reached": "no"})
    assert _task(app, task_id).status == "sms_sent"
    assert _sms(app, calls["Gao Yan"]) == "pending"


def test_a_post_without_an_outcome_or_on_anothers_task_changes_nothing(app, calls):
    client = calls["client"]
    own, other = calls["tasks"][calls["Gao Yan"]], calls["tasks"][calls["Hu Bo"]]
    response = client.post(f"/admin/care/my-calls/{own}", data={"reached": "maybe"})
    assert response.status_code == 302
    assert client.post(f"/admin/care/my-calls/{other}", data={"reached": "yes"}).status_code == 404
    assert (_task(app, own).status, _task(app, other).status) == ("open", "open")


def test_the_service_refuses_another_staff_members_task_and_another_dealers(app, calls, dealers):
    with app.app_context(), app.test_request_context():
        li = db.session.get(User, calls["li"])
        with pytest.raises(NotFound):
            record_call(li, calls["tasks"][calls["Hu Bo"]], reached=True)
        # Moved to another dealer, the consultant no longer reaches SZ01's owners.
        li.dealer_id = dealers["GZ01"]
        with pytest.raises(NotFound):
            get_own_task(li, calls["tasks"][calls["Gao Yan"]])


def test_a_birthday_call_past_its_two_hours_is_marked_overdue(calls, clock):
    client = calls["client"]
    page = client.get("/admin/care/my-calls").get_data(as_text=True)
    assert "Call by" in page and "Overdue" not in page
    clock.advance(hours=3)
    page = client.get("/admin/care/my-calls").get_data(as_text=True)
    assert '<span class="badge badge-warn">Overdue</span>' in page
