"""The owner's invite link and poster, and the friend's pre-registration through it (issue 21,
the referral's front door): signed links nobody can forge or read an id from, R6 through the
one registration service, hostile input, double posts, rate limits, both languages."""

import re
from datetime import date, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.clock import utcnow
from app.core.tokens import TokenSigner, b64decode, generate_key_spec, signer
from app.extensions import db
from app.members.models import Member, Notification
from app.members.privacy import delete_member_account
from app.referrals import invites
from app.referrals import services as referrals
from app.referrals.models import InviteLink, InviteRegistration, Referral, ReferralStatus
from tests.conftest import NOW, login
from tests.factories import make_member, make_staff
from tests.referrals.front_door import FRIEND_MOBILE, body, error, text


def _link_path(client) -> str:
    """The invite link the owner's page shows, as a path."""
    html = body(client.get("/me/invite"))
    found = re.search(r'value="http://localhost(/i/CC1\.[A-Za-z0-9_-]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def _friend(**changes) -> dict:
    return {
        "friend_name": "Li Si",
        "friend_mobile": "137 0000 4444",
        "model_of_interest": "Golf",
        **changes,
    }


def _referrals(app) -> list[Referral]:
    with app.app_context():
        return list(db.session.scalars(select(Referral).order_by(Referral.id)))


@pytest.fixture
def link(member_client):
    return _link_path(member_client)


# -------------------------------------------------------------------------------- the link


def test_the_link_names_no_owner_and_opens_their_landing_page(app, member, member_client, link):
    with app.app_context():
        invite = db.session.scalar(select(InviteLink))
        assert invite.member_id == member["id"]
        raw = b64decode(link.removeprefix("/i/CC1."))
    # The token's subject is the random handle: the owner's id is nowhere in it.
    assert int.from_bytes(raw[2:10], "big") == invite.handle != member["id"]
    assert invite.handle > 2**32

    friend = app.test_client()
    page = text(friend.get(link))
    assert "Zhang Wei invites you" in page
    assert "owners club of Dealer SZ01" in page
    assert "you get 1000 club points" in page
    assert "free regular-maintenance voucher" in page
    assert member["mobile"] not in body(friend.get(link))
    # The owner's own page and poster show the same link's address and a QR drawing.
    poster = body(member_client.get("/me/invite/poster"))
    assert "<svg" in poster and "Zhang Wei invites you" in poster
    png = member_client.get("/me/invite/qr.png")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    assert "attachment" in png.headers["Content-Disposition"]


@pytest.mark.parametrize("tamper", ["char", "other_key", "card_token", "garbage", "huge"])
def test_a_tampered_or_forged_link_opens_nothing(app, member, link, tamper):
    with app.app_context(), app.test_request_context():
        handle = db.session.scalar(select(InviteLink.handle))
        if tamper == "char":
            token = link.removeprefix("/i/")
            token = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
        elif tamper == "other_key":
            _kid, private = generate_key_spec(1).split(":")
            other = TokenSigner(1, Ed25519PrivateKey.from_private_bytes(b64decode(private)))
            token = other.sign("invite", handle, version=1, now=utcnow())
        elif tamper == "card_token":
            token = signer().sign("card", handle, version=1, now=utcnow())
        elif tamper == "garbage":
            token = "CC1.%00<script>"
        else:
            token = "CC1." + "A" * 5000
    response = app.test_client().get(f"/i/{token}")
    assert response.status_code == 404
    assert "Zhang Wei" not in body(response)
    response = app.test_client().post(f"/i/{token}", data=_friend())
    assert response.status_code == 404
    assert _referrals(app) == []


def test_a_link_expires_after_its_days_and_a_replaced_one_at_once(app, member_client, link, clock):
    friend = app.test_client()
    clock.advance(days=app.config["INVITE_LINK_DAYS"] - 1)
    assert friend.get(link).status_code == 200
    clock.advance(days=2)
    response = friend.get(link)
    assert response.status_code == 410
    assert "This invitation link has expired. Ask your friend for a new one." in text(response)

    fresh = _link_path(member_client)
    assert friend.get(fresh).status_code == 200
    response = member_client.post("/me/invite/renew", follow_redirects=True)
    assert "Your invite link is replaced" in text(response)
    response = friend.post(fresh, data=_friend())
    assert response.status_code == 410
    assert "Your friend has replaced this invitation link." in text(response)
    assert _referrals(app) == []
    assert app.test_client().get(_link_path(member_client)).status_code == 200


def test_a_deleted_owners_link_is_closed(app, member, link):
    with app.app_context(), app.test_request_context():
        delete_member_account(db.session.get(Member, member["id"]))
        db.session.commit()
    response = app.test_client().get(link)
    assert response.status_code == 410
    assert "This invitation is no longer open." in text(response)


# --------------------------------------------------------------------- the pre-registration


def test_a_friend_pre_registers_and_the_referral_is_the_owners(
    app, member, member_client, link, dealers
):
    friend = app.test_client()
    response = friend.post(link, data=_friend(dealer_id=str(dealers["GZ01"])))
    assert response.status_code == 302
    assert response.headers["Location"] == f"{link}/thanks"
    page = text(friend.get(response.headers["Location"]))
    assert "Thank you, Li Si" in page
    assert "mention Zhang Wei" in page

    (referral,) = _referrals(app)
    assert referral.referrer_id == member["id"]
    assert referral.registered_by_id == member["user_id"]
    assert referral.friend_mobile == FRIEND_MOBILE
    assert referral.model_of_interest == "Golf"
    assert referral.status == ReferralStatus.REGISTERED
    # The friend chose GZ01's showroom: its staff welcome them and see the referral.
    assert referral.dealer_id == dealers["GZ01"]
    with app.app_context():
        assert db.session.scalar(select(InviteRegistration.referral_id)) == referral.id
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert {"referral.registered", "referral.invite_accepted"} <= set(actions)
        note = db.session.scalar(select(Notification).where(Notification.kind == "referral_invite"))
        assert note.member_id == member["id"]
        assert note.title == "Li Si 接受了您的邀请"  # in the owner's language

    mine = text(member_client.get("/me/referrals"))
    assert "Li Si 137****4444 · Golf" in mine
    assert "1 friend pre-registered through your link." in text(member_client.get("/me/invite"))
    gz_staff = app.test_client()
    with app.app_context():
        gz_mobile = make_staff("sales_consultant", dealers["GZ01"]).mobile
        db.session.commit()
    login(gz_staff, gz_mobile)
    detail = text(gz_staff.get(f"/admin/referrals/{referral.id}"))
    assert "Pre-registered by the friend through the invite link" in detail
    assert "through the owner's invite link" in detail


def test_the_same_form_sent_twice_registers_once(app, link):
    friend = app.test_client()
    first = friend.post(link, data=_friend())
    again = friend.post(link, data=_friend(friend_mobile="13700004444"))
    assert first.headers["Location"] == again.headers["Location"] == f"{link}/thanks"
    assert len(_referrals(app)) == 1
    # Another browser sending the same number with another name is refused, and told nothing.
    response = app.test_client().post(link, data=_friend(friend_name="Wang Wu"))
    assert response.status_code == 200
    assert error(response, "friend_mobile").startswith("This mobile number is already known")
    assert len(_referrals(app)) == 1


@pytest.mark.parametrize("case", ["owner_mobile", "member", "taken", "visited"])
def test_r6_refusals_read_the_same_to_the_friend(app, seeded, member, dealers, link, case):
    mobile = FRIEND_MOBILE
    with seeded():
        if case == "owner_mobile":
            mobile = member["mobile"]
        elif case == "member":
            mobile = make_member(dealers["SZ01"], name="Wang Fang").user.mobile
        elif case == "taken":
            other = make_member(dealers["SZ01"], name="Wang Fang")
            referrals.register_referral(
                other.user, other, friend_name="Li Si", friend_mobile=FRIEND_MOBILE
            )
        else:
            referrals.record_showroom_visit(
                make_staff("sales_consultant", dealers["SZ01"]),
                mobile=FRIEND_MOBILE,
                name="Li Si",
                visited_on=date(2026, 11, 20),
            )
    before = len(_referrals(app))
    response = app.test_client().post(link, data=_friend(friend_mobile=mobile))
    assert response.status_code == 200
    assert error(response, "friend_mobile") == (
        "This mobile number is already known to the club, so it cannot be pre-registered "
        "through an invitation. If you think this is wrong, ask at the showroom."
    )
    assert 'value="Li Si"' in body(response)
    assert len(_referrals(app)) == before
    with app.app_context():
        assert db.session.scalar(select(func.count(InviteRegistration.id))) == 0


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"friend_mobile": "12345"}, "friend_mobile", "Enter your mainland mobile number of 11"),
        ({"friend_name": "\u200b\u202e"}, "friend_name", ""),
        ({"friend_name": "x" * 65}, "friend_name", "Field cannot be longer than 64"),
        ({"dealer_id": "999999"}, "dealer_id", "Not a valid choice"),
        ({"dealer_id": "9" * 40}, "dealer_id", "Invalid Choice: could not coerce"),
        ({"model_of_interest": "g" * 65}, "model_of_interest", "Field cannot be longer"),
    ],
)
def test_bad_input_is_refused_beside_its_field(app, link, data, field, message):
    response = app.test_client().post(link, data=_friend(**data))
    assert response.status_code == 200
    assert error(response, field).startswith(message)
    assert error(response, field)
    assert _referrals(app) == []


