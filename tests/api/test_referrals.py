"""Referrals in the API: state for a call centre, and the callback driven step by step."""

from datetime import timedelta
from html import unescape

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import AuditEntry
from app.core.clock import local_date
from app.extensions import db
from app.loyalty.services import account_for
from app.members.models import Member, Transmission
from app.referrals.models import (
    CallAttempt,
    CrossCheckQuestion,
    Referral,
    ReferralStatus,
    StaffFlag,
)
from app.rewards.models import Voucher
from tests.api.conftest import assert_error
from tests.conftest import NOW, login
from tests.factories import colour, make_member, make_staff, make_vehicle, next_mobile, valid_vin

CJK = ("\u4e00", "\u9fff")


def has_cjk(text: str) -> bool:
    return any(CJK[0] <= ch <= CJK[1] for ch in text)


def build_referral(dealer_id: int, *, licence: bool = True) -> dict:
    """Zhang San (white automatic Sagitar) refers Li Si, who buys a red manual Golf.

    Registered by a sales consultant, delivered through the DMS delivery service, licence
    checked by the showroom manager: ready for the callback. Returns ids and mobiles.
    """
    from app.members.delivery import DeliveryCustomer, DeliveryVehicle, record_delivery
    from app.referrals.services import LicenceFacts, check_licence, register_referral

    consultant = make_staff("sales_consultant", dealer_id)
    manager = make_staff("showroom_manager", dealer_id)
    agent = make_staff("care_agent", dealer_id)
    referrer = make_member(dealer_id, name="Zhang San")
    referrer.occupation = "Ping An Insurance"
    referrer.home_area = "Futian"
    car = make_vehicle(
        referrer, model="Sagitar", colour_id=colour("white").id, transmission=Transmission.AUTOMATIC
    )
    friend_mobile = next_mobile("137")
    referral = register_referral(
        consultant,
        referrer,
        friend_name="Li Si",
        friend_mobile=friend_mobile,
        model_of_interest="Golf",
    )
    delivered = record_delivery(
        dealer_id=dealer_id,
        delivered_on=local_date(NOW),
        sales_consultant=consultant.name,
        customer=DeliveryCustomer(
            name="Li Si", mobile=friend_mobile, employer="Shenzhen Metro", home_area="Nanshan"
        ),
        vehicle=DeliveryVehicle(vin=valid_vin(), model="Golf", colour="red", transmission="manual"),
    )
    assert referral.status == ReferralStatus.PURCHASED
    if licence:
        check_licence(
            manager,
            referral.id,
            LicenceFacts(plate=car.plate, vin=car.vin, model="Sagitar", colour_id=car.colour_id),
        )
        assert referral.status == ReferralStatus.LICENCE_CHECKED
    return {
        "id": referral.id,
        "agent_id": agent.id,
        "agent": agent.mobile,
        "consultant_id": consultant.id,
        "consultant": consultant.mobile,
        "referrer_id": referrer.id,
        "friend_id": delivered.member.id,
        "friend_mobile": friend_mobile,
    }


@pytest.fixture
def referral(seeded, dealers) -> dict:
    """A licence-checked referral of SZ01 and its people."""
    with seeded():
        return build_referral(dealers["SZ01"])


@pytest.fixture
def gz_agent(seeded, dealers) -> str:
    """The mobile of a care agent of GZ01."""
    with seeded():
        return make_staff("care_agent", dealers["GZ01"]).mobile


def path(referral: dict, step: str = "") -> str:
    return f"/referrals/{referral['id']}" + (f"/callback/{step}" if step else "")


def start(api, referral: dict, **kwargs) -> dict:
    response = api.post(path(referral, "start"), {"agent_mobile": referral["agent"]}, **kwargs)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def answer(api, referral: dict, question_id: int, correct: bool, **kwargs):
    return api.post(
        f"{path(referral, 'questions')}/{question_id}/answer",
        {"agent_mobile": referral["agent"], "correct": correct},
        **kwargs,
    )


def complete(api, referral: dict, recording_ref="CC-2026-000123", **kwargs):
    body = {"agent_mobile": referral["agent"]}
    if recording_ref is not None:
        body["recording_ref"] = recording_ref
    return api.post(path(referral, "complete"), body, **kwargs)


