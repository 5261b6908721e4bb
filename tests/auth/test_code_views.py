"""Joining, signing in and resetting a password with an SMS code, as an owner meets them."""

import re

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from app.members.registration import register_member
from tests.auth.flows import details_form, join, last_code, prove
from tests.conftest import PASSWORD, login


def users_with(app, mobile: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).where(User.mobile == mobile))


def test_registering_without_a_valid_code_creates_no_account(client, app, dealers):
    response = client.post("/register/details", data=details_form(dealers["SZ01"]))
    assert response.headers["Location"].endswith("/register")
    client.post("/register", data={"mobile": "13700002222", "action": "send"})
    response = client.post(
        "/register", data={"mobile": "13700002222", "code": "000000", "action": "verify"}
    )
    if last_code(app, "13700002222") != "000000":
        assert "Wrong code. 4 tries left." in response.get_data(as_text=True)
    response = client.post("/register/details", data=details_form(dealers["SZ01"]))
    assert response.status_code == 302 and users_with(app, "13700002222") == 0


def test_registering_with_the_code_makes_a_proven_account(client, app, dealers):
    response = join(client, "137-0000-2222", dealers["SZ01"])
    assert response.headers["Location"].endswith("/me/vehicles")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.mobile == "13700002222"))
        assert user.mobile_verified_at is not None and user.member.name == "Wang Fang"
        assert user.locale == "en"


def test_a_password_is_optional(client, app, dealers):
    join(client, "13700002222", dealers["SZ01"], password="", confirm="")
    assert client.get("/card").status_code == 200
    client.post("/logout")
    response = client.post("/login", data={"mobile": "13700002222", "password": "anything-1"})
    assert "Wrong mobile number or password." in response.get_data(as_text=True)


def test_a_code_used_twice_is_refused(client, app, dealers):
    prove(client, "13700002222")
    code = last_code(app, "13700002222")
    other = app.test_client()
    response = other.post(
        "/register", data={"mobile": "13700002222", "code": code, "action": "verify"}
    )
    assert "This code was already used. Ask for a new one." in response.get_data(as_text=True)


def test_the_sixth_try_and_an_expired_code_are_refused(client, app, clock):
    client.post("/login/code", data={"mobile": "13700002222", "action": "send"})
    code = last_code(app, "13700002222")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        client.post(
            "/login/code", data={"mobile": "13700002222", "code": wrong, "action": "verify"}
        )
    response = client.post(
        "/login/code", data={"mobile": "13700002222", "code": code, "action": "verify"}
    )
    assert "Too many wrong tries for this code. Ask for a new one." in response.get_data(
        as_text=True
    )
    clock.advance(seconds=61)
    client.post("/login/code", data={"mobile": "13700002222", "action": "send"})
    clock.advance(minutes=5)
    response = client.post(
        "/login/code",
        data={"mobile": "13700002222", "code": last_code(app, "13700002222"), "action": "verify"},
    )
    assert "This code has expired. Ask for a new one." in response.get_data(as_text=True)


def test_the_answer_is_the_same_for_known_and_unknown_numbers(app, member):
    pages = []
    for mobile in (member["mobile"], "13900009999"):
        client = app.test_client()
        response = client.post(
            "/login/code", data={"mobile": mobile, "action": "send"}, follow_redirects=True
        )
        page = response.get_data(as_text=True).replace(mobile[-4:], "####")
        pages.append(re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", page))
    assert pages[0] == pages[1]
    assert "We sent a code to" in pages[0]


def test_an_owner_signs_in_with_a_code(client, member):
    response = prove(client, member["mobile"], "/login/code")
    assert response.headers["Location"] == "/"
    assert client.get("/card").status_code == 200


def test_staff_cannot_sign_in_with_a_code(app, staff_client):
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.role == "sales_consultant"))
    client = app.test_client()
    response = prove(client, staff.mobile, "/login/code")
    assert response.headers["Location"].endswith("/login")
    assert client.get("/admin/").status_code == 302


def test_a_forgotten_password_is_reset_and_other_devices_logged_out(app, member):
    phone, laptop = app.test_client(), app.test_client()
    login(laptop, member["mobile"])
    response = prove(phone, member["mobile"], "/password/forgot")
    assert response.headers["Location"].endswith("/password/reset")
    response = phone.post(
        "/password/reset", data={"password": "brand-new-pass", "confirm": "brand-new-pass"}
    )
    assert response.status_code == 302
    assert phone.get("/card").status_code == 200
    assert laptop.get("/card").status_code == 302
    assert (
        app.test_client()
        .post("/login", data={"mobile": member["mobile"], "password": PASSWORD})
        .status_code
        == 200
    )
    login(app.test_client(), member["mobile"], "brand-new-pass")


