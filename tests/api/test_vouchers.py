"""POST /api/v1/vouchers/redeem: a voucher is used once, at its own dealer."""

import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.extensions import db
from app.members.models import Member
from app.rewards.models import Voucher, VoucherStatus
from app.rewards.services import cancel_voucher, format_voucher_code, redeem_reward, voucher_token
from tests.api.conftest import assert_error
from tests.factories import give_points, make_reward


@pytest.fixture
def voucher(app, seeded, member) -> dict:
    """An issued voucher of the SZ01 member, usable at SZ01."""
    with seeded():
        owner = db.session.get(Member, member["id"])
        give_points(owner, 5000)
        issued = redeem_reward(owner, make_reward(name="Car wash", cost_points=1000).id)
        return {"id": issued.id, "code": issued.code}


def status(app, voucher_id: int) -> VoucherStatus:
    with app.app_context():
        return db.session.get(Voucher, voucher_id).status


def test_a_voucher_is_redeemed_once(app, api, voucher, clock):
    response = api.post("/vouchers/redeem", {"code": format_voucher_code(voucher["code"]).lower()})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "status": "redeemed",
        "code": voucher["code"],
        "reward": "Car wash",
        "redeemed_at": clock.now().isoformat(),
    }
    assert status(app, voucher["id"]) == VoucherStatus.REDEEMED

    clock.advance(hours=2)
    again = api.post("/vouchers/redeem", {"code": voucher["code"]})
    assert again.status_code == 409
    body = again.get_json()
    assert body["status"] == "already_redeemed"
    assert body["redeemed_at"] == response.get_json()["redeemed_at"]
    assert body["error"]["code"] == "already_redeemed" and body["error"]["message"]


def test_the_qr_token_redeems_too(app, api, voucher):
    with app.app_context(), app.test_request_context():
        token = voucher_token(db.session.get(Voucher, voucher["id"]))
    assert api.post("/vouchers/redeem", {"code": token}).status_code == 200


def test_an_unknown_code_is_404_and_the_refusal_is_audited(app, api, voucher):
    assert_error(api.post("/vouchers/redeem", {"code": "ZZZZZ-ZZZZZ"}), 404, "unknown")
    with app.app_context():
        refusal = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "voucher.refused")
        )
        assert refusal.details["reason"] == "unknown"


def test_another_dealers_key_cannot_redeem_it_nor_learn_it_exists(app, api, voucher):
    response = api.post("/vouchers/redeem", {"code": voucher["code"]}, dealer="GZ01")
    unknown = api.post("/vouchers/redeem", {"code": "ZZZZZ-ZZZZZ"}, dealer="GZ01")
    assert_error(response, 404)
    assert response.get_json() == unknown.get_json()
    assert status(app, voucher["id"]) == VoucherStatus.ISSUED


def test_a_cancelled_voucher_is_a_conflict(app, api, seeded, voucher, member):
    with seeded():
        cancel_voucher(db.session.get(Member, member["id"]), voucher["id"])
    response = api.post("/vouchers/redeem", {"code": voucher["code"]})
    assert_error(response, 409, "cancelled")
    assert response.get_json()["status"] == "cancelled"


def test_an_expired_voucher_is_a_conflict(app, api, voucher, clock):
    clock.advance(days=40)
    response = api.post("/vouchers/redeem", {"code": voucher["code"]})
    assert_error(response, 409, "expired")
    assert response.get_json()["status"] == "expired"
    assert status(app, voucher["id"]) == VoucherStatus.ISSUED


def test_a_forged_qr_is_refused(api, voucher):
    forged = "CC1." + "A" * 100
    assert_error(api.post("/vouchers/redeem", {"code": forged}), 422, field="code")


def test_a_missing_code_is_422(api):
    assert_error(api.post("/vouchers/redeem", {"voucher": "X"}), 422, field="code")
