"""A referral from end to end on phones (R6): the owner registers a friend before the visit,
a consultant records the visit and the delivery, the manager checks the licence, the care agent
runs the callback, and both owners see their reward.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from tests.browser.test_accessibility import violations
from tests.browser.test_journey import log_in
from tests.browser.texts import sms_code
from tests.factories import colour, make_member, make_staff, make_vehicle, valid_vin

OWNER_MOBILE = "13700008001"
FRIEND_MOBILE = "13700008002"


@pytest.fixture(scope="module")
def club(live_server):
    """Zhang San (SZ01) drives a white dual-clutch Sagitar; a showroom manager and a care agent."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        from app.members.models import Transmission
        from app.members.services import get_dealer_by_code, update_profile

        sz01 = get_dealer_by_code("SZ01")
        owner = make_member(sz01.id, name="Zhang San", mobile=OWNER_MOBILE)
        update_profile(
            owner,
            name="Zhang San",
            birthday=None,
            gender=None,
            occupation="Huawei",
            home_area="Nanshan",
            hobbies="",
            marketing_opt_in=False,
        )
        car = make_vehicle(
            owner,
            plate="粤B8S8T8",
            model="Sagitar",
            colour_id=colour("white").id,
            transmission=Transmission.DUAL_CLUTCH,
        )
        facts = {"plate": car.plate, "vin": car.vin}
        staff = {
            role: make_staff(role, sz01.id).mobile for role in ("showroom_manager", "care_agent")
        }
        db.session.commit()
    return {"car": facts, "staff": staff}


def _status(page: Page):
    return page.get_by_role("status").first


