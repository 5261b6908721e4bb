"""Races PostgreSQL must settle for perks: the total limit, one member's limit, one check."""

import pytest
from sqlalchemy import func, select

from app.core.errors import Conflict
from app.extensions import db
from app.members.models import Member
from app.partners.claims import PerkRefused, check_perk_code, claim_perk
from app.partners.models import Perk, PerkClaim
from tests.factories import make_dealer, make_member
from tests.partners.helpers import make_partner, make_partner_user, make_perk
from tests.test_postgres_concurrency import race

pytestmark = pytest.mark.postgres


def test_ten_owners_claiming_a_perk_limited_to_three_get_three_codes(pg_app):
    with pg_app.app_context(), pg_app.test_request_context():
        dealer_id = make_dealer("SZ01").id
        member_ids = [make_member(dealer_id, name=f"Racer {n}").id for n in range(10)]
        perk_id = make_perk(make_partner(), total_limit=3).id
        db.session.commit()
    queue = iter(member_ids)

    results = race(
        pg_app, lambda: claim_perk(db.session.get(Member, next(queue)), perk_id).code, racers=10
    )

    codes = [r for r in results if isinstance(r, str)]
    assert len(codes) == 3 == len(set(codes)), results
    refused = [r for r in results if not isinstance(r, str)]
    assert len(refused) == 7
    assert all(isinstance(r, Conflict) and r.code == "total_limit" for r in refused), refused
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(PerkClaim.id))) == 3
        assert db.session.get(Perk, perk_id).claimed_count == 3


def test_one_owner_claiming_at_once_from_six_phones_gets_their_limit(pg_app):
    with pg_app.app_context(), pg_app.test_request_context():
        member_id = make_member(make_dealer("SZ01").id).id
        perk_id = make_perk(make_partner(), limit_per_member=2).id
        db.session.commit()

    results = race(pg_app, lambda: claim_perk(db.session.get(Member, member_id), perk_id).code)

    assert sum(isinstance(r, str) for r in results) == 2, results
    assert all(r.code == "member_limit" for r in results if not isinstance(r, str))
    with pg_app.app_context():
        assert db.session.get(Perk, perk_id).claimed_count == 2


def test_a_code_checked_at_once_on_six_phones_is_honoured_once(pg_app):
    from app.auth.models import User

    with pg_app.app_context(), pg_app.test_request_context():
        partner = make_partner()
        member = make_member(make_dealer("SZ01").id)
        claim = claim_perk(member, make_perk(partner).id)
        claim_id, code = claim.id, claim.code
        desk_id = make_partner_user(partner).id
        db.session.commit()

    results = race(pg_app, lambda: check_perk_code(db.session.get(User, desk_id), code).id)

    assert results.count(claim_id) == 1, results
    refused = [r for r in results if r != claim_id]
    assert all(isinstance(r, PerkRefused) and r.reason == "already_used" for r in refused)
    with pg_app.app_context():
        assert db.session.get(PerkClaim, claim_id).honoured_at is not None
