"""Referral pages: the owner's form and list, the staff queue, licence check, callback, funnel."""

import re
from datetime import date
from html import unescape

import pytest
from sqlalchemy import func, select

from app.cards.services import active_card
from app.extensions import db
from app.members.delivery import DeliveryCustomer, DeliveryVehicle, record_delivery
from app.members.models import Member
from app.members.services import update_profile
from app.referrals import services as referrals
from app.referrals import verification
from app.referrals.models import Callee, CrossCheckQuestion, Referral, ReferralStatus, StaffFlag
from app.rewards.models import Voucher
from tests.factories import colour, make_member, make_staff, make_vehicle, valid_vin

FRIEND_MOBILE = "13700004444"


def body(response) -> str:
    return response.get_data(as_text=True)


def text(response) -> str:
    """The page's visible text, tags removed and whitespace squeezed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", body(response), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def error(response, field: str) -> str:
    """The error shown next to ``field`` (empty when there is none)."""
    html = body(response)
    start = html.find(f'id="{field}-error"')
    if start == -1:
        return ""
    return unescape(html[html.index(">", start) + 1 : html.index("</p>", start)])


def referral_state(app, referral_id: int) -> ReferralStatus:
    with app.app_context():
        return db.session.get(Referral, referral_id).status


@pytest.fixture
def zhang(seeded, member):
    """Zhang Wei (the ``member`` fixture: a white dual-clutch Sagitar) works at Huawei."""
    with seeded():
        owner = db.session.get(Member, member["id"])
        update_profile(
            owner,
            name="Zhang Wei",
            birthday=None,
            gender=None,
            occupation="Huawei",
            home_area="Nanshan",
            hobbies="",
            marketing_opt_in=False,
        )
        car = owner.vehicles[0]
        member = {
            **member,
            "card": active_card(owner).number,
            "plate": car.plate,
            "vin": car.vin,
            "colour_id": car.colour_id,
        }
    return member


def register(seeded, member_id: int, mobile: str = FRIEND_MOBILE, name: str = "Li Si") -> int:
    """The owner registers a friend (service call): the referral's id."""
    with seeded():
        owner = db.session.get(Member, member_id)
        return referrals.register_referral(
            owner.user, owner, friend_name=name, friend_mobile=mobile, model_of_interest="Golf"
        ).id


def deliver(seeded, dealer_id: int, mobile: str = FRIEND_MOBILE, name: str = "Li Si") -> int:
    """The friend's red manual Golf is delivered: the friend's member id."""
    with seeded():
        return record_delivery(
            dealer_id=dealer_id,
            delivered_on=date(2026, 11, 22),
            sales_consultant="Chen Jie",
            customer=DeliveryCustomer(name=name, mobile=mobile, employer="Ping An"),
            vehicle=DeliveryVehicle(
                vin=valid_vin(), model="Golf", colour="red", transmission="manual"
            ),
        ).member.id


@pytest.fixture
def manager(staff_factory):
    return staff_factory("showroom_manager", "SZ01")


@pytest.fixture
def agent(staff_factory):
    return staff_factory("care_agent", "SZ01")


@pytest.fixture
def purchased(seeded, zhang, dealers):
    """Zhang Wei referred Li Si, who bought a red manual Golf: the referral's id."""
    referral_id = register(seeded, zhang["id"])
    deliver(seeded, dealers["SZ01"])
    return referral_id


def licence_data(zhang, **changes) -> dict:
    return {
        "plate": zhang["plate"],
        "vin": zhang["vin"],
        "model": "Sagitar",
        "colour_id": str(zhang["colour_id"]),
        **changes,
    }


@pytest.fixture
def checked(purchased, manager, zhang):
    """The referral after a matching licence check."""
    response = manager.post(f"/admin/referrals/{purchased}/licence", data=licence_data(zhang))
    assert response.status_code == 302
    return purchased


# ----------------------------------------------------------------------------- owner pages


