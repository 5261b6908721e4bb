"""HQ's pages on a phone (390 px): nothing wider than the screen, no accessibility violations."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from app.extensions import db
from app.members import services as members
from app.members.services import get_dealer_by_code
from tests.browser.test_journey import log_in
from tests.factories import give_points, make_member, make_staff, make_vehicle

AXE = Axe()


@pytest.fixture(scope="module")
def hq_mobile(live_server) -> dict:
    """An HQ admin; an owner of SZ01 with a car and points, asking to move to GZ01."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        sz, gz = get_dealer_by_code("SZ01"), get_dealer_by_code("GZ01")
        sz.region, gz.region = "华南", "华南"
        owner = make_member(sz.id, name="Phone Owner")
        make_vehicle(owner)
        give_points(owner, 1500)
        members.request_transfer(owner, to_dealer_id=gz.id, reason="moving to Guangzhou")
        hq = make_staff("hq_admin", None)
        mobile = hq.mobile
        dealer_id = sz.id
        # Issue 21: HQ's benefit catalogue with a draft open (its lists, forms and buttons).
        from app.loyalty.member_benefits.catalogue import start_draft

        start_draft(hq)
        db.session.commit()
    return {"mobile": mobile, "sz": dealer_id}


def test_hq_pages_fit_a_phone_and_are_accessible(new_phone, hq_mobile):
    page = new_phone()
    log_in(page, hq_mobile["mobile"])
    for path in (
        "/admin/hq/recruitment",
        "/admin/hq/settlement",
        f"/admin/hq/settlement/{hq_mobile['sz']}",
        "/admin/hq/regions",
        "/admin/transfers",
        "/admin/benefits",
        "/admin/benefits/draft/new",
    ):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        found = AXE.run(page).response["violations"]
        assert [v["id"] for v in found] == [], path