def balances(app, referral: dict) -> tuple[int, int]:
    with app.app_context():
        return tuple(
            account_for(db.session.get(Member, referral[k])).balance
            for k in ("referrer_id", "friend_id")
        )


# --------------------------------------------------------------------------- state


def test_the_detail_shows_the_timeline_before_the_callback(api, referral):
    response = api.get(path(referral))
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["id"] == referral["id"]
    assert data["status"] == "licence_checked" and data["status_label"] == "licence checked"
    assert data["referrer"]["name"] == "Zhang San"
    assert data["friend"]["name"] == "Li Si"
    assert data["friend"]["member_id"] == referral["friend_id"]
    mobile = referral["friend_mobile"]
    assert data["friend"]["mobile"] == f"{mobile[:3]}****{mobile[-4:]}"
    assert mobile not in response.get_data(as_text=True)
    assert data["registered_at"] and data["purchased_at"]
    assert data["licence"]["result"] == "matched" and data["licence"]["mismatches"] == []
    assert data["callee"] is None and data["questions"] == [] and data["attempts"] == []
    assert data["decision"] is None and data["waiting"] is False


def test_the_list_is_the_dealers_paginated_and_filtered(api, seeded, dealers, referral):
    with seeded():
        build_referral(dealers["SZ01"], licence=False)
        other = build_referral(dealers["GZ01"])
    response = api.get("/referrals?per_page=1")
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert (data["page"], data["per_page"], data["total"], data["pages"]) == (1, 1, 2, 2)
    item = data["items"][0]
    assert set(item) == {
        "id",
        "status",
        "status_label",
        "friend_name",
        "friend_mobile",
        "referrer_name",
        "model_of_interest",
        "registered_at",
        "callee",
        "waiting",
    }
    assert item["friend_mobile"].startswith("137****")
    assert item["referrer_name"] == "Zhang San" and item["waiting"] is False
    page2 = api.get("/referrals?per_page=1&page=2").get_json()["items"]
    all_ids = {item["id"], page2[0]["id"]}
    assert referral["id"] in all_ids and other["id"] not in all_ids

    checked = api.get("/referrals?status=licence_checked").get_json()
    assert [i["id"] for i in checked["items"]] == [referral["id"]]
    assert api.get("/referrals?status=fraud").get_json()["total"] == 0
    assert api.get("/referrals?status=&page=").get_json()["total"] == 2
    assert api.get("/referrals?page=9").get_json()["items"] == []
    gz = api.get("/referrals", dealer="GZ01").get_json()
    assert [i["id"] for i in gz["items"]] == [other["id"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=bogus", "status"),
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("page=x", "page"),
    ],
)
def test_bad_list_parameters_are_422(api, dealers, query, field):
    assert_error(api.get(f"/referrals?{query}"), 422, "validation_failed", field=field)


def test_another_dealers_key_finds_nothing(api, referral, gz_agent):
    assert_error(api.get(path(referral), dealer="GZ01"), 404, "not_found")
    body = {"agent_mobile": gz_agent}
    assert_error(api.post(path(referral, "start"), body, dealer="GZ01"), 404, "not_found")
    start(api, referral)
    question = api.get(path(referral)).get_json()["questions"][0]
    answer_path = f"{path(referral, 'questions')}/{question['id']}/answer"
    response = api.post(answer_path, {**body, "correct": True}, dealer="GZ01")
    assert_error(response, 404, "not_found")
    response = api.post(path(referral, "attempts"), {**body, "reached": True}, dealer="GZ01")
    assert_error(response, 404, "not_found")
    response = api.post(path(referral, "complete"), {**body, "recording_ref": "R1"}, dealer="GZ01")
    assert_error(response, 404, "not_found")
    assert_error(api.get("/referrals/999999"), 404, "not_found")


# ------------------------------------------------------------------------- callback


