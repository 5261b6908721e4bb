"""After every visit on PostgreSQL: concurrent answers of one questionnaire make one answer and
one case; concurrent callbacks and escalations act once (one notice to the admin); the
satisfaction report's SQL runs."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.care.followups import complaints
from app.care.followups.models import ComplaintCase, VisitSurvey
from app.care.followups.reports import satisfaction
from app.care.followups.surveys import answer_survey
from app.care.models import CareTask
from app.extensions import db
from app.hq.months import Month
from app.members.models import Member, StaffNotice
from tests.factories import make_dealer, make_member, make_staff, make_vehicle, record_car_visit
from tests.test_postgres_concurrency import race

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(pg_app):
    """An owner of SZ01 with a visit two days old, SZ01's admin: ids."""
    with pg_app.app_context(), pg_app.test_request_context():
        dealer = make_dealer("SZ01")
        owner = make_member(dealer.id, name="Wu Hao")
        visit = record_car_visit(make_vehicle(owner), "RO-PG1", date(2026, 11, 21)).visit
        ids = {
            "owner": owner.id,
            "visit": visit.id,
            "admin": make_staff("dealer_admin", dealer.id).id,
        }
        db.session.commit()
    return ids


def test_a_double_tapped_low_score_makes_one_answer_and_one_case(pg_app, world):
    def answer():
        member = db.session.get(Member, world["owner"])
        return answer_survey(member, world["visit"], score=2, comment="Dirty").created

    results = race(pg_app, answer)
    assert sorted(results) == [False] * 5 + [True]
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(ComplaintCase.id))) == 1
        assert db.session.scalar(select(VisitSurvey.score)) == 2


def test_escalation_on_two_hosts_escalates_once_and_the_report_counts_it(pg_app, world):
    from app.auth.models import User

    with pg_app.app_context(), pg_app.test_request_context():
        answer_survey(db.session.get(Member, world["owner"]), world["visit"], score=10)
        member = db.session.get(Member, world["owner"])
        complaints.raise_complaint(member, text="Late", visit_id=world["visit"])
        db.session.commit()
    pg_app.extensions["clock"].advance(days=3, hours=1)
    escalated = race(pg_app, lambda: complaints.escalate_overdue(), racers=3)
    assert sum(escalated) == 1
    with pg_app.app_context(), pg_app.test_request_context():
        notices = db.session.execute(select(StaffNotice.user_id, StaffNotice.link)).all()
        case_id = db.session.scalar(select(ComplaintCase.id))
        assert notices == [(world["admin"], f"/admin/care/complaints/{case_id}")]
        admin = db.session.get(User, world["admin"])
        report = satisfaction(admin, month=Month(date(2026, 11, 1)))
        cells = [c.text for c in report.tables[0].rows[0]]
        answers = ["1", "1", "100.0%", "10.0", "100.0%", "0.0%", "+100", "—"]
        assert cells == ["SZ01", *answers, "1", "0", "1"]
        task = db.session.scalar(select(CareTask).where(CareTask.visit_id == world["visit"]))
        assert task.deadline_at - task.created_at == timedelta(hours=48)
