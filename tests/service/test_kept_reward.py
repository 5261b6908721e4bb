"""The kept booking's reward follows the day's spend (seed 002: 预约保养客户,
整体消费满100送20工时卷): just below the dealer's threshold nothing, at it or above one
voucher, whichever comes second (marking kept, or the visit recorded or amended)."""

import pytest
from sqlalchemy import select

from app.core.errors import ValidationFailed
from app.extensions import db
from app.rewards.models import RewardKind, Voucher
from app.service import kept_reward, services, workshop
from app.service.models import DEFAULT_REWARD_MIN_SPEND_FEN, AppointmentStatus
from tests.factories import make_dealer, make_reward, make_staff
from tests.service.test_appointments import TODAY, book, open_time, owner_with_car


@pytest.fixture
def kept(ctx, clock):
    """SZ01 gives a labour voucher (default threshold ¥100); the owner's car booked at 14:00
    today, the clock at 18:00."""
    dealer = make_dealer("SZ01")
    advisor = make_staff("service_advisor", dealer.id)
    member, car = owner_with_car(dealer)
    reward = make_reward(dealer.id, name="20 yuan labour", kind=RewardKind.LABOUR_VOUCHER)
    workshop.save_appointment_settings(advisor, kept_reward_id=reward.id)
    appointment = book(member, car, open_time(advisor, TODAY, 14))
    clock.advance(hours=8)
    return dealer, advisor, member, car, appointment


def visit(dealer, advisor, car, amount_fen, ro="RO1"):
    return services.record_visit(
        advisor,
        dealer_id=dealer.id,
        ro_number=ro,
        vin=car.vin,
        visited_on=TODAY,
        mileage_km=12000,
        amount_fen=amount_fen,
        category="maintenance",
    ).visit


def vouchers(member):
    return db.session.scalars(select(Voucher).where(Voucher.member_id == member.id)).all()


def test_the_default_threshold_is_100_yuan(kept):
    dealer, *_ = kept
    assert kept_reward.reward_min_spend_fen(dealer.id) == DEFAULT_REWARD_MIN_SPEND_FEN == 10_000


@pytest.mark.parametrize(("amount", "earns"), [(9_999, False), (10_000, True), (10_001, True)])
def test_marking_kept_after_the_visit(kept, amount, earns):
    dealer, advisor, member, car, appointment = kept
    visit(dealer, advisor, car, amount)
    workshop.close_appointment(advisor, appointment.id, AppointmentStatus.KEPT)
    assert len(vouchers(member)) == int(earns)
    assert (appointment.voucher_id is not None) == earns


@pytest.mark.parametrize(("amount", "earns"), [(9_999, False), (10_000, True), (10_001, True)])
def test_the_visit_after_marking_kept(kept, amount, earns):
    dealer, advisor, member, car, appointment = kept
    workshop.close_appointment(advisor, appointment.id, AppointmentStatus.KEPT)
    assert vouchers(member) == []
    visit(dealer, advisor, car, amount)
    assert len(vouchers(member)) == int(earns)


def test_the_days_visits_add_up_and_the_reward_is_given_once(kept):
    dealer, advisor, member, car, appointment = kept
    workshop.close_appointment(advisor, appointment.id, AppointmentStatus.KEPT)
    visit(dealer, advisor, car, 6_000, ro="RO1")
    assert vouchers(member) == []
    visit(dealer, advisor, car, 4_000, ro="RO2")
    visit(dealer, advisor, car, 50_000, ro="RO3")
    (voucher,) = vouchers(member)
    assert appointment.voucher_id == voucher.id


def test_an_amended_visit_reaching_the_threshold_earns_it(kept):
    dealer, advisor, member, car, appointment = kept
    workshop.close_appointment(advisor, appointment.id, AppointmentStatus.KEPT)
    recorded = visit(dealer, advisor, car, 9_999)
    services.amend_visit(
        advisor,
        dealer_id=dealer.id,
        ro_number=recorded.ro_number,
        vin=car.vin,
        visited_on=TODAY,
        mileage_km=12000,
        amount_fen=10_000,
        category="maintenance",
        reason="parts added",
    )
    assert len(vouchers(member)) == 1


def test_a_visit_without_a_kept_booking_earns_nothing(kept):
    dealer, advisor, member, car, appointment = kept
    visit(dealer, advisor, car, 50_000)
    assert appointment.status == AppointmentStatus.BOOKED and vouchers(member) == []


def test_the_dealer_sets_its_threshold(kept):
    dealer, advisor, member, car, appointment = kept
    reward_id = kept_reward.settings_for(dealer.id).kept_reward_id
    workshop.save_appointment_settings(
        advisor, kept_reward_id=reward_id, reward_min_spend_fen=20_000
    )
    visit(dealer, advisor, car, 19_999)
    workshop.close_appointment(advisor, appointment.id, AppointmentStatus.KEPT)
    assert vouchers(member) == []
    for bad in (-1, workshop.MAX_MIN_SPEND_FEN + 1):
        with pytest.raises(ValidationFailed):
            workshop.save_appointment_settings(
                advisor, kept_reward_id=reward_id, reward_min_spend_fen=bad
            )
    workshop.save_appointment_settings(advisor, kept_reward_id=reward_id)
    assert kept_reward.reward_min_spend_fen(dealer.id) == 20_000
