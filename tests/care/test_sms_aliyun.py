"""SMS_BACKEND=aliyun: the official SDK against a local fake Aliyun on 127.0.0.1."""

import logging
import re
import socket

import pytest

from app.auth.codes import SIGN_IN, send_code, verify_code
from app.core.channels import DeliveryError, sms_backend
from app.core.errors import ValidationFailed
from app.core.sms_aliyun import AliyunSmsBackend
from app.extensions import db
from app.members.models import OutboxMessage
from app.members.outbox import queue_message, send_due
from tests.care.fake_aliyun import (
    ACCESS_KEY_ID,
    SIGN_NAME,
    TEMPLATE_CODE,
    TEMPLATE_NOTICE,
    FakeAliyunSms,
    aliyun_settings,
)
from tests.care.helpers import make_owner
from tests.factories import make_dealer, next_mobile


@pytest.fixture(autouse=True)
def only_localhost(monkeypatch):
    """Nothing in these tests may reach beyond 127.0.0.1 (Aliyun's real address included)."""
    connect = socket.socket.connect

    def guarded(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] != "127.0.0.1":
            raise AssertionError(f"connection attempted to {address!r}")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def fake_aliyun():
    """A fake Aliyun SMS server on 127.0.0.1."""
    fake = FakeAliyunSms().start()
    yield fake
    fake.stop()


@pytest.fixture
def aliyun(app, fake_aliyun):
    """The app sends SMS through Aliyun (the fake); yields the fake."""
    app.config.update(aliyun_settings(fake_aliyun))
    app.extensions.pop("sms_backend", None)
    return fake_aliyun


@pytest.fixture
def owner(ctx, aliyun):
    """An owner of SZ01 who keeps SMS on (and no e-mail address)."""
    member = make_owner(make_dealer("SZ01").id, name="Zhou Min")
    member.user.locale = "en"
    db.session.commit()
    return member


# ------------------------------------------------------------------------------ sending


def test_sms_backend_aliyun_selects_the_aliyun_backend(ctx, aliyun):
    assert isinstance(sms_backend(), AliyunSmsBackend)


def test_a_sign_in_code_goes_out_with_the_code_template(ctx, aliyun):
    mobile = next_mobile("139")

    send_code(mobile, SIGN_IN)

    (request,) = aliyun.sent
    assert request.signature_ok
    assert request.params["PhoneNumbers"] == mobile
    assert request.params["SignName"] == SIGN_NAME
    assert request.params["TemplateCode"] == TEMPLATE_CODE
    assert re.fullmatch(r"code-\d+", request.params["OutId"])
    code = request.template_param["code"]
    assert re.fullmatch(r"\d{6}", code)
    assert set(request.template_param) == {"code"}  # the text itself never leaves
    assert verify_code(mobile, SIGN_IN, code) == mobile


def test_a_notice_fills_the_notice_template_with_the_whole_text(ctx, aliyun):
    mobile = next_mobile("139")
    text = "【车友会】您的爱车保养到期，请预约。Maintenance is due."

    sms_backend().send(mobile, text, reference="care:1:sms")

    (request,) = aliyun.sent
    assert request.params["TemplateCode"] == TEMPLATE_NOTICE
    assert request.template_param == {"content": text}
    assert request.params["OutId"] == "care:1:sms"
    assert request.headers["authorization"].startswith(
        "ACS3-HMAC-SHA256 Credential=" + ACCESS_KEY_ID
    )


def test_the_outbox_delivers_an_sms_through_aliyun(owner, aliyun):
    ids = queue_message(
        owner, "maintenance_due", "Maintenance due", "Book a visit.", key="m:1", channels=["sms"]
    )
    db.session.commit()

    report = send_due()

    assert report.sent == 1
    (request,) = aliyun.sent
    assert request.params["PhoneNumbers"] == owner.user.mobile
    assert request.params["OutId"] == "m:1:sms"
    assert request.template_param == {"content": "Maintenance due Book a visit."}
    message = db.session.get(OutboxMessage, ids[0], populate_existing=True)
    assert message.status == "sent"


def test_the_flask_care_send_command_sends_through_aliyun(app, owner, aliyun):
    queue_message(owner, "maintenance_due", "Due", "Book.", key="m:2", channels=["sms"])
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["care", "send"])

    assert result.exit_code == 0, result.output
    assert [r.params["OutId"] for r in aliyun.sent] == ["m:2:sms"]


# ------------------------------------------------------------------------------- errors


def test_a_wrong_secret_fails_the_signature_check_and_is_retried(app, ctx, fake_aliyun):
    app.config.update(aliyun_settings(fake_aliyun, ALIYUN_SMS_ACCESS_KEY_SECRET="not-the-secret"))
    app.extensions.pop("sms_backend", None)

    with pytest.raises(DeliveryError, match="SignatureDoesNotMatch") as caught:
        sms_backend().send(next_mobile("139"), "Hello", reference="r:1")

    assert not caught.value.permanent  # fixed by the operator, not by the owner
    (request,) = fake_aliyun.requests
    assert not request.signature_ok and not fake_aliyun.sent


