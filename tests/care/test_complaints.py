"""Complaint cases (issue 20, seed 002 客户投诉): raised by the owner, assigned to the visit's
dealer, noted (audited), resolved, confirmed or reopened by the owner only; overdue cases go to
the dealer admin once, by the daily job; a deleted owner's cases are withdrawn."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.care.followups import complaints
from app.care.followups.models import CaseSource, CaseStatus, ComplaintCase, ComplaintNote
from app.care.schedule import run_daily
from app.core.audit import AuditEntry
from app.core.errors import NotFound, ValidationFailed
from app.core.states import TransitionRefused
from app.extensions import db
from app.members.models import Member, Notification, OutboxMessage, StaffNotice
from app.members.privacy import delete_member_account, export_member_data
from tests.conftest import NOW
from tests.factories import make_member, make_staff, make_vehicle, record_car_visit


@pytest.fixture
def people(seeded, dealers):
    """An owner of SZ01 with a visit, SZ01's care agent, sales consultant and admin, GZ01's
    agent, and HQ: ids."""
    with seeded():
        owner = make_member(dealers["SZ01"], name="Wu Hao")
        visit = record_car_visit(make_vehicle(owner), "RO-C1", date(2026, 11, 22)).visit
        return {
            "owner": owner.id,
            "visit": visit.id,
            "agent": make_staff("care_agent", dealers["SZ01"]).id,
            "seller": make_staff("sales_consultant", dealers["SZ01"]).id,
            "admin": make_staff("dealer_admin", dealers["SZ01"]).id,
            "gz_agent": make_staff("care_agent", dealers["GZ01"]).id,
            "hq": make_staff("hq_admin", None).id,
        }


def _user(user_id):
    from app.auth.models import User

    return db.session.get(User, user_id)


def _owner(people) -> Member:
    return db.session.get(Member, people["owner"])


def _raise(people, text="The car came back dirty", **extra):
    return complaints.raise_complaint(_owner(people), text=text, **extra)


def _actions(case) -> list[str]:
    return db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.subject_type == "ComplaintCase", AuditEntry.subject_id == case.id)
        .order_by(AuditEntry.id)
    ).all()


def test_an_owner_raises_a_complaint_due_in_three_days(ctx, people):
    opened = _raise(people, text="  Scratch on the door  ", visit_id=people["visit"])
    case = opened.case
    assert opened.created
    assert (case.status, case.source, case.visit_id) == (
        CaseStatus.OPEN,
        CaseSource.OWNER,
        people["visit"],
    )
    assert case.description == "Scratch on the door"
    assert case.deadline_at == NOW + timedelta(days=3)
    assert case.created_by_id == _owner(people).user_id
    assert _actions(case) == ["care.complaint.opened"]


def test_a_second_complaint_about_the_same_visit_adds_to_the_open_case(ctx, people):
    first = _raise(people, visit_id=people["visit"]).case
    again = _raise(people, text="And the radio is off", visit_id=people["visit"])
    assert (again.case.id, again.created) == (first.id, False)
    notes = complaints.owner_notes(first)
    assert [n.body for n in notes] == ["And the radio is off"]
    assert ctx.scalar(select(func.count(ComplaintCase.id))) == 1


@pytest.mark.parametrize(
    ("text", "visit", "error"),
    [
        ("", None, ValidationFailed),
        ("   ", None, ValidationFailed),
        ("x" * 1001, None, ValidationFailed),
        ("Bad", 10**12, NotFound),
        ("Bad", 0, NotFound),
    ],
)
def test_a_bad_complaint_is_refused(ctx, people, text, visit, error):
    with pytest.raises(error):
        _raise(people, text=text, visit_id=visit)
    assert ctx.scalar(select(func.count(ComplaintCase.id))) == 0


def test_an_owner_cannot_complain_about_another_owners_visit(ctx, people, dealers):
    other = make_member(dealers["SZ01"], name="Other")
    with pytest.raises(NotFound):
        complaints.raise_complaint(other, text="Hm", visit_id=people["visit"])


def test_an_owner_has_at_most_five_complaints_open(ctx, people):
    for n in range(5):
        _raise(people, text=f"Complaint {n}")
    with pytest.raises(ValidationFailed, match="5 complaints open"):
        _raise(people, text="One more")


def test_a_case_is_assigned_to_someone_of_its_dealer_who_handles_complaints(ctx, people):
    case = _raise(people).case
    for stranger in ("seller", "gz_agent", "hq"):
        with pytest.raises(ValidationFailed):
            complaints.assign_case(_user(people["admin"]), case.id, people[stranger])
    with pytest.raises(ValidationFailed):
        complaints.assign_case(_user(people["admin"]), case.id, None)
    complaints.assign_case(_user(people["admin"]), case.id, people["agent"])
    assert (case.assignee_id, case.status) == (people["agent"], CaseStatus.IN_PROGRESS)
    assert [u.id for u in complaints.assignable_staff(case)] == sorted(
        [people["agent"], people["admin"]]
    )


def test_a_note_is_for_staff_audited_and_takes_an_unowned_case(ctx, people):
    case = _raise(people).case
    note = complaints.add_note(_user(people["agent"]), case.id, "Called, will bring the car in")
    assert note.from_owner is False
    assert (case.assignee_id, case.status) == (people["agent"], CaseStatus.IN_PROGRESS)
    assert complaints.owner_notes(case) == []
    assert _actions(case)[-1] == "care.complaint.note"
    with pytest.raises(ValidationFailed):
        complaints.add_note(_user(people["agent"]), case.id, " ")


def test_another_dealers_staff_do_not_find_the_case_and_hq_does(ctx, people):
    case = _raise(people).case
    with pytest.raises(NotFound):
        complaints.staff_case(_user(people["gz_agent"]), case.id)
    with pytest.raises(NotFound):
        complaints.resolve_case(_user(people["gz_agent"]), case.id, "Done")
    assert complaints.staff_case(_user(people["hq"]), case.id) is case


def test_resolving_tells_the_owner_who_confirms_once(ctx, people):
    case = _raise(people).case
    complaints.resolve_case(_user(people["agent"]), case.id, "We repainted the door.")
    assert (case.status, case.resolved_by_id) == (CaseStatus.RESOLVED, people["agent"])
    told = ctx.scalar(
        select(Notification).where(Notification.dedupe_key == f"complaint:{case.id}:resolved:0")
    )
    assert "We repainted the door." in told.body
    # The owner's channels too: an SMS as well as the inbox.
    assert ctx.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.dedupe_key == f"complaint:{case.id}:resolved:0:sms"
        )
    )
    with pytest.raises(TransitionRefused):
        complaints.resolve_case(_user(people["agent"]), case.id, "Again")
    assert complaints.confirm_case(_owner(people), case.id) is True
    assert complaints.confirm_case(_owner(people), case.id) is False
    assert (case.status, case.confirmed_at) == (CaseStatus.CONFIRMED, NOW)
    assert _actions(case) == [
        "care.complaint.opened",
        "care.complaint.resolved",
        "care.complaint.confirmed",
    ]


def test_only_a_resolved_case_is_confirmed_or_reopened(ctx, people):
    case = _raise(people).case
    with pytest.raises(TransitionRefused, match="Only a resolved complaint can be confirmed"):
        complaints.confirm_case(_owner(people), case.id)
    with pytest.raises(TransitionRefused, match="Only a resolved complaint can be reopened"):
        complaints.reopen_case(_owner(people), case.id)
    assert case.status == CaseStatus.OPEN


def test_reopening_hands_it_back_with_a_new_deadline(ctx, people, clock):
    case = _raise(people).case
    complaints.resolve_case(_user(people["agent"]), case.id, "Washed it.")
    clock.advance(days=2)
    assert complaints.reopen_case(_owner(people), case.id, reason="Still dirty inside")
    assert complaints.reopen_case(_owner(people), case.id, reason="Twice") is False
    assert (case.status, case.reopened_count) == (CaseStatus.REOPENED, 1)
    assert case.deadline_at == NOW + timedelta(days=5)
    assert [n.body for n in complaints.owner_notes(case)] == ["Still dirty inside"]
    complaints.resolve_case(_user(people["agent"]), case.id, "Cleaned inside too.")
    assert ctx.scalar(
        select(Notification.id).where(Notification.dedupe_key == f"complaint:{case.id}:resolved:1")
    )


def test_another_owner_cannot_confirm_or_reopen(ctx, people, dealers):
    case = _raise(people).case
    complaints.resolve_case(_user(people["agent"]), case.id, "Done")
    other = make_member(dealers["SZ01"], name="Other")
    with pytest.raises(NotFound):
        complaints.confirm_case(other, case.id)
    with pytest.raises(NotFound):
        complaints.reopen_case(other, case.id)
    assert case.status == CaseStatus.RESOLVED


def test_an_overdue_case_goes_to_the_dealer_admin_once(app, seeded, people, clock):
    with seeded():
        late = _raise(people, text="Late").case.id
        settled = _raise(people, text="Settled").case.id
        complaints.resolve_case(_user(people["agent"]), settled, "Done")
    clock.advance(days=3)
    with app.app_context():
        assert run_daily().complaints_escalated == 0  # due now, not yet past
    clock.advance(hours=1)
    with app.app_context(), app.test_request_context():
        assert run_daily().complaints_escalated == 1
        assert run_daily().complaints_escalated == 0
        case = db.session.get(ComplaintCase, late)
        assert (case.escalated_at, case.escalated_to_id) == (
            NOW + timedelta(days=3, hours=1),
            people["admin"],
        )
        assert db.session.get(ComplaintCase, settled).escalated_at is None
        assert _actions(case)[-1] == "care.complaint.escalated"
        assert complaints.is_overdue(case)
        listed = db.session.scalars(
            complaints.cases_query(
                _user(people["admin"]), dealer_id=case.dealer_id, view="escalated"
            )
        ).all()
        assert [c.id for c in listed] == [late]
        assert complaints.desk_counts(_user(people["admin"])) == (1, 1)


def test_each_admin_of_the_dealer_gets_one_notice_per_escalation(app, seeded, people, clock):
    with seeded():
        case_id = _raise(people, text="Late").case.id
        second = make_staff("dealer_admin", _owner(people).dealer_id)
        second.locale = "en"
        second = second.id
        gz_admin = make_staff("dealer_admin", _user(people["gz_agent"]).dealer_id).id
    clock.advance(days=3, hours=1)
    # As ``flask care run-daily`` runs it: no request, twice.
    with app.app_context():
        assert run_daily().complaints_escalated == 1
        assert run_daily().complaints_escalated == 0
        notices = db.session.scalars(select(StaffNotice).order_by(StaffNotice.user_id)).all()
        assert [(n.user_id, n.kind, n.link) for n in notices] == [
            (people["admin"], "complaint_escalated", f"/admin/care/complaints/{case_id}"),
            (second, "complaint_escalated", f"/admin/care/complaints/{case_id}"),
        ]
        # Each in their language: the first admin chose none (the club's, Chinese).
        assert [n.title for n in notices] == ["投诉逾期：Wu Hao", "Complaint overdue: Wu Hao"]
        assert "The complaint of Wu Hao was due by 26/11/2026, 10:00" in notices[1].body
        assert gz_admin not in {n.user_id for n in notices}


def test_a_reopened_case_overdue_again_goes_to_the_admins_again(app, seeded, people, clock):
    """Escalation is once per round: the owner's reopening starts a new round (due anew, off
    the escalated list), and a reopened case left past its new deadline is escalated again,
    with a new notice, while the first escalation stays in the audit log."""
    with seeded():
        case_id = _raise(people, text="Late").case.id
    clock.advance(days=3, hours=1)
    with app.app_context():
        assert run_daily().complaints_escalated == 1
    with app.app_context(), app.test_request_context():
        complaints.resolve_case(_user(people["admin"]), case_id, "Washed again")
        assert complaints.reopen_case(_owner(people), case_id, reason="Still dirty")
        case = db.session.get(ComplaintCase, case_id)
        assert not complaints.is_escalated(case) and not complaints.is_overdue(case)
        assert complaints.desk_counts(_user(people["admin"])) == (1, 0)
        escalated = complaints.cases_query(
            _user(people["admin"]), dealer_id=case.dealer_id, view="escalated"
        )
        assert db.session.scalars(escalated).all() == []
        db.session.commit()
    clock.advance(days=3, hours=1)
    with app.app_context():
        assert run_daily().complaints_escalated == 1
        assert run_daily().complaints_escalated == 0
        case = db.session.get(ComplaintCase, case_id)
        assert case.escalated_to_id == people["admin"] and complaints.is_escalated(case)
        assert case.escalated_at == NOW + timedelta(days=6, hours=2)
        assert _actions(case).count("care.complaint.escalated") == 2
        notices = db.session.scalars(
            select(StaffNotice).where(StaffNotice.user_id == people["admin"])
        ).all()
        assert len(notices) == 2


def test_the_views_of_the_staff_list(ctx, people, clock):
    admin = _user(people["admin"])
    waiting = _raise(people, text="A").case
    mine = _raise(people, text="B").case
    done = _raise(people, text="C").case
    complaints.assign_case(admin, mine.id, people["admin"])
    complaints.resolve_case(admin, done.id, "Fixed")
    clock.advance(days=4)

    def ids(view):
        query = complaints.cases_query(admin, dealer_id=waiting.dealer_id, view=view)
        return [c.id for c in db.session.scalars(query)]

    assert ids("active") == [waiting.id, mine.id]
    assert ids("overdue") == [waiting.id, mine.id]
    assert ids("mine") == [mine.id]
    assert ids("resolved") == [done.id]
    assert ids("closed") == []
    assert ids("no such view") == ids("active")


def test_deleting_the_account_withdraws_the_cases_and_erases_the_owners_words(ctx, people):
    owner = _owner(people)
    open_case = _raise(people, visit_id=people["visit"]).case
    _raise(people, text="More words", visit_id=people["visit"])
    complaints.add_note(_user(people["agent"]), open_case.id, "Staff note stays")
    delete_member_account(owner)
    assert open_case.status == CaseStatus.WITHDRAWN
    assert open_case.description == ""
    assert db.session.scalars(select(ComplaintNote.body)).all() == ["Staff note stays"]


def test_the_export_has_the_owners_questionnaires_and_complaints(ctx, people):
    from app.care.followups.surveys import answer_survey

    answer_survey(_owner(people), people["visit"], score=3, comment="Slow")
    _raise(people, text="More", visit_id=people["visit"])
    exported = export_member_data(_owner(people))
    (survey,) = exported["visit_surveys"]
    assert (survey["score"], survey["comment"]) == (3, "Slow")
    (case,) = exported["complaints"]
    assert case["description"] == "Slow"
    assert [a["body"] for a in case["my_additions"]] == ["More"]
    assert "assignee_id" not in case