def test_a_referral_from_registration_to_both_rewards(club, new_phone, live_server, artifacts):
    # 1. The owner registers a friend on the phone, before the friend's first visit.
    owner = new_phone()
    log_in(owner, OWNER_MOBILE)
    owner.get_by_role("link", name="Refer a friend").first.click()
    owner.wait_for_url("**/referrals/new")
    expect(owner.locator(".notice")).to_contain_text(
        "Your friend must not have visited the showroom before"
    )
    assert violations(owner) == []
    owner.fill("#friend_name", "Li Si")
    owner.fill("#friend_mobile", FRIEND_MOBILE)
    owner.fill("#model_of_interest", "Golf")
    owner.get_by_role("button", name="Register my friend").click()
    owner.wait_for_url("**/me/referrals")
    expect(_status(owner)).to_contain_text("Li Si is registered as your referral.")
    expect(owner.locator("li.referral")).to_contain_text("Registered.")
    assert violations(owner) == []

    # 2. A consultant records Li Si's first visit to the showroom, then the delivery.
    desk = new_phone()
    log_in(desk, live_server.staff_mobile)
    desk.get_by_role("link", name="Record a showroom visit").first.click()
    desk.wait_for_url("**/admin/prospects")
    desk.fill("#mobile", FRIEND_MOBILE)
    desk.fill("#name", "Li Si")
    desk.get_by_role("button", name="Record the visit").click()
    expect(_status(desk)).to_contain_text("Visit of Li Si on")

    desk.goto("/admin/")
    desk.get_by_role("link", name="Record a delivery").first.click()
    desk.wait_for_url("**/admin/deliveries")
    desk.fill("#name", "Li Si")
    desk.fill("#mobile", FRIEND_MOBILE)
    desk.fill("#employer", "Ping An Insurance")
    desk.fill("#vin", valid_vin())
    desk.fill("#plate", "粤B5G6H7")
    desk.fill("#model", "Golf")
    desk.select_option("#colour", label="Red")
    desk.select_option("#transmission", "manual")
    desk.get_by_role("button", name="Record the delivery").click()
    expect(_status(desk)).to_contain_text(
        "Delivery recorded: the Golf waits in the club for the buyer"
    )

    # 3. The showroom manager checks Zhang San's vehicle licence against the club record.
    manager = new_phone()
    log_in(manager, club["staff"]["showroom_manager"])
    manager.get_by_role("link", name="Referrals").first.click()
    manager.wait_for_url("**/admin/referrals")
    manager.select_option("#state", "purchased")
    manager.get_by_role("button", name="Show").click()
    manager.get_by_role("link", name=re.compile("Li Si")).click()
    manager.get_by_role("link", name="Check the licence").click()
    manager.fill("#plate", club["car"]["plate"])
    manager.fill("#vin", club["car"]["vin"].lower())
    manager.fill("#model", "sagitar")
    manager.select_option("#colour_id", label="White")
    manager.get_by_role("button", name="Check the licence").click()
    expect(manager.locator("section.result")).to_contain_text("Licence matches the club record")
    assert violations(manager) == []

    # 4. The care agent runs the callback: one wrong answer at most, then the recording.
    agent = new_phone()
    log_in(agent, club["staff"]["care_agent"])
    agent.goto("/admin/referrals?state=licence_checked")
    agent.get_by_role("link", name=re.compile("Li Si")).click()
    agent.get_by_role("link", name="Open the callback").click()
    agent.get_by_role("button", name="Start the callback").click()
    expect(agent.locator("li.question")).to_have_count(4)
    expect(agent.locator(".call-who")).to_contain_text(re.compile("Call (Li Si|Zhang San)"))
    agent.get_by_role("button", name="Reached", exact=True).click()
    expect(agent.locator(".attempts")).to_contain_text("reached")
    agent.screenshot(path=artifacts / "callback-en.png", full_page=True)
    assert violations(agent) == []
    question_ids = agent.locator("li.question").evaluate_all("items => items.map(i => i.id)")
    for n, question_id in enumerate(question_ids):
        question = agent.locator(f"#{question_id}")
        expect(question.locator(".question-text")).to_contain_text("?")
        expect(question.locator(".expected")).not_to_be_empty()
        answer = "Wrong" if n == 0 else "Right"
        question.get_by_role("button", name=answer).click()
        expect(question.locator(".answered")).to_contain_text(answer)
    agent.fill("#recording_ref", "REC-20261123-001")
    agent.get_by_role("button", name="Finish call").click()
    expect(_status(agent)).to_contain_text("Callback finished: the referral is approved.")
    expect(agent.locator("section.result")).to_contain_text("rewarded")

    # 5. Zhang San sees the reward on the referral and among the vouchers.
    owner.reload()
    referral = owner.locator("li.referral")
    expect(referral).to_contain_text("Rewarded. Thank you!")
    expect(referral).to_contain_text("2000 points")
    owner.get_by_role("link", name="My vouchers").click()
    owner.wait_for_url("**/me/vouchers")
    expect(owner.locator("#active")).to_contain_text("Regular maintenance voucher")

    # 6. Li Si, enrolled at delivery, joins with a code as the invitation says; her car, her
    #    dealer and the reward were waiting for whoever proves her number.
    friend = new_phone()
    friend.goto("/register")
    friend.fill("#mobile", FRIEND_MOBILE)
    friend.get_by_role("button", name="Text me a code").click()
    friend.fill("#code", sms_code(FRIEND_MOBILE))
    friend.get_by_role("button", name="Continue").click()
    friend.wait_for_url("**/register/details")
    expect(friend.locator("main")).to_contain_text("Your dealer enrolled")
    friend.check("#privacy")
    friend.get_by_role("button", name="Join").click()
    friend.wait_for_url(lambda url: url.endswith("/"))
    friend.goto("/me/points")
    expect(friend.locator("main")).to_contain_text("Referral reward")
    expect(friend.locator("main")).to_contain_text("1000")
    friend.goto("/me/vouchers")
    expect(friend.locator("#active")).to_contain_text("Regular maintenance voucher")

    # The detail page keeps the whole story for a dispute: answers and recording.
    agent.get_by_role("link", name="Back to the referral").click()
    detail = agent.locator("main")
    expect(detail).to_contain_text("REC-20261123-001")
    expect(detail).to_contain_text("Friend visited the showroom")
    expect(detail).to_contain_text("Vehicle licence checked")
    expect(detail).to_contain_text("Approved · 1 wrong answers")
    expect(detail.locator(".answered-wrong")).to_have_count(1)
    assert violations(agent) == []