def test_owner_refers_a_friend(app, member_client, member, clock):
    page = text(member_client.get("/referrals/new"))
    assert "Your friend must not have visited the showroom before" in page
    assert "you get 2000 points and your friend 1000 points" in page

    response = member_client.post(
        "/referrals/new",
        data={
            "friend_name": "Li Si",
            "friend_mobile": "137 0000 4444",
            "model_of_interest": "Golf",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/me/referrals"
    page = text(member_client.get("/me/referrals"))
    assert "Li Si is registered as your referral." in page
    assert "Li Si 137****4444 · Golf" in page
    assert "Registered. Bring your friend to the showroom" in page
    with app.app_context():
        referral = db.session.scalar(select(Referral))
        assert referral.referrer_id == member["id"]
        assert referral.friend_mobile == FRIEND_MOBILE
        assert referral.status == ReferralStatus.REGISTERED


def test_the_home_page_links_to_referrals(member_client):
    html = body(member_client.get("/"))
    assert 'href="/referrals/new"' in html
    assert "Refer a friend" in html


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("owner", "Your friend is already a member of the club: only new owners can be referred."),
        ("self", "You cannot refer yourself."),
        ("taken", "Someone registered this friend first: the first registration counts."),
        (
            "visited",
            "Your friend already visited the showroom on 2026-11-20: a referral must be "
            "registered before or at the first visit.",
        ),
        ("bad", "Enter your friend's mainland mobile number of 11 digits."),
    ],
)
def test_refusals_show_next_to_the_mobile(
    app, seeded, member_client, member, dealers, case, message
):
    mobile = FRIEND_MOBILE
    with seeded():
        if case == "owner":
            mobile = make_member(dealers["SZ01"], name="Wang Fang").user.mobile
        elif case == "self":
            mobile = member["mobile"]
        elif case == "taken":
            other = make_member(dealers["SZ01"], name="Wang Fang")
            referrals.register_referral(
                other.user, other, friend_name="Li Si", friend_mobile=FRIEND_MOBILE
            )
        elif case == "visited":
            referrals.record_showroom_visit(
                make_staff("sales_consultant", dealers["SZ01"]),
                mobile=FRIEND_MOBILE,
                name="Li Si",
                visited_on=date(2026, 11, 20),
            )
        elif case == "bad":
            mobile = "12345"
    with app.app_context():
        before = db.session.scalar(select(func.count(Referral.id)))

    response = member_client.post(
        "/referrals/new", data={"friend_name": "Li Si", "friend_mobile": mobile}
    )
    assert response.status_code == 200
    assert error(response, "friend_mobile") == message
    assert 'value="Li Si"' in body(response)
    with app.app_context():
        assert db.session.scalar(select(func.count(Referral.id))) == before


def test_registering_the_same_friend_twice_says_so(seeded, member_client, member):
    register(seeded, member["id"])
    response = member_client.post(
        "/referrals/new", data={"friend_name": "Li Si", "friend_mobile": FRIEND_MOBILE}
    )
    assert error(response, "friend_mobile") == "You already registered this friend."


def test_my_referrals_show_each_state_and_withdraw(app, seeded, member_client, zhang, dealers):
    mine = register(seeded, zhang["id"])
    other = register(seeded, zhang["id"], mobile="13700005555", name="Wang Wu")
    deliver(seeded, dealers["SZ01"], mobile="13700005555", name="Wang Wu")
    with seeded():
        stranger = make_member(dealers["SZ01"], name="Zhao Liu")
        theirs = referrals.register_referral(
            stranger.user, stranger, friend_name="Qian Qi", friend_mobile="13700006666"
        ).id

    page = text(member_client.get("/me/referrals"))
    assert "Li Si" in page
    assert "Wang Wu" in page
    assert "Qian Qi" not in page
    assert "Your friend bought a car. We are checking the referral." in page
    html = body(member_client.get("/me/referrals"))
    assert f"/me/referrals/{mine}/withdraw" in html
    assert f"/me/referrals/{other}/withdraw" not in html

    response = member_client.post(f"/me/referrals/{mine}/withdraw", follow_redirects=True)
    assert "Referral of Li Si withdrawn." in text(response)
    assert "You withdrew this referral." in text(response)
    assert referral_state(app, mine) == ReferralStatus.WITHDRAWN

    # Withdrawing a purchased referral is refused with the reason; someone else's is not found.
    response = member_client.post(f"/me/referrals/{other}/withdraw", follow_redirects=True)
    assert "This referral is purchased: it cannot become withdrawn." in text(response)
    assert referral_state(app, other) == ReferralStatus.PURCHASED
    assert member_client.post(f"/me/referrals/{theirs}/withdraw").status_code == 404
    assert referral_state(app, theirs) == ReferralStatus.REGISTERED


