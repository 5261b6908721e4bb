"""The referral rules' pages (issue 21): HQ announces referral terms (validated, zh/en), owners
read them ahead, a manager decides a staff match, the staff register, and the flagged staff
with how they handled the fraudulent referral."""

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from app.core.clock import local_date
from app.extensions import db
from app.members.models import Member
from app.referrals import services, staff
from app.referrals.models import Referral, ReferralStatus, ReferralTerms, StaffIdentity
from tests.conftest import NOW
from tests.factories import make_member, make_staff, make_vehicle
from tests.referrals.rules_helpers import buy, make_club

ID_NUMBER = "11010519491231002X"
TODAY = local_date(NOW)


def text(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def error(response, field: str) -> str:
    html = response.get_data(as_text=True)
    start = html.find(f'id="{field}-error"')
    if start == -1:
        return ""
    return unescape(html[html.index(">", start) + 1 : html.index("</p>", start)]).strip()


def input_value(response, name: str) -> str | None:
    for tag in re.findall(r"<input\b[^>]*>", response.get_data(as_text=True)):
        if f'name="{name}"' in tag:
            found = re.search(r'value="([^"]*)"', tag)
            return found.group(1) if found else None
    return None


@pytest.fixture
def first_terms(app) -> dict:
    with app.app_context():
        terms = db.session.get(ReferralTerms, 1)
        return {
            "referrer_reward_id": str(terms.referrer_reward_id),
            "friend_reward_id": str(terms.friend_reward_id),
            "bonus_reward_id": str(terms.bonus_reward_id),
            "bonus_min_tier": "platinum",
        }


def terms_form(first_terms, **changes) -> dict:
    return {
        "effective_from": (TODAY + timedelta(days=30)).isoformat(),
        "referrer_points": "3000",
        "friend_points": "1500",
        "yearly_cap": "12",
        **first_terms,
        "note": "More points for referrals from 23 December.",
        **changes,
    }


def versions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(ReferralTerms.id)))


def test_hq_announces_new_terms_and_owners_read_them_ahead(
    app, staff_factory, member_client, first_terms
):
    hq = staff_factory("hq_admin", None)
    page = hq.get("/admin/referral-terms")
    assert "2000 / 1000" in text(page) and "in force" in text(page)
    assert input_value(page, "referrer_points") == "2000"
    assert input_value(page, "yearly_cap") == "12" and input_value(page, "effective_from") in (
        "",
        None,
    )

    response = hq.post("/admin/referral-terms", data=terms_form(first_terms), follow_redirects=True)
    assert "New referral terms announced." in text(response)
    assert "3000 / 1500" in text(response) and "announced" in text(response)
    assert versions(app) == 2

    refer = text(member_client.get("/referrals/new"))
    assert "you get 2000 points and your friend 1000 points" in refer
    assert "More points for referrals from 23 December." in refer
    assert "3000 points for you, 1500 for your friend" in refer
    assert "For you: Regular maintenance voucher (referral reward)" in refer

    chinese = text(hq.get("/admin/referral-terms", headers={"Accept-Language": "zh"}))
    assert "推荐奖励规则" in chinese and "公布新规则" in chinese and "已公布" in chinese


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"referrer_points": "-5"}, "referrer_points", "Enter between 0 and 100000 points."),
        (
            {"friend_points": "99999999999999999999"},
            "friend_points",
            "Enter between 0 and 100000 points.",
        ),
        ({"yearly_cap": "0"}, "yearly_cap", "Enter a yearly limit between 1 and 100."),
        ({"yearly_cap": ""}, "yearly_cap", "Enter the yearly limit."),
        (
            {"effective_from": (TODAY - timedelta(days=1)).isoformat()},
            "effective_from",
            "Members must be told in advance",
        ),
        (
            {"effective_from": (TODAY + timedelta(days=29)).isoformat()},
            "effective_from",
            "Members must be told in advance",
        ),
        ({"note": " "}, "note", "Say what changes, for the announcement."),
        (
            {"bonus_min_tier": ""},
            "bonus_min_tier",
            "Choose the tier from which a referrer gets the bonus voucher.",
        ),
    ],
)
def test_the_terms_form_refuses_bad_input(app, staff_factory, first_terms, changes, field, message):
    hq = staff_factory("hq_admin", None)
    response = hq.post("/admin/referral-terms", data=terms_form(first_terms, **changes))
    assert response.status_code == 200
    assert message in error(response, field)
    assert versions(app) == 1


@pytest.fixture
def held(app, seeded, dealers) -> dict:
    """Owner Wang Qiang, whose ID number is a sales consultant's in the register, referred a
    friend who bought a car: the licence check is next."""
    with seeded():
        club = make_club(dealers)
        consultant = club["sales_consultant"]
        staff.record_identity(
            club["hq"], staff_mobile=consultant.mobile, kind="id_number", value=ID_NUMBER
        )
        owner = make_member(dealers["SZ01"], name="Wang Qiang")
        car = make_vehicle(owner)
        referral = services.register_referral(
            owner.user, owner, friend_name="Li Si", friend_mobile="13700001111"
        )
        buy(club, "13700001111")
        return {
            "referral_id": referral.id,
            "owner_mobile": owner.mobile,
            "car": {"plate": car.plate, "vin": car.vin, "model": car.model},
            "colour_id": str(car.colour_id),
            "manager": club["showroom_manager"].mobile,
        }