def test_an_unknown_access_key_is_refused(app, ctx, fake_aliyun):
    app.config.update(aliyun_settings(fake_aliyun, ALIYUN_SMS_ACCESS_KEY_ID="LTAI-other"))
    app.extensions.pop("sms_backend", None)

    with pytest.raises(DeliveryError, match=r"InvalidAccessKeyId\.NotFound"):
        sms_backend().send(next_mobile("139"), "Hello", reference="r:1")


@pytest.mark.parametrize(
    ("status", "code", "permanent"),
    [
        (200, "isv.MOBILE_NUMBER_ILLEGAL", True),
        (200, "isv.BLACK_KEY_CONTROL_LIMIT", True),
        (200, "isv.PARAM_LENGTH_LIMIT", True),
        (200, "isv.AMOUNT_NOT_ENOUGH", False),
        (200, "isv.BUSINESS_LIMIT_CONTROL", False),
        (200, "isv.DAY_LIMIT_CONTROL", False),
        (200, "isv.SMS_SIGNATURE_ILLEGAL", False),
        (200, "isp.SYSTEM_ERROR", False),
        (400, "Throttling.User", False),
        (503, "ServiceUnavailable", False),
    ],
)
def test_provider_errors_are_permanent_or_transient(ctx, aliyun, status, code, permanent):
    aliyun.fail_next(code, status=status)

    with pytest.raises(DeliveryError) as caught:
        sms_backend().send(next_mobile("139"), "Hello", reference="r:1")

    assert code in str(caught.value)
    assert caught.value.permanent is permanent


def test_a_refused_number_fails_the_message_and_throttling_retries_it(owner, aliyun):
    queue_message(owner, "maintenance_due", "Due", "Book.", key="a", channels=["sms"])
    queue_message(owner, "maintenance_due", "Due", "Book.", key="b", channels=["sms"])
    db.session.commit()
    aliyun.fail_next("isv.MOBILE_NUMBER_ILLEGAL")
    aliyun.fail_next("isv.BUSINESS_LIMIT_CONTROL")

    report = send_due()

    assert (report.sent, report.failed, report.retried) == (0, 1, 1)
    errors = {m.status: m.last_error for m in db.session.query(OutboxMessage)}
    assert errors["failed"].startswith("Aliyun isv.MOBILE_NUMBER_ILLEGAL (RequestId FAKE-")
    assert errors["pending"].startswith("Aliyun isv.BUSINESS_LIMIT_CONTROL")


def test_a_code_the_provider_refuses_is_a_form_error(ctx, aliyun):
    aliyun.fail_next("isv.BUSINESS_LIMIT_CONTROL")

    with pytest.raises(ValidationFailed):
        send_code(next_mobile("139"), SIGN_IN)


def test_an_unreachable_provider_is_transient_and_quotes_nothing_of_the_request(
    app, ctx, fake_aliyun, caplog
):
    app.config.update(aliyun_settings(fake_aliyun))
    app.extensions.pop("sms_backend", None)
    fake_aliyun.stop()  # the port is closed: connection refused
    mobile = next_mobile("139")
    caplog.set_level(logging.DEBUG)

    with pytest.raises(DeliveryError) as caught:
        sms_backend().send(mobile, "x", reference="r:1", template="code", params={"code": "424242"})

    error = caught.value
    assert not error.permanent
    # The SDK's own message quotes the URL (number, code): neither the error, its chain nor
    # the log may carry it.
    assert error.__cause__ is None and error.__suppress_context__
    for text in [str(error), *(r.getMessage() for r in caplog.records)]:
        assert mobile not in text and "424242" not in text


def test_the_sdk_debug_output_is_silenced(ctx, aliyun, monkeypatch, caplog, capfd):
    # darabonba prints every request line when DEBUG is set in the environment.
    monkeypatch.setenv("DEBUG", "1")
    caplog.set_level(logging.DEBUG)
    mobile = next_mobile("139")

    sms_backend().send(mobile, "x", reference="r:1", template="code", params={"code": "424242"})

    assert aliyun.sent
    out, err = capfd.readouterr()
    for text in [out, err, *(r.getMessage() for r in caplog.records)]:
        assert mobile not in text and "424242" not in text
    assert any("taken by Aliyun" in r.getMessage() for r in caplog.records)


def test_missing_settings_are_named_at_start(app, ctx):
    app.config.update(SMS_BACKEND="aliyun", ALIYUN_SMS_ACCESS_KEY_ID="LTAI-x")
    for name in (
        "ALIYUN_SMS_ACCESS_KEY_SECRET",
        "ALIYUN_SMS_SIGN_NAME",
        "ALIYUN_SMS_TEMPLATE_CODE",
        "ALIYUN_SMS_TEMPLATE_NOTICE",
    ):
        app.config[name] = None
    app.extensions.pop("sms_backend", None)

    with pytest.raises(RuntimeError) as caught:
        sms_backend()

    message = str(caught.value)
    assert "ALIYUN_SMS_ACCESS_KEY_SECRET" in message and "ALIYUN_SMS_TEMPLATE_NOTICE" in message
    assert "ALIYUN_SMS_ACCESS_KEY_ID" not in message


def test_a_class_path_still_names_a_backend(app, ctx):
    app.config["SMS_BACKEND"] = "tests.care.conftest:RecordingSms"
    app.extensions.pop("sms_backend", None)

    assert type(sms_backend()).__name__ == "RecordingSms"