def test_staff_cannot_use_the_owner_pages(staff_client):
    assert staff_client.get("/referrals/new").status_code == 403
    assert staff_client.get("/me/referrals").status_code == 403


# ----------------------------------------------------------------------------- staff queue


def test_the_queue_is_scoped_to_the_dealer(seeded, staff_factory, member, dealers):
    referral_id = register(seeded, member["id"])
    sz = staff_factory("sales_consultant", "SZ01")
    gz = staff_factory("sales_consultant", "GZ01")

    page = text(sz.get("/admin/referrals"))
    assert "Li Si" in page
    assert "Referred by Zhang Wei" in page
    assert "1 referral" in page
    assert "Li Si" in text(sz.get(f"/admin/referrals/{referral_id}"))

    assert "Li Si" not in text(gz.get("/admin/referrals"))
    assert "Li Si" not in text(gz.get("/admin/referrals", query_string={"state": "all"}))
    for path in (
        f"/admin/referrals/{referral_id}",
        f"/admin/referrals/{referral_id}/review",
    ):
        assert staff_factory("dealer_admin", "GZ01").get(path).status_code == 404
    assert gz.get(f"/admin/referrals/{referral_id}").status_code == 404
    assert staff_factory("hq_admin", None).get(f"/admin/referrals/{referral_id}").status_code == 200


def test_the_queue_filters_by_state_and_flags_waiting_callbacks(
    app, seeded, agent, checked, member, staff_factory, clock
):
    agent.post(f"/admin/referrals/{checked}/callback/start")
    register(seeded, member["id"], mobile="13700005555", name="Wang Wu")
    desk = staff_factory("showroom_manager", "SZ01")

    page = text(desk.get("/admin/referrals"))
    assert "Wang Wu" in page
    assert "Li Si" not in page
    page = text(desk.get("/admin/referrals", query_string={"state": "callback"}))
    assert "Li Si" in page
    assert "Wang Wu" not in page
    assert "Waiting" not in page

    # Not reached in the morning (10:00 in Shenzhen), twice in the afternoon: not waiting yet.
    for hours in (0, 5, 1):
        clock.advance(hours=hours)
        agent.post(f"/admin/referrals/{checked}/attempts", data={"reached": "no"})
    assert "Waiting" not in text(desk.get("/admin/referrals", query_string={"state": "callback"}))
    # ... and in the evening: the referral waits for the callee to call back.
    clock.advance(hours=4)
    agent.post(f"/admin/referrals/{checked}/attempts", data={"reached": "no"})
    page = text(desk.get("/admin/referrals", query_string={"state": "callback"}))
    waiting = "Waiting: not reached in the morning, afternoon and evening"
    assert waiting in page
    assert waiting in text(agent.get(f"/admin/referrals/{checked}/callback"))
    assert waiting in text(desk.get(f"/admin/referrals/{checked}"))


def test_the_queue_is_paginated(app, seeded, member, staff_client):
    app.config["MEMBERS_PER_PAGE"] = 2
    for n in range(3):
        register(seeded, member["id"], mobile=f"1370000{n:04d}", name=f"Friend {n}")
    client = staff_client
    first = text(client.get("/admin/referrals"))
    assert "Page 1 of 2" in first
    assert "Friend 0" not in first
    assert "Friend 0" in text(client.get("/admin/referrals", query_string={"page": 2}))


# ------------------------------------------------------------ registration, visits, delivery


def test_a_consultant_registers_for_an_owner_by_card_or_mobile(app, staff_client, zhang):
    response = staff_client.post(
        "/admin/referrals/new",
        data={
            "owner": zhang["card"],
            "friend_name": "Li Si",
            "friend_mobile": FRIEND_MOBILE,
            "model_of_interest": "Golf",
        },
        follow_redirects=True,
    )
    assert "Li Si is registered as a referral of Zhang Wei." in text(response)
    response = staff_client.post(
        "/admin/referrals/new",
        data={"owner": zhang["mobile"], "friend_name": "Wang Wu", "friend_mobile": "13700005555"},
        follow_redirects=True,
    )
    assert "Wang Wu is registered as a referral of Zhang Wei." in text(response)
    with app.app_context():
        rows = db.session.scalars(select(Referral).order_by(Referral.id)).all()
        assert [r.referrer_id for r in rows] == [zhang["id"], zhang["id"]]
        # The consultant who registered is the referral's consultant.
        assert rows[0].consultant_id == rows[0].registered_by_id


