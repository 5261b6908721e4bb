"""After-visit pages (issue 20): the owner answers the questionnaire and follows a complaint on
their phone, once per tap; staff handle the case; nobody sees another owner's or dealer's case;
bad input gets a message, never a 500."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.care.followups.models import CaseStatus, ComplaintCase, SurveyStatus, VisitSurvey
from app.care.models import CareTask
from app.extensions import db
from tests.conftest import login
from tests.factories import make_member, make_staff, make_vehicle, record_car_visit


@pytest.fixture
def visit(seeded, member):
    """A visit of the ``member`` fixture's car two days ago (a questionnaire waits): its id."""
    with seeded():
        from app.members.models import Vehicle

        car = db.session.get(Vehicle, member["vehicle_id"])
        return record_car_visit(car, "RO-V1", date(2026, 11, 21)).visit.id


@pytest.fixture
def other_owner(app, seeded, dealers):
    """A logged-in client of another owner of SZ01."""
    with seeded():
        mobile = make_member(dealers["SZ01"], name="Nosy Neighbour").user.mobile
    client = app.test_client()
    login(client, mobile)
    return client


def _case(app) -> ComplaintCase:
    with app.app_context():
        return db.session.scalar(select(ComplaintCase))


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


KEY = "followup-key-0000000001"


def test_the_owner_rates_a_visit_from_home_and_a_low_score_opens_a_case(app, member_client, visit):
    home = member_client.get("/").get_data(as_text=True)
    assert f"/me/visits/{visit}/questionnaire" in home
    page = member_client.get(f"/me/visits/{visit}/questionnaire").get_data(as_text=True)
    assert "How likely are you to recommend us to a friend?" in page
    answer = {"score": "4", "advisor_rating": "", "comment": "Nobody told me the price"}
    first = member_client.post(
        f"/me/visits/{visit}/questionnaire", data={**answer, "idempotency_key": KEY}
    )
    case = _case(app)
    assert first.status_code == 302
    assert first.headers["Location"] == f"/me/complaints/{case.id}"
    # A double tap replays the first answer; a later answer with a new form changes nothing.
    again = member_client.post(
        f"/me/visits/{visit}/questionnaire", data={**answer, "idempotency_key": KEY}
    )
    assert again.headers["Location"] == first.headers["Location"]
    later = member_client.post(f"/me/visits/{visit}/questionnaire", data={"score": "10"})
    assert later.status_code == 302
    with app.app_context():
        survey = db.session.scalar(select(VisitSurvey))
        assert (survey.status, survey.score, survey.advisor_rating) == (
            SurveyStatus.ANSWERED,
            4,
            None,
        )
    assert _count(app, ComplaintCase) == 1
    shown = member_client.get(f"/me/complaints/{case.id}").get_data(as_text=True)
    assert "Nobody told me the price" in shown
    assert "Received" in shown
    answered = member_client.get(f"/me/visits/{visit}/questionnaire").get_data(as_text=True)
    assert "4 of 10" in answered


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"score": "abc"},
        {"score": "11"},
        {"score": "1e1"},
        {"score": "99999999999999999999999"},
        {"score": "5", "advisor_rating": "9"},
        {"score": "5", "comment": "x" * 1001},
    ],
)
def test_a_bad_answer_shows_the_form_again_with_a_message(app, member_client, visit, data):
    response = member_client.post(f"/me/visits/{visit}/questionnaire", data=data)
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(VisitSurvey.status)) == SurveyStatus.PENDING


def test_another_owners_questionnaire_and_complaint_are_not_found(app, other_owner, visit):
    assert other_owner.get(f"/me/visits/{visit}/questionnaire").status_code == 404
    assert (
        other_owner.post(f"/me/visits/{visit}/questionnaire", data={"score": "9"}).status_code
        == 404
    )
    assert (
        other_owner.post("/me/complaints/new", data={"text": "x", "visit_id": visit}).status_code
        == 422
    )
    assert _count(app, ComplaintCase) == 0


