"""Benefit use limits under a race on PostgreSQL (issue 21): twenty counters recording the same
limited benefit of one owner at once never record more than the limit, and twenty replays of
one repair order's discount record it once."""

import pytest
from sqlalchemy import func, select

from app.core.errors import ValidationFailed
from app.extensions import db
from app.loyalty.member_benefits.models import BenefitUse
from app.loyalty.member_benefits.uses import UseClaim, record_use
from app.loyalty.services import account_for
from app.members.models import Member
from tests.factories import make_dealer, make_member, make_staff
from tests.test_postgres_concurrency import race

pytestmark = pytest.mark.postgres


def _owner_and_advisor(pg_app, tier: str) -> tuple[int, int]:
    with pg_app.app_context(), pg_app.test_request_context():
        dealer = make_dealer("SZ01")
        owner = make_member(dealer.id)
        account_for(owner).tier_code = tier
        advisor = make_staff("service_advisor", dealer.id)
        db.session.commit()
        return owner.id, advisor.id


def _record(member_id: int, advisor_id: int, claim: UseClaim):
    from app.auth.models import User

    member = db.session.get(Member, member_id)
    advisor = db.session.get(User, advisor_id)
    return record_use(advisor, member, claim, dealer_id=member.dealer_id).use.id


def test_twenty_counters_never_use_a_benefit_beyond_its_limit(pg_app):
    # Platinum: four car washes a membership year.
    member_id, advisor_id = _owner_and_advisor(pg_app, "platinum")
    results = race(
        pg_app, lambda: _record(member_id, advisor_id, UseClaim(code="car-wash")), racers=20
    )
    assert sum(isinstance(r, int) for r in results) == 4, results
    refused = [r for r in results if not isinstance(r, int)]
    assert len(refused) == 16 and all(isinstance(r, ValidationFailed) for r in refused)
    assert all("4 of 4" in str(r.message) for r in refused)
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(BenefitUse.id))) == 4


def test_twenty_replays_of_one_repair_orders_discount_record_it_once(pg_app):
    member_id, advisor_id = _owner_and_advisor(pg_app, "diamond")
    claim = UseClaim(
        code="labour-discount",
        reference="RO-RACE-1",
        category="repair",
        base_fen=40_000,
        discount_fen=20_000,
    )
    results = race(pg_app, lambda: _record(member_id, advisor_id, claim), racers=20)
    assert len(set(results)) == 1 and isinstance(results[0], int), results
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(BenefitUse.id))) == 1