def test_the_reset_page_needs_a_fresh_proof(app, member, clock):
    client = app.test_client()
    assert client.get("/password/reset").headers["Location"].endswith("/password/forgot")
    prove(client, member["mobile"], "/password/forgot")
    clock.advance(minutes=16)
    assert client.get("/password/reset").headers["Location"].endswith("/password/forgot")


@pytest.fixture
def impostor(seeded, dealers):
    """An account made before codes existed, for a number its maker does not hold."""
    with seeded():
        user = register_member(
            mobile="13900007777", password=PASSWORD, name="Attacker", dealer_id=dealers["GZ01"]
        )
        return user.id


def test_an_unproven_account_sees_nothing_until_its_number_is_proven(app, impostor):
    client = app.test_client()
    login(client, "13900007777")
    for path in ("/", "/card", "/me/vehicles", "/me/points"):
        assert client.get(path).headers["Location"].endswith("/account/verify-mobile"), path
    client.post("/account/verify-mobile", data={"action": "send"})
    client.post(
        "/account/verify-mobile",
        data={"action": "verify", "code": last_code(app, "13900007777")},
    )
    assert client.get("/card").status_code == 200


def test_whoever_proves_the_number_claims_the_waiting_account(app, dealers, impostor):
    attacker = app.test_client()
    login(attacker, "13900007777")
    buyer = app.test_client()
    response = prove(buyer, "13900007777")
    assert response.headers["Location"].endswith("/register/details")
    page = buyer.get("/register/details").get_data(as_text=True)
    assert 'value="Attacker"' in page
    # The chapter the number's account is in (a delivery's dealer) is the one preselected.
    assert re.search(rf'<option selected value="{dealers["GZ01"]}">', page)
    response = buyer.post(
        "/register/details",
        data=details_form(dealers["GZ01"], name="Real Buyer", password="", confirm=""),
    )
    assert response.status_code == 302
    assert buyer.get("/card").status_code == 200
    assert attacker.get("/card").headers["Location"].startswith("/login")
    response = app.test_client().post(
        "/login", data={"mobile": "13900007777", "password": PASSWORD}
    )
    assert "Wrong mobile number or password." in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.get(User, impostor)
        assert user.member.name == "Real Buyer" and user.mobile_verified_at is not None


def test_sending_codes_is_limited_per_address(app):
    client = app.test_client()
    codes = [
        client.post("/register", data={"mobile": f"1370000{n:04d}", "action": "send"}).status_code
        for n in range(6)
    ]
    assert codes[:5] == [302] * 5 and codes[5] == 429


def test_the_privacy_notice_is_a_versioned_page_in_both_languages(client):
    page = client.get("/register").get_data(as_text=True)
    english = client.get("/privacy").get_data(as_text=True)
    assert "Version 2026-11" in english and "Delete your account" in english
    client.get("/lang/zh")
    assert "版本 2026-11" in client.get("/privacy/2026-11").get_data(as_text=True)
    assert client.get("/privacy/1999-01").status_code == 404
    assert page  # the first step links to log in; the notice is linked where consent is asked


def test_the_details_page_links_the_notice_and_groups_dealers_by_city(client, dealers):
    prove(client, "13700002222")
    page = client.get("/register/details").get_data(as_text=True)
    assert 'href="/privacy"' in page
    assert "<optgroup" in page


def test_the_language_switch_is_the_owners_choice(app, member_client, member):
    member_client.get("/lang/zh")
    with app.app_context():
        assert db.session.get(User, member["user_id"]).locale == "zh"
    fresh = app.test_client()
    login(fresh, member["mobile"])
    assert 'lang="zh-CN"' in fresh.get("/").get_data(as_text=True)


def test_the_profile_sets_the_language_of_pages_and_messages(app, member_client, member):
    from app.members.inbox import notify

    response = member_client.post(
        "/me/profile", data={"name": "Zhang Wei", "gender": "", "language": "zh"}
    )
    assert response.status_code == 302
    assert 'lang="zh-CN"' in member_client.get("/me/profile").get_data(as_text=True)
    with app.app_context(), app.test_request_context():
        from app.members.models import Member

        notify(
            db.session.get(Member, member["id"]),
            "test",
            lambda: (_l("Welcome to the owners' club"), _l("Your member card is ready.")),
            dedupe_key="lang-test",
        )
        db.session.commit()
    assert "欢迎" in member_client.get("/me/inbox").get_data(as_text=True)
