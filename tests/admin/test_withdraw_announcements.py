"""An announced change can be withdrawn until its day (R2): HQ's typo in the earning rules, the
tier thresholds, the referral terms or the member benefits need not reach members. Withdrawn,
members stop seeing it coming, the same day can be announced again and the audit log keeps what
it said; once in force it can only be replaced; a second tap changes nothing."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import AuditEntry
from app.core.errors import Conflict
from app.extensions import db
from app.loyalty import rules
from app.loyalty.member_benefits import catalogue
from app.loyalty.models import EarningRules, TierSchedule
from app.loyalty.services import TierSetting, schedule_tiers, upcoming_tier_changes
from app.referrals.models import ReferralTerms
from tests.admin.test_views import TIERS
from tests.factories import announce_earning_rules, announce_referral_terms

DAY = date(2027, 1, 1)


@pytest.fixture
def hq(staff_factory):
    return staff_factory("hq_admin", None)


def _hq_user() -> User:
    return db.session.scalar(select(User).where(User.role == "hq_admin"))


def _page(client, path: str) -> str:
    return client.get(path).get_data(as_text=True)


def _withdrawn(app, action: str) -> list[dict]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry.details).where(AuditEntry.action == f"{action}.withdrawn")
            )
        )


def _announce_rules(app, note="Repair at 50 per ¥100 (typo: meant 15)"):
    with app.app_context(), app.test_request_context():
        in_force_id = rules.rules_in_force_today().id
        version = announce_earning_rules(_hq_user(), DAY, note, repair_rate=50)
        db.session.commit()
        return version.id, in_force_id


def test_hq_withdraws_announced_earning_rules_and_announces_the_right_ones(app, hq, member_client):
    version_id, in_force_id = _announce_rules(app)
    assert "Repair at 50" in _page(member_client, "/me/tier")
    page = _page(hq, "/admin/earning-rules")
    assert f"/admin/earning-rules/{version_id}/withdraw" in page
    assert f"/admin/earning-rules/{in_force_id}/withdraw" not in page  # in force: no button

    response = hq.post(f"/admin/earning-rules/{version_id}/withdraw", follow_redirects=True)
    assert "The announced rules are withdrawn." in response.get_data(as_text=True)
    assert "Repair at 50" not in _page(member_client, "/me/tier")
    assert _withdrawn(app, "earning_rules") == [
        {"effective_from": "2027-01-01", "note": "Repair at 50 per ¥100 (typo: meant 15)"}
    ]
    # A second tap (a stale page) changes nothing and says so.
    again = hq.post(f"/admin/earning-rules/{version_id}/withdraw", follow_redirects=True)
    assert "This version is no longer announced: nothing changed." in again.get_data(as_text=True)
    assert len(_withdrawn(app, "earning_rules")) == 1
    # The day is free again for the right rules.
    _announce_rules(app, note="Repair at 15 per ¥100")
    assert "Repair at 15" in _page(member_client, "/me/tier")


def test_rules_in_force_cannot_be_withdrawn(app, hq, clock):
    version_id, in_force_id = _announce_rules(app)
    response = hq.post(f"/admin/earning-rules/{in_force_id}/withdraw", follow_redirects=True)
    assert "This version is in force already" in response.get_data(as_text=True)
    clock.advance(days=39)  # 2027-01-01: the announced rules apply
    response = hq.post(f"/admin/earning-rules/{version_id}/withdraw", follow_redirects=True)
    assert "This version is in force already" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(EarningRules.id))) == 2
        assert rules.rules_in_force_today().id == version_id
    assert _withdrawn(app, "earning_rules") == []


def test_only_hq_withdraws(app, hq, staff_factory):
    version_id, _ = _announce_rules(app)
    dealer_admin = staff_factory("dealer_admin", "SZ01")
    assert dealer_admin.post(f"/admin/earning-rules/{version_id}/withdraw").status_code == 403
    with app.app_context():
        assert db.session.get(EarningRules, version_id) is not None


def test_hq_withdraws_a_tier_change_and_the_day_applies_nothing(app, hq, clock):
    assert hq.post("/admin/tiers", data={**TIERS, "platinum_threshold": "6000"}).status_code == 302
    with app.app_context():
        (schedule,) = upcoming_tier_changes()
        schedule_id = schedule.id
    response = hq.post(f"/admin/tiers/{schedule_id}/withdraw", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "The tier change is withdrawn." in page and "Announced for" not in page
    clock.advance(days=39)
    output = app.test_cli_runner().invoke(args=["loyalty", "daily"]).output
    assert "Applied 0 announced tier changes" in output
    assert [d["effective_from"] for d in _withdrawn(app, "tiers")] == ["2027-01-01"]


def test_a_tier_change_applied_cannot_be_withdrawn(ctx, clock):
    from tests.factories import make_staff

    hq = make_staff("hq_admin", None)
    settings = [
        TierSetting("gold", 0, 100),
        TierSetting("platinum", 6000, 125),
        TierSetting("diamond", 15000, 150),
    ]
    schedule = schedule_tiers(hq, settings, effective_from=DAY, note="Platinum from 6,000")
    clock.advance(days=39)
    from app.loyalty.services import withdraw_tiers

    with pytest.raises(Conflict, match="in force already"):
        withdraw_tiers(hq, schedule.id)
    assert db.session.get(TierSchedule, schedule.id) is not None


def test_hq_withdraws_announced_referral_terms(app, hq, member_client):
    with app.app_context(), app.test_request_context():
        # A zero too many.
        version = announce_referral_terms(
            _hq_user(), DAY, "More for referrers", referrer_points=30_000
        )
        version_id = version.id
        db.session.commit()
    assert "More for referrers" in _page(member_client, "/referrals/new")
    assert f"/admin/referral-terms/{version_id}/withdraw" in _page(hq, "/admin/referral-terms")
    response = hq.post(f"/admin/referral-terms/{version_id}/withdraw", follow_redirects=True)
    assert "The announced terms are withdrawn." in response.get_data(as_text=True)
    assert "More for referrers" not in _page(member_client, "/referrals/new")
    with app.app_context():
        assert db.session.get(ReferralTerms, version_id) is None
    assert [d["note"] for d in _withdrawn(app, "referral_terms")] == ["More for referrers"]


def _announce_benefits(app) -> int:
    with app.app_context(), app.test_request_context():
        hq = _hq_user()
        draft = catalogue.start_draft(hq)
        wash = next(b for b in draft.benefits if b.tier_code == "gold" and b.code == "car-wash")
        catalogue.remove_benefit(hq, wash.id)
        version = catalogue.announce_draft(hq, effective_from=DAY, note="Gold loses the car wash")
        db.session.commit()
        return version.id


def test_withdrawn_benefits_become_the_draft_again(app, hq, member_client):
    version_id = _announce_benefits(app)
    assert "Gold loses the car wash" in _page(member_client, "/me/tier")
    response = hq.post(f"/admin/benefits/{version_id}/withdraw")
    assert response.headers["Location"].endswith("/admin/benefits#draft")
    page = _page(hq, "/admin/benefits")
    assert "The announcement is withdrawn: the version is your draft again." in page
    assert "Announced for" not in page and "Announce the draft" in page
    assert "Gold loses the car wash" not in _page(member_client, "/me/tier")
    with app.app_context():
        draft = catalogue.current_draft()
        assert draft.id == version_id and draft.effective_from is None
        # The correction HQ was making is kept: gold still has no car wash in the draft.
        assert not [b for b in draft.benefits if b.tier_code == "gold" and b.code == "car-wash"]
        # Announced again, for the same day.
        catalogue.announce_draft(_hq_user(), effective_from=DAY, note="Gold: wash every quarter")
        db.session.commit()
    assert "Gold: wash every quarter" in _page(member_client, "/me/tier")
    assert [d["note"] for d in _withdrawn(app, "benefits")] == ["Gold loses the car wash"]


def test_benefits_are_not_withdrawn_over_an_open_draft_or_once_in_force(app, hq, clock):
    version_id = _announce_benefits(app)
    with app.app_context(), app.test_request_context():
        catalogue.start_draft(_hq_user())
        db.session.commit()
    # The page offers no withdrawal while a draft is open; a stale page's tap is refused.
    assert f"/admin/benefits/{version_id}/withdraw" not in _page(hq, "/admin/benefits")
    response = hq.post(f"/admin/benefits/{version_id}/withdraw", follow_redirects=True)
    assert "A draft is already open: announce or discard it first." in response.get_data(
        as_text=True
    )
    with app.app_context(), app.test_request_context():
        catalogue.discard_draft(_hq_user())
        db.session.commit()
    clock.advance(days=39)
    response = hq.post(f"/admin/benefits/{version_id}/withdraw", follow_redirects=True)
    assert "This version is in force already" in response.get_data(as_text=True)
    with app.app_context():
        assert catalogue.catalogue_in_force(DAY).id == version_id
    assert _withdrawn(app, "benefits") == []