def test_the_callback_runs_to_rewarded_with_one_wrong_answer(app, api, referral, clock):
    before = balances(app, referral)
    data = start(api, referral)
    assert data["status"] == "callback"
    assert data["callee"] in ("referrer", "friend")
    questions = data["questions"]
    assert 3 <= len(questions) <= 4
    about = "friend" if data["callee"] == "referrer" else "referrer"
    other_name = "Li Si" if about == "friend" else "Zhang San"
    assert data["callee_name"] == ("Zhang San" if about == "friend" else "Li Si")
    for q in questions:
        assert q["about"] == about and other_name in q["text"]
        assert q["expected"] and q["correct"] is None
    colour_q = next(q for q in questions if q["kind"] == "colour")
    assert colour_q["expected_value"] == ("red" if about == "friend" else "white")
    assert colour_q["expected"] == ("Red" if about == "friend" else "White")

    # Starting again changes nothing: same callee, same questions.
    assert start(api, referral) == data

    clock.advance(minutes=5)
    response = api.post(
        path(referral, "attempts"),
        {"agent_mobile": referral["agent"], "reached": True, "note": "Reached at once"},
    )
    assert response.status_code == 201, response.get_json()
    attempt = response.get_json()
    assert attempt["reached"] is True and attempt["note"] == "Reached at once"
    assert attempt["agent"] == "Staff care_agent"
    assert attempt["unreached_attempts"] == 0 and attempt["waiting"] is False

    for i, q in enumerate(questions):
        response = answer(api, referral, q["id"], correct=i != 0)
        assert response.status_code == 200, response.get_json()
        marked = response.get_json()
        assert marked["id"] == q["id"] and marked["correct"] is (i != 0)
        assert marked["answered_by"] == "Staff care_agent" and marked["answered_at"]

    response = complete(api, referral)
    assert response.status_code == 200, response.get_json()
    done = response.get_json()
    assert done["status"] == "rewarded"
    assert done["decision"]["outcome"] == "approved"
    assert done["decision"]["wrong_answers"] == 1
    assert done["decision"]["decided_by"] == "Staff care_agent"
    assert done["recording_ref"] == "CC-2026-000123" and done["rewarded_at"]
    assert len(done["attempts"]) == 1

    after = balances(app, referral)
    assert (after[0] - before[0], after[1] - before[1]) == (2000, 1000)
    # Finishing again is refused and rewards nobody twice.
    assert_error(complete(api, referral), 409, "conflict")
    assert balances(app, referral) == after
    with app.app_context():
        stored = db.session.get(Referral, referral["id"])
        assert stored.decided_by_id == referral["agent_id"]
        assert {q.answered_by_id for q in stored.questions} == {referral["agent_id"]}
        vouchers = db.session.scalars(
            select(Voucher).where(Voucher.source == f"referral:{referral['id']}")
        ).all()
        assert sorted(v.member_id for v in vouchers) == sorted(
            [referral["referrer_id"], referral["friend_id"]]
        )
        actors = db.session.scalars(
            select(AuditEntry.actor_id).where(
                AuditEntry.subject_type == "Referral",
                AuditEntry.subject_id == referral["id"],
                AuditEntry.action.in_(
                    ["referral.callback_started", "referral.call_attempt", "referral.approved"]
                ),
            )
        ).all()
        assert len(actors) == 3 and set(actors) == {referral["agent_id"]}


def test_two_wrong_answers_make_it_fraud_and_flag_every_handler(app, api, referral):
    before = balances(app, referral)
    questions = start(api, referral)["questions"]
    for i, q in enumerate(questions):
        assert answer(api, referral, q["id"], correct=i >= 2).status_code == 200
    response = complete(api, referral)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["status"] == "fraud"
    assert data["decision"] == {
        "outcome": "fraud",
        "decided_at": data["decision"]["decided_at"],
        "decided_by": "Staff care_agent",
        "wrong_answers": 2,
    }
    assert data["rewarded_at"] is None and data["recording_ref"] == "CC-2026-000123"
    assert balances(app, referral) == before
    with app.app_context():
        flags = db.session.scalars(
            select(StaffFlag).where(StaffFlag.referral_id == referral["id"])
        ).all()
        # Everyone of the staff who handled it (issue 21): registration and sale, the licence
        # check, the callback.
        handled = {f.user_id: f.handled for f in flags}
        assert handled.pop(referral["consultant_id"]) == ["registration", "consultant"]
        assert handled.pop(referral["agent_id"]) == ["callback"]
        assert list(handled.values()) == [["licence"]]