def test_the_owner_cannot_accept_their_own_invitation(app, member_client, link):
    page = text(member_client.get(link))
    assert "This is your own invitation: share it with a friend." in page
    assert "Pre-register" not in page.split("This is your own invitation")[1]
    response = member_client.post(link, data=_friend())
    assert "This is your own invitation: share it with a friend." in text(response)
    assert _referrals(app) == []


def test_posting_through_links_is_rate_limited_per_address(app, seeded, dealers, member):
    app.config["INVITE_RATE_LIMIT"] = "2 per minute"
    friend = app.test_client()
    with seeded():
        paths = []
        for n in range(3):
            owner = make_member(dealers["SZ01"], name=f"Owner {n}")
            token = invites.show_invite(owner).token
            paths.append(f"/i/{token}")
    for n, path in enumerate(paths[:2]):
        response = friend.post(path, data=_friend(friend_mobile=f"1370000900{n}"))
        assert response.status_code == 302
    response = friend.post(paths[2], data=_friend(friend_mobile="13700009002"))
    assert response.status_code == 429
    assert len(_referrals(app)) == 2
    # Reading a landing page is not limited.
    assert friend.get(paths[2]).status_code == 200


def test_the_thanks_page_is_for_the_browser_that_registered(app, link):
    friend = app.test_client()
    friend.post(link, data=_friend())
    assert friend.get(f"{link}/thanks").status_code == 200
    stranger = app.test_client().get(f"{link}/thanks")
    assert stranger.status_code == 302
    assert stranger.headers["Location"] == link


