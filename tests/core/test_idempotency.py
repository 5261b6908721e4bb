"""Every owner action once (R13): a double tap, a replay, a key reused with other content."""

import re
import threading
from html import unescape

import pytest
from sqlalchemy import func, select

from app.core.idempotency import IdempotencyKey
from app.extensions import db
from app.loyalty.models import PointsEntry
from app.loyalty.services import account_for
from app.members.models import Member
from app.rewards.models import Reward, Voucher
from tests.conftest import login
from tests.factories import give_points, make_dealer, make_member, make_reward


def form_key(html: str, action: str) -> str:
    """The idempotency key of the form posting to ``action`` in a rendered page."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', html, re.S)
    assert form, f"no form for {action}"
    found = re.search(r'name="idempotency_key" value="([^"]+)"', form.group(0))
    assert found, f"the form for {action} carries no idempotency key"
    return unescape(found.group(1))


@pytest.fixture
def shop(db_app):
    """An owner with points for two car washes, logged in: (app, client, ids)."""
    with db_app.app_context(), db_app.test_request_context():
        owner = make_member(make_dealer("SZ01").id)
        give_points(owner, 2000)
        ids = {
            "member": owner.id,
            "wash": make_reward(name="Car wash", cost_points=800).id,
            "gift": make_reward(name="Gift", cost_points=100).id,
        }
        mobile = owner.user.mobile
        db.session.commit()
    client = db_app.test_client()
    login(client, mobile)
    return db_app, client, ids


def counts(app, member_id: int, reward_name: str = "Car wash") -> dict:
    with app.app_context():
        return {
            "vouchers": db.session.scalar(select(func.count(Voucher.id))),
            "debits": db.session.scalar(
                select(func.count(PointsEntry.id)).where(PointsEntry.delta < 0)
            ),
            "balance": account_for(db.session.get(Member, member_id)).balance,
            "stock": db.session.scalar(select(Reward.stock).where(Reward.name == reward_name)),
        }


def twin(client):
    """A second client with the first one's cookies: the same owner on the same phone."""
    other = client.application.test_client()
    for cookie in client._cookies.values():
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return other


def test_a_double_tap_on_redeem_gives_one_voucher_and_one_debit(shop):
    app, client, ids = shop
    action = f"/rewards/{ids['wash']}/redeem"
    data = {
        "csrf_token": client.csrf_token(),
        "idempotency_key": form_key(client.get("/rewards").get_data(as_text=True), action),
    }
    clients = [client, twin(client)]
    barrier = threading.Barrier(2)
    responses = [None, None]

    def tap(i):
        barrier.wait()
        responses[i] = clients[i].post(action, data=data)

    threads = [threading.Thread(target=tap, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert [r.status_code for r in responses] == [302, 302]
    locations = {r.headers["Location"] for r in responses}
    assert len(locations) == 1 and locations.pop().startswith("/me/vouchers/")
    assert counts(app, ids["member"]) == {
        "vouchers": 1,
        "debits": 1,
        "balance": 1200,
        "stock": 9,
    }


def test_a_replayed_redeem_answers_the_first_outcome_and_changes_nothing(shop):
    app, client, ids = shop
    action = f"/rewards/{ids['wash']}/redeem"
    key = form_key(client.get("/rewards").get_data(as_text=True), action)
    first = client.post(action, data={"idempotency_key": key})
    assert first.status_code == 302
    assert "Your voucher is ready" in client.get(first.headers["Location"]).get_data(as_text=True)
    again = client.post(action, data={"idempotency_key": key})
    assert again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert "Your voucher is ready" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert counts(app, ids["member"])["vouchers"] == 1
    assert counts(app, ids["member"])["balance"] == 1200


def test_the_same_key_with_other_content_is_a_409(shop):
    app, client, ids = shop
    key = form_key(client.get("/rewards").get_data(as_text=True), f"/rewards/{ids['wash']}/redeem")
    assert (
        client.post(f"/rewards/{ids['wash']}/redeem", data={"idempotency_key": key}).status_code
        == 302
    )
    other = client.post(f"/rewards/{ids['gift']}/redeem", data={"idempotency_key": key})
    assert other.status_code == 409
    assert "already sent with other choices" in other.get_data(as_text=True)
    extra = client.post(
        f"/rewards/{ids['wash']}/redeem", data={"idempotency_key": key, "note": "x"}
    )
    assert extra.status_code == 409
    assert counts(app, ids["member"])["vouchers"] == 1


def test_a_failed_action_leaves_no_key_and_can_be_tried_again(shop):
    app, client, ids = shop
    with app.app_context():
        db.session.get(Reward, ids["wash"]).stock = 0
        db.session.commit()
    key = "k" * 22
    refused = client.post(f"/rewards/{ids['wash']}/redeem", data={"idempotency_key": key})
    assert refused.headers["Location"] == "/rewards"
    with app.app_context():
        assert db.session.scalar(select(func.count(IdempotencyKey.id))) == 0
        db.session.get(Reward, ids["wash"]).stock = 3
        db.session.commit()
    done = client.post(f"/rewards/{ids['wash']}/redeem", data={"idempotency_key": key})
    assert done.headers["Location"].startswith("/me/vouchers/")


def test_keys_belong_to_one_owner(shop, db_app):
    app, client, ids = shop
    key = "shared-key-0123456789"
    assert (
        client.post(f"/rewards/{ids['wash']}/redeem", data={"idempotency_key": key}).status_code
        == 302
    )
    with app.app_context(), app.test_request_context():
        other = make_member(make_dealer("SZ01").id, name="Other")
        give_points(other, 1000)
        mobile = other.user.mobile
        db.session.commit()
    stranger = app.test_client()
    login(stranger, mobile)
    response = stranger.post(f"/rewards/{ids['wash']}/redeem", data={"idempotency_key": key})
    assert response.status_code == 302
    assert counts(app, ids["member"])["vouchers"] == 2


@pytest.mark.parametrize("key", ["short", "x" * 65, "bad key with spaces!!", "ключ-ключ-ключ-ключ"])
def test_a_malformed_key_is_refused(shop, key):
    app, client, ids = shop
    response = client.post(f"/rewards/{ids['wash']}/redeem", data={"idempotency_key": key})
    assert response.status_code == 400
    assert counts(app, ids["member"])["vouchers"] == 0


def test_a_form_without_a_key_still_works(shop):
    app, client, ids = shop
    assert client.post(f"/rewards/{ids['wash']}/redeem").status_code == 302
    assert counts(app, ids["member"])["vouchers"] == 1
