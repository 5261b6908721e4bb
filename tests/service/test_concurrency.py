"""On PostgreSQL: twenty simultaneous replays of one repair order award its points once."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.loyalty.models import PointsAccount, PointsEntry
from app.service.models import ServiceVisit
from tests.factories import make_dealer, make_member, make_vehicle
from tests.test_postgres_concurrency import race

pytestmark = pytest.mark.postgres


def test_twenty_simultaneous_replays_of_a_visit_award_points_once(pg_app):
    from app.service.services import record_visit

    with pg_app.app_context(), pg_app.test_request_context():
        member = make_member(make_dealer("SZ01").id)
        vehicle = make_vehicle(member)
        dealer_id, vin, member_id = member.dealer_id, vehicle.vin, member.id
        db.session.commit()

    results = race(
        pg_app,
        lambda: (
            record_visit(
                None,
                dealer_id=dealer_id,
                ro_number="RO-RACE",
                vin=vin,
                visited_on=date(2026, 11, 20),
                mileage_km=1000,
                amount_fen=88_800,
                category="maintenance",
                source="dms",
            ).points_awarded
        ),
        racers=20,
    )
    assert results == [888] * 20
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(ServiceVisit.id))) == 1
        assert db.session.scalar(select(func.count(PointsEntry.id))) == 1
        account = db.session.scalar(
            select(PointsAccount).where(PointsAccount.member_id == member_id)
        )
        assert account.balance == 888


def test_ten_simultaneous_sends_of_one_amendment_amend_once(pg_app):
    from app.service.models import VisitAmendment
    from app.service.services import amend_visit, record_visit

    figures = {
        "visited_on": date(2026, 11, 20),
        "mileage_km": 1000,
        "category": "maintenance",
    }
    with pg_app.app_context(), pg_app.test_request_context():
        member = make_member(make_dealer("SZ01").id)
        vehicle = make_vehicle(member)
        dealer_id, vin, member_id = member.dealer_id, vehicle.vin, member.id
        record_visit(
            None, dealer_id=dealer_id, ro_number="RO-AMEND", vin=vin, amount_fen=88_800, **figures
        )
        db.session.commit()

    results = race(
        pg_app,
        lambda: (
            amend_visit(
                None,
                dealer_id=dealer_id,
                ro_number="RO-AMEND",
                vin=vin,
                amount_fen=99_900,
                reason="Keyed wrongly",
                source="dms",
                **figures,
            ).created
        ),
        racers=10,
    )
    assert sorted(results) == [False] * 9 + [True]
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(VisitAmendment.id))) == 1
        assert db.session.scalar(select(func.count(PointsEntry.id))) == 3
        account = db.session.scalar(
            select(PointsAccount).where(PointsAccount.member_id == member_id)
        )
        assert account.balance == 999
