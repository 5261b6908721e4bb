"""After every visit (issue 20, seed 002): a counted visit starts a callback due within 48 hours
and a questionnaire; a refund stops both; the agent's list puts VIP owners first; the callback
records whether the owner was satisfied; the questionnaire is answered once and a low score
opens a complaint case. Dates through the clock."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.care.followups.models import (
    CaseSource,
    CaseStatus,
    ComplaintCase,
    SurveyStatus,
    VisitSurvey,
)
from app.care.followups.surveys import answer_survey
from app.care.followups.visits import FOLLOWUP, record_followup_call
from app.care.models import CareCall, CareTask
from app.care.tasks import TaskStatus, tasks_to_call
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.loyalty.services import account_for
from app.members.models import Notification, OutboxMessage
from app.service.services import refund_visit
from tests.conftest import NOW
from tests.factories import make_member, make_staff, make_vehicle, record_car_visit

VISIT_DAY = date(2026, 11, 22)  # NOW is 2026-11-23 10:00 in Shanghai


@pytest.fixture
def owner(seeded, dealers):
    """An owner of SZ01 with a car, and a care agent of SZ01: ids."""
    with seeded():
        member = make_member(dealers["SZ01"], name="Wu Hao")
        car = make_vehicle(member)
        agent = make_staff("care_agent", dealers["SZ01"])
        return {"member_id": member.id, "vehicle_id": car.id, "agent_id": agent.id}


def _visit(ro: str, member_id: int, day: date = VISIT_DAY):
    from app.members.models import Member

    member = db.session.get(Member, member_id)
    return record_car_visit(member.vehicles[0], ro, day)


def _agent(ids):
    from app.auth.models import User

    return db.session.get(User, ids["agent_id"])


def _member(ids):
    from app.members.models import Member

    return db.session.get(Member, ids["member_id"])


def test_a_recorded_visit_starts_a_callback_within_48_hours_and_a_questionnaire(ctx, owner):
    visit = _visit("RO-F1", owner["member_id"]).visit
    task = ctx.scalar(select(CareTask).where(CareTask.visit_id == visit.id))
    assert task.kind == FOLLOWUP and task.status == TaskStatus.OPEN
    assert task.deadline_at == NOW + timedelta(hours=48)
    assert task.due_on == date(2026, 11, 23)
    survey = ctx.scalar(select(VisitSurvey).where(VisitSurvey.visit_id == visit.id))
    assert survey.status == SurveyStatus.PENDING and survey.member_id == owner["member_id"]
    invitation = ctx.scalar(
        select(Notification).where(Notification.dedupe_key == f"visit-survey:{visit.id}")
    )
    assert invitation.kind == "visit_survey"
    # The invitation stays in the app: no e-mail or SMS for a questionnaire.
    channels = ctx.scalars(
        select(OutboxMessage.channel).where(OutboxMessage.dedupe_key.startswith("visit-survey:"))
    ).all()
    assert channels == ["in_app"]


def test_replaying_the_repair_order_starts_nothing_twice(ctx, owner):
    _visit("RO-F1", owner["member_id"])
    again = _visit("RO-F1", owner["member_id"])
    assert again.created is False
    assert ctx.scalar(select(func.count(CareTask.id)).where(CareTask.kind == FOLLOWUP)) == 1
    assert ctx.scalar(select(func.count(VisitSurvey.id))) == 1


def test_a_visit_recorded_more_than_a_week_late_gets_neither(ctx, owner):
    _visit("RO-OLD", owner["member_id"], date(2026, 11, 15))
    _visit("RO-WEEK", owner["member_id"], date(2026, 11, 16))
    ro = ctx.scalars(
        select(VisitSurvey.visit_id).join(CareTask, CareTask.visit_id == VisitSurvey.visit_id)
    ).all()
    assert len(ro) == 1  # 16 Nov is 7 days before the 23rd: still in


def test_the_callback_window_is_configurable(app, ctx, owner):
    app.config["CARE_FOLLOWUP_HOURS"] = 24
    visit = _visit("RO-F1", owner["member_id"]).visit
    task = ctx.scalar(select(CareTask).where(CareTask.visit_id == visit.id))
    assert task.deadline_at == NOW + timedelta(hours=24)


def test_a_refund_closes_the_callback_and_withdraws_the_questionnaire(ctx, owner):
    visit = _visit("RO-F1", owner["member_id"]).visit
    refund_visit(None, dealer_id=visit.dealer_id, ro_number="RO-F1")
    task = ctx.scalar(select(CareTask).where(CareTask.visit_id == visit.id))
    survey = ctx.scalar(select(VisitSurvey).where(VisitSurvey.visit_id == visit.id))
    assert task.status == TaskStatus.CLOSED
    assert survey.status == SurveyStatus.CANCELLED
    with pytest.raises(Conflict, match="refunded"):
        answer_survey(_member(owner), visit.id, score=9)
    assert ctx.scalars(tasks_to_call(_agent(owner))).all() == []


def test_an_answer_given_before_the_refund_stays(ctx, owner):
    visit = _visit("RO-F1", owner["member_id"]).visit
    answer_survey(_member(owner), visit.id, score=10)
    refund_visit(None, dealer_id=visit.dealer_id, ro_number="RO-F1")
    survey = ctx.scalar(select(VisitSurvey).where(VisitSurvey.visit_id == visit.id))
    assert survey.status == SurveyStatus.ANSWERED and survey.score == 10


def test_the_agents_list_puts_vip_owners_first_then_callbacks_by_deadline(ctx, owner, clock):
    first = _visit("RO-GOLD", owner["member_id"]).visit
    clock.advance(hours=1)
    vip = make_member(_member(owner).dealer_id, name="Qian VIP")
    make_vehicle(vip)
    account_for(vip).tier_code = "diamond"
    second = record_car_visit(vip.vehicles[0], "RO-VIP", VISIT_DAY).visit
    clock.advance(hours=1)
    third = _visit("RO-GOLD2", owner["member_id"]).visit
    old = CareTask(
        dealer_id=first.dealer_id,
        member_id=owner["member_id"],
        kind="maintenance_due",
        due_on=date(2026, 11, 1),
        status=TaskStatus.OPEN,
        created_at=utcnow(),
    )
    ctx.add(old)
    ctx.flush()
    listed = ctx.scalars(tasks_to_call(_agent(owner))).all()
    assert [t.visit_id for t in listed] == [second.id, first.id, third.id, None]


def test_reached_and_satisfied_closes_the_callback(ctx, owner):
    visit = _visit("RO-F1", owner["member_id"]).visit
    task = ctx.scalar(select(CareTask).where(CareTask.visit_id == visit.id))
    call = record_followup_call(_agent(owner), task.id, reached=True, satisfied=True, note="ok")
    assert call.satisfied is True
    assert task.status == TaskStatus.REACHED
    assert ctx.scalar(select(func.count(ComplaintCase.id))) == 0


def test_an_unhappy_owner_on_the_callback_gets_a_complaint_case(ctx, owner):
    visit = _visit("RO-F1", owner["member_id"]).visit
    task = ctx.scalar(select(CareTask).where(CareTask.visit_id == visit.id))
    call = record_followup_call(
        _agent(owner), task.id, reached=True, satisfied=False, note="Waited two hours"
    )
    case = ctx.scalar(select(ComplaintCase))
    assert call.satisfied is False
    assert (case.source, case.key, case.visit_id) == (
        CaseSource.CALLBACK,
        f"call:{call.id}",
        visit.id,
    )
    assert case.description == "Waited two hours"
    assert case.status == CaseStatus.OPEN
    assert case.deadline_at == NOW + timedelta(days=3)
    assert ctx.scalar(
        select(Notification).where(Notification.dedupe_key == f"complaint:{case.id}:opened")
    )


def test_a_callback_that_reached_the_owner_must_say_whether_they_were_satisfied(ctx, owner):
    visit = _visit("RO-F1", owner["member_id"]).visit
    task = ctx.scalar(select(CareTask).where(CareTask.visit_id == visit.id))
    with pytest.raises(ValidationFailed):
        record_followup_call(_agent(owner), task.id, reached=True, satisfied=None)
    assert ctx.scalar(select(func.count(CareCall.id))) == 0


def test_three_missed_callbacks_text_the_questionnaire_invitation(ctx, owner, clock, sms):
    visit = _visit("RO-F1", owner["member_id"]).visit
    task = ctx.scalar(select(CareTask).where(CareTask.visit_id == visit.id))
    for hours in (0, 5, 5):  # 10:00, 15:00, 20:00 in Shanghai
        clock.advance(hours=hours)
        record_followup_call(_agent(owner), task.id, reached=False, satisfied=None)
    assert task.status == TaskStatus.SMS_SENT
    text = ctx.scalar(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == f"care-task:{task.id}:fallback:sms")
    )
    invitation = ctx.scalar(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == f"visit-survey:{visit.id}:in_app")
    )
    assert text.channel == "sms"
    assert text.subject == invitation.subject
    assert invitation.body in text.body


def test_only_callbacks_take_a_callback_outcome(ctx, owner):
    task = CareTask(
        dealer_id=_member(owner).dealer_id,
        member_id=owner["member_id"],
        kind="maintenance_due",
        due_on=date(2026, 11, 23),
        status=TaskStatus.OPEN,
        created_at=utcnow(),
    )
    ctx.add(task)
    ctx.flush()
    with pytest.raises(NotFound):
        record_followup_call(_agent(owner), task.id, reached=True, satisfied=True)


def test_another_dealers_agent_cannot_log_the_callback(ctx, owner, dealers):
    visit = _visit("RO-F1", owner["member_id"]).visit
    task = ctx.scalar(select(CareTask).where(CareTask.visit_id == visit.id))
    stranger = make_staff("care_agent", dealers["GZ01"])
    with pytest.raises(NotFound):
        record_followup_call(stranger, task.id, reached=False, satisfied=None)


# --------------------------------------------------------------------------- questionnaire


def test_the_owner_answers_once_and_a_second_answer_changes_nothing(ctx, owner):
    visit = _visit("RO-F1", owner["member_id"]).visit
    first = answer_survey(_member(owner), visit.id, score=9, advisor_rating=5, comment=" Great ")
    again = answer_survey(_member(owner), visit.id, score=0, advisor_rating=1, comment="changed")
    survey = first.survey
    assert (first.created, again.created) == (True, False)
    assert (survey.score, survey.advisor_rating, survey.comment) == (9, 5, "Great")
    assert survey.answered_at == NOW
    assert first.case is None


@pytest.mark.parametrize(("score", "opens"), [(0, True), (6, True), (7, False), (10, False)])
def test_a_score_of_six_or_less_opens_a_complaint_case(ctx, owner, score, opens):
    visit = _visit("RO-F1", owner["member_id"]).visit
    answered = answer_survey(_member(owner), visit.id, score=score, comment="Dirty seats")
    if not opens:
        assert answered.case is None
        return
    case = answered.case
    assert (case.source, case.key) == (CaseSource.SURVEY, f"survey:{answered.survey.id}")
    assert case.description == "Dirty seats" and case.dealer_id == visit.dealer_id


def test_the_complaint_threshold_is_configurable(app, ctx, owner):
    app.config["CARE_COMPLAINT_SCORE_MAX"] = 4
    visit = _visit("RO-F1", owner["member_id"]).visit
    assert answer_survey(_member(owner), visit.id, score=5).case is None


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        ({"score": 11}, "score"),
        ({"score": -1}, "score"),
        ({"score": None}, "score"),
        ({"score": True}, "score"),
        ({"score": 10**20}, "score"),
        ({"score": 5, "advisor_rating": 0}, "advisor_rating"),
        ({"score": 5, "advisor_rating": 6}, "advisor_rating"),
        ({"score": 5, "comment": "x" * 1001}, "comment"),
    ],
)
def test_a_bad_answer_is_refused_and_changes_nothing(ctx, owner, answer, field):
    visit = _visit("RO-F1", owner["member_id"]).visit
    with pytest.raises(ValidationFailed) as refused:
        answer_survey(_member(owner), visit.id, **answer)
    assert refused.value.field == field
    survey = ctx.scalar(select(VisitSurvey).where(VisitSurvey.visit_id == visit.id))
    assert survey.status == SurveyStatus.PENDING and survey.score is None


def test_another_owners_questionnaire_is_not_found(ctx, owner, dealers):
    visit = _visit("RO-F1", owner["member_id"]).visit
    other = make_member(dealers["SZ01"], name="Someone Else")
    with pytest.raises(NotFound):
        answer_survey(other, visit.id, score=10)
    with pytest.raises(NotFound):
        answer_survey(_member(owner), visit.id + 1000, score=10)
