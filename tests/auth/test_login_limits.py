"""Login limits that hold (R12): failures only, per normalised number and per address."""

import pytest

from tests.conftest import PASSWORD, make_app


def formatted(mobile: str, i: int) -> str:
    """The same number typed in one of several ways: 139-0000-0015, +86 13900000015, ..."""
    a, b, c = mobile[:3], mobile[3:7], mobile[7:]
    ways = (mobile, f"{a}-{b}-{c}", f"{a} {b} {c}", f"+86 {mobile}", f"0086{mobile}")
    return ways[i % len(ways)]


def attempt(app, mobile: str, address: str, password: str = "wrong-pass"):  # noqa: S107
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client.post("/login", data={"mobile": mobile, "password": password})


def test_wrong_passwords_for_one_number_from_many_addresses_are_stopped(app, member):
    pages = [attempt(app, formatted(member["mobile"], i), f"10.0.0.{i + 1}") for i in range(20)]
    wrong = "Wrong mobile number or password."
    refused = "Too many failed attempts for this number. Try again in a minute."
    assert [p.status_code for p in pages] == [200] * 10 + [429] * 10
    assert all(wrong in p.get_data(as_text=True) for p in pages[:10])
    assert all(refused in p.get_data(as_text=True) for p in pages[10:])
    # Refused without checking the password: the right one is refused too, for now.
    right = attempt(app, member["mobile"], "10.0.1.1", PASSWORD)
    assert right.status_code == 429 and refused in right.get_data(as_text=True)


def test_one_address_trying_many_numbers_is_stopped(app, member):
    pages = [attempt(app, f"1390000{i:04d}", "10.9.9.9") for i in range(11)]
    assert [p.status_code for p in pages] == [200] * 10 + [429]
    assert "Too many failed attempts from your network. Try again in a minute." in pages[
        -1
    ].get_data(as_text=True)
    # Another address may still log in to that account.
    assert attempt(app, member["mobile"], "10.9.9.10", PASSWORD).status_code == 302


def test_successful_logins_are_not_counted(app, member):
    for _ in range(60):
        response = attempt(app, member["mobile"], "10.1.1.1", PASSWORD)
        assert response.status_code == 302


@pytest.fixture
def limits_clock(monkeypatch):
    """Flask-Limiter's memory storage reads time.time(): give it a clock the test moves."""
    import limits.storage.memory

    now = [1_800_000_000.0]

    class Time:
        @staticmethod
        def time() -> float:
            return now[0]

    monkeypatch.setattr(limits.storage.memory, "time", Time)
    return now


@pytest.fixture
def small_limits_app(template_db, tmp_path):
    """The app with 3 failures a minute and 5 an hour allowed."""
    import shutil

    path = tmp_path / "limits.sqlite"
    shutil.copy(template_db, path)
    return make_app(f"sqlite:///{path}", LOGIN_RATE_LIMIT="3 per minute;5 per hour")


def test_after_the_minute_windows_the_hour_limit_says_an_hour(small_limits_app, limits_clock):
    app, mobile = small_limits_app, "13900000015"
    codes = [attempt(app, mobile, f"10.2.2.{i}").status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    limits_clock[0] += 61
    codes = [attempt(app, formatted(mobile, i), f"10.2.3.{i}").status_code for i in range(2)]
    assert codes == [200, 200]
    page = attempt(app, mobile, "10.2.4.1")
    assert page.status_code == 429
    assert "Too many failed attempts for this number. Try again in an hour." in page.get_data(
        as_text=True
    )
    limits_clock[0] += 3600
    assert attempt(app, mobile, "10.2.4.2").status_code == 200


def test_wrong_codes_of_the_second_factor_count_too(small_limits_app):
    """See tests/auth/test_second_factor.py for the code page; here the shared counter."""
    from app.core.attempts import exhausted, record_failure

    with small_limits_app.test_request_context():
        for _ in range(3):
            assert exhausted("x", "3 per minute;5 per hour", "k") is None
            record_failure("x", "3 per minute;5 per hour", "k")
        assert exhausted("x", "3 per minute;5 per hour", "k").GRANULARITY.name == "minute"