def test_the_owner_raises_a_complaint_once_per_tap(app, member_client, visit):
    form = member_client.get(f"/me/complaints/new?visit={visit}").get_data(as_text=True)
    assert f'<option selected value="{visit}">' in form or f'value="{visit}" selected' in form
    data = {"text": "The wash was skipped", "visit_id": str(visit), "idempotency_key": KEY}
    first = member_client.post("/me/complaints/new", data=data)
    second = member_client.post("/me/complaints/new", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(app, ComplaintCase) == 1
    # The same key with other words: refused, nothing changes.
    other = member_client.post("/me/complaints/new", data={**data, "text": "Different"})
    assert other.status_code == 409
    assert _count(app, ComplaintCase) == 1


@pytest.mark.parametrize(
    "data",
    [
        {"text": ""},
        {"text": "x" * 1001},
        {"text": "Hm", "visit_id": "99999999999999999999999"},
        {"text": "Hm", "visit_id": "abc"},
    ],
)
def test_a_bad_complaint_shows_the_form_again(app, member_client, visit, data):
    response = member_client.post("/me/complaints/new", data=data)
    assert response.status_code == 422
    assert _count(app, ComplaintCase) == 0


def test_the_owner_follows_the_status_and_the_deadline_of_their_complaint(
    app, member_client, staff_factory
):
    member_client.post("/me/complaints/new", data={"text": "Scratch on the door"})
    case = _case(app)
    page = member_client.get(f"/me/complaints/{case.id}").get_data(as_text=True)
    assert "Received" in page and "Answer by" in page and "26/11/2026, 10:00" in page
    agent = staff_factory("care_agent", "SZ01")
    agent.post(f"/admin/care/complaints/{case.id}/notes", data={"body": "Photos asked for"})
    page = member_client.get(f"/me/complaints/{case.id}").get_data(as_text=True)
    assert "Being handled" in page and "Photos asked for" not in page
    feedback = member_client.get("/me/feedback").get_data(as_text=True)
    assert "Being handled" in feedback


def test_staff_resolve_and_the_owner_confirms(app, member_client, staff_factory, visit):
    member_client.post("/me/complaints/new", data={"text": "Oil leak after the service"})
    case = _case(app)
    agent = staff_factory("care_agent", "SZ01")
    listed = agent.get("/admin/care/complaints").get_data(as_text=True)
    assert "Zhang Wei" in listed
    page = agent.get(f"/admin/care/complaints/{case.id}").get_data(as_text=True)
    assert "Oil leak after the service" in page
    assert (
        agent.post(
            f"/admin/care/complaints/{case.id}/notes", data={"body": "Booked a check"}
        ).status_code
        == 302
    )
    assert agent.post(f"/admin/care/complaints/{case.id}/resolve", data={}).status_code == 422
    done = agent.post(
        f"/admin/care/complaints/{case.id}/resolve", data={"resolution": "Seal replaced, free."}
    )
    assert done.status_code == 302
    owner_page = member_client.get(f"/me/complaints/{case.id}").get_data(as_text=True)
    assert "Seal replaced, free." in owner_page
    assert "Booked a check" not in owner_page  # staff notes are for staff
    assert "Yes, it is settled" in owner_page
    assert "See the complaint" in member_client.get("/me/inbox").get_data(as_text=True)
    member_client.post(f"/me/complaints/{case.id}/confirm")
    assert _case(app).status == CaseStatus.CONFIRMED
    again = member_client.post(f"/me/complaints/{case.id}/confirm", follow_redirects=True)
    assert again.status_code == 200
    assert _case(app).status == CaseStatus.CONFIRMED


def test_the_owner_reopens_an_unsettled_case(app, member_client, staff_factory, visit):
    member_client.post("/me/complaints/new", data={"text": "Noise from the brakes"})
    case = _case(app)
    agent = staff_factory("care_agent", "SZ01")
    agent.post(f"/admin/care/complaints/{case.id}/resolve", data={"resolution": "Checked."})
    reopened = member_client.post(
        f"/me/complaints/{case.id}/reopen", data={"reason": "Still squeaks"}
    )
    assert reopened.status_code == 302
    assert _case(app).status == CaseStatus.REOPENED
    assert "Still squeaks" in agent.get(f"/admin/care/complaints/{case.id}").get_data(as_text=True)
    too_long = member_client.post(f"/me/complaints/{case.id}/reopen", data={"reason": "x" * 1001})
    assert too_long.status_code == 302


def test_another_dealers_staff_get_404_and_hq_sees_the_case(app, member_client, staff_factory):
    member_client.post("/me/complaints/new", data={"text": "Rude staff"})
    case = _case(app)
    gz = staff_factory("care_agent", "GZ01")
    assert gz.get(f"/admin/care/complaints/{case.id}").status_code == 404
    assert (
        gz.post(f"/admin/care/complaints/{case.id}/resolve", data={"resolution": "x"}).status_code
        == 404
    )
    assert "Zhang Wei" not in gz.get("/admin/care/complaints").get_data(as_text=True)
    hq = staff_factory("hq_admin", None)
    assert "Rude staff" in hq.get(f"/admin/care/complaints/{case.id}").get_data(as_text=True)
    assert "Zhang Wei" in hq.get("/admin/care/complaints").get_data(as_text=True)
    assert hq.get("/admin/care/complaints?dealer=99999").status_code == 404
    sales = staff_factory("sales_consultant", "SZ01")
    assert sales.get(f"/admin/care/complaints/{case.id}").status_code == 403


def test_assigning_takes_only_the_dealers_complaint_handlers(
    app, member_client, staff_factory, seeded, dealers
):
    member_client.post("/me/complaints/new", data={"text": "Late"})
    case = _case(app)
    with seeded():
        gz_agent = make_staff("care_agent", dealers["GZ01"]).id
    admin = staff_factory("dealer_admin", "SZ01")
    refused = admin.post(
        f"/admin/care/complaints/{case.id}/assign", data={"assignee_id": str(gz_agent)}
    )
    assert refused.status_code == 422
    assert "Choose someone of this dealer" in refused.get_data(as_text=True)
    huge = admin.post(f"/admin/care/complaints/{case.id}/assign", data={"assignee_id": "9" * 30})
    assert huge.status_code == 422
    assert _case(app).assignee_id is None


def test_a_callback_past_its_deadline_is_marked_overdue_in_the_list(
    app, staff_factory, visit, clock
):
    agent = staff_factory("care_agent", "SZ01")
    listed = agent.get("/admin/care/tasks").get_data(as_text=True)
    assert "Call by" in listed and "Overdue" not in listed
    clock.advance(hours=49)  # the 48-hour callback was not made
    listed = agent.get("/admin/care/tasks").get_data(as_text=True)
    assert "Call by" in listed and '<span class="badge badge-warn">Overdue</span>' in listed


def test_the_callback_page_logs_an_unhappy_owner_and_opens_a_case(app, staff_factory, visit):
    agent = staff_factory("care_agent", "SZ01")
    with app.app_context():
        task_id = db.session.scalar(select(CareTask.id).where(CareTask.visit_id == visit))
    listed = agent.get("/admin/care/tasks").get_data(as_text=True)
    assert "After a visit" in listed and "Call by" in listed
    page = agent.get(f"/admin/care/tasks/{task_id}").get_data(as_text=True)
    assert "Reached: not satisfied" in page and "RO-V1" in page
    assert agent.post(f"/admin/care/tasks/{task_id}/followup-call", data={}).status_code == 302
    logged = agent.post(
        f"/admin/care/tasks/{task_id}/followup-call",
        data={"outcome": "unsatisfied", "note": "Price higher than quoted"},
    )
    assert logged.headers["Location"] == "/admin/care/tasks"
    case = _case(app)
    assert case.description == "Price higher than quoted"
    twice = agent.post(f"/admin/care/tasks/{task_id}/followup-call", data={"outcome": "satisfied"})
    assert twice.status_code == 302
    assert _count(app, ComplaintCase) == 1
    gz = staff_factory("care_agent", "GZ01")
    assert (
        gz.post(
            f"/admin/care/tasks/{task_id}/followup-call", data={"outcome": "satisfied"}
        ).status_code
        == 404
    )


def test_the_desk_tile_counts_the_complaints_to_handle(app, member_client, staff_factory):
    member_client.post("/me/complaints/new", data={"text": "Late"})
    desk = staff_factory("care_agent", "SZ01").get("/admin/").get_data(as_text=True)
    assert "Complaints" in desk and "1 to handle" in desk
    seller = staff_factory("sales_consultant", "SZ01").get("/admin/").get_data(as_text=True)
    assert "/admin/care/complaints" not in seller


def test_the_car_page_links_each_visit_to_its_questionnaire_and_a_complaint(
    member_client, member, visit
):
    page = member_client.get(f"/me/vehicles/{member['vehicle_id']}").get_data(as_text=True)
    assert "Rate this visit" in page
    assert f"/me/complaints/new?visit={visit}" in page
    feedback = member_client.get("/me/feedback").get_data(as_text=True)
    assert "Rate it" in feedback and "No complaints." in feedback
    assert "Rate the visit" in member_client.get("/me/inbox").get_data(as_text=True)


def test_feedback_pages_need_an_owner(client, staff_client, visit):
    assert client.get("/me/feedback").status_code == 302
    assert staff_client.get("/me/feedback").status_code == 403


def test_the_cli_says_how_many_complaints_it_escalated(app):
    result = app.test_cli_runner().invoke(args=["care", "run-daily"])
    assert "escalated 0 overdue complaints" in result.output


def test_another_owners_car_gets_no_questionnaire_links(app, seeded, dealers, other_owner, visit):
    with seeded():
        car = make_vehicle(make_member(dealers["SZ01"], name="Car Owner"))
        car_id = car.id
    assert other_owner.get(f"/me/vehicles/{car_id}").status_code == 404


def test_the_dealer_admin_finds_an_escalated_complaint_on_their_desk(
    app, member_client, staff_factory, clock
):
    member_client.post("/me/complaints/new", data={"text": "Nobody called back"})
    admin = staff_factory("dealer_admin", "SZ01")
    assert "Notices" not in admin.get("/admin/").get_data(as_text=True)
    clock.advance(days=3, hours=1)
    runner = app.test_cli_runner()
    for _ in range(2):  # a rerun tells nobody twice
        runner.invoke(args=["care", "run-daily"])
    desk = admin.get("/admin/").get_data(as_text=True)
    assert "Notices" in desk and "1 new: handed to you to see to" in desk
    notices = admin.get("/admin/notices").get_data(as_text=True)
    assert notices.count("Zhang Wei") == 2  # the title and the body, once
    assert f'href="/admin/care/complaints/{_case(app).id}"' in notices
    assert "1 new" not in admin.get("/admin/").get_data(as_text=True)  # read now
    seller = staff_factory("sales_consultant", "SZ01")
    assert "No notices yet." in seller.get("/admin/notices").get_data(as_text=True)