def test_the_landing_page_and_the_owners_page_speak_chinese(app, member_client, link):
    friend = app.test_client()
    page = text(friend.get(link, headers={"Accept-Language": "zh"}))
    assert "Zhang Wei 邀请您" in page
    assert "提前登记" in page
    response = friend.post(link, data=_friend(friend_mobile="1"), headers={"Accept-Language": "zh"})
    assert "请输入您的 11 位中国大陆手机号" in error(response, "friend_mobile")
    mine = text(member_client.get("/me/invite", headers={"Accept-Language": "zh"}))
    assert "我的邀请链接" in mine


def test_the_link_pages_are_for_owners(app, staff_client, member_client):
    assert staff_client.get("/me/invite").status_code == 403
    assert app.test_client().get("/me/invite").status_code == 302
    assert "My invite link" in text(member_client.get("/me"))
    assert "/me/invite" in body(member_client.get("/me/referrals"))


def test_a_page_of_the_owner_shows_a_link_valid_for_its_days(app, member, member_client):
    page = text(member_client.get("/me/invite"))
    last = (NOW + timedelta(days=app.config["INVITE_LINK_DAYS"])).date()
    assert f"This link works until {last.day} {last.strftime('%b')} {last.year}" in page


@pytest.mark.postgres
def test_one_number_sent_through_two_links_at_once_is_one_referral(pg_app):
    from tests.factories import make_dealer
    from tests.test_postgres_concurrency import race

    with pg_app.app_context(), pg_app.test_request_context():
        dealer_id = make_dealer("SZ01").id
        links = [invites.invite_for(make_member(dealer_id, name=f"Owner {n}")).id for n in range(6)]
        db.session.commit()
    queue = list(links)

    def accept():
        link = db.session.get(InviteLink, queue.pop())
        return invites.accept_invite(link, friend_name="Li Si", friend_mobile=FRIEND_MOBILE).id

    results = race(pg_app, accept)
    assert sum(isinstance(r, int) for r in results) == 1, results
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(Referral.id))) == 1
        assert db.session.scalar(select(func.count(InviteRegistration.id))) == 1