def test_registering_for_an_unknown_or_other_dealers_owner_is_refused(
    app, seeded, staff_client, dealers
):
    with seeded():
        gz_owner = make_member(dealers["GZ01"], name="Chen Jie")
        gz_card, gz_mobile = active_card(gz_owner).number, gz_owner.user.mobile
    friend = {"friend_name": "Li Si", "friend_mobile": FRIEND_MOBILE}
    for owner, message in (
        (gz_card, "No card has this number."),
        (gz_mobile, "No such member."),
        ("13900000000", "No owner has this mobile number."),
        ("1234", "A card number has 16 digits."),
    ):
        response = staff_client.post("/admin/referrals/new", data={"owner": owner, **friend})
        assert response.status_code == 200
        assert error(response, "owner") == message
    with app.app_context():
        assert db.session.scalar(select(func.count(Referral.id))) == 0


def test_a_showroom_visit_moves_the_referral_and_blocks_late_registrations(
    app, seeded, staff_client, member, clock
):
    referral_id = register(seeded, member["id"])
    page = body(staff_client.get("/admin/prospects"))
    assert 'value="2026-11-23"' in page
    response = staff_client.post(
        "/admin/prospects",
        data={"mobile": FRIEND_MOBILE, "name": "Li Si", "visited_on": "2026-11-23"},
        follow_redirects=True,
    )
    assert "Visit of Li Si on 2026-11-23 recorded." in text(response)
    assert referral_state(app, referral_id) == ReferralStatus.VISITED

    # A prospect who came yesterday cannot be referred today.
    staff_client.post(
        "/admin/prospects",
        data={"mobile": "13700005555", "name": "Wang Wu", "visited_on": "2026-11-22"},
    )
    response = staff_client.post(
        "/admin/referrals/new",
        data={"owner": member["mobile"], "friend_name": "Wang Wu", "friend_mobile": "13700005555"},
    )
    assert error(response, "friend_mobile").startswith(
        "Your friend already visited the showroom on 2026-11-22"
    )

    response = staff_client.post(
        "/admin/prospects",
        data={"mobile": "13700007777", "name": "Zhou", "visited_on": "2026-11-30"},
    )
    assert error(response, "visited_on") == "The visit date cannot be in the future."


def test_the_prospect_form_offers_the_dealers_consultants(seeded, staff_factory, dealers):
    with seeded():
        make_staff("sales_consultant", dealers["GZ01"]).name = "GZ consultant"
        make_staff("sales_consultant", dealers["SZ01"]).name = "SZ consultant"
    html = body(staff_factory("showroom_manager", "SZ01").get("/admin/prospects"))
    assert "SZ consultant" in html
    assert "GZ consultant" not in html


# --------------------------------------------------------------------------- licence check


def test_a_licence_mismatch_is_recorded_and_stops_the_referral(
    app, manager, agent, purchased, zhang
):
    page = text(manager.get(f"/admin/referrals/{purchased}"))
    assert "Check the licence" in page
    with app.app_context():
        black = colour("black").id
    response = manager.post(
        f"/admin/referrals/{purchased}/licence",
        data=licence_data(zhang, colour_id=str(black), plate="粤B00000"),
        follow_redirects=True,
    )
    page = text(response)
    assert "Licence does not match" in page
    assert "Different from the club record: Plate, Colour" in page
    assert referral_state(app, purchased) == ReferralStatus.LICENCE_FAILED

    # Nothing more can happen to it: another check, a callback, a manual decision.
    response = manager.post(f"/admin/referrals/{purchased}/licence", data=licence_data(zhang))
    assert "This referral is licence check failed" in text(response)
    response = agent.post(f"/admin/referrals/{purchased}/callback/start", follow_redirects=True)
    assert "cannot become callback under way" in text(response)
    response = manager.post(
        f"/admin/referrals/{purchased}/review", data={"decision": "approve", "reason": "ok"}
    )
    assert "Only a referral in manual review can be decided here." in text(response)
    assert referral_state(app, purchased) == ReferralStatus.LICENCE_FAILED
    page = text(manager.get(f"/admin/referrals/{purchased}"))
    assert "Vehicle licence checked · does not match: Plate, Colour" in page


