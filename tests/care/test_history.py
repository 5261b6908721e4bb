"""An owner's car page: its visits (refunds and corrections shown), next maintenance, dates."""

from datetime import date

import pytest

from app.care.history import VISITS_PER_PAGE, car_history
from app.core.errors import NotFound
from app.service.services import amend_visit, refund_visit
from tests.factories import make_member, make_vehicle, make_visit, record_car_visit


@pytest.fixture
def car(ctx, dealers):
    owner = make_member(dealers["SZ01"], name="Wang Fang")
    # Bought in June: autumn visits are not in the anniversary month (double points).
    return make_vehicle(owner, purchased_on=date(2025, 6, 1), delivered_on=date(2025, 6, 3))


def test_the_visits_newest_first_with_dealer_mileage_amount_and_points(car):
    record_car_visit(car, "RO-1", date(2026, 10, 2), mileage_km=3000)
    record_car_visit(
        car, "RO-2", date(2026, 11, 1), mileage_km=6100, amount_fen=45_000, category="repair"
    )
    history = car_history(car.member, car.id)
    first, second = history.visits.items
    assert (first.ro_number, first.mileage_km, first.amount_fen) == ("RO-2", 6100, 45_000)
    assert first.points_awarded == 450 and second.points_awarded == 800
    assert history.dealers == {car.member.dealer_id: "Dealer SZ01"}


def test_a_refunded_visit_says_so_with_the_points_taken_back(car):
    record_car_visit(car, "RO-1", date(2026, 10, 1))
    refund_visit(None, dealer_id=car.member.dealer_id, ro_number="RO-1")
    (shown,) = car_history(car.member, car.id).visits.items
    assert shown.status == "refunded" and shown.points_reversed == 800
    assert shown.refunded_at is not None


def test_a_corrected_visit_is_counted(car):
    record_car_visit(car, "RO-1", date(2026, 10, 1))
    amend_visit(
        None,
        dealer_id=car.member.dealer_id,
        ro_number="RO-1",
        vin=car.vin,
        visited_on=date(2026, 10, 1),
        mileage_km=4000,
        amount_fen=60_000,
        category="maintenance",
        reason="Typo in the amount",
    )
    history = car_history(car.member, car.id)
    (shown,) = history.visits.items
    assert history.amendments == {shown.id: 1} and shown.points_awarded == 600


def test_the_next_maintenance_and_the_cars_dates(car):
    car.insurance_expires_on = date(2027, 3, 31)
    car.inspection_due_on = date(2027, 11, 1)
    record_car_visit(car, "RO-1", date(2026, 10, 1))
    history = car_history(car.member, car.id)
    assert history.due.due_on == date(2027, 4, 1) and history.due.last_on == date(2026, 10, 1)
    assert history.vehicle.insurance_expires_on == date(2027, 3, 31)
    assert history.warranty_until == date(2028, 6, 3) and history.warranty_default


def test_a_refunded_maintenance_does_not_move_the_next_one(car):
    make_visit(car.member, date(2026, 5, 1), "maintenance", 50_000, mileage_km=2000)
    record_car_visit(car, "RO-2", date(2026, 10, 1))
    refund_visit(None, dealer_id=car.member.dealer_id, ro_number="RO-2")
    assert car_history(car.member, car.id).due.due_on == date(2026, 11, 1)


def test_only_the_owner_sees_the_car(car, dealers):
    neighbour = make_member(dealers["SZ01"], name="Li Lei")
    with pytest.raises(NotFound):
        car_history(neighbour, car.id)
    with pytest.raises(NotFound):
        car_history(car.member, 999_999)


def test_a_long_history_comes_a_page_at_a_time(car):
    for day in range(1, VISITS_PER_PAGE + 6):
        make_visit(car.member, date(2026, 1, day), "repair", 10_000)
    page_one = car_history(car.member, car.id)
    page_two = car_history(car.member, car.id, page=2)
    assert len(page_one.visits.items) == VISITS_PER_PAGE and len(page_two.visits.items) == 5
    assert page_one.visits.items[0].visited_on == date(2026, 1, VISITS_PER_PAGE + 5)
