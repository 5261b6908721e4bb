"""An owner disputes a fraud outcome once; a manager reviews it with the call recording
(seed 002: 如客户有异议,邀请客户到店,并向客户提供甄别录音) and upholds or overturns it."""

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.extensions import db
from app.loyalty.models import PointsEntry
from app.members.models import Member, Notification
from app.referrals.models import (
    DisputeStatus,
    Referral,
    ReferralDispute,
    ReferralStatus,
    StaffFlag,
)
from app.rewards.models import Voucher
from tests.conftest import login
from tests.factories import make_member, make_vehicle
from tests.referrals.front_door import error, judged_fraud, text

DECISION = {"recording_ref": "REC-7788", "note": "We listened together: the answers were right."}


@pytest.fixture
def fraud(seeded, member):
    """Zhang Wei's referral of Li Si, judged fraud by the callback: ids."""
    with seeded():
        return judged_fraud(db.session.get(Member, member["id"]))


@pytest.fixture
def admin(staff_factory):
    return staff_factory("dealer_admin", "SZ01")


def _referral(app, referral_id: int) -> Referral:
    with app.app_context():
        return db.session.get(Referral, referral_id)


def _dispute(app) -> ReferralDispute | None:
    with app.app_context():
        return db.session.scalar(select(ReferralDispute))


def _opened(client, fraud, reason="He is my colleague; I was driving when they called.") -> int:
    path = f"/me/referrals/{fraud['referral_id']}/dispute"
    response = client.post(path, data={"reason": reason})
    assert response.status_code == 302, text(response)
    return response


# ---------------------------------------------------------------------------------- owners


def test_the_owner_disputes_once(app, member_client, fraud):
    mine = text(member_client.get("/me/referrals"))
    assert "Dispute this outcome" in mine
    assert "until 23 Dec 2026" in mine
    page = text(member_client.get(f"/me/referrals/{fraud['referral_id']}/dispute"))
    assert "Your referral of Li Si" in page

    _opened(member_client, fraud)
    mine = text(member_client.get("/me/referrals"))
    assert "Your dispute is sent: a manager will review the call recording." in mine
    assert "Your dispute: under review" in mine
    dispute = _dispute(app)
    assert dispute.status == DisputeStatus.OPEN
    assert dispute.reason.startswith("He is my colleague")

    # Once: a second dispute is refused and the form is not offered again.
    response = member_client.post(
        f"/me/referrals/{fraud['referral_id']}/dispute", data={"reason": "again"}
    )
    assert "You already disputed this outcome" in text(response)
    response = member_client.get(f"/me/referrals/{fraud['referral_id']}/dispute")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(ReferralDispute.id))) == 1
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.id)).where(AuditEntry.action == "referral.disputed")
            )
            == 1
        )


def test_a_double_tap_sends_one_dispute(app, member_client, fraud):
    path = f"/me/referrals/{fraud['referral_id']}/dispute"
    data = {"reason": "Twice", "idempotency_key": "dispute-key-0123456789"}
    first, again = member_client.post(path, data=data), member_client.post(path, data=data)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"] == "/me/referrals"
    with app.app_context():
        assert db.session.scalar(select(func.count(ReferralDispute.id))) == 1


def test_a_word_is_optional_but_not_endless(app, member_client, fraud):
    response = member_client.post(
        f"/me/referrals/{fraud['referral_id']}/dispute", data={"reason": "x" * 2001}
    )
    assert error(response, "reason").startswith("Field cannot be longer than 2000")
    assert _dispute(app) is None
    _opened(member_client, fraud, reason="")
    assert _dispute(app).reason == ""


def test_the_time_to_dispute_ends(app, member_client, fraud, clock):
    clock.advance(days=app.config["REFERRAL_DISPUTE_DAYS"], seconds=1)
    assert "Dispute this outcome" not in text(member_client.get("/me/referrals"))
    response = member_client.post(f"/me/referrals/{fraud['referral_id']}/dispute", data={})
    assert "The time to dispute this outcome ended on 2026-12-23." in text(response)
    assert _dispute(app) is None