def test_a_matching_licence_opens_the_callback(app, checked, manager):
    page = text(manager.get(f"/admin/referrals/{checked}/licence"))
    assert "Licence matches the club record" in page
    assert referral_state(app, checked) == ReferralStatus.LICENCE_CHECKED


def test_the_licence_form_shows_its_own_errors(manager, purchased):
    response = manager.post(f"/admin/referrals/{purchased}/licence", data={})
    assert error(response, "vin") == "Enter the VIN on the licence."
    assert error(response, "colour_id") == "Choose a colour."


# -------------------------------------------------------------------------------- callback


def call(agent, referral_id: int) -> list[int]:
    """Start the callback; the question ids."""
    page = text(agent.get(f"/admin/referrals/{referral_id}/callback"))
    assert "Start the callback" in page
    agent.post(f"/admin/referrals/{referral_id}/callback/start")
    html = body(agent.get(f"/admin/referrals/{referral_id}/callback"))
    return [int(n) for n in re.findall(r'<li class="question" id="q(\d+)">', html)]


@pytest.mark.parametrize("callee", [Callee.FRIEND, Callee.REFERRER])
@pytest.mark.parametrize("wrong", [0, 1])
def test_a_callback_with_at_most_one_wrong_answer_rewards_both(
    app, monkeypatch, agent, checked, zhang, member_client, callee, wrong
):
    monkeypatch.setattr(verification, "choose_callee", lambda: callee)
    questions = call(agent, checked)
    assert len(questions) == 4
    page = text(agent.get(f"/admin/referrals/{checked}/callback"))
    if callee == Callee.FRIEND:
        assert "Call Li Si (the new owner)" in page
        assert "Questions about Zhang Wei" in page
        assert "Zhang Wei's Sagitar is" in page
        assert "Expected answer: Huawei" in page or "Expected answer: Nanshan" in page
    else:
        assert "Call Zhang Wei (the referrer)" in page
        assert "Questions about Li Si" in page
        assert "Deliberate error. The truth: Manual" in page
        assert "Expected answer: Ping An" in page

    for n, question_id in enumerate(questions):
        answer = "wrong" if n < wrong else "right"
        response = agent.post(
            f"/admin/referrals/{checked}/questions/{question_id}", data={"answer": answer}
        )
        assert response.status_code == 302
    response = agent.post(
        f"/admin/referrals/{checked}/callback/finish",
        data={"recording_ref": "REC-2026-1123-01"},
        follow_redirects=True,
    )
    page = text(response)
    assert "Callback finished: the referral is approved." in page
    assert "✓ rewarded" in page
    assert referral_state(app, checked) == ReferralStatus.REWARDED

    page = text(member_client.get("/me/referrals"))
    assert "Rewarded. Thank you!" in page
    assert "You got: 2000 points · Regular maintenance voucher (referral reward)" in page
    detail = text(agent.get(f"/admin/referrals/{checked}"))
    assert "Answer marked · question 1: " in detail
    assert "REC-2026-1123-01" in detail
    assert f"Approved · {wrong} wrong answers" in detail
    assert "Rewards given" in detail


def test_two_wrong_answers_make_it_fraud_and_flag_the_consultant(
    app, seeded, monkeypatch, agent, staff_factory, zhang, dealers, manager, member_client
):
    # A consultant registered the referral for the owner.
    consultant = staff_factory("sales_consultant", "SZ01")
    consultant.post(
        "/admin/referrals/new",
        data={"owner": zhang["mobile"], "friend_name": "Li Si", "friend_mobile": FRIEND_MOBILE},
    )
    with app.app_context():
        referral_id = db.session.scalar(select(Referral.id))
    deliver(seeded, dealers["SZ01"])
    manager.post(f"/admin/referrals/{referral_id}/licence", data=licence_data(zhang))
    monkeypatch.setattr(verification, "choose_callee", lambda: Callee.FRIEND)
    questions = call(agent, referral_id)
    for n, question_id in enumerate(questions):
        agent.post(
            f"/admin/referrals/{referral_id}/questions/{question_id}",
            data={"answer": "wrong" if n < 2 else "right"},
        )
    page = text(agent.get(f"/admin/referrals/{referral_id}/callback"))
    assert "2 wrong answers: finishing the call marks the referral as fraud." in page
    response = agent.post(
        f"/admin/referrals/{referral_id}/callback/finish",
        data={"recording_ref": "REC-9"},
        follow_redirects=True,
    )
    assert "Callback finished: marked as fraud, no reward." in text(response)
    assert referral_state(app, referral_id) == ReferralStatus.FRAUD
    with app.app_context():
        assert db.session.scalar(select(func.count(Voucher.id))) == 0
        assert db.session.scalar(select(StaffFlag.offence)) == 1
    assert "Not rewarded: our check found that this referral was not genuine" in text(
        member_client.get("/me/referrals")
    )
    funnel = text(staff_factory("hq_admin", None).get("/admin/referrals/funnel"))
    assert "Staff sales_consultant · Sales consultant · SZ01 1st offence" in funnel


