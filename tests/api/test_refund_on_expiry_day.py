"""A visit refunded on the day its points expire, before the nightly job: taken once (issue 16)."""

import pytest
from sqlalchemy import select

from app.core.clock import local_date
from app.extensions import db
from app.loyalty.models import PointsAccount
from app.members.models import Vehicle


@pytest.fixture
def vin(app, member) -> str:
    with app.app_context():
        return db.session.get(Vehicle, member["vehicle_id"]).vin


def record(api, clock, car_vin: str, ro_number: str) -> None:
    """A ¥1,000 maintenance visit today: 1,000 points (gold, not the anniversary month)."""
    body = {
        "ro_number": ro_number,
        "vin": car_vin,
        "visited_on": local_date(clock.now()).isoformat(),
        "mileage_km": 15200,
        "amount_yuan": "1000.00",
        "category": "maintenance",
    }
    response = api.post("/dms/service-visits", body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["points_awarded"] == 1000


def test_a_refund_on_the_expiry_day_takes_the_points_once(app, api, clock, member, vin):
    record(api, clock, vin, "RO-OLD")
    clock.advance(days=365)
    record(api, clock, vin, "RO-NEW")
    clock.advance(days=366)  # RO-OLD's points expire today (24 months); the job has not run

    response = api.post("/dms/service-visits/RO-OLD/refund")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["balance"] == 1000
    # Its points had expired: the refund took none of them back, and says so.
    assert response.get_json()["points_reversed"] == 0

    result = app.test_cli_runner().invoke(args=["loyalty", "daily"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        account = db.session.scalar(
            select(PointsAccount).where(PointsAccount.member_id == member["id"])
        )
        assert (account.balance, account.debt) == (1000, 0)