def test_only_the_owners_fraud_outcome_can_be_disputed(app, seeded, member, dealers, fraud):
    with seeded():
        stranger = make_member(dealers["SZ01"], name="Zhao Liu")
        make_vehicle(stranger)
        mobile = stranger.user.mobile
        owner = db.session.get(Member, member["id"])
        from app.referrals import services as referrals

        open_one = referrals.register_referral(
            owner.user, owner, friend_name="Wang Wu", friend_mobile="13700005555"
        ).id
    client = app.test_client()
    login(client, mobile)
    assert client.get(f"/me/referrals/{fraud['referral_id']}/dispute").status_code == 404
    assert client.post(f"/me/referrals/{fraud['referral_id']}/dispute", data={}).status_code == 404
    owner_client = app.test_client()
    login(owner_client, member["mobile"])
    assert owner_client.get(f"/me/referrals/{open_one}/dispute").status_code == 302
    response = owner_client.post(f"/me/referrals/{open_one}/dispute", data={})
    assert "Only a referral found not genuine can be disputed." in text(response)
    assert _dispute(app) is None


# ----------------------------------------------------------------------------------- staff


def test_upheld_the_outcome_stands_and_the_owner_is_told(app, member_client, admin, fraud):
    _opened(member_client, fraud)
    dispute_id = _dispute(app).id
    queue = text(admin.get("/admin/referrals/disputes"))
    assert "Zhang Wei → Li Si" in queue
    assert "Referral disputes 1" in text(admin.get("/admin/"))
    page = text(admin.get(f"/admin/referrals/disputes/{dispute_id}"))
    assert "He is my colleague" in page
    assert "REC-7788" in page

    path = f"/admin/referrals/disputes/{dispute_id}"
    response = admin.post(path, data={"decision": "uphold", "recording_ref": "", "note": "x"})
    assert error(response, "recording_ref") == "Name the call recording you reviewed."
    response = admin.post(path, data={"decision": "uphold", "recording_ref": "REC-7788"})
    assert error(response, "note") == "Say why: the owner is told."
    assert _dispute(app).status == DisputeStatus.OPEN

    response = admin.post(path, data={"decision": "uphold", **DECISION}, follow_redirects=True)
    assert "Dispute decided: upheld: the outcome stands." in text(response)
    assert _referral(app, fraud["referral_id"]).status == ReferralStatus.FRAUD
    with app.app_context():
        note = db.session.scalar(
            select(Notification).where(Notification.kind == "referral_dispute")
        )
        assert note.title == "您的申诉：对 Li Si 的推荐维持原结果"
        assert db.session.scalar(select(func.count(StaffFlag.id))) >= 1
    assert "Your dispute: upheld: the outcome stands" in text(member_client.get("/me/referrals"))
    response = admin.post(path, data={"decision": "overturn", **DECISION}, follow_redirects=True)
    assert "This dispute was already decided." in text(response)
    assert _referral(app, fraud["referral_id"]).status == ReferralStatus.FRAUD


def test_overturned_the_referral_is_rewarded_once(app, member_client, admin, fraud, member):
    _opened(member_client, fraud)
    path = f"/admin/referrals/disputes/{_dispute(app).id}"
    response = admin.post(path, data={"decision": "overturn", **DECISION}, follow_redirects=True)
    assert "Dispute decided: overturned: approved and rewarded." in text(response)
    referral = _referral(app, fraud["referral_id"])
    assert referral.status == ReferralStatus.REWARDED
    with app.app_context():
        keys = db.session.scalars(
            select(PointsEntry.idempotency_key).where(PointsEntry.source == "referral")
        ).all()
        assert sorted(keys) == [
            f"referral:{referral.id}:friend",
            f"referral:{referral.id}:referrer",
        ]
        assert db.session.scalar(select(func.count(Voucher.id))) == 2
        # The fraud outcome's staff flags are withdrawn with it.
        assert db.session.scalar(select(func.count(StaffFlag.id))) == 0
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions[-3:] == [
            "referral.dispute_overturned",
            "referral.approved",
            "referral.rewarded",
        ]
    # Sent again, nothing more is given.
    admin.post(path, data={"decision": "overturn", **DECISION})
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(PointsEntry.id)).where(PointsEntry.source == "referral")
            )
            == 2
        )
    mine = text(member_client.get("/me/referrals"))
    assert "Rewarded. Thank you!" in mine
    assert "Your dispute: overturned: approved and rewarded" in mine
    detail = text(admin.get(f"/admin/referrals/{referral.id}"))
    assert "Dispute overturned · REC-7788" in detail


