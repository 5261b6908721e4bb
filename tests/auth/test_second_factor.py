"""Dealer admins and HQ sign in with a code from an authenticator app after the password."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.auth.second_factor import code_at
from app.extensions import db
from tests.conftest import PASSWORD, TOTP_SECRET, login

SECOND_STEP = "/login/second-factor"


@pytest.fixture
def make_account(seeded, dealers):
    """Make a staff account of ``role`` and return its mobile."""
    from tests.factories import make_staff

    def make(role: str, dealer: str | None = "SZ01", *, enrolled: bool = True) -> str:
        with seeded():
            user = make_staff(role, dealers[dealer] if dealer else None)
            if not enrolled:
                user.totp_secret = user.totp_last_step = None
            return user.mobile

    return make


def password_only(app, mobile: str):
    client = app.test_client()
    response = client.post("/login", data={"mobile": mobile, "password": PASSWORD})
    return client, response


def code_now(app, secret: str = TOTP_SECRET, steps: int = 0) -> str:
    """The code the authenticator app shows at the app's clock, ``steps`` steps away."""
    return code_at(secret, app.extensions["clock"].now() + timedelta(seconds=30 * steps))


@pytest.mark.parametrize(
    ("role", "dealer", "page"),
    [("dealer_admin", "SZ01", "/admin/"), ("hq_admin", None, "/admin/hq/recruitment")],
)
def test_admins_need_the_code_after_the_password(app, make_account, role, dealer, page):
    mobile = make_account(role, dealer)
    client, response = password_only(app, mobile)
    assert response.headers["Location"] == SECOND_STEP
    assert "Second step: your code" in client.get(SECOND_STEP).get_data(as_text=True)
    # Nothing of the staff pages with the password alone.
    assert client.get(page).headers["Location"].startswith("/login")

    response = client.post(SECOND_STEP, data={"code": code_now(app)})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert client.get(page).status_code == 200


def test_a_sales_consultant_logs_in_with_the_password_alone(app, make_account):
    client, response = password_only(app, make_account("sales_consultant"))
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_used_code_is_refused_and_a_wrong_one_too(app, make_account):
    mobile = make_account("dealer_admin")
    first, _response = password_only(app, mobile)
    code = code_now(app)
    assert first.post(SECOND_STEP, data={"code": code}).status_code == 302

    # Someone who saw the code (and knows the password) replays it in the same 30 seconds.
    second, _response = password_only(app, mobile)
    page = second.post(SECOND_STEP, data={"code": code})
    assert "That code was already used" in page.get_data(as_text=True)
    page = second.post(SECOND_STEP, data={"code": "000000" if code != "000000" else "111111"})
    assert "That code is wrong" in page.get_data(as_text=True)
    assert second.get("/admin/").headers["Location"].startswith("/login")
    # The next step's code (clock drift of one step) is accepted, once.
    assert second.post(SECOND_STEP, data={"code": code_now(app, steps=1)}).status_code == 302
    assert second.get("/admin/").status_code == 200


def test_codes_are_accepted_one_step_either_side_only(app, make_account, clock):
    mobile = make_account("hq_admin", None)
    client, _response = password_only(app, mobile)
    for steps in (-2, 2):
        page = client.post(SECOND_STEP, data={"code": code_now(app, steps=steps)})
        assert "That code is wrong" in page.get_data(as_text=True)
    assert client.post(SECOND_STEP, data={"code": code_now(app, steps=-1)}).status_code == 302


def test_bad_input_gets_a_message(app, make_account):
    client, _response = password_only(app, make_account("dealer_admin"))
    for bad in ("", "12345", "１２３４５６", "abcdef", "1" * 40):
        page = client.post(SECOND_STEP, data={"code": bad})
        assert page.status_code == 200
        assert "6 digits" in page.get_data(as_text=True) or "Field cannot be longer" in (
            page.get_data(as_text=True)
        )


