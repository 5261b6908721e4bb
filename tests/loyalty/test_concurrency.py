"""On PostgreSQL: simultaneous goodwill requests of one staff member respect the daily cap."""

import pytest

from app.core.errors import ValidationFailed
from app.extensions import db
from app.loyalty.models import PointsAccount
from tests.factories import make_dealer, make_member, make_staff
from tests.test_postgres_concurrency import race

pytestmark = pytest.mark.postgres


def test_parallel_goodwill_cannot_beat_the_daily_cap(pg_app):
    from app.auth.models import User
    from app.loyalty.adjustments import request_adjustment
    from app.members.models import Member

    with pg_app.app_context(), pg_app.test_request_context():
        dealer = make_dealer("SZ01")
        member_id = make_member(dealer.id).id
        advisor_id = make_staff("service_advisor", dealer.id).id
        db.session.commit()

    def give():
        actor = db.session.get(User, advisor_id)
        return request_adjustment(
            actor, db.session.get(Member, member_id), points=450, reason="simultaneous apology"
        ).points

    results = race(pg_app, give, racers=6)
    assert sum(r == 450 for r in results) == 4  # 4 × 450 = 1,800 ≤ 2,000 < 5 × 450
    assert all(isinstance(r, ValidationFailed) for r in results if r != 450)
    with pg_app.app_context():
        account = db.session.query(PointsAccount).filter_by(member_id=member_id).one()
        assert account.balance == 1800
