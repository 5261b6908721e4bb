"""POST /api/v1/dms/service-visits and .../<ro_number>/refund: points once, reversed once."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.loyalty.models import PointsAccount, PointsEntry
from app.members.models import Vehicle
from app.service.models import ServiceVisit, VisitStatus
from tests.api.conftest import assert_error
from tests.factories import valid_vin


@pytest.fixture
def vin(app, member) -> str:
    """The VIN of the SZ01 member's car (bought in May: November is no anniversary)."""
    with app.app_context():
        return db.session.get(Vehicle, member["vehicle_id"]).vin


def visit(car_vin: str, **changes) -> dict:
    return {
        "ro_number": "RO-2026-001",
        "vin": car_vin,
        "visited_on": "2026-11-20",
        "mileage_km": 15200,
        "amount_yuan": 1280.55,
        "category": "maintenance",
        **changes,
    }


def figures(app, member_id: int) -> dict:
    """Balance, entries and visits of the member: what a replay must not change."""
    with app.app_context():
        account = db.session.scalar(
            select(PointsAccount).where(PointsAccount.member_id == member_id)
        )
        return {
            "balance": account.balance,
            "entries": db.session.scalar(
                select(func.count(PointsEntry.id)).where(PointsEntry.account_id == account.id)
            ),
            "visits": db.session.scalar(select(func.count(ServiceVisit.id))),
        }


def test_a_visit_earns_points_and_replaying_it_changes_nothing(app, api, member, vin):
    response = api.post("/dms/service-visits", visit(vin))
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data == {"points_awarded": 1280, "balance": 1280, "tier": "gold"}
    with app.app_context():
        stored = db.session.scalar(select(ServiceVisit))
        assert stored.amount_fen == 128055 and stored.source == "dms"
        assert stored.visited_on == date(2026, 11, 20) and stored.mileage_km == 15200
    before = figures(app, member["id"])

    again = api.post("/dms/service-visits", visit(vin))
    assert again.status_code == 200
    assert again.get_json() == data
    assert figures(app, member["id"]) == before


@pytest.mark.parametrize(
    ("amount", "fen"),
    [("0.01", 1), (0.1, 10), ("999999.99", 99_999_999), (1280, 128_000), ("19.90", 1990)],
)
def test_the_amount_in_yuan_becomes_exact_fen(app, api, vin, amount, fen):
    response = api.post("/dms/service-visits", visit(vin, amount_yuan=amount))
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        assert db.session.scalar(select(ServiceVisit.amount_fen)) == fen


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount_yuan": -100}, "amount_yuan"),
        ({"amount_yuan": 0}, "amount_yuan"),
        ({"amount_yuan": 1_000_000}, "amount_yuan"),
        ({"amount_yuan": 1e12}, "amount_yuan"),
        ({"amount_yuan": 12.345}, "amount_yuan"),
        ({"amount_yuan": "a lot"}, "amount_yuan"),
        ({"amount_yuan": None}, "amount_yuan"),
        ({"mileage_km": -1}, "mileage_km"),
        ({"mileage_km": 12.5}, "mileage_km"),
        ({"mileage_km": 5_000_000}, "mileage_km"),
        ({"visited_on": "2026-11-24"}, "visited_on"),  # tomorrow in Shanghai
        ({"visited_on": "yesterday"}, "visited_on"),
        ({"category": "car wash"}, "category"),
        ({"vin": "LFV2A21K1A3000001"}, "vin"),  # wrong check digit
        ({"ro_number": ""}, "ro_number"),
        ({"ro_number": "RO 1; DROP"}, "ro_number"),
    ],
)
def test_invalid_visits_are_422_and_award_nothing(app, api, member, vin, changes, field):
    before = figures(app, member["id"])
    response = api.post("/dms/service-visits", visit(vin, **changes))
    assert_error(response, 422, "validation_failed", field=field)
    assert figures(app, member["id"]) == before


