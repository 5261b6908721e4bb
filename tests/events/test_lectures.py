"""Owner lectures: the evaluation form once after the lecture, questions answered in 48 hours."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import AuditEntry
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.events import lectures, services
from app.events.models import EventKind, LectureEvaluation, LectureQuestion
from app.extensions import db
from app.members.models import Member, Notification
from tests.conftest import login
from tests.factories import make_member, make_staff


def make_lecture(staff, clock, **overrides):
    """A lecture in two days (two hours long); sign-up is open now."""
    now = clock.now()
    fields = {
        "kind": EventKind.LECTURE,
        "title": "Winter driving and tyres",
        "place": "Showroom",
        "starts_at": now + timedelta(days=2),
        "ends_at": now + timedelta(days=2, hours=2),
        "registration_opens_at": now - timedelta(days=1),
        "registration_closes_at": now + timedelta(days=1),
        "capacity": 40,
        **overrides,
    }
    return services.create_event(staff, **fields)


def _count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


# ------------------------------------------------------------------------------ services


@pytest.fixture
def staff(ctx, dealers):
    return make_staff("event_staff", dealers["SZ01"])


@pytest.fixture
def lecture(staff, clock):
    return make_lecture(staff, clock)


def test_an_attendee_evaluates_once_after_the_lecture_ends(dealers, lecture, clock):
    owner = make_member(dealers["SZ01"], name="Zhang Wei")
    seat = services.sign_up(owner, lecture.id)
    with pytest.raises(Conflict, match="opens when the lecture ends"):
        lectures.submit_evaluation(owner, seat.id, rating=5)

    clock.advance(days=2, hours=2)
    sent = lectures.submit_evaluation(
        owner,
        seat.id,
        rating=4,
        comments=" Clear and practical. ",
        questions=["Do I need winter tyres in Shenzhen?", "  ", "How deep should the tread be?"],
    )
    assert sent.rating == 4 and sent.comments == "Clear and practical."
    assert [q.text for q in sent.questions] == [
        "Do I need winter tyres in Shenzhen?",
        "How deep should the tread be?",
    ]
    assert all(q.asked_at == clock.now() and q.answer is None for q in sent.questions)

    with pytest.raises(Conflict, match="already sent"):
        lectures.submit_evaluation(owner, seat.id, rating=1, questions=["Again?"])
    assert _count(LectureEvaluation) == 1
    assert _count(LectureQuestion) == 2


def test_only_owners_with_a_confirmed_seat_evaluate(dealers, lecture, clock):
    cancelled_owner = make_member(dealers["SZ01"], name="Cancelled")
    cancelled = services.sign_up(cancelled_owner, lecture.id)
    services.cancel_registration(cancelled_owner, cancelled.id)
    stranger = make_member(dealers["SZ01"], name="Stranger")
    clock.advance(days=3)

    with pytest.raises(Conflict, match="confirmed seat"):
        lectures.submit_evaluation(cancelled_owner, cancelled.id, rating=5)
    # Someone else's ticket is not theirs to evaluate.
    with pytest.raises(NotFound):
        lectures.submit_evaluation(stranger, cancelled.id, rating=5)
    assert _count(LectureEvaluation) == 0


@pytest.mark.parametrize("rating", [0, 6, None])
def test_a_rating_out_of_range_is_refused_and_nothing_is_saved(dealers, lecture, clock, rating):
    owner = make_member(dealers["SZ01"])
    seat = services.sign_up(owner, lecture.id)
    clock.advance(days=3)
    with pytest.raises(ValidationFailed, match="from 1 to 5") as refused:
        lectures.submit_evaluation(owner, seat.id, rating=rating, questions=["A question?"])
    assert refused.value.field == "rating"
    assert _count(LectureEvaluation) == 0
    assert _count(LectureQuestion) == 0


def test_more_than_three_questions_are_refused(dealers, lecture, clock):
    owner = make_member(dealers["SZ01"])
    seat = services.sign_up(owner, lecture.id)
    clock.advance(days=3)
    with pytest.raises(ValidationFailed, match="up to 3 questions"):
        lectures.submit_evaluation(owner, seat.id, rating=3, questions=["a", "b", "c", "d"])
    assert _count(LectureEvaluation) == 0


def test_a_question_is_overdue_from_48_hours_until_it_is_answered(staff, dealers, lecture, clock):
    owner = make_member(dealers["SZ01"])
    seat = services.sign_up(owner, lecture.id)
    clock.advance(days=3)
    (question,) = lectures.submit_evaluation(owner, seat.id, rating=5, questions=["Why?"]).questions

    clock.advance(hours=47, minutes=59)
    assert not lectures.is_overdue(question)
    assert lectures.overdue_count(lecture) == 0
    clock.advance(minutes=1)
    assert lectures.is_overdue(question)
    assert lectures.overdue_count(lecture) == 1
    assert db.session.scalars(lectures.overdue_questions_query(staff)).all() == [question]

    lectures.answer_question(staff, lecture.id, question.id, "Because.")
    assert lectures.overdue_count(lecture) == 0
    assert lectures.answered_late(question)
    with pytest.raises(Conflict, match="already been answered"):
        lectures.answer_question(staff, lecture.id, question.id, "Again.")


def test_an_empty_answer_is_refused(staff, dealers, lecture, clock):
    owner = make_member(dealers["SZ01"])
    seat = services.sign_up(owner, lecture.id)
    clock.advance(days=3)
    (question,) = lectures.submit_evaluation(owner, seat.id, rating=5, questions=["Why?"]).questions
    with pytest.raises(ValidationFailed, match="Write the answer") as refused:
        lectures.answer_question(staff, lecture.id, question.id, "   ")
    assert refused.value.field == "answer"
    assert question.answered_at is None
    assert _count(Notification) == 0


# --------------------------------------------------------------------------------- pages


@pytest.fixture
def seat(app, seeded, dealers, member, clock):
    """``member`` holds a confirmed seat at a lecture of SZ01: its ids."""
    with seeded():
        staff = make_staff("event_staff", dealers["SZ01"])
        event = make_lecture(staff, clock)
        owner = db.session.get(User, member["user_id"]).member
        registration = services.sign_up(owner, event.id)
        return {"event_id": event.id, "registration_id": registration.id}


def _page(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _evaluate(client, registration_id, **data):
    form = {"rating": "4", "comments": "", "question_1": "", "question_2": "", "question_3": ""}
    return client.post(f"/me/tickets/{registration_id}/evaluation", data={**form, **data})


def _question_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(LectureQuestion.id).order_by(LectureQuestion.id.desc()))


def test_the_form_opens_when_the_lecture_ends_and_is_sent_once(app, member_client, seat, clock):
    path = f"/me/tickets/{seat['registration_id']}/evaluation"
    early = _page(member_client, path)
    assert "opens when the lecture ends" in early
    assert 'name="rating"' not in early
    assert "opens when the lecture ends" in _evaluate(
        member_client, seat["registration_id"]
    ).get_data(as_text=True)

    clock.advance(days=2, hours=2)
    assert 'name="rating"' in _page(member_client, path)
    response = _evaluate(
        member_client, seat["registration_id"], question_1="Is snow chain use allowed?"
    )
    assert response.status_code == 302
    page = _page(member_client, path)
    assert "Rating: 4 of 5" in page
    assert "Is snow chain use allowed?" in page
    assert "Waiting for an answer" in page
    assert 'name="rating"' not in page

    again = _evaluate(member_client, seat["registration_id"], rating="1")
    assert "already sent your evaluation" in again.get_data(as_text=True)
    with app.app_context():
        assert _count(LectureEvaluation) == 1
        assert db.session.scalar(select(LectureEvaluation.rating)) == 4


@pytest.mark.parametrize("rating", ["7", "0", "", "five"])
def test_a_bad_rating_is_shown_next_to_the_rating_and_saves_nothing(
    app, member_client, seat, clock, rating
):
    clock.advance(days=3)
    response = _evaluate(member_client, seat["registration_id"], rating=rating, question_1="Why?")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="rating-error"' in html and "Give a rating from 1 to 5." in html
    with app.app_context():
        assert _count(LectureEvaluation) == 0
        assert _count(LectureQuestion) == 0


def test_an_owner_cannot_open_someone_elses_evaluation(app, seeded, dealers, seat, clock):
    with seeded():
        other = make_member(dealers["SZ01"], name="Other Owner")
        mobile = other.user.mobile
    client = app.test_client()
    login(client, mobile)
    clock.advance(days=3)
    assert client.get(f"/me/tickets/{seat['registration_id']}/evaluation").status_code == 404
    assert _evaluate(client, seat["registration_id"]).status_code == 404
    with app.app_context():
        assert _count(LectureEvaluation) == 0


def test_staff_answer_and_the_owner_sees_it_on_the_phone_and_in_the_inbox(
    app, member_client, staff_factory, seat, clock
):
    clock.advance(days=2, hours=3)
    _evaluate(member_client, seat["registration_id"], question_1="Which oil for winter?")
    question_id = _question_id(app)
    advisor = staff_factory("service_advisor", "SZ01")

    questions_path = f"/admin/events/{seat['event_id']}/questions"
    staff_page = _page(advisor, questions_path)
    assert "Which oil for winter?" in staff_page
    assert "<strong>1</strong> evaluation" in staff_page

    empty = advisor.post(f"{questions_path}/{question_id}", data={f"q{question_id}-answer": " "})
    assert empty.status_code == 200
    assert "Write the answer." in empty.get_data(as_text=True)

    response = advisor.post(
        f"{questions_path}/{question_id}", data={f"q{question_id}-answer": "0W-20 is fine."}
    )
    assert response.status_code == 302
    assert "0W-20 is fine." in _page(advisor, questions_path)

    twice = advisor.post(
        f"{questions_path}/{question_id}", data={f"q{question_id}-answer": "Or 5W-30."}
    )
    assert twice.status_code == 302
    assert "already been answered" in _page(advisor, questions_path)

    page = _page(member_client, f"/me/tickets/{seat['registration_id']}/evaluation")
    assert "0W-20 is fine." in page
    assert "Or 5W-30." not in page
    assert "Waiting for an answer" not in page
    inbox = _page(member_client, "/me/inbox")
    # In the owner's language: Chinese unless they chose English.
    assert "“Winter driving and tyres”" in inbox
    with app.app_context():
        (message,) = db.session.scalars(select(Notification)).all()
    assert message.kind == "lecture_answer"
    assert "0W-20 is fine." in inbox
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.id)).where(
                    AuditEntry.action == "lecture.question_answered"
                )
            )
            == 1
        )


def test_an_unanswered_question_is_listed_as_overdue_from_48_hours(
    app, member_client, staff_factory, seat, clock
):
    clock.advance(days=3)
    _evaluate(member_client, seat["registration_id"], question_1="Tyre pressure in winter?")
    staff = staff_factory("event_staff", "SZ01")

    clock.advance(hours=47)
    overdue = _page(staff, "/admin/events/questions/overdue")
    assert "Tyre pressure in winter?" not in overdue
    assert "No overdue questions" in overdue
    assert "have waited 48 hours" not in _page(staff, f"/admin/events/{seat['event_id']}/questions")

    clock.advance(hours=1)
    overdue = _page(staff, "/admin/events/questions/overdue")
    assert "Tyre pressure in winter?" in overdue
    assert "1 overdue question" in overdue
    questions = _page(staff, f"/admin/events/{seat['event_id']}/questions")
    assert "1 question has waited 48 hours or more for an answer." in questions


def test_overdue_questions_are_listed_oldest_first(app, seeded, dealers, staff_factory, clock):
    with seeded():
        organiser = make_staff("event_staff", dealers["SZ01"])
        first = make_lecture(organiser, clock, title="First lecture")
        second = make_lecture(organiser, clock, title="Second lecture")
        owners = [make_member(dealers["SZ01"], name=n) for n in ("A", "B")]
        seats = [
            (owners[0].id, services.sign_up(owners[0], first.id).id),
            (owners[1].id, services.sign_up(owners[1], second.id).id),
        ]

    def ask(seat, text):
        with seeded():
            owner = db.session.get(Member, seat[0])
            lectures.submit_evaluation(owner, seat[1], rating=3, questions=[text])

    clock.advance(days=3)
    ask(seats[1], "Older?")
    clock.advance(hours=5)
    ask(seats[0], "Newer?")
    clock.advance(days=3)
    page = _page(staff_factory("dealer_admin", "SZ01"), "/admin/events/questions/overdue")
    assert "2 overdue questions" in page
    assert page.index("Older?") < page.index("Newer?")


def test_another_dealers_staff_cannot_see_or_answer_the_questions(
    app, member_client, staff_factory, seat, clock
):
    clock.advance(days=3)
    _evaluate(member_client, seat["registration_id"], question_1="A Shenzhen question?")
    question_id = _question_id(app)
    clock.advance(days=3)
    gz = staff_factory("dealer_admin", "GZ01")
    path = f"/admin/events/{seat['event_id']}/questions"
    assert gz.get(path).status_code == 404
    answer = gz.post(f"{path}/{question_id}", data={f"q{question_id}-answer": "Not yours."})
    assert answer.status_code == 404
    assert "A Shenzhen question?" not in _page(gz, "/admin/events/questions/overdue")
    with app.app_context():
        assert db.session.get(LectureQuestion, question_id).answered_at is None
        assert _count(Notification) == 0
    # HQ sees every dealer's overdue questions.
    assert "A Shenzhen question?" in _page(
        staff_factory("hq_admin", None), "/admin/events/questions/overdue"
    )


def test_a_question_is_answered_only_on_its_own_lectures_page(
    app, seeded, dealers, member_client, staff_factory, seat, clock
):
    with seeded():
        other = make_lecture(make_staff("event_staff", dealers["SZ01"]), clock, title="Other")
        other_id = other.id
    clock.advance(days=3)
    _evaluate(member_client, seat["registration_id"], question_1="Mine?")
    question_id = _question_id(app)
    staff = staff_factory("event_staff", "SZ01")
    response = staff.post(
        f"/admin/events/{other_id}/questions/{question_id}",
        data={f"q{question_id}-answer": "Wrong page."},
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(LectureQuestion, question_id).answered_at is None


def test_the_question_pages_are_for_staff_only(member_client, seat):
    assert member_client.get(f"/admin/events/{seat['event_id']}/questions").status_code == 403
    assert member_client.get("/admin/events/questions/overdue").status_code == 403
