"""No log line holds a one-time code, a full mobile number, a set-password link or a token.

Every flow that sends a code or a link runs with the root logger at DEBUG (and stderr captured,
for libraries with handlers of their own); then every record is scanned.
"""

import logging
import re

import pytest

from app.auth.codes import SIGN_IN, send_code, verify_code
from app.core.channels import sms_backend
from app.extensions import db
from app.members.outbox import queue_message, send_due
from tests.api.conftest import ApiClient, make_key
from tests.api.test_deliveries import delivery
from tests.care.fake_aliyun import FakeAliyunSms, aliyun_settings
from tests.care.helpers import make_owner
from tests.factories import make_dealer, next_mobile


def signed_token(owner) -> str:
    """A token as the app signs them (itsdangerous), to put in a link of a message."""
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer("test-secret", salt="link").dumps({"u": owner.user.id})


SECRET_PATTERNS = {
    "a one-time code": re.compile(r"(?<![\w.^-])\d{6}(?![\w^])"),
    "a full mobile number": re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),
    "a set-password link": re.compile(r"/account/setup/"),  # the links codes replaced
    "a signed token": re.compile(r"[\w-]{6,}\.[\w-]{6,}\.[\w-]{10,}"),
    "a long base64url string": re.compile(r"[A-Za-z0-9_-]{32,}"),
}


def logged_text(caplog, capfd) -> list[str]:
    """Every message, with its traceback, that reached a handler or stderr/stdout."""
    formatter = logging.Formatter()
    texts = []
    for record in caplog.records:
        texts.append(record.getMessage())
        if record.exc_info:
            texts.append(formatter.formatException(record.exc_info))
    texts.extend(capfd.readouterr())
    return texts


def assert_no_secrets(texts: list[str], known: list[str]) -> None:
    for text in texts:
        for what, pattern in SECRET_PATTERNS.items():
            assert not pattern.search(text), f"{what} in the log: {text!r}"
        for secret in known:
            assert secret not in text, f"{secret!r} in the log: {text!r}"


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_codes_outbox_and_dms_invitations_leave_no_secret_in_the_logs(app, dealers, logs, capfd):
    known = []
    with app.app_context(), app.test_request_context():
        # A sign-in code through the log backend.
        mobile = next_mobile("139")
        send_code(mobile, SIGN_IN)
        code = re.search(r"\d{6}", sms_backend().last_text(mobile)).group()
        verify_code(mobile, SIGN_IN, code)
        known += [mobile, code]
        # Reminders with a link through the log mailer and the log SMS backend.
        owner = make_owner(dealers["SZ01"], name="Zhou Min", email="zhou.min@example.com")
        token = signed_token(owner)
        queue_message(
            owner,
            "invitation",
            "Welcome",
            f"Set your password: https://club.example/account/setup/{token}",
            key="privacy:1",
            channels=["email", "sms"],
        )
        db.session.commit()
        assert send_due().sent == 2
        known += [owner.user.mobile, token, "zhou.min@example.com"]

    # A DMS delivery enrols an owner and invites them; the sender sends the invitation.
    api = ApiClient(app, {"SZ01": make_key(app, "SZ01")})
    body = delivery()
    assert api.post("/dms/deliveries", body).status_code == 201
    with app.app_context(), app.test_request_context():
        assert send_due().sent >= 1
        invited = body["customer"]["mobile"]
        text = sms_backend().last_text(invited)
    # The invitation names no token: it sends the owner to join with an SMS code.
    link = re.search(r"https?://[^/\s]+(/register)\b", text).group(1)
    known += [invited]
    assert app.test_client().get(link).status_code == 200

    texts = logged_text(logs, capfd)
    assert any("SMS to 139****" in t for t in texts)  # the channels did log, masked
    assert any("E-mail to z***@example.com" in t for t in texts)
    assert_no_secrets(texts, known)


def test_the_aliyun_backend_leaves_no_secret_in_the_logs(app, logs, capfd, monkeypatch):
    monkeypatch.setenv("DEBUG", "1")  # the SDK's own request dump, had it not been silenced
    fake = FakeAliyunSms().start()
    try:
        app.config.update(aliyun_settings(fake))
        with app.app_context(), app.test_request_context():
            mobile = next_mobile("139")
            send_code(mobile, SIGN_IN)
            code = fake.sent[-1].template_param["code"]
            owner = make_owner(make_dealer("SZ01").id, name="Li Lei")
            token = signed_token(owner)
            queue_message(
                owner, "invitation", "Welcome", f"/account/setup/{token}", key="p", channels=["sms"]
            )
            db.session.commit()
            fake.fail_next("isv.BUSINESS_LIMIT_CONTROL")
            assert send_due().retried == 1
            known = [mobile, code, owner.user.mobile, token]
    finally:
        fake.stop()

    texts = logged_text(logs, capfd)
    assert any("taken by Aliyun" in t for t in texts)
    assert any("refused by Aliyun: isv.BUSINESS_LIMIT_CONTROL" in t for t in texts)
    assert_no_secrets(texts, known)


def test_a_database_error_does_not_quote_its_values(ctx):
    # Unhandled errors are logged with their message: SQLAlchemy would quote the parameters.
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    mobile = next_mobile("139")
    with pytest.raises(DBAPIError) as caught:
        db.session.execute(text("SELECT * FROM no_such_table WHERE mobile = :m"), {"m": mobile})

    assert mobile not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)