def test_the_waiting_login_expires_after_five_minutes(app, make_account, clock):
    client, _response = password_only(app, make_account("dealer_admin"))
    clock.advance(minutes=5)
    response = client.post(SECOND_STEP, data={"code": code_now(app)}, follow_redirects=True)
    assert "Log in again" in response.get_data(as_text=True)
    assert client.get("/admin/").headers["Location"].startswith("/login")


def test_the_code_page_without_a_password_sends_to_login(client):
    assert client.get(SECOND_STEP).headers["Location"] == "/login"


def test_wrong_codes_count_as_failed_logins(app, make_account):
    mobile = make_account("dealer_admin")
    client, _response = password_only(app, mobile)
    for _ in range(10):
        page = client.post(SECOND_STEP, data={"code": "999999"})
        assert page.status_code == 200
    page = client.post(SECOND_STEP, data={"code": code_now(app)})
    assert page.status_code == 429
    assert "Too many failed attempts for this number" in page.get_data(as_text=True)
    # The password is refused as well now, for this number.
    _other, response = password_only(app, mobile)
    assert response.status_code == 429


def test_first_login_enrols_the_authenticator_app(app, make_account):
    mobile = make_account("dealer_admin", enrolled=False)
    client, _response = password_only(app, mobile)
    page = client.get(SECOND_STEP).get_data(as_text=True)
    assert "Set up your authenticator app" in page
    assert "<svg" in page
    key = re.search(r'<code class="totp-secret">([A-Z2-7 ]+)</code>', page).group(1)
    secret = key.replace(" ", "")
    # Reloading the page shows the same key (the app may already hold it).
    assert key in client.get(SECOND_STEP).get_data(as_text=True)
    assert client.post(SECOND_STEP, data={"code": code_now(app, secret)}).status_code == 302
    assert client.get("/admin/").status_code == 200
    client.post("/logout")

    client, _response = password_only(app, mobile)
    page = client.get(SECOND_STEP).get_data(as_text=True)
    assert "Second step: your code" in page and "totp-secret" not in page
    assert (
        client.post(SECOND_STEP, data={"code": code_now(app, secret, steps=1)}).status_code == 302
    )


def test_remember_me_and_next_survive_the_second_step(app, make_account):
    mobile = make_account("dealer_admin")
    client = app.test_client()
    client.post(
        "/login?next=/admin/members",
        data={"mobile": mobile, "password": PASSWORD, "remember": "y"},
    )
    response = client.post(SECOND_STEP, data={"code": code_now(app)})
    assert response.headers["Location"] == "/admin/members"
    assert any("remember_token=" in c for c in response.headers.getlist("Set-Cookie"))


def test_the_login_helper_passes_the_second_step(app, make_account):
    client = app.test_client()
    login(client, make_account("hq_admin", None))
    assert client.get("/admin/").status_code == 200


def test_reset_second_factor_makes_the_admin_enrol_again(app, make_account):
    mobile = make_account("dealer_admin")
    client = app.test_client()
    login(client, mobile)
    result = app.test_cli_runner().invoke(args=["staff", "reset-second-factor", mobile])
    assert result.exit_code == 0, result.output
    assert client.get("/admin/").headers["Location"].startswith("/login")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.mobile == mobile))
        assert user.totp_secret is None
    fresh, _response = password_only(app, mobile)
    assert "Set up your authenticator app" in fresh.get(SECOND_STEP).get_data(as_text=True)


def test_totp_code_prints_the_demo_code(app, make_account):
    mobile = make_account("dealer_admin")
    result = app.test_cli_runner().invoke(args=["totp-code", mobile])
    assert result.output.strip() == code_now(app)
    result = app.test_cli_runner().invoke(args=["totp-code", "13912345678"])
    assert result.exit_code != 0 and "No account" in result.output


def test_a_first_code_posted_without_opening_the_page_still_shows_the_key(app, make_account):
    client, _response = password_only(app, make_account("dealer_admin", enrolled=False))
    page = client.post(SECOND_STEP, data={"code": "123456"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Set up your authenticator app first." in text
    assert "totp-secret" in text