def test_answering_twice_or_after_the_call_changes_nothing(app, monkeypatch, agent, checked):
    monkeypatch.setattr(verification, "choose_callee", lambda: Callee.REFERRER)
    questions = call(agent, checked)
    first = questions[0]
    agent.post(f"/admin/referrals/{checked}/questions/{first}", data={"answer": "right"})
    response = agent.post(
        f"/admin/referrals/{checked}/questions/{first}",
        data={"answer": "wrong"},
        follow_redirects=True,
    )
    assert "This question was already answered." in text(response)
    with app.app_context():
        assert db.session.get(CrossCheckQuestion, first).correct is True

    # Finishing before every answer is marked is refused, next to nothing in particular.
    response = agent.post(
        f"/admin/referrals/{checked}/callback/finish", data={"recording_ref": "REC-1"}
    )
    assert "Mark every answer before finishing the call." in text(response)
    response = agent.post(f"/admin/referrals/{checked}/callback/finish", data={})
    assert error(response, "recording_ref") == "Attach the call recording reference."
    assert referral_state(app, checked) == ReferralStatus.CALLBACK

    for question_id in questions[1:]:
        agent.post(f"/admin/referrals/{checked}/questions/{question_id}", data={"answer": "right"})
    agent.post(f"/admin/referrals/{checked}/callback/finish", data={"recording_ref": "REC-1"})
    response = agent.post(
        f"/admin/referrals/{checked}/questions/{questions[1]}",
        data={"answer": "wrong"},
        follow_redirects=True,
    )
    assert "This callback is closed." in text(response)
    response = agent.post(
        f"/admin/referrals/{checked}/callback/finish", data={"recording_ref": "REC-2"}
    )
    assert "This callback is closed." in text(response)
    with app.app_context():
        referral = db.session.get(Referral, checked)
        assert referral.status == ReferralStatus.REWARDED
        assert referral.recording_ref == "REC-1"
        assert all(q.correct for q in referral.questions)


def test_a_question_of_another_referral_is_not_found(
    seeded, monkeypatch, agent, checked, zhang, dealers, manager
):
    monkeypatch.setattr(verification, "choose_callee", lambda: Callee.REFERRER)
    questions = call(agent, checked)
    other = register(seeded, zhang["id"], mobile="13700005555", name="Wang Wu")
    response = agent.post(
        f"/admin/referrals/{other}/questions/{questions[0]}", data={"answer": "right"}
    )
    assert response.status_code == 404


def test_call_attempts_are_logged(app, monkeypatch, agent, checked):
    monkeypatch.setattr(verification, "choose_callee", lambda: Callee.REFERRER)
    call(agent, checked)
    agent.post(f"/admin/referrals/{checked}/attempts", data={"reached": "no"})
    agent.post(f"/admin/referrals/{checked}/attempts", data={"reached": "yes"})
    response = agent.post(f"/admin/referrals/{checked}/attempts", data={}, follow_redirects=True)
    assert "Choose reached or not reached." in text(response)
    with app.app_context():
        referral = db.session.get(Referral, checked)
        assert [a.reached for a in referral.attempts] == [False, True]
    detail = text(agent.get(f"/admin/referrals/{checked}"))
    assert "Call attempt · not reached" in detail
    assert "Call attempt · reached" in detail


