"""Referrals (R6): the seed's own example, pre-registration rules, the state machine, rewards."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.core.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.loyalty.models import PointsEntry
from app.loyalty.services import account_for
from app.members.delivery import DeliveryCustomer, DeliveryVehicle, record_delivery
from app.members.models import Dealer, Transmission
from app.members.services import update_profile
from app.referrals import services, verification
from app.referrals.models import ALLOWED, Callee, ReferralStatus, StaffFlag
from app.referrals.services import LicenceFacts, TransitionRefused
from app.rewards.models import Voucher
from tests.factories import colour, make_member, make_staff, make_vehicle, valid_vin


@pytest.fixture
def zhang(ctx, dealers):
    """Zhang San, the referrer: a white automatic Sagitar (seed 002's example)."""
    member = make_member(dealers["SZ01"], name="张三")
    update_profile(
        member,
        name="张三",
        birthday=None,
        gender=None,
        occupation="华为工程师",
        home_area="南山区",
        hobbies="",
        marketing_opt_in=False,
    )
    make_vehicle(
        member, model="Sagitar", colour_id=colour("white").id, transmission=Transmission.AUTOMATIC
    )
    return member


@pytest.fixture
def staff(ctx, dealers):
    return {
        role: make_staff(role, dealers["SZ01"])
        for role in ("sales_consultant", "showroom_manager", "care_agent")
    }


def li_si_buys(referral_mobile="13700004444"):
    """Li Si's red manual Golf is delivered at SZ01 (the DMS or a staff form)."""
    return record_delivery(
        dealer_id=db.session.scalar(select(Dealer.id).where(Dealer.code == "SZ01")),
        delivered_on=date(2026, 11, 22),
        sales_consultant="Chen Jie",
        customer=DeliveryCustomer(
            name="李四", mobile=referral_mobile, employer="平安保险", home_area="福田区"
        ),
        vehicle=DeliveryVehicle(
            vin=valid_vin(), model="Golf", colour="red", transmission="manual", plate="粤B7L0S4"
        ),
    )


def licence_of(member):
    car = member.vehicles[0]
    return LicenceFacts(plate=car.plate, vin=car.vin, model=car.model, colour_id=car.colour_id)


def through_licence_check(zhang, staff):
    referral = services.register_referral(
        zhang.user, zhang, friend_name="李四", friend_mobile="13700004444", model_of_interest="Golf"
    )
    li_si_buys()
    assert referral.status == ReferralStatus.PURCHASED
    services.check_licence(staff["showroom_manager"], referral.id, licence_of(zhang))
    assert referral.status == ReferralStatus.LICENCE_CHECKED
    return referral


@pytest.mark.parametrize("callee", [Callee.REFERRER, Callee.FRIEND])
def test_the_seed_example_questions_are_about_the_other_person(zhang, staff, monkeypatch, callee):
    monkeypatch.setattr(verification, "choose_callee", lambda: callee)
    referral = through_licence_check(zhang, staff)
    verification.start_callback(staff["care_agent"], referral.id)
    assert referral.status == ReferralStatus.CALLBACK and referral.callee == callee
    questions = referral.questions
    assert 3 <= len(questions) <= 4
    other = Callee.FRIEND if callee == Callee.REFERRER else Callee.REFERRER
    assert {q.about for q in questions} == {other}
    car = referral.friend_vehicle if other == Callee.FRIEND else referral.referrer_vehicle
    for q in questions:
        if q.kind == "colour":
            claimed = colour(q.params["colour"])
            assert (
                claimed.confusion_group != car.colour.confusion_group
                or car.colour.confusion_group is None
            )
            assert claimed.id != car.colour_id
            assert q.expected == car.colour.code
        if q.kind == "model":
            assert q.params["model"].casefold() != car.model.casefold()
        if q.kind == "transmission":
            assert q.params["transmission"] != car.transmission.value
        text = verification.question_text(q, referral)
        assert (referral.friend.name if other == Callee.FRIEND else "张三") in text


def finish(referral, staff, wrong: int):
    for i, q in enumerate(referral.questions):
        verification.answer_question(staff["care_agent"], referral.id, q.id, correct=i >= wrong)
    return verification.complete_callback(
        staff["care_agent"], referral.id, recording_ref="REC-2026-001"
    )


def test_two_wrong_answers_make_it_fraud_and_flag_every_handler(zhang, staff, dealers):
    referral = services.register_referral(
        staff["sales_consultant"], zhang, friend_name="李四", friend_mobile="13700004444"
    )
    li_si_buys()
    services.check_licence(staff["showroom_manager"], referral.id, licence_of(zhang))
    verification.start_callback(staff["care_agent"], referral.id)
    finish(referral, staff, wrong=2)
    assert referral.status == ReferralStatus.FRAUD and referral.recording_ref == "REC-2026-001"
    assert account_for(zhang).balance == 0
    flags = {f.user_id: f.offence for f in db.session.scalars(select(StaffFlag))}
    assert flags == {
        staff["sales_consultant"].id: 1,
        staff["showroom_manager"].id: 1,
        staff["care_agent"].id: 1,
    }


def test_one_wrong_answer_approves_and_rewards_both_exactly_once(zhang, staff):
    referral = through_licence_check(zhang, staff)
    verification.start_callback(staff["care_agent"], referral.id)
    finish(referral, staff, wrong=1)
    assert referral.status == ReferralStatus.REWARDED
    friend = referral.friend
    assert account_for(zhang).balance == 2000 and account_for(friend).balance == 1000
    with pytest.raises(TransitionRefused):
        services.reward_referral(referral)
    with pytest.raises(TransitionRefused):
        verification.complete_callback(staff["care_agent"], referral.id, recording_ref="again")
    assert account_for(zhang).balance == 2000
    vouchers = db.session.scalars(select(Voucher)).all()
    assert sorted(v.member_id for v in vouchers) == sorted([zhang.id, friend.id])
    assert (
        db.session.scalar(
            select(func.count(PointsEntry.id)).where(PointsEntry.source == "referral")
        )
        == 2
    )


def test_a_platinum_referrer_also_gets_the_fuel_voucher(zhang, staff):
    account_for(zhang).tier_code = "platinum"
    referral = through_licence_check(zhang, staff)
    verification.start_callback(staff["care_agent"], referral.id)
    finish(referral, staff, wrong=0)
    names = {
        v.reward.name
        for v in db.session.scalars(select(Voucher).where(Voucher.member_id == zhang.id))
    }
    assert any("fuel" in n for n in names) and any("maintenance" in n for n in names)


def test_answering_twice_is_refused(zhang, staff):
    referral = through_licence_check(zhang, staff)
    verification.start_callback(staff["care_agent"], referral.id)
    q = referral.questions[0]
    verification.answer_question(staff["care_agent"], referral.id, q.id, correct=True)
    with pytest.raises(Conflict):
        verification.answer_question(staff["care_agent"], referral.id, q.id, correct=False)
    assert q.correct is True


def test_the_call_cannot_finish_before_every_answer_and_a_recording(zhang, staff):
    referral = through_licence_check(zhang, staff)
    verification.start_callback(staff["care_agent"], referral.id)
    with pytest.raises(ValidationFailed):
        verification.complete_callback(staff["care_agent"], referral.id, recording_ref="REC")
    for q in referral.questions:
        verification.answer_question(staff["care_agent"], referral.id, q.id, correct=True)
    with pytest.raises(ValidationFailed) as err:
        verification.complete_callback(staff["care_agent"], referral.id, recording_ref=" ")
    assert err.value.field == "recording_ref"
    assert referral.status == ReferralStatus.CALLBACK


def test_a_licence_mismatch_stops_the_referral(zhang, staff):
    referral = services.register_referral(
        zhang.user, zhang, friend_name="李四", friend_mobile="13700004444"
    )
    li_si_buys()
    wrong = licence_of(zhang)
    services.check_licence(
        staff["showroom_manager"],
        referral.id,
        LicenceFacts(
            plate=wrong.plate, vin=wrong.vin, model=wrong.model, colour_id=colour("black").id
        ),
    )
    assert referral.status == ReferralStatus.LICENCE_FAILED
    assert referral.licence_details["mismatches"] == ["colour"]
    with pytest.raises(TransitionRefused):
        verification.start_callback(staff["care_agent"], referral.id)


def test_missing_records_send_the_referral_to_manual_review(zhang, staff, monkeypatch):
    monkeypatch.setattr(verification, "choose_callee", lambda: Callee.FRIEND)
    referral = through_licence_check(zhang, staff)
    zhang.occupation = zhang.home_area = ""
    referral.referrer_vehicle_id = None
    db.session.flush()
    db.session.expire(referral)
    verification.start_callback(staff["care_agent"], referral.id)
    assert (
        referral.status == ReferralStatus.MANUAL_REVIEW and "incomplete" in referral.review_reason
    )
    services.decide_manual_review(
        staff["showroom_manager"], referral.id, approve=True, reason="met both in person"
    )
    assert referral.status == ReferralStatus.REWARDED


# ------------------------------------------------------------------- pre-registration rules


def test_first_registration_of_a_mobile_wins(zhang, dealers):
    other = make_member(dealers["SZ01"])
    services.register_referral(zhang.user, zhang, friend_name="李四", friend_mobile="13700004444")
    with pytest.raises(Conflict, match="first registration counts"):
        services.register_referral(
            other.user, other, friend_name="李四", friend_mobile="137 0000 4444"
        )
    with pytest.raises(Conflict, match="already registered this friend"):
        services.register_referral(
            zhang.user, zhang, friend_name="李四", friend_mobile="13700004444"
        )


def test_self_referral_and_existing_owners_are_refused(zhang, dealers):
    with pytest.raises(ValidationFailed, match="refer yourself"):
        services.register_referral(
            zhang.user, zhang, friend_name="张三", friend_mobile=zhang.user.mobile
        )
    owner = make_member(dealers["SZ01"])
    with pytest.raises(ValidationFailed, match="already a member"):
        services.register_referral(
            zhang.user, zhang, friend_name="X", friend_mobile=owner.user.mobile
        )


def test_a_friend_who_visited_before_the_registration_does_not_qualify(zhang, staff, clock):
    services.record_showroom_visit(
        staff["sales_consultant"], mobile="13700004444", name="李四", visited_on=date(2026, 11, 20)
    )
    with pytest.raises(ValidationFailed, match="already visited the showroom on 2026-11-20"):
        services.register_referral(
            zhang.user, zhang, friend_name="李四", friend_mobile="13700004444"
        )


def test_registering_at_the_first_visit_counts_and_a_later_visit_moves_it_on(zhang, staff):
    referral = services.register_referral(
        zhang.user, zhang, friend_name="李四", friend_mobile="13700004444"
    )
    assert referral.status == ReferralStatus.REGISTERED
    services.record_showroom_visit(
        staff["sales_consultant"], mobile="13700004444", name="李四", visited_on=date(2026, 11, 23)
    )
    assert referral.status == ReferralStatus.VISITED and referral.visited_on == date(2026, 11, 23)


def test_a_referral_appearing_only_at_delivery_does_not_qualify(zhang):
    li_si_buys()
    with pytest.raises(ValidationFailed, match="already a member"):
        services.register_referral(
            zhang.user, zhang, friend_name="李四", friend_mobile="13700004444"
        )


def test_another_dealers_staff_cannot_act_on_the_referral(zhang, staff, dealers):
    referral = through_licence_check(zhang, staff)
    stranger = make_staff("care_agent", dealers["GZ01"])
    with pytest.raises(NotFound):
        verification.start_callback(stranger, referral.id)


def test_the_yearly_cap_stops_registration(zhang, ctx):
    services.programme().yearly_cap = 1
    referral = services.register_referral(
        zhang.user, zhang, friend_name="A", friend_mobile="13700004444"
    )
    referral.status = ReferralStatus.REWARDED
    referral.rewarded_at = referral.registered_at
    with pytest.raises(ValidationFailed, match="limit of 1"):
        services.register_referral(zhang.user, zhang, friend_name="B", friend_mobile="13700005555")


# ------------------------------------------------------------------------- state machine


@pytest.mark.parametrize("start", list(ReferralStatus))
@pytest.mark.parametrize("target", list(ReferralStatus))
def test_no_transition_outside_the_allowed_ones(zhang, start, target):
    referral = services.register_referral(
        zhang.user, zhang, friend_name="A", friend_mobile="13700004444"
    )
    referral.status = start
    if target in ALLOWED[start]:
        services.move(referral, target)
        assert referral.status == target
    else:
        with pytest.raises(TransitionRefused):
            services.move(referral, target)
        assert referral.status == start


@pytest.mark.parametrize("status", [s for s in ReferralStatus if s != ReferralStatus.APPROVED])
def test_rewards_come_only_from_approved(zhang, status):
    referral = services.register_referral(
        zhang.user, zhang, friend_name="A", friend_mobile="13700004444"
    )
    referral.status = status
    with pytest.raises(TransitionRefused):
        services.reward_referral(referral)
    assert account_for(zhang).balance == 0


def test_the_funnel_counts_each_step(zhang, staff):
    through_licence_check(zhang, staff)
    services.register_referral(zhang.user, zhang, friend_name="B", friend_mobile="13700005555")
    rows = services.funnel(staff["showroom_manager"])
    assert rows["SZ01"]["registered"] == 2 and rows["SZ01"]["purchased"] == 1
    assert rows["SZ01"]["verified"] == 0


def test_the_callback_waits_after_missing_the_callee_at_three_times_of_day(zhang, staff, clock):
    referral = through_licence_check(zhang, staff)
    verification.start_callback(staff["care_agent"], referral.id)
    agent = staff["care_agent"]
    clock.at = clock.at.replace(hour=1)  # 09:00 in Shanghai
    verification.record_attempt(agent, referral.id, reached=False)
    verification.record_attempt(agent, referral.id, reached=False)
    assert not verification.is_waiting(referral)  # two tries in the same morning
    clock.at = clock.at.replace(hour=6)  # 14:00
    verification.record_attempt(agent, referral.id, reached=False)
    assert not verification.is_waiting(referral)
    clock.at = clock.at.replace(hour=11)  # 19:00
    verification.record_attempt(agent, referral.id, reached=False)
    assert verification.is_waiting(referral) and verification.unreached_attempts(referral) == 4


def test_a_closed_callback_says_so(zhang, staff):
    referral = through_licence_check(zhang, staff)
    verification.start_callback(staff["care_agent"], referral.id)
    finish(referral, staff, wrong=2)
    with pytest.raises(TransitionRefused, match="closed"):
        verification.record_attempt(staff["care_agent"], referral.id, reached=True)
