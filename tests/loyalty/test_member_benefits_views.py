"""Member benefits on the pages (issue 21): the owner's tier page and card, the counter (who may
record, refusals, double submits, taking a use back), HQ's catalogue and its announcement."""

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.loyalty.member_benefits.anniversary import issue_anniversary_codes
from app.loyalty.member_benefits.models import AnniversaryCode, BenefitUse, UseStatus
from app.loyalty.services import account_for
from app.members.models import Member
from tests.conftest import login
from tests.factories import make_staff


def text(response) -> str:
    """The page's text without tags, as a reader sees it."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def uses(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            tuple(row) for row in db.session.execute(select(BenefitUse.code, BenefitUse.status))
        ]


def set_tier(app, member_id: int, code: str) -> None:
    with app.app_context():
        account_for(db.session.get(Member, member_id)).tier_code = code
        db.session.commit()


@pytest.fixture
def advisor(staff_factory):
    return staff_factory("service_advisor", "SZ01")


def counter(member) -> str:
    return f"/admin/members/{member['id']}/benefits"


def record(client, member, code, **fields):
    data = {f"{code}-{name}": value for name, value in fields.items()}
    return client.post(f"{counter(member)}/{code}/use", data=data)


# ------------------------------------------------------------------ the owner's pages


def test_the_tier_page_shows_my_benefits_and_what_each_tier_gives(member_client):
    page = text(member_client.get("/me/tier"))
    assert "My benefits this year" in page
    assert (
        "Membership year 23 Nov 2026 to 22 Nov 2027: the counts start again on 23 Nov 2027" in page
    )
    assert "Car wash 2 of 2 left" in page
    assert "Half-price labour · 50% off labour (not for Accident repair) · every visit" in page


def test_the_card_shows_what_is_left(app, member, member_client, advisor):
    record(advisor, member, "car-wash")
    page = text(member_client.get("/card"))
    assert "My benefits this year" in page and "Car wash 1 of 2 left" in page


def test_in_chinese_the_benefits_read_in_chinese(app, member, member_client):
    set_tier(app, member["id"], "diamond")
    page = text(member_client.get("/me/tier", headers={"Accept-Language": "zh-CN"}))
    assert "工时5折" in page and "（事故维修除外）" in page
    assert "免费洗车" in page and "剩余 6/6 次" in page


def test_the_owner_sees_the_anniversary_code_until_it_is_used(app, member, member_client, clock):
    clock.advance(days=365)
    with app.app_context(), app.test_request_context():
        issue_anniversary_codes()
        db.session.commit()
        code = db.session.scalar(select(AnniversaryCode.code))
    page = text(member_client.get("/me/tier"))
    assert f"Your code {code} Show it at the counter by 22 Jan 2028." in page


# ------------------------------------------------------------------ the counter


def test_staff_record_a_use_and_the_count_goes_down(app, member, advisor):
    assert "2 of 2 left" in text(advisor.get(counter(member)))
    response = record(advisor, member, "car-wash", note="Before the trip")
    assert response.status_code == 302
    page = text(advisor.get(response.headers["Location"]))
    assert "Recorded: Car wash." in page and "1 of 2 left" in page
    assert "Before the trip" in page
    assert uses(app) == [("car-wash", UseStatus.USED)]


def test_over_the_limit_is_refused_with_the_reason(app, member, advisor):
    record(advisor, member, "car-wash")
    record(advisor, member, "car-wash")
    response = record(advisor, member, "car-wash")
    assert response.status_code == 200
    assert "Already used 2 of 2 times this membership year" in text(response)
    assert len(uses(app)) == 2


def test_a_benefit_of_another_tier_and_an_excluded_category_are_refused(app, member, advisor):
    fields = {
        "reference": "RO-1",
        "category": "accident",
        "base_yuan": "400",
        "discount_yuan": "200",
    }
    response = record(advisor, member, "labour-discount", **fields)
    assert "Not a benefit of the owner's tier (Gold): it comes with Diamond." in text(response)
    set_tier(app, member["id"], "diamond")
    response = record(advisor, member, "labour-discount", **fields)
    page = response.get_data(as_text=True)
    assert 'id="labour-discount-category-error"' in page
    assert "Accident repair is excluded from this benefit." in text(response)
    assert uses(app) == []
    response = record(advisor, member, "labour-discount", **{**fields, "category": "repair"})
    assert response.status_code == 302 and len(uses(app)) == 1


def test_a_double_submit_records_one_use(app, member, advisor):
    data = {"idempotency_key": "k" * 22}
    first = advisor.post(f"{counter(member)}/car-wash/use", data=data)
    second = advisor.post(f"{counter(member)}/car-wash/use", data=data)
    assert first.status_code == second.status_code == 302
    assert len(uses(app)) == 1


def test_staff_of_another_dealer_cannot_see_or_record(app, member, staff_factory):
    other = staff_factory("service_advisor", "GZ01")
    assert other.get(counter(member)).status_code == 404
    assert record(other, member, "car-wash").status_code == 404
    assert uses(app) == []


def test_hq_sees_the_benefits_but_does_not_record_and_event_staff_neither(app, member, seeded):
    with seeded():
        hq_mobile = make_staff("hq_admin", None).mobile
        gate_mobile = make_staff("event_staff", db.session.get(Member, member["id"]).dealer_id)
        gate_mobile = gate_mobile.mobile
    hq = app.test_client()
    login(hq, hq_mobile)
    page = text(hq.get(counter(member)))
    assert "Car wash" in page and "Record a use" not in page
    assert record(hq, member, "car-wash").status_code == 403
    gate = app.test_client()
    login(gate, gate_mobile)
    assert record(gate, member, "car-wash").status_code == 403
    assert uses(app) == []


def test_a_dealer_admin_takes_a_use_back_with_a_reason(app, member, advisor, staff_factory):
    record(advisor, member, "car-wash")
    with app.app_context():
        use_id = db.session.scalar(select(BenefitUse.id))
    assert advisor.post(f"/admin/benefit-uses/{use_id}/void", data={}).status_code == 403
    admin = staff_factory("dealer_admin", "SZ01")
    response = admin.post(f"/admin/benefit-uses/{use_id}/void", data={"reason": ""})
    assert "Say why the use is taken back." in text(admin.get(response.headers["Location"]))
    admin.post(f"/admin/benefit-uses/{use_id}/void", data={"reason": "Wrong owner"})
    page = text(admin.get(counter(member)))
    assert "Taken back : Wrong owner" in page and "2 of 2 left" in page
    assert uses(app) == [("car-wash", UseStatus.VOIDED)]


def test_the_scan_shows_the_benefits_and_opens_the_counter(app, member, advisor):
    from app.cards.services import active_card

    with app.app_context():
        number = active_card(db.session.get(Member, member["id"])).number
    response = advisor.post("/admin/scan", data={"code": number})
    page = response.get_data(as_text=True)
    assert "Car wash" in text(response) and "2 of 2 left" in text(response)
    assert f'href="{counter(member)}"' in page


# ------------------------------------------------------------------ HQ's catalogue


@pytest.fixture
def hq(staff_factory):
    return staff_factory("hq_admin", None)


def test_hq_changes_the_catalogue_and_owners_are_told_before_it_applies(
    app, hq, member, member_client, clock
):
    assert hq.post("/admin/benefits/draft").status_code == 302
    form = {
        "tier_code": "gold",
        "kind": "free_item",
        "code": "check-up",
        "name_en": "Full computer check-up",
        "name_zh": "全车电脑深度检测",
        "yearly_limit": "1",
    }
    assert hq.post("/admin/benefits/draft/new", data=form).status_code == 302
    too_soon = hq.post(
        "/admin/benefits/draft/announce",
        data={"effective_from": "2026-12-01", "note": "A check-up for gold"},
    )
    assert "Members must be told in advance" in text(too_soon)
    done = hq.post(
        "/admin/benefits/draft/announce",
        data={"effective_from": "2027-01-01", "note": "A check-up for gold"},
    )
    assert "Benefits announced: they apply from 1 Jan 2027." in text(
        hq.get(done.headers["Location"])
    )

    tier = text(member_client.get("/me/tier"))
    assert "Member benefits change on 1 Jan 2027 A check-up for gold" in tier
    assert "From then Gold gives:" in tier and "Full computer check-up" in tier
    assert "Member benefits change on 1 Jan 2027." in text(member_client.get("/card"))
    assert "Full computer check-up 1 of 1 left" not in tier
    clock.advance(days=39)
    assert "Full computer check-up 1 of 1 left" in text(member_client.get("/me/tier"))


def test_a_discard_from_a_stale_page_changes_nothing(app, hq):
    hq.post("/admin/benefits/draft")
    response = hq.post("/admin/benefits/draft/discard", data={"draft_id": "999"})
    assert "This draft is no longer open" in text(hq.get(response.headers["Location"]))
    page = hq.get("/admin/benefits").get_data(as_text=True)
    draft_id = re.search(r'name="draft_id" type="hidden" value="(\d+)"', page).group(1)
    hq.post("/admin/benefits/draft/discard", data={"draft_id": draft_id})
    assert "Open a draft" in text(hq.get("/admin/benefits"))


def test_only_hq_keeps_the_catalogue(staff_factory):
    admin = staff_factory("dealer_admin", "SZ01")
    assert admin.get("/admin/benefits").status_code == 403
    assert admin.post("/admin/benefits/draft").status_code == 403


def test_the_daily_job_sends_the_anniversary_codes_once(app, member, clock):
    runner = app.test_cli_runner()
    clock.advance(days=365)
    assert "Sent 1 anniversary gift codes." in runner.invoke(args=["loyalty", "daily"]).output
    assert "Sent 0 anniversary gift codes." in runner.invoke(args=["loyalty", "daily"]).output
    with app.app_context():
        assert db.session.scalar(select(func.count(AnniversaryCode.id))) == 1
