"""ABC grading pages: grading an owner and logging contacts through the forms, the care
standards form, the overdue page per consultant (phone list, managers' view, HQ filter), CSV,
empty states and who may open what."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.campaigns.grading import services
from app.campaigns.grading.models import CareContact, CareStandard, OwnerGrading
from app.extensions import db
from app.members.models import Member
from tests.admin.test_insight import tables_of
from tests.conftest import NOW, login
from tests.factories import make_member, make_staff, make_vehicle

BASE = "/admin/campaigns/grading"


@pytest.fixture
def people(app, seeded, dealers):
    """SZ01's consultant and manager (mobiles, ids), a retained owner, a carless owner, and an
    owner of GZ01."""
    with seeded():
        consultant = make_staff("sales_consultant", dealers["SZ01"])
        manager = make_staff("showroom_manager", dealers["SZ01"])
        owner = make_member(dealers["SZ01"], name="Zhang Wei")
        make_vehicle(owner)
        carless = make_member(dealers["SZ01"], name="Carless Li")
        gz_owner = make_member(dealers["GZ01"], name="Zhou Min")
        make_vehicle(gz_owner)
        return {
            "consultant": (consultant.mobile, consultant.id),
            "manager": (manager.mobile, manager.id),
            "owner": owner.id,
            "carless": carless.id,
            "gz_owner": gz_owner.id,
        }


def _client(app, people, who):
    client = app.test_client()
    login(client, people[who][0])
    return client


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def overdue(app, seeded, people, dealers):
    """Owners graded 40 days ago (A, 10 days overdue) by the consultant and the manager."""
    with seeded():
        consultant = db.session.get(User, people["consultant"][1])
        manager = db.session.get(User, people["manager"][1])
        for name, who in (("Owner Mine", consultant), ("Owner Boss", manager)):
            owner = make_member(dealers["SZ01"], name=name)
            make_vehicle(owner)
            services.grade_owner(who, owner.id, grade="A", reason="VIP", now=NOW - timedelta(40))


def test_a_consultant_grades_an_owner_on_the_phone(app, people):
    client = _client(app, people, "consultant")
    page = client.get(f"{BASE}/owners")
    assert "Zhang Wei" in page.get_data(as_text=True)
    # An owner without a car is not a retained owner: not listed.
    assert "Carless Li" not in page.get_data(as_text=True)
    response = client.post(
        f"{BASE}/owners/{people['owner']}",
        data={"grade": "A", "consultant_id": "", "reason": "Referred two friends"},
    )
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Zhang Wei graded A." in html
    assert "Referred two friends" in html
    assert "Contact every 30 days." in html
    with app.app_context():
        (row,) = db.session.scalars(select(OwnerGrading)).all()
        assert row.consultant_id == people["consultant"][1]
    assert "Every retained owner is graded." in client.get(f"{BASE}/owners").get_data(as_text=True)


def test_bad_grade_input_shows_a_message_and_saves_nothing(app, people):
    client = _client(app, people, "consultant")
    response = client.post(
        f"{BASE}/owners/{people['owner']}", data={"grade": "", "consultant_id": "", "reason": ""}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Choose grade A, B or C." in html
    assert "Say in a few words why this grade." in html
    assert _count(app, OwnerGrading) == 0


def test_hq_must_choose_the_consultant(app, people, staff_factory):
    client = staff_factory("hq_admin", None)
    response = client.post(
        f"{BASE}/owners/{people['owner']}", data={"grade": "B", "consultant_id": "", "reason": "x"}
    )
    assert "Choose the consultant responsible for this owner." in response.get_data(as_text=True)
    response = client.post(
        f"{BASE}/owners/{people['owner']}",
        data={"grade": "B", "consultant_id": str(people["consultant"][1]), "reason": "x"},
    )
    assert response.status_code == 302


def test_a_carless_owner_cannot_be_graded(app, people):
    client = _client(app, people, "consultant")
    html = client.get(f"{BASE}/owners/{people['carless']}").get_data(as_text=True)
    assert "this owner has no car" in html
    assert 'name="reason"' not in html


def test_another_dealers_owner_is_not_found(app, people):
    client = _client(app, people, "consultant")
    assert client.get(f"{BASE}/owners/{people['gz_owner']}").status_code == 404
    response = client.post(
        f"{BASE}/owners/{people['gz_owner']}", data={"grade": "A", "reason": "x"}
    )
    assert response.status_code == 404
    assert client.post(f"{BASE}/owners/{people['gz_owner']}/contacts").status_code == 404
    assert _count(app, OwnerGrading) == 0


def test_logging_a_contact_moves_the_next_due_day(app, people, overdue):
    client = _client(app, people, "consultant")
    html = client.get(BASE).get_data(as_text=True)
    assert "Owner Mine" in html
    with app.app_context():
        mine = db.session.scalar(select(Member.id).where(Member.name == "Owner Mine"))
    assert "10 days overdue" in client.get(f"{BASE}/owners/{mine}").get_data(as_text=True)
    response = client.post(
        f"{BASE}/owners/{mine}/contacts", data={"reached": "yes", "note": "Birthday visit"}
    )
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Contact logged." in html
    assert "Birthday visit" in html
    assert "days overdue" not in html
    assert "Owner Mine" not in client.get(BASE).get_data(as_text=True)


def test_a_contact_without_reached_or_in_the_future_is_refused(app, people, overdue):
    client = _client(app, people, "consultant")
    with app.app_context():
        mine = db.session.scalar(select(Member.id).where(Member.name == "Owner Mine"))
    html = client.post(f"{BASE}/owners/{mine}/contacts", data={"note": "?"}).get_data(as_text=True)
    assert "Choose reached or not reached." in html
    html = client.post(
        f"{BASE}/owners/{mine}/contacts", data={"reached": "yes", "contacted_on": "2026-12-01"}
    ).get_data(as_text=True)
    assert "A contact cannot be in the future." in html
    assert _count(app, CareContact) == 0


def test_a_consultant_sees_their_own_overdue_owners_only(app, people, overdue):
    client = _client(app, people, "consultant")
    tables = tables_of(client.get(BASE).get_data(as_text=True))
    assert [row[0] for row in tables["table-overdue"][1:]] == ["Owner Mine"]
    assert [row[0] for row in tables["table-consultants"][1:]] == ["Staff sales_consultant"]
    # Naming another consultant changes nothing.
    html = client.get(f"{BASE}?consultant={people['manager'][1]}").get_data(as_text=True)
    assert "Owner Boss" not in html


def test_a_manager_sees_every_consultant_and_picks_one(app, people, overdue):
    client = _client(app, people, "manager")
    tables = tables_of(client.get(BASE).get_data(as_text=True))
    assert {row[0] for row in tables["table-overdue"][1:]} == {"Owner Mine", "Owner Boss"}
    # Zhang Wei is retained and not graded yet.
    assert tables["table-grades"][1][1:] == ["2", "0", "0", "1", "3"]
    html = client.get(f"{BASE}?consultant={people['consultant'][1]}").get_data(as_text=True)
    assert [row[0] for row in tables_of(html)["table-overdue"][1:]] == ["Owner Mine"]
    assert "Owners of Staff sales_consultant." in html


def test_the_overdue_csv_holds_what_the_page_shows(app, people, overdue):
    client = _client(app, people, "manager")
    page = tables_of(client.get(BASE).get_data(as_text=True))
    response = client.get(f"{BASE}/care.csv?table=overdue")
    assert response.mimetype == "text/csv"
    assert "abc-care-overdue-SZ01-" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows == page["table-overdue"]
    assert client.get(f"{BASE}/care.csv?table=nope").status_code == 404


def test_empty_states(app, people):
    client = _client(app, people, "manager")
    html = client.get(BASE).get_data(as_text=True)
    assert "No overdue care: every graded owner was contacted in time." in html
    assert "No graded owner yet" in html
    html = client.get(f"{BASE}/owners?grade=A").get_data(as_text=True)
    assert "No owner of this grade." in html


def test_hq_filters_by_dealer(app, people, overdue, staff_factory, dealers):
    client = staff_factory("hq_admin", None)
    tables = tables_of(client.get(BASE).get_data(as_text=True))
    assert "Owner Mine" in [row[0] for row in tables["table-overdue"]]
    # Every dealer shown: each consultant with their dealer.
    assert "Staff sales_consultant · SZ01" in [row[0] for row in tables["table-consultants"]]
    html = client.get(f"{BASE}?dealer={dealers['GZ01']}").get_data(as_text=True)
    assert "Owner Mine" not in html
    assert "GZ01 · Dealer GZ01" in html


def test_a_manager_saves_the_care_standards(app, people):
    client = _client(app, people, "manager")
    html = client.get(f"{BASE}/standards").get_data(as_text=True)
    assert 'value="30"' in html
    form = {
        "a_days": "14",
        "a_description": "Birthday visit",
        "b_days": "45",
        "b_description": "",
        "c_days": "120",
        "c_description": "",
    }
    response = client.post(f"{BASE}/standards", data=form)
    assert response.status_code == 302
    assert "Care standards saved." in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    with app.app_context():
        assert services.current_standards(1)[services.GRADES[0]].interval_days == 14


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [("0", "60", "1 to 365 days"), ("90", "60", "A ≤ B ≤ C"), ("", "60", "Enter the interval")],
)
def test_nonsense_standards_show_a_message_and_save_nothing(app, people, a, b, message):
    client = _client(app, people, "manager")
    form = {"a_days": a, "b_days": b, "c_days": "90"}
    response = client.post(f"{BASE}/standards", data=form)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(app, CareStandard) == 0


def test_who_may_open_the_pages(app, people, staff_factory):
    advisor = staff_factory("service_advisor", "SZ01")
    assert advisor.get(BASE).status_code == 403
    consultant = _client(app, people, "consultant")
    assert consultant.get(BASE).status_code == 200
    assert consultant.get(f"{BASE}/standards").status_code == 403
    assert "Care standards" not in consultant.get(BASE).get_data(as_text=True)


def test_the_desk_and_the_member_page_link_to_grading(app, people):
    client = _client(app, people, "consultant")
    assert f'href="{BASE}"' in client.get("/admin/").get_data(as_text=True)
    html = client.get(f"/admin/members/{people['owner']}").get_data(as_text=True)
    assert f'href="{BASE}/owners/{people["owner"]}"' in html
    # No car, nothing to grade.
    html = client.get(f"/admin/members/{people['carless']}").get_data(as_text=True)
    assert f"{BASE}/owners/" not in html
