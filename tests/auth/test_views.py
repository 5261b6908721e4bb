"""Register, log in, log out, change password: as an owner sees them."""

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from tests.auth.flows import details_form, join, prove
from tests.conftest import PASSWORD, login


def count_users(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(User)).all())


def test_register_logs_the_owner_in_and_asks_for_a_car(client, dealers):
    join(client, "137 0000 2222", dealers["SZ01"])
    page = client.get("/me/vehicles").get_data(as_text=True)
    assert "My garage" in page
    assert client.get("/card").status_code == 200


def test_register_shows_each_problem_next_to_its_field_and_saves_nothing(client, app, dealers):
    before = count_users(app)
    response = client.post("/register", data={"mobile": "1234", "action": "send"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter a mainland mobile number of 11 digits" in page
    assert 'id="mobile-error"' in page and 'aria-invalid="true"' in page
    prove(client, "13700002222")
    response = client.post(
        "/register/details",
        data=details_form(dealers["SZ01"], confirm="different-1", privacy=""),
    )
    page = response.get_data(as_text=True)
    assert "The two passwords differ." in page
    assert "You must accept the privacy notice" in page
    assert count_users(app) == before


def test_joining_with_a_registered_number_signs_its_owner_in_in_chinese_too(client, member):
    client.get("/lang/zh")
    response = prove(client, member["mobile"])
    assert response.headers["Location"] == "/"
    assert "该手机号已有账户" in client.get("/").get_data(as_text=True)


def test_login_with_a_wrong_password_says_so(client, member):
    response = client.post("/login", data={"mobile": member["mobile"], "password": "nope-nope"})
    assert response.status_code == 200
    assert "Wrong mobile number or password." in response.get_data(as_text=True)
    assert client.get("/card").status_code == 302


def test_login_follows_a_safe_next_and_ignores_an_unsafe_one(client, member):
    response = client.post(
        "/login?next=/me/profile", data={"mobile": member["mobile"], "password": PASSWORD}
    )
    assert response.headers["Location"] == "/me/profile"
    client.post("/logout")
    for unsafe in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post(
            f"/login?next={unsafe}", data={"mobile": member["mobile"], "password": PASSWORD}
        )
        assert response.headers["Location"] == "/", unsafe
        client.post("/logout")


def test_staff_land_on_their_desk(staff_client):
    assert "Desk" in staff_client.get("/", follow_redirects=True).get_data(as_text=True)


def test_remember_me_sets_a_long_lived_cookie(client, member):
    response = login(client, member["mobile"], remember="y")
    assert any("remember_token=" in c for c in response.headers.getlist("Set-Cookie"))


def test_logout_needs_a_post(member_client):
    assert member_client.get("/logout").status_code == 405
    member_client.post("/logout")
    assert member_client.get("/card").status_code == 302


def test_wrong_passwords_are_limited_and_the_refusal_says_why(client, member):
    form = {"mobile": member["mobile"], "password": "wrong-pass"}
    codes = [client.post("/login", data=form).status_code for _ in range(11)]
    assert codes[:10] == [200] * 10
    assert codes[10] == 429
    page = client.post("/login", data={"mobile": member["mobile"], "password": PASSWORD})
    assert page.status_code == 429
    assert "Too many failed attempts for this number. Try again in a minute." in page.get_data(
        as_text=True
    )


def test_changing_the_password_logs_out_other_phones(app, member):
    phone_a, phone_b = app.test_client(), app.test_client()
    login(phone_a, member["mobile"])
    login(phone_b, member["mobile"])
    response = phone_a.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "brand-new-pass",
            "confirm": "brand-new-pass",
        },
        follow_redirects=True,
    )
    assert "Your password is changed" in response.get_data(as_text=True)
    assert phone_a.get("/card").status_code == 200
    assert phone_b.get("/card").status_code == 302


def test_change_password_with_a_wrong_current_password_changes_nothing(member_client, app, member):
    response = member_client.post(
        "/account/password",
        data={
            "current_password": "wrong-one",
            "new_password": "brand-new-pass",
            "confirm": "brand-new-pass",
        },
    )
    assert "The current password is wrong." in response.get_data(as_text=True)
    fresh = app.test_client()
    login(fresh, member["mobile"], PASSWORD)


def test_the_login_limit_is_shared_through_redis_when_configured(template_db, tmp_path):
    """Two app instances (two workers) on one Redis count the same attempts."""
    import os
    import shutil
    import uuid

    import pytest
    import redis

    from tests.conftest import ON_CI, make_app

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as exc:
        if ON_CI:
            pytest.fail(f"Redis is required on CI at {url}: {exc}")
        pytest.skip(f"Redis not reachable at {url}: {exc}")
    shutil.copy(template_db, tmp_path / "db.sqlite")
    settings = {
        "RATELIMIT_STORAGE_URI": url,
        "RATELIMIT_KEY_PREFIX": f"carclub-test-{uuid.uuid4().hex}",
        "LOGIN_RATE_LIMIT": "3 per minute",
    }
    workers = [make_app(f"sqlite:///{tmp_path / 'db.sqlite'}", **settings) for _ in range(2)]
    clients = [w.test_client() for w in workers]
    form = {"mobile": "13700003333", "password": "wrong-pass"}
    codes = [clients[i % 2].post("/login", data=dict(form)).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
