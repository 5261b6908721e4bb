"""ABC grading (seed 003): grades and their history, who may grade whom, care standards and
their validation, care contacts, and when care becomes overdue (time travel through now=)."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.campaigns.grading import care, services
from app.campaigns.grading.models import CareContact, CareStandard, OwnerGrading
from app.care.models import CareCall, CareTask
from app.core.audit import AuditEntry
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.members.models import Member
from tests.conftest import NOW
from tests.factories import make_dealer, make_member, make_staff, make_vehicle

TODAY = date(2026, 11, 23)  # NOW in Asia/Shanghai
DAY = timedelta(days=1)


@pytest.fixture
def shop(ctx):
    """SZ01 with a consultant, a manager and a retained owner; GZ01 with its admin."""
    return _shop()


def _shop() -> dict:
    sz, gz = make_dealer("SZ01"), make_dealer("GZ01")
    owner = make_member(sz.id, name="Zhang Wei")
    make_vehicle(owner)
    return {
        "sz": sz,
        "gz": gz,
        "owner": owner,
        "consultant": make_staff("sales_consultant", sz.id),
        "manager": make_staff("showroom_manager", sz.id),
        "gz_admin": make_staff("dealer_admin", gz.id),
        "hq": make_staff("hq_admin", None),
    }


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _audits(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _status(owner, *, days_later: int = 0):
    today = TODAY + timedelta(days=days_later)
    return next(c for c in care.care_statuses(owner.dealer_id, today) if c.member_id == owner.id)


# ------------------------------------------------------------------------------ grades


def test_a_regrading_appends_and_the_newest_grade_is_in_force(shop):
    owner, consultant = shop["owner"], shop["consultant"]
    services.grade_owner(consultant, owner.id, grade="A", reason="Referred two friends", now=NOW)
    services.grade_owner(
        shop["manager"], owner.id, grade="B", reason="Services elsewhere now", now=NOW + DAY
    )
    history = services.grading_history(owner)
    assert [g.grade.value for g in history] == ["B", "A"]
    assert services.current_grading(owner).grade.value == "B"
    assert history[1].graded_by_id == consultant.id
    assert history[1].reason == "Referred two friends"
    # The grader was responsible the first time; the manager became so when regrading.
    assert [g.consultant_id for g in history] == [shop["manager"].id, consultant.id]
    audits = _audits("abc.owner_graded")
    assert [a.details["grade"] for a in audits] == [[None, "A"], ["A", "B"]]
    assert {a.dealer_id for a in audits} == {shop["sz"].id}


def test_a_manager_names_another_consultant(shop):
    row = services.grade_owner(
        shop["manager"],
        shop["owner"].id,
        grade="A",
        reason="VIP",
        consultant_id=shop["consultant"].id,
    )
    assert row.consultant_id == shop["consultant"].id
    assert row.graded_by_id == shop["manager"].id


def test_hq_grades_any_dealers_owner_but_must_name_the_consultant(shop):
    with pytest.raises(ValidationFailed) as err:
        services.grade_owner(shop["hq"], shop["owner"].id, grade="A", reason="VIP")
    assert err.value.field == "consultant_id"
    row = services.grade_owner(
        shop["hq"], shop["owner"].id, grade="A", reason="VIP", consultant_id=shop["consultant"].id
    )
    assert row.dealer_id == shop["sz"].id


def test_staff_of_another_dealer_cannot_grade_and_nothing_is_saved(shop):
    with pytest.raises(Forbidden):
        services.grade_owner(shop["gz_admin"], shop["owner"].id, grade="A", reason="VIP")
    assert _count(OwnerGrading) == 0
    assert _audits("abc.owner_graded") == []


@pytest.mark.parametrize(
    ("consultant", "why"),
    [("gz_admin", "another dealer's"), ("service_advisor", "does not call owners")],
)
def test_the_responsible_consultant_must_call_owners_of_the_dealer(shop, consultant, why):
    user = shop.get(consultant) or make_staff(consultant, shop["sz"].id)
    with pytest.raises(ValidationFailed) as err:
        services.grade_owner(
            shop["manager"], shop["owner"].id, grade="A", reason="VIP", consultant_id=user.id
        )
    assert err.value.field == "consultant_id", why
    assert _count(OwnerGrading) == 0


def test_a_service_advisor_may_not_grade(shop):
    advisor = make_staff("service_advisor", shop["sz"].id)
    with pytest.raises(Forbidden):
        services.grade_owner(advisor, shop["owner"].id, grade="A", reason="VIP")


@pytest.mark.parametrize(
    ("grade", "reason", "field"),
    [
        ("D", "VIP", "grade"),
        ("", "VIP", "grade"),
        ("A", "  ", "reason"),
        ("A", "x" * 201, "reason"),
    ],
)
def test_bad_grades_are_refused_with_a_message(shop, grade, reason, field):
    with pytest.raises(ValidationFailed) as err:
        services.grade_owner(shop["consultant"], shop["owner"].id, grade=grade, reason=reason)
    assert err.value.field == field
    assert err.value.message
    assert _count(OwnerGrading) == 0


def test_an_owner_without_a_car_is_not_a_retained_owner(shop):
    carless = make_member(shop["sz"].id, name="No Car")
    with pytest.raises(ValidationFailed, match="with a car"):
        services.grade_owner(shop["consultant"], carless.id, grade="A", reason="VIP")


# --------------------------------------------------------------------------- standards


def test_defaults_until_a_dealer_saves_its_standards(shop):
    standards = services.current_standards(shop["sz"].id)
    assert {g.value: s.interval_days for g, s in standards.items()} == {"A": 30, "B": 60, "C": 90}
    assert _count(CareStandard) == 0


def test_a_manager_saves_standards_and_the_change_is_audited(shop):
    services.update_standards(
        shop["manager"],
        shop["sz"].id,
        standards={"A": (14, "Birthday visit"), "B": (45, "Invitations"), "C": (120, "")},
        now=NOW,
    )
    standards = services.current_standards(shop["sz"].id)
    assert [standards[g].interval_days for g in services.GRADES] == [14, 45, 120]
    assert standards[services.GRADES[0]].description == "Birthday visit"
    # Another dealer keeps the defaults.
    assert services.current_standards(shop["gz"].id)[services.GRADES[0]].interval_days == 30
    (audit,) = _audits("abc.standards_changed")
    assert audit.details["changes"]["A"] == [None, [14, "Birthday visit"]]
    services.update_standards(
        shop["manager"],
        shop["sz"].id,
        standards={"A": (21, "Birthday visit"), "B": (45, "Invitations"), "C": (120, "")},
    )
    assert _count(CareStandard) == 3
    assert _audits("abc.standards_changed")[1].details["changes"] == {
        "A": [[14, "Birthday visit"], [21, "Birthday visit"]]
    }


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"A": 0, "B": 60, "C": 90}, "a_days", "1 to 365 days"),
        ({"A": 30, "B": -5, "C": 90}, "b_days", "1 to 365 days"),
        ({"A": 30, "B": 60, "C": 366}, "c_days", "1 to 365 days"),
        ({"A": 60, "B": 30, "C": 90}, None, "A ≤ B ≤ C"),
        ({"A": 30, "B": 90, "C": 60}, None, "A ≤ B ≤ C"),
    ],
)
def test_nonsense_standards_are_refused_and_nothing_is_saved(shop, values, field, message):
    with pytest.raises(ValidationFailed, match=message) as err:
        services.update_standards(
            shop["manager"], shop["sz"].id, standards={g: (d, "") for g, d in values.items()}
        )
    assert err.value.field == field
    assert _count(CareStandard) == 0
    assert _audits("abc.standards_changed") == []


def test_equal_intervals_are_allowed(shop):
    services.update_standards(
        shop["manager"], shop["sz"].id, standards={g: (60, "") for g in ("A", "B", "C")}
    )
    assert _count(CareStandard) == 3


def test_a_long_care_description_is_refused(shop):
    with pytest.raises(ValidationFailed) as err:
        services.update_standards(
            shop["manager"],
            shop["sz"].id,
            standards={"A": (30, "x" * 301), "B": (60, ""), "C": (90, "")},
        )
    assert err.value.field == "a_description"


def test_only_managers_of_the_dealer_or_hq_change_standards(shop):
    values = {"A": (30, ""), "B": (60, ""), "C": (90, "")}
    with pytest.raises(Forbidden):
        services.update_standards(shop["consultant"], shop["sz"].id, standards=values)
    with pytest.raises(Forbidden):
        services.update_standards(shop["gz_admin"], shop["sz"].id, standards=values)
    assert _count(CareStandard) == 0
    services.update_standards(shop["hq"], shop["gz"].id, standards=values)
    assert _count(CareStandard) == 3


# ---------------------------------------------------------------------------- overdue


def test_due_today_is_not_overdue_the_day_after_is(shop):
    owner = shop["owner"]
    services.grade_owner(shop["consultant"], owner.id, grade="A", reason="VIP", now=NOW)
    assert _status(owner).due_on == TODAY + 30 * DAY
    assert _status(owner, days_later=29).days_overdue == -1
    assert _status(owner, days_later=30).days_overdue == 0
    assert _status(owner, days_later=31).days_overdue == 1
    report = care.care_report(shop["manager"], now=NOW + 30 * DAY)
    assert report.facts["overdue"] == 0
    report = care.care_report(shop["manager"], now=NOW + 31 * DAY)
    assert report.facts["overdue"] == 1
    assert report.table("overdue").rows[0][1].text == "1"


def test_a_reached_contact_restarts_the_interval_a_missed_one_does_not(shop):
    owner, consultant = shop["owner"], shop["consultant"]
    services.grade_owner(consultant, owner.id, grade="B", reason="Regular", now=NOW)
    later = NOW + 50 * DAY
    services.log_contact(consultant, owner.id, reached=False, note="No answer", now=later)
    assert _status(owner).due_on == TODAY + 60 * DAY
    services.log_contact(consultant, owner.id, reached=True, note="Birthday call", now=later)
    status = _status(owner)
    assert status.last_contact == TODAY + 50 * DAY
    assert status.due_on == TODAY + 110 * DAY
    assert _count(CareContact) == 2
    assert len(_audits("abc.contact_logged")) == 2


def test_regrading_does_not_restart_the_clock_but_changes_the_interval(shop):
    owner = shop["owner"]
    services.grade_owner(shop["consultant"], owner.id, grade="C", reason="Rarely here", now=NOW)
    services.grade_owner(
        shop["consultant"], owner.id, grade="A", reason="Bought a second car", now=NOW + 40 * DAY
    )
    # A every 30 days from the first grading: overdue by 10 days on the regrading day.
    assert _status(owner, days_later=40).days_overdue == 10


def test_a_reached_care_call_of_the_dealer_counts_as_a_contact(shop):
    owner = shop["owner"]
    services.grade_owner(shop["consultant"], owner.id, grade="A", reason="VIP", now=NOW)
    agent = make_staff("care_agent", shop["sz"].id)
    task = CareTask(
        dealer_id=shop["sz"].id,
        member_id=owner.id,
        kind="first_maintenance",
        due_on=TODAY,
        created_at=NOW,
    )
    db.session.add(task)
    db.session.flush()
    for days, reached in ((20, True), (25, False)):
        db.session.add(
            CareCall(
                task_id=task.id, agent_id=agent.id, called_at=NOW + days * DAY, reached=reached
            )
        )
    db.session.flush()
    status = _status(owner)
    assert status.last_contact == TODAY + 20 * DAY
    assert status.due_on == TODAY + 50 * DAY


def test_a_contact_before_the_grading_does_not_make_a_new_grade_overdue(shop):
    owner = shop["owner"]
    services.grade_owner(shop["consultant"], owner.id, grade="A", reason="VIP", now=NOW)
    services.log_contact(
        shop["consultant"], owner.id, reached=True, contacted_on=TODAY - 20 * DAY, now=NOW
    )
    assert _status(owner).due_on == TODAY + 30 * DAY


@pytest.mark.parametrize(
    ("contacted_on", "message"),
    [(TODAY + DAY, "future"), (TODAY - 31 * DAY, "within 30 days")],
)
def test_a_contact_day_out_of_range_is_refused(shop, contacted_on, message):
    services.grade_owner(shop["consultant"], shop["owner"].id, grade="A", reason="VIP", now=NOW)
    with pytest.raises(ValidationFailed, match=message) as err:
        services.log_contact(
            shop["consultant"], shop["owner"].id, reached=True, contacted_on=contacted_on, now=NOW
        )
    assert err.value.field == "contacted_on"
    assert _count(CareContact) == 0


def test_contacts_are_for_graded_owners_of_the_staffs_dealer(shop):
    with pytest.raises(ValidationFailed, match="Grade the owner first"):
        services.log_contact(shop["consultant"], shop["owner"].id, reached=True)
    services.grade_owner(shop["consultant"], shop["owner"].id, grade="A", reason="VIP")
    with pytest.raises(Forbidden):
        services.log_contact(shop["gz_admin"], shop["owner"].id, reached=True)
    assert _count(CareContact) == 0


def test_an_owner_who_moved_to_another_dealer_leaves_the_old_dealers_care(shop):
    owner = shop["owner"]
    services.grade_owner(shop["consultant"], owner.id, grade="A", reason="VIP", now=NOW)
    owner.dealer_id = shop["gz"].id
    db.session.flush()
    assert care.care_statuses(shop["sz"].id, TODAY) == []
    assert care.care_statuses(shop["gz"].id, TODAY) == []
    assert services.current_grading(owner) is None


# ----------------------------------------------------------------------------- report


def _graded_owners(shop):
    """Three owners of the consultant and two of a care agent, graded on different days."""
    consultant, agent = shop["consultant"], make_staff("care_agent", shop["sz"].id)
    plan = [
        ("Owner A40", "A", consultant, 40),  # due 30 days after: 10 days overdue today
        ("Owner B70", "B", consultant, 70),  # 10 days overdue
        ("Owner C10", "C", consultant, 10),  # not due
        ("Owner A35", "A", agent, 35),  # 5 days overdue
        ("Owner C100", "C", agent, 100),  # 10 days overdue
    ]
    for name, grade, who, days_ago in plan:
        owner = make_member(shop["sz"].id, name=name)
        make_vehicle(owner)
        services.grade_owner(who, owner.id, grade=grade, reason="plan", now=NOW - days_ago * DAY)
    # A retained owner not graded, and an owner without a car (not retained).
    make_vehicle(make_member(shop["sz"].id, name="Ungraded"))
    make_member(shop["sz"].id, name="Carless")
    return agent


def test_the_report_lists_overdue_owners_most_overdue_first(shop):
    agent = _graded_owners(shop)
    report = care.care_report(shop["manager"], now=NOW)
    overdue = report.table("overdue")
    assert [(r[0].text, r[2].text, r[1].text) for r in overdue.rows] == [
        ("Owner A40", "A", "10"),
        ("Owner B70", "B", "10"),
        ("Owner C100", "C", "10"),
        ("Owner A35", "A", "5"),
    ]
    # Mobiles are masked.
    assert all("****" in r[4].text for r in overdue.rows)
    consultants = report.table("consultants")
    assert [(r[0].text, r[1].text, r[5].text, r[6].text) for r in consultants.rows] == [
        # As many overdue, as long: by name.
        ("Staff care_agent", "2", "2", "10"),
        ("Staff sales_consultant", "3", "2", "10"),
    ]
    assert report.facts["consultant_ids"] == [agent.id, shop["consultant"].id]
    # The zhang wei fixture owner is retained and ungraded too.
    grades = report.table("grades")
    assert [c.text for c in grades.rows[0]] == ["SZ01 · Dealer SZ01", "2", "1", "2", "2", "7"]


def test_a_consultant_sees_only_their_own_owners(shop):
    agent = _graded_owners(shop)
    report = care.care_report(agent, now=NOW)
    assert [r[0].text for r in report.table("overdue").rows] == ["Owner C100", "Owner A35"]
    assert [r[0].text for r in report.table("consultants").rows] == ["Staff care_agent"]
    # Asking for another consultant's list still shows their own.
    report = care.care_report(agent, consultant_id=shop["consultant"].id, now=NOW)
    assert report.facts["overdue"] == 2


def test_a_manager_picks_one_consultant_and_pages_the_list(shop):
    _graded_owners(shop)
    report = care.care_report(
        shop["manager"], consultant_id=shop["consultant"].id, page=1, per_page=1, now=NOW
    )
    assert [r[0].text for r in report.table("overdue").rows] == ["Owner A40"]
    assert report.page.total == 2
    assert report.page.pages == 2


def test_another_dealers_staff_see_none_of_these_owners(shop):
    _graded_owners(shop)
    report = care.care_report(shop["gz_admin"], now=NOW)
    assert report.dealer_id == shop["gz"].id
    assert report.table("overdue").rows == []
    assert report.table("consultants").rows == []
    # Asking for the other dealer by its id shows nothing of it either.
    with pytest.raises(NotFound):
        care.care_report(shop["gz_admin"], dealer_id=shop["sz"].id, now=NOW)
    with pytest.raises(NotFound):
        care.owner_list(shop["gz_admin"], dealer_id=shop["sz"].id)


def test_the_overdue_export_is_audited(shop):
    _graded_owners(shop)
    export = care.export_care(shop["manager"], "overdue", now=NOW)
    assert export.filename == "abc-care-overdue-SZ01-2026-11-23.csv"
    assert "Owner A40" in export.body
    (audit,) = _audits("abc.overdue_exported")
    assert audit.details["rows"] == 4
    assert care.export_care(shop["manager"], "nope", now=NOW) is None


def test_the_report_and_lists_on_sqlite_and_postgresql(db_app):
    with db_app.app_context(), db_app.test_request_context():
        shop = _shop()
        _graded_owners(shop)
        a40 = db.session.scalar(select(Member.id).where(Member.name == "Owner A40"))
        services.log_contact(shop["consultant"], a40, reached=True, now=NOW)
        report = care.care_report(shop["hq"], page=1, now=NOW)
        assert report.facts["overdue"] == 3
        grades = report.table("grades")
        # HQ: every dealer by code, and the total.
        assert [[c.text for c in row] for row in grades.all_rows()] == [
            ["GZ01 · Dealer GZ01", "0", "0", "0", "0", "0"],
            ["SZ01 · Dealer SZ01", "2", "1", "2", "2", "7"],
            ["Total", "2", "1", "2", "2", "7"],
        ]
        page, gradings, _scope = care.owner_list(shop["hq"], grade="A")
        assert [m.name for m in page.items] == ["Owner A35", "Owner A40"]
        assert {g.grade.value for g in gradings.values()} == {"A"}
        page, gradings, _scope = care.owner_list(shop["manager"], grade="ungraded")
        assert [m.name for m in page.items] == ["Ungraded", "Zhang Wei"]
        assert gradings == {}
