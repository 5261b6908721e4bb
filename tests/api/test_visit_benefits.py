"""POST /api/v1/dms/service-visits with the member benefits applied (issue 21): each checked
against the owner's tier, exclusions, percent and yearly limit, recorded as a use, or the whole
visit refused with the field named; replays and refunds."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.loyalty.member_benefits.models import BenefitUse, UseStatus
from app.loyalty.services import account_for
from app.members.models import Member, Vehicle
from app.service.models import ServiceVisit
from tests.api.conftest import assert_error

LABOUR = {"code": "labour-discount", "base_yuan": "400.00", "discount_yuan": "200.00"}


@pytest.fixture
def vin(app, member) -> str:
    """The VIN of the SZ01 owner's car; the owner is a diamond member."""
    with app.app_context():
        account_for(db.session.get(Member, member["id"])).tier_code = "diamond"
        db.session.commit()
        return db.session.get(Vehicle, member["vehicle_id"]).vin


def visit(car_vin: str, ro="RO-B1", category="repair", benefits=None) -> dict:
    return {
        "ro_number": ro,
        "vin": car_vin,
        "visited_on": "2026-11-20",
        "mileage_km": 15200,
        "amount_yuan": "880.00",
        "category": category,
        "benefits": [LABOUR] if benefits is None else benefits,
    }


def stored(app) -> list[tuple]:
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                select(
                    BenefitUse.code,
                    BenefitUse.reference,
                    BenefitUse.discount_fen,
                    BenefitUse.source,
                    BenefitUse.status,
                ).order_by(BenefitUse.id)
            )
        ]


def visits(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(ServiceVisit.id)))


def test_a_discount_applied_on_the_repair_order_is_recorded_as_a_use(app, api, vin):
    wash = {"code": "car-wash", "discount_yuan": "30"}
    response = api.post("/dms/service-visits", visit(vin, benefits=[LABOUR, wash]))
    assert response.status_code == 201, response.get_json()
    assert stored(app) == [
        ("labour-discount", "RO-B1", 20_000, "dms", UseStatus.USED),
        ("car-wash", "RO-B1", 3000, "dms", UseStatus.USED),
    ]
    # The same repair order again: nothing more; with other benefits: a conflict.
    assert api.post("/dms/service-visits", visit(vin, benefits=[LABOUR, wash])).status_code == 200
    assert_error(api.post("/dms/service-visits", visit(vin)), 409, "conflict", "benefits")
    assert len(stored(app)) == 2


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"category": "accident"}, "benefits.0.category", "Accident repair is excluded"),
        (
            {"benefits": [{**LABOUR, "discount_yuan": "200.01"}]},
            "benefits.0.discount_yuan",
            "At most ¥200.00: 50% of ¥400.00.",
        ),
        (
            {"benefits": [{"code": "labour-discount", "discount_yuan": "50"}]},
            "benefits.0.base_yuan",
            "Give the amount before the discount.",
        ),
        (
            {"benefits": [{"code": "free-lunch", "discount_yuan": "5"}]},
            "benefits.0.code",
            "No such benefit.",
        ),
        (
            {"benefits": [{"code": "anniversary-gift", "discount_yuan": "36"}]},
            "benefits.0.code",
            "claimed at the counter",
        ),
        ({"benefits": [LABOUR, LABOUR]}, "benefits", "at most once"),
        ({"benefits": [{**LABOUR, "discount_yuan": "-1"}]}, "benefits.0.discount_yuan", ""),
        ({"benefits": [{**LABOUR, "discount_yuan": "1e400"}]}, "benefits.0.discount_yuan", ""),
        ({"benefits": [{"code": "car-wash"}]}, "benefits.0.discount_yuan", ""),
        ({"benefits": "labour-discount"}, "benefits", ""),
        ({"benefits": [[None, None]]}, "benefits.0", ""),
        ({"benefits": [{"discount_yuan": "5"}, {"discount_yuan": "6"}]}, "benefits.1.code", ""),
    ],
)
def test_a_refused_benefit_refuses_the_visit_and_records_nothing(
    app, api, vin, changes, field, message
):
    body = {**visit(vin), **changes}
    error = assert_error(api.post("/dms/service-visits", body), 422, field=field)
    assert message in " ".join(error["fields"][field])
    assert stored(app) == [] and visits(app) == 0


def test_the_yearly_limit_is_refused_with_the_count(app, api, vin):
    wash = [{"code": "car-wash", "discount_yuan": "30"}]
    for n in range(6):  # diamond: six washes a membership year
        assert (
            api.post("/dms/service-visits", visit(vin, ro=f"RO-W{n}", benefits=wash)).status_code
            == 201
        )
    error = assert_error(
        api.post("/dms/service-visits", visit(vin, ro="RO-W7", benefits=wash)),
        422,
        field="benefits.0.code",
    )
    assert "Already used 6 of 6 times this membership year" in error["fields"]["benefits.0.code"][0]


def test_a_benefit_of_another_tier_is_refused(app, api, vin, member):
    with app.app_context():
        account_for(db.session.get(Member, member["id"])).tier_code = "gold"
        db.session.commit()
    error = assert_error(api.post("/dms/service-visits", visit(vin, ro="RO-L1")), 422)
    assert error["fields"]["benefits.0.code"] == [
        "Not a benefit of the owner's tier (Gold): it comes with Diamond."
    ]


def test_a_refund_gives_the_benefits_back(app, api, vin):
    api.post("/dms/service-visits", visit(vin))
    assert api.post("/dms/service-visits/RO-B1/refund").status_code == 200
    assert stored(app)[0][-1] == UseStatus.VOIDED


def test_a_visit_without_benefits_is_as_before(app, api, vin):
    body = visit(vin)
    del body["benefits"]
    assert api.post("/dms/service-visits", body).status_code == 201
    assert stored(app) == []


def test_the_openapi_document_describes_the_benefits(api):
    document = api.get("/openapi.json", dealer=None).get_json()
    schemas = document["components"]["schemas"]
    benefits = schemas["ServiceVisit"]["properties"]["benefits"]
    assert benefits["maxItems"] == 5 and "yearly limit" in benefits["description"]
    applied = schemas["AppliedBenefit"]
    assert set(applied["required"]) == {"code", "discount_yuan"}
    operation = document["paths"]["/api/v1/dms/service-visits"]["post"]
    assert "benefits.0.code" in operation["description"]