@pytest.mark.parametrize("wrong", [1, 2])
def test_the_staff_screens_and_the_api_score_a_callback_alike(app, api, referral, wrong):
    """One scorer: answers marked on the callback screen and through the API are counted, and
    their true answers read, the same on both, before and after the call is finished."""
    screen = app.test_client()
    login(screen, referral["agent"])
    page = f"/admin/referrals/{referral['id']}/callback"
    questions = start(api, referral)["questions"]
    assert len(questions) >= 3
    for i, q in enumerate(questions):
        if i % 2:
            assert answer(api, referral, q["id"], correct=i >= wrong).status_code == 200
        else:
            verdict = "right" if i >= wrong else "wrong"
            screen.post(
                f"{page.removesuffix('/callback')}/questions/{q['id']}", data={"answer": verdict}
            )
    detail = api.get(path(referral)).get_json()
    assert [q["correct"] for q in detail["questions"]] == [
        i >= wrong for i in range(len(questions))
    ]
    shown = unescape(screen.get(page).get_data(as_text=True))
    for q in detail["questions"]:
        assert f"<strong>{q['expected']}</strong>" in shown
    alert = f"{wrong} wrong answers: finishing the call marks the referral as fraud."
    assert (alert in shown) is (wrong >= 2)

    finished = screen.post(f"{page}/finish", data={"recording_ref": "CC-2026-000321"})
    assert finished.status_code == 302
    decision = api.get(path(referral)).get_json()["decision"]
    assert decision["wrong_answers"] == wrong
    assert decision["outcome"] == ("fraud" if wrong >= 2 else "approved")
    shown = unescape(screen.get(page).get_data(as_text=True))
    assert (f"{wrong} wrong answer" + ("s" if wrong > 1 else "")) in shown


def test_answering_twice_is_409_and_keeps_the_first_answer(app, api, referral):
    question = start(api, referral)["questions"][0]
    assert answer(api, referral, question["id"], correct=True).status_code == 200
    error = assert_error(answer(api, referral, question["id"], correct=False), 409, "conflict")
    assert "already answered" in error["message"]
    zh = answer(api, referral, question["id"], False, headers={"Accept-Language": "zh-CN"})
    assert has_cjk(assert_error(zh, 409)["message"])
    with app.app_context():
        assert db.session.get(CrossCheckQuestion, question["id"]).correct is True


def test_a_question_of_another_referral_is_not_found(api, seeded, dealers, referral):
    with seeded():
        second = build_referral(dealers["SZ01"])
    start(api, referral)
    foreign = start(api, second)["questions"][0]
    assert_error(answer(api, referral, foreign["id"], correct=True), 404, "not_found")
    assert_error(answer(api, referral, 999999, correct=True), 404, "not_found")


def test_steps_out_of_order_are_refused(api, seeded, dealers, referral):
    with seeded():
        unchecked = build_referral(dealers["SZ01"], licence=False)
    # The licence is not checked yet: no callback.
    response = api.post(path(unchecked, "start"), {"agent_mobile": unchecked["agent"]})
    assert_error(response, 409, "conflict")
    # No attempt or verdict before the callback starts.
    attempt = {"agent_mobile": referral["agent"], "reached": False}
    assert_error(api.post(path(referral, "attempts"), attempt), 409, "conflict")
    assert_error(complete(api, referral), 409, "conflict")
    # Not every answer marked: nothing is decided.
    questions = start(api, referral)["questions"]
    answer(api, referral, questions[0]["id"], correct=True)
    assert_error(complete(api, referral), 422, "validation_failed")
    assert api.get(path(referral)).get_json()["status"] == "callback"


def test_three_unreached_calls_make_the_referral_wait(api, referral, clock):
    start(api, referral)
    body = {"agent_mobile": referral["agent"], "reached": False}
    for n, hours in enumerate((0, 5, 4), start=1):
        clock.advance(hours=hours)
        response = api.post(path(referral, "attempts"), body)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["unreached_attempts"] == n
        assert response.get_json()["waiting"] is (n == 3)
    data = api.get(path(referral)).get_json()
    assert data["waiting"] is True and data["unreached_attempts"] == 3
    assert [a["reached"] for a in data["attempts"]] == [False, False, False]
    listed = api.get("/referrals?status=callback").get_json()["items"]
    assert listed[0]["waiting"] is True and listed[0]["callee"] == data["callee"]


# ------------------------------------------------------------------------ the agent


def test_an_unknown_or_other_dealers_agent_is_422(api, seeded, dealers, referral, gz_agent):
    with seeded():
        member_mobile = make_member(dealers["SZ01"]).mobile
    for mobile in ("13900000000", gz_agent, member_mobile, "12345"):
        response = api.post(path(referral, "start"), {"agent_mobile": mobile})
        assert_error(response, 422, "validation_failed", field="agent_mobile")
    assert_error(api.post(path(referral, "start"), {}), 422, field="agent_mobile")
    assert api.get(path(referral)).get_json()["status"] == "licence_checked"