def test_an_unknown_vin_is_404(api, member):
    assert_error(api.post("/dms/service-visits", visit(valid_vin())), 404, "not_found")


def test_another_dealers_key_cannot_record_a_visit_of_this_dealers_car(app, api, member, vin):
    before = figures(app, member["id"])
    response = api.post("/dms/service-visits", visit(vin), dealer="GZ01")
    assert_error(response, 404, "not_found")
    assert figures(app, member["id"]) == before


def test_one_ro_number_for_two_cars_is_a_conflict(app, api, seeded, member, vin):
    from app.members.models import Member
    from tests.factories import make_vehicle

    with seeded():
        other_vin = make_vehicle(db.session.get(Member, member["id"])).vin
    assert api.post("/dms/service-visits", visit(vin)).status_code == 201
    response = api.post("/dms/service-visits", visit(other_vin))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "repair_order_differs"
    assert (error["recorded"]["vin"], error["sent"]["vin"]) == (vin, other_vin)


def test_a_refund_reverses_the_points_once(app, api, member, vin):
    api.post("/dms/service-visits", visit(vin))
    response = api.post("/dms/service-visits/RO-2026-001/refund")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"points_reversed": 1280, "balance": 0}
    before = figures(app, member["id"])

    again = api.post("/dms/service-visits/RO-2026-001/refund")
    assert again.status_code == 200
    assert again.get_json() == {"points_reversed": 1280, "balance": 0}
    assert figures(app, member["id"]) == before
    with app.app_context():
        assert db.session.scalar(select(ServiceVisit.status)) == VisitStatus.REFUNDED


def test_an_ro_number_with_slashes_can_be_refunded(api, member, vin):
    assert api.post("/dms/service-visits", visit(vin, ro_number="RO/2026/7")).status_code == 201
    response = api.post("/dms/service-visits/RO/2026/7/refund")
    assert response.status_code == 200 and response.get_json()["points_reversed"] == 1280


def test_refunding_an_unknown_ro_is_404(api, member):
    assert_error(api.post("/dms/service-visits/RO-NOPE/refund"), 404, "not_found")


def test_another_dealers_key_cannot_refund_this_dealers_visit(app, api, member, vin):
    api.post("/dms/service-visits", visit(vin))
    before = figures(app, member["id"])
    assert_error(api.post("/dms/service-visits/RO-2026-001/refund", dealer="GZ01"), 404)
    assert figures(app, member["id"]) == before
    with app.app_context():
        assert db.session.scalar(select(ServiceVisit.status)) == VisitStatus.RECORDED


def test_a_refund_needs_a_key(api, member):
    assert_error(api.post("/dms/service-visits/RO-2026-001/refund", dealer=None), 401)


# ------------------------------------------------------------- a repair order re-sent, amended


@pytest.mark.parametrize(
    ("changes", "recorded", "sent"),
    [
        ({"amount_yuan": 1380.5}, {"amount_yuan": "1280.55"}, {"amount_yuan": "1380.50"}),
        ({"visited_on": "2026-11-21"}, {"visited_on": "2026-11-20"}, {"visited_on": "2026-11-21"}),
        ({"category": "repair"}, {"category": "maintenance"}, {"category": "repair"}),
        ({"mileage_km": 15300}, {"mileage_km": 15200}, {"mileage_km": 15300}),
    ],
)
def test_a_repair_order_resent_with_other_figures_is_a_409_with_both_versions(
    app, api, member, vin, changes, recorded, sent
):
    assert api.post("/dms/service-visits", visit(vin)).status_code == 201
    before = figures(app, member["id"])
    response = api.post("/dms/service-visits", visit(vin, **changes))
    assert response.status_code == 409, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "repair_order_differs"
    assert "amend" in error["message"]
    assert error["fields"] == {"ro_number": [error["message"]]}
    for name, value in recorded.items():
        assert error["recorded"][name] == value
    for name, value in sent.items():
        assert error["sent"][name] == value
    assert error["recorded"]["ro_number"] == error["sent"]["ro_number"] == "RO-2026-001"
    assert figures(app, member["id"]) == before


