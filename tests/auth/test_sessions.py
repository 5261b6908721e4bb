"""Sessions the server ends (R12): logout, replayed cookies, password change, timeouts,
the devices page."""

from http.cookies import SimpleCookie

import pytest
from sqlalchemy import select

from app.auth.models import UserSession
from app.extensions import db
from tests.conftest import PASSWORD, login

pytestmark = pytest.mark.usefixtures("real_session_limits")

IPHONE_WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.40"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36"
)


def logged_in(client) -> bool:
    """What the owner notices: the card page opens, or they are sent to log in."""
    response = client.get("/card")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    return False


def cookie_value(client, name: str) -> str | None:
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def remember_cookie_from(response) -> str:
    for header in response.headers.getlist("Set-Cookie"):
        parsed = SimpleCookie(header)
        if "remember_token" in parsed:
            return parsed["remember_token"].value
    raise AssertionError("no remember-me cookie")


def test_logout_ends_the_session_even_if_its_old_cookie_is_replayed(app, member):
    phone = app.test_client()
    login(phone, member["mobile"])
    old_session = cookie_value(phone, "session")
    phone.post("/logout")
    assert not logged_in(phone)

    replay = app.test_client()
    replay.set_cookie("session", old_session)
    assert not logged_in(replay)


def test_logout_ends_the_remember_me_cookie_too(app, member):
    phone = app.test_client()
    response = login(phone, member["mobile"], remember="y")
    token = remember_cookie_from(response)

    # While signed in, the remember-me cookie alone signs a fresh browser in.
    before = app.test_client()
    before.set_cookie("remember_token", token)
    assert logged_in(before)

    phone.post("/logout")
    after = app.test_client()
    after.set_cookie("remember_token", token)
    assert not logged_in(after)


def test_changing_the_password_ends_other_devices_but_not_this_one(app, member):
    phone_a, phone_b = app.test_client(), app.test_client()
    login(phone_a, member["mobile"])
    login(phone_b, member["mobile"], remember="y")
    response = phone_a.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "new-pass-123",
            "confirm": "new-pass-123",
        },
        follow_redirects=True,
    )
    assert "Other devices are logged out" in response.get_data(as_text=True)
    assert logged_in(phone_a)
    assert not logged_in(phone_b)


def test_a_session_ends_after_two_idle_hours_but_not_while_used(app, member, clock):
    phone = app.test_client()
    login(phone, member["mobile"])
    for _ in range(5):  # used every 100 minutes for 8 hours and 20 minutes: still in
        clock.advance(minutes=100)
        assert logged_in(phone)
    clock.advance(minutes=121)
    assert not logged_in(phone)


def test_a_session_ends_twelve_hours_after_sign_in_however_busy(app, member, clock):
    phone = app.test_client()
    login(phone, member["mobile"])
    for _ in range(11):
        clock.advance(hours=1)
        assert logged_in(phone)
    clock.advance(minutes=59)
    assert logged_in(phone)
    clock.advance(minutes=1)
    assert not logged_in(phone)


def test_a_remembered_device_lasts_past_the_idle_limit_until_its_own_limits(app, member, clock):
    phone = app.test_client()
    token = remember_cookie_from(login(phone, member["mobile"], remember="y"))
    clock.advance(days=29)
    assert logged_in(phone)

    # Unused for 30 days: the remember-me cookie no longer signs in.
    clock.advance(days=30)
    fresh = app.test_client()
    fresh.set_cookie("remember_token", token)
    assert not logged_in(fresh)


def test_a_remembered_device_ends_ninety_days_after_sign_in(app, member, clock):
    phone = app.test_client()
    login(phone, member["mobile"], remember="y")
    for _ in range(4):
        clock.advance(days=22)
        assert logged_in(phone)
    clock.advance(days=2)
    assert not logged_in(phone)


def test_the_devices_page_lists_each_device_and_logs_one_out(app, member):
    iphone = app.test_client()
    iphone.environ_base["HTTP_USER_AGENT"] = IPHONE_WECHAT
    android = app.test_client()
    android.environ_base["HTTP_USER_AGENT"] = ANDROID_CHROME
    login(iphone, member["mobile"])
    login(android, member["mobile"])

    page = android.get("/account/devices").get_data(as_text=True)
    assert "WeChat on iOS" in page and "Chrome on Android" in page
    assert page.count("This device") == 1

    with app.app_context():
        iphone_id = db.session.scalar(
            select(UserSession.id).where(UserSession.user_agent == IPHONE_WECHAT)
        )
    response = android.post(f"/account/devices/{iphone_id}/logout", follow_redirects=True)
    assert "That device is logged out." in response.get_data(as_text=True)
    assert "WeChat on iOS" not in response.get_data(as_text=True)
    assert not logged_in(iphone)
    assert logged_in(android)


def test_log_out_everywhere(app, member):
    from app.cards.models import CardDevice
    from app.cards.services import active_card
    from app.members.models import Member
    from tests.cards.test_devices import Phone

    phones = [app.test_client() for _ in range(3)]
    for phone in phones:
        login(phone, member["mobile"])
    with app.app_context():  # one of the phones keeps the card's key for offline codes
        Phone().certify(active_card(db.session.scalar(select(Member))))
        db.session.commit()
    page = phones[0].get("/account/devices").get_data(as_text=True)
    assert "Your member card stops working on every phone too" in page
    response = phones[0].post("/account/devices/logout-all", follow_redirects=True)
    assert "You are logged out on every device." in response.get_data(as_text=True)
    assert [logged_in(p) for p in phones] == [False, False, False]
    with app.app_context():
        assert db.session.scalar(select(CardDevice.revoked_at)) is not None
    login(phones[1], member["mobile"])
    assert logged_in(phones[1])


def test_another_users_device_is_not_found(app, member, seeded, dealers):
    from tests.factories import make_member

    with seeded():
        other_mobile = make_member(dealers["SZ01"], name="Other").user.mobile
    victim = app.test_client()
    login(victim, member["mobile"])
    with app.app_context():
        victim_device = db.session.scalar(select(UserSession.id))
    intruder = app.test_client()
    login(intruder, other_mobile)
    assert intruder.post(f"/account/devices/{victim_device}/logout").status_code == 404
    assert intruder.post("/account/devices/999999/logout").status_code == 404
    assert logged_in(victim)


def test_a_revoked_device_cannot_be_logged_out_again(app, member):
    phone_a, phone_b = app.test_client(), app.test_client()
    login(phone_a, member["mobile"])
    login(phone_b, member["mobile"])
    with app.app_context():
        first = db.session.scalar(select(UserSession.id).order_by(UserSession.id))
    assert phone_b.post(f"/account/devices/{first}/logout").status_code == 302
    assert phone_b.post(f"/account/devices/{first}/logout").status_code == 404


def test_the_devices_page_needs_a_login_and_is_linked_from_the_profile(client, member_client):
    assert client.get("/account/devices").status_code == 302
    assert "/account/devices" in member_client.get("/me/profile").get_data(as_text=True)


def test_a_deactivated_account_is_logged_out_at_once(app, member, seeded):
    from app.auth.models import User

    phone = app.test_client()
    login(phone, member["mobile"])
    with seeded():
        db.session.get(User, member["user_id"]).active = False
    assert not logged_in(phone)


def test_the_database_holds_only_a_hash_of_the_key(app, member):
    phone = app.test_client()
    login(phone, member["mobile"])
    with phone.session_transaction() as session:
        key = session["_user_id"]
    with app.app_context():
        stored = db.session.scalar(select(UserSession.key_hash))
    assert key not in stored and len(stored) == 64
    assert str(member["user_id"]) != key
