"""A car's warranty (R8): one default length, the same end date in Python (care reminders, the
lost-customer list's column) and in SQL (the lost list's split, campaign targeting)."""

from datetime import date, timedelta

from sqlalchemy import select

from app.extensions import db
from app.members.models import DEFAULT_WARRANTY_MONTHS, Vehicle
from app.members.warranty import in_warranty, warranty_end
from tests.factories import make_dealer, make_member, make_vehicle


def test_the_default_warranty_is_three_years_from_delivery_else_purchase(ctx):
    assert DEFAULT_WARRANTY_MONTHS == 36
    owner = make_member(make_dealer().id)
    delivered = make_vehicle(owner, purchased_on=date(2024, 2, 20), delivered_on=date(2024, 2, 29))
    bought = make_vehicle(owner, purchased_on=date(2024, 3, 31), delivered_on=None)
    dated = make_vehicle(owner)
    dated.warranty_until = date(2030, 1, 1)
    assert warranty_end(delivered) == date(2027, 2, 28)  # the 29th does not exist in 2027
    assert warranty_end(bought) == date(2027, 3, 31)
    assert warranty_end(dated) == date(2030, 1, 1)


def test_sql_and_python_agree_on_who_is_in_warranty(ctx):
    owner = make_member(make_dealer().id)
    cars = [
        make_vehicle(owner, purchased_on=date(2024, 2, 20), delivered_on=date(2024, 2, 29)),
        make_vehicle(owner, purchased_on=date(2024, 3, 31), delivered_on=None),
        make_vehicle(owner),
    ]
    cars[2].warranty_until = date(2027, 1, 10)
    db.session.flush()
    ends = [warranty_end(car) for car in cars]
    for end in ends:
        for today in (end - timedelta(days=1), end, end + timedelta(days=1)):
            inside = set(
                db.session.scalars(
                    select(Vehicle.id).where(Vehicle.member_id == owner.id, in_warranty(today))
                )
            )
            expected = {car.id for car, car_end in zip(cars, ends, strict=True) if car_end >= today}
            assert inside == expected, today