def amendment(car_vin: str, **changes) -> dict:
    body = visit(car_vin, **{"amount_yuan": 1380.55, "reason": "Amount keyed wrongly", **changes})
    del body["ro_number"]
    return body


def test_an_amendment_reverses_the_points_and_earns_them_afresh_once(app, api, member, vin):
    from app.core.audit import AuditEntry
    from app.service.models import VisitAmendment

    assert api.post("/dms/service-visits", visit(vin)).get_json()["balance"] == 1280
    response = api.post("/dms/service-visits/RO-2026-001/amend", amendment(vin))
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {
        "amendment": 1,
        "points_reversed": 1280,
        "points_awarded": 1380,
        "balance": 1380,
        "tier": "gold",
    }
    after = figures(app, member["id"])
    assert after["entries"] == 3  # the earning, its reversal, the new earning

    again = api.post("/dms/service-visits/RO-2026-001/amend", amendment(vin))
    assert again.status_code == 200
    assert again.get_json() == {**response.get_json()}
    assert figures(app, member["id"]) == after
    # The corrected figures are now the repair order's: resending them is a plain replay.
    resent = api.post("/dms/service-visits", {**visit(vin), "amount_yuan": 1380.55})
    assert resent.status_code == 200 and resent.get_json()["points_awarded"] == 1380
    with app.app_context():
        stored = db.session.scalar(select(ServiceVisit))
        assert (stored.amount_fen, stored.points_awarded) == (138055, 1380)
        amended = db.session.scalar(select(VisitAmendment))
        assert amended.before["amount_fen"] == 128055 and amended.after["amount_fen"] == 138055
        assert amended.reason == "Amount keyed wrongly" and amended.source == "dms"
        audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "visit.amended"))
        assert audit.details["points_reversed"] == 1280
        assert audit.details["points_awarded"] == 1380


def test_a_second_amendment_and_a_refund_after_it_reverse_the_current_points(app, api, member, vin):
    api.post("/dms/service-visits", visit(vin))
    api.post("/dms/service-visits/RO-2026-001/amend", amendment(vin))
    second = api.post(
        "/dms/service-visits/RO-2026-001/amend", amendment(vin, amount_yuan=500, reason="Again")
    )
    assert second.status_code == 201
    assert second.get_json()["amendment"] == 2
    assert second.get_json()["points_reversed"] == 1380
    assert second.get_json()["balance"] == 500
    refund = api.post("/dms/service-visits/RO-2026-001/refund")
    assert refund.get_json() == {"points_reversed": 500, "balance": 0}


def test_a_refunded_visit_cannot_be_amended(app, api, member, vin):
    api.post("/dms/service-visits", visit(vin))
    api.post("/dms/service-visits/RO-2026-001/refund")
    before = figures(app, member["id"])
    response = api.post("/dms/service-visits/RO-2026-001/amend", amendment(vin))
    assert_error(response, 409, "conflict")
    assert "refunded" in response.get_json()["error"]["message"]
    assert figures(app, member["id"]) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": "x" * 201}, "reason"),
        ({"amount_yuan": 0}, "amount_yuan"),
    ],
)
def test_a_bad_amendment_is_422_and_changes_nothing(app, api, member, vin, changes, field):
    api.post("/dms/service-visits", visit(vin))
    before = figures(app, member["id"])
    response = api.post("/dms/service-visits/RO-2026-001/amend", amendment(vin, **changes))
    assert_error(response, 422, "validation_failed", field=field)
    assert figures(app, member["id"]) == before


def test_amending_an_unknown_or_another_dealers_ro_is_404(app, api, member, vin):
    assert_error(api.post("/dms/service-visits/RO-NOPE/amend", amendment(vin)), 404)
    api.post("/dms/service-visits", visit(vin))
    response = api.post("/dms/service-visits/RO-2026-001/amend", amendment(vin), dealer="GZ01")
    assert_error(response, 404)