def test_staff_who_do_not_run_callbacks_are_403(app, api, seeded, dealers, referral):
    response = api.post(path(referral, "start"), {"agent_mobile": referral["consultant"]})
    assert_error(response, 403, "forbidden", field="agent_mobile")
    with seeded():
        db.session.get(User, referral["agent_id"]).active = False
    response = api.post(path(referral, "start"), {"agent_mobile": referral["agent"]})
    assert_error(response, 403, "forbidden", field="agent_mobile")
    with seeded():
        admin = make_staff("dealer_admin", dealers["SZ01"]).mobile
    assert start(api, {**referral, "agent": admin})["status"] == "callback"
    with app.app_context():
        count = db.session.scalar(
            select(func.count(CallAttempt.id)).where(CallAttempt.referral_id == referral["id"])
        )
        assert count == 0


def test_missing_or_blank_recording_ref_is_422_and_decides_nothing(app, api, referral):
    for q in start(api, referral)["questions"]:
        answer(api, referral, q["id"], correct=True)
    for ref in (None, "", "   "):
        error = assert_error(complete(api, referral, recording_ref=ref), 422, "validation_failed")
        assert "recording_ref" in error["fields"]
    with app.app_context():
        stored = db.session.get(Referral, referral["id"])
        assert stored.status == ReferralStatus.CALLBACK and stored.recording_ref is None


@pytest.mark.parametrize("value", ["true", 1, None, "yes"])
def test_answers_must_be_json_booleans(api, referral, value):
    question = start(api, referral)["questions"][0]
    response = api.post(
        f"{path(referral, 'questions')}/{question['id']}/answer",
        {"agent_mobile": referral["agent"], "correct": value},
    )
    assert_error(response, 422, "validation_failed", field="correct")


def test_unknown_fields_and_malformed_bodies_are_refused(api, referral):
    body = {"agent_mobile": referral["agent"], "verdict": "approved"}
    assert_error(api.post(path(referral, "start"), body), 422, field="verdict")
    response = api.post(path(referral, "start"), data=b"[]", content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_questions_are_read_in_the_clients_language(api, referral):
    start(api, referral)
    data = api.get(path(referral), headers={"Accept-Language": "zh-CN"}).get_json()
    assert data["status_label"] and has_cjk(data["status_label"])
    assert all(has_cjk(q["text"]) for q in data["questions"])
    colour_q = next(q for q in data["questions"] if q["kind"] == "colour")
    assert colour_q["expected"] in ("红色", "白色")


def test_attempt_times_come_from_the_clock(api, referral, clock):
    start(api, referral)
    clock.advance(hours=2)
    response = api.post(
        path(referral, "attempts"), {"agent_mobile": referral["agent"], "reached": True}
    )
    stamp = response.get_json()["at"]
    assert stamp.startswith((NOW + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))


# ------------------------------------------------------------------------- OpenAPI


def test_the_openapi_document_lists_the_referral_endpoints(api):
    document = api.get("/openapi.json", dealer=None).get_json()
    validate(document)
    paths = document["paths"]
    base = "/api/v1/referrals/{referral_id}"
    assert {
        "/api/v1/referrals",
        base,
        f"{base}/callback/start",
        f"{base}/callback/attempts",
        f"{base}/callback/questions/{{question_id}}/answer",
        f"{base}/callback/complete",
    } <= set(paths)
    assert "get" in paths["/api/v1/referrals"] and "get" in paths[base]
    assert {"400", "403", "404", "409", "422"} <= set(
        paths[f"{base}/callback/start"]["post"]["responses"]
    )
    assert "201" in paths[f"{base}/callback/attempts"]["post"]["responses"]
    schemas = document["components"]["schemas"]
    assert {"Referral", "ReferralPage", "Question", "CallbackComplete", "Answer"} <= set(schemas)
    assert "agent_mobile" in schemas["CallbackComplete"]["required"]
    assert "recording_ref" in schemas["CallbackComplete"]["required"]
    names = {p["name"] for p in paths["/api/v1/referrals"]["get"]["parameters"]}
    assert names == {"status", "page", "per_page"}