def test_manual_review_decides_a_referral_without_enough_questions(
    app, monkeypatch, agent, manager, checked, member_client
):
    monkeypatch.setattr(verification, "draft_questions", lambda *a, **k: [])
    agent.post(f"/admin/referrals/{checked}/callback/start")
    assert referral_state(app, checked) == ReferralStatus.MANUAL_REVIEW
    page = text(agent.get(f"/admin/referrals/{checked}/callback"))
    assert "Only 0 questions could be made" in page

    response = manager.post(f"/admin/referrals/{checked}/review", data={"decision": "approve"})
    assert error(response, "reason") == "Say why."
    response = manager.post(
        f"/admin/referrals/{checked}/review",
        data={"decision": "approve", "reason": "Both confirmed in person."},
        follow_redirects=True,
    )
    assert "Decision saved: rewarded." in text(response)
    assert referral_state(app, checked) == ReferralStatus.REWARDED
    response = manager.post(
        f"/admin/referrals/{checked}/review",
        data={"decision": "fraud", "reason": "changed my mind"},
    )
    assert "Only a referral in manual review can be decided here." in text(response)
    assert referral_state(app, checked) == ReferralStatus.REWARDED
    assert "Rewarded. Thank you!" in text(member_client.get("/me/referrals"))


# ---------------------------------------------------------------------------------- funnel


def funnel_row(html: str, table: str, group: str) -> dict[str, int]:
    """The counts of ``group``'s row in the funnel table of section ``table``."""
    section = html[html.index(f'id="{table}"') :]
    section = section[: section.index("</table>")]
    row = re.search(rf'<th scope="row">{re.escape(group)}</th>(.*?)</tr>', section, re.S)
    assert row, f"no row {group} in {table}"
    return {s: int(n) for s, n in re.findall(r'data-step="(\w+)">(\d+)<', row.group(1))}


def test_the_funnel_counts_each_step(
    app, seeded, monkeypatch, staff_factory, agent, checked, zhang, dealers
):
    # Li Si: rewarded. Wang Wu: visited. Zhao Liu: registered only. One GZ01 referral.
    monkeypatch.setattr(verification, "choose_callee", lambda: Callee.REFERRER)
    for question_id in call(agent, checked):
        agent.post(f"/admin/referrals/{checked}/questions/{question_id}", data={"answer": "right"})
    agent.post(f"/admin/referrals/{checked}/callback/finish", data={"recording_ref": "R"})
    register(seeded, zhang["id"], mobile="13700005555", name="Wang Wu")
    register(seeded, zhang["id"], mobile="13700006666", name="Zhao Liu")
    with seeded():
        consultant = make_staff("sales_consultant", dealers["SZ01"])
        consultant.name = "Chen Jie"
        referrals.record_showroom_visit(
            consultant, mobile="13700005555", name="Wang Wu", visited_on=date(2026, 11, 23)
        )
        gz_owner = make_member(dealers["GZ01"], name="Gao")
        make_vehicle(gz_owner)
        referrals.register_referral(
            gz_owner.user, gz_owner, friend_name="Hu", friend_mobile="13700008888"
        )

    steps = ("registered", "visited", "purchased", "verified", "rewarded", "fraud")

    def counts(*numbers):
        return dict(zip(steps, numbers, strict=True))

    html = body(staff_factory("hq_admin", None).get("/admin/referrals/funnel"))
    assert funnel_row(html, "by-dealer", "SZ01") == counts(3, 2, 1, 1, 1, 0)
    assert funnel_row(html, "by-dealer", "GZ01") == counts(1, 0, 0, 0, 0, 0)
    assert funnel_row(html, "by-consultant", "Chen Jie") == counts(1, 1, 0, 0, 0, 0)

    # A dealer admin sees only their own dealer.
    html = body(staff_factory("dealer_admin", "GZ01").get("/admin/referrals/funnel"))
    assert funnel_row(html, "by-dealer", "GZ01")["registered"] == 1
    assert "SZ01" not in html


def test_first_and_repeat_offences_look_different(app, seeded, staff_factory, dealers):
    with seeded():
        from app.core.clock import utcnow

        owner = make_member(dealers["SZ01"], name="Qian")
        consultant = make_staff("sales_consultant", dealers["SZ01"])
        for n in (1, 2):
            referral = referrals.register_referral(
                consultant, owner, friend_name=f"F{n}", friend_mobile=f"1370000999{n}"
            )
            db.session.add(
                StaffFlag(
                    user_id=consultant.id, referral_id=referral.id, offence=n, created_at=utcnow()
                )
            )
    html = body(staff_factory("dealer_admin", "SZ01").get("/admin/referrals/funnel"))
    assert '<span class="offence offence-first">1st offence</span>' in html
    assert '<span class="offence offence-repeat">repeat offence (no. 2)</span>' in html