def test_who_reviews_a_dispute(app, seeded, staff_factory, member_client, fraud):
    _opened(member_client, fraud)
    path = f"/admin/referrals/disputes/{_dispute(app).id}"
    # The showroom manager who checked the licence, and consultants, hold no review right.
    for role in ("showroom_manager", "sales_consultant", "care_agent"):
        assert staff_factory(role, "SZ01").get(path).status_code == 403
    # Another dealer's admin does not find it; HQ reviews any dealer's.
    gz = staff_factory("dealer_admin", "GZ01")
    assert gz.get(path).status_code == 404
    assert "Li Si" not in text(gz.get("/admin/referrals/disputes"))
    hq = staff_factory("hq_admin", None)
    assert "Zhang Wei → Li Si" in text(hq.get("/admin/referrals/disputes"))
    assert hq.get(path).status_code == 200


def test_a_manager_who_handled_the_referral_does_not_review_it(app, seeded, member, member_client):
    from app.auth.models import User
    from app.core.permissions import Role

    with seeded():
        ids = judged_fraud(db.session.get(Member, member["id"]))
        # The agent who ran the callback is promoted to the dealer's admin.
        agent = db.session.get(User, ids["agent_id"])
        agent.role = Role.DEALER_ADMIN
        mobile = agent.mobile
    _opened(member_client, ids)
    client = app.test_client()
    login(client, mobile)
    response = client.post(
        f"/admin/referrals/disputes/{_dispute(app).id}",
        data={"decision": "overturn", **DECISION},
    )
    assert "You handled this referral: another manager must review the dispute." in text(response)
    assert _dispute(app).status == DisputeStatus.OPEN
    assert _referral(app, ids["referral_id"]).status == ReferralStatus.FRAUD


def test_the_dispute_pages_speak_chinese(app, member_client, admin, fraud):
    zh = {"Accept-Language": "zh"}
    assert "对结果提出异议" in text(member_client.get("/me/referrals", headers=zh))
    _opened(member_client, fraud)
    assert "推荐申诉" in text(admin.get("/admin/referrals/disputes", headers=zh))


@pytest.mark.postgres
def test_managers_overturning_at_once_reward_the_referral_once(pg_app):
    from app.referrals import disputes
    from tests.factories import make_dealer, make_staff
    from tests.test_postgres_concurrency import race

    with pg_app.app_context(), pg_app.test_request_context():
        owner = make_member(make_dealer("SZ01").id, name="Zhang Wei")
        make_vehicle(owner)
        ids = judged_fraud(owner)
        dispute_id = disputes.open_dispute(owner, ids["referral_id"]).id
        hq = [make_staff("hq_admin", None).id for _ in range(6)]
        db.session.commit()
    queue = list(hq)

    def overturn():
        from app.auth.models import User

        manager = db.session.get(User, queue.pop())
        return disputes.decide_dispute(
            manager, dispute_id, overturn=True, recording_ref="REC-7788", note="Genuine."
        ).id

    results = race(pg_app, overturn)
    assert results.count(dispute_id) == 1, results
    with pg_app.app_context():
        assert db.session.get(Referral, ids["referral_id"]).status == ReferralStatus.REWARDED
        assert (
            db.session.scalar(
                select(func.count(PointsEntry.id)).where(PointsEntry.source == "referral")
            )
            == 2
        )


def test_the_export_has_the_dispute_and_deletion_erases_its_words(app, seeded, member, fraud):
    from app.members.privacy import delete_member_account, export_member_data

    with seeded():
        owner = db.session.get(Member, member["id"])
        from app.referrals import disputes

        disputes.open_dispute(owner, fraud["referral_id"], reason="He is my colleague.")
    with app.app_context(), app.test_request_context():
        owner = db.session.get(Member, member["id"])
        (row,) = export_member_data(owner)["referrals"]
        assert row["dispute"]["status"] == "open"
        assert row["dispute"]["reason"] == "He is my colleague."
        delete_member_account(owner)
        db.session.commit()
    dispute = _dispute(app)
    assert dispute.reason == ""
    assert dispute.status == DisputeStatus.OPEN