def test_the_id_number_at_the_licence_check_sends_it_to_a_manager(app, staff_factory, held):
    from tests.conftest import login

    manager = app.test_client()
    login(manager, held["manager"])
    referral_id = held["referral_id"]
    licence = {**held["car"], "colour_id": held["colour_id"]}
    response = manager.post(
        f"/admin/referrals/{referral_id}/licence", data={**licence, "id_number": "123"}
    )
    assert "18-character ID number" in error(response, "id_number")
    response = manager.post(
        f"/admin/referrals/{referral_id}/licence",
        data={**licence, "id_number": ID_NUMBER.lower()},
        follow_redirects=True,
    )
    assert "…002X" in text(response)

    detail = text(manager.get(f"/admin/referrals/{referral_id}"))
    assert "Staff check: waiting for a manager" in detail and "Decide the staff check" in detail
    review = f"/admin/referrals/{referral_id}/staff-review"
    page = text(manager.get(review))
    assert "Staff sales_consultant" in page and "Matched by: ID number" in page
    response = manager.post(review, data={"decision": "staff", "reason": ""})
    assert error(response, "reason") == "Say why."
    response = manager.post(
        review, data={"decision": "staff", "reason": "His own car."}, follow_redirects=True
    )
    assert "Decision saved: staff: no reward." in text(response)
    assert "referrer is staff" in text(response)
    with app.app_context():
        assert db.session.get(Referral, referral_id).status == ReferralStatus.STAFF_EXCLUDED

    owner = app.test_client()
    login(owner, held["owner_mobile"])
    assert "staff of the dealer cannot be rewarded for referrals" in text(
        owner.get("/me/referrals")
    )
    chinese = text(manager.get(review, headers={"Accept-Language": "zh"}))
    assert "员工核查" in chinese and "此推荐没有待决定的员工匹配。" in chinese


def test_the_staff_register_page(app, seeded, staff_factory, dealers):
    with seeded():
        agent = make_staff("care_agent", dealers["SZ01"])
        agent.name = "Zhou Min"
        agent_mobile = agent.mobile
    admin = staff_factory("dealer_admin", "SZ01")
    page = "/admin/referrals/staff-register"
    assert "Nothing recorded yet." in text(admin.get(page))
    form = {"staff_mobile": agent_mobile, "kind": "id_number", "value": "110105194912310021"}
    response = admin.post(page, data=form)
    assert "18-character ID number" in error(response, "value")
    response = admin.post(
        page, data={**form, "kind": "mobile", "value": "139 1234 5678"}, follow_redirects=True
    )
    assert "Recorded in the staff register." in text(response)
    assert "Zhou Min" in text(response) and "139****5678" in text(response)
    assert "13912345678" not in response.get_data(as_text=True)

    gz_admin = staff_factory("dealer_admin", "GZ01")
    assert "Zhou Min" not in text(gz_admin.get(page))
    response = gz_admin.post(page, data={**form, "kind": "mobile", "value": "13912340000"})
    assert "No staff member of yours" in error(response, "staff_mobile")

    with app.app_context():
        entry_id = db.session.scalar(select(StaffIdentity.id))
    assert gz_admin.post(f"{page}/{entry_id}/remove").status_code == 404
    response = admin.post(f"{page}/{entry_id}/remove", follow_redirects=True)
    assert "Removed from the register." in text(response)
    assert "Nothing recorded yet." in text(response)


def test_flagged_staff_show_how_they_handled_it(app, seeded, staff_factory, dealers):
    from app.referrals import verification

    with seeded():
        club = make_club(dealers)
        owner = db.session.get(Member, club["owner"].id)
        referral = services.register_referral(
            club["sales_consultant"], owner, friend_name="Li Si", friend_mobile="13700001111"
        )
        buy(club, "13700001111")
        car = owner.vehicles[0]
        facts = services.LicenceFacts(car.plate, car.vin, car.model, car.colour_id)
        services.check_licence(club["showroom_manager"], referral.id, facts)
        verification.start_callback(club["care_agent"], referral.id)
        for q in referral.questions:
            verification.answer_question(club["care_agent"], referral.id, q.id, correct=False)
        verification.complete_callback(club["care_agent"], referral.id, recording_ref="R-1")

    hq = staff_factory("hq_admin", None)
    funnel = text(hq.get("/admin/referrals/funnel"))
    assert "1st offence Handled: registered it, sales consultant" in funnel
    assert "Handled: licence check" in funnel and "Handled: callback" in funnel

    report = hq.get("/admin/insight/referrals").get_data(as_text=True)
    assert 'id="table-flags"' in report
    csv = hq.get("/admin/insight/referrals.csv", query_string={"table": "flags"})
    rows = csv.get_data(as_text=True).splitlines()
    assert rows[0].lstrip("\ufeff").startswith("Staff member,Role,Dealer,Referral,Handled")
    assert len(rows) == 4 and all(row.endswith("1st offence") for row in rows[1:])
    assert "licence check" in csv.get_data(as_text=True)

    # Managers see the funnel report, not who is flagged.
    manager_report = staff_factory("showroom_manager", "SZ01").get("/admin/insight/referrals")
    assert 'id="table-flags"' not in manager_report.get_data(as_text=True)
    chinese = text(hq.get("/admin/referrals/funnel", headers={"Accept-Language": "zh"}))
    assert "经手环节：行驶证核对" in chinese
