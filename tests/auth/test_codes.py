"""SMS one-time codes (R12): 6 digits, 5 minutes, single use, 5 wrong tries, resend after 60 s."""

import re

import pytest
from sqlalchemy import select

from app.auth.codes import DELETE_ACCOUNT, SIGN_IN, send_code, verify_code
from app.auth.models import SmsCode
from app.core.channels import sms_backend
from app.core.errors import ValidationFailed
from app.extensions import db


def sent_code(mobile: str) -> str:
    """The code in the newest text the log backend took for ``mobile``."""
    return re.search(r"\b(\d{6})\b", sms_backend().last_text(mobile)).group(1)


def test_a_code_proves_the_number_once(ctx):
    assert send_code("139-0000-0015", SIGN_IN) == "13900000015"
    code = sent_code("13900000015")
    assert verify_code("139 0000 0015", SIGN_IN, code) == "13900000015"
    with pytest.raises(ValidationFailed, match="already used"):
        verify_code("13900000015", SIGN_IN, code)


def test_only_a_hash_is_stored(ctx):
    send_code("13900000015", SIGN_IN)
    code = sent_code("13900000015")
    row = db.session.scalar(select(SmsCode))
    assert code not in row.code_hash and len(row.code_hash) == 64


def test_the_sixth_try_is_refused_even_with_the_right_code(ctx):
    send_code("13900000015", SIGN_IN)
    code = sent_code("13900000015")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    messages = []
    for _ in range(5):
        with pytest.raises(ValidationFailed) as err:
            verify_code("13900000015", SIGN_IN, wrong)
        messages.append(err.value.message)
    assert "4 tries left" in str(messages[0])
    assert "Too many wrong tries" in str(messages[-1])
    with pytest.raises(ValidationFailed, match="Too many wrong tries"):
        verify_code("13900000015", SIGN_IN, code)


def test_a_code_expires_after_five_minutes(ctx, clock):
    send_code("13900000015", SIGN_IN)
    code = sent_code("13900000015")
    clock.advance(minutes=5)
    with pytest.raises(ValidationFailed, match="expired"):
        verify_code("13900000015", SIGN_IN, code)


def test_resend_waits_sixty_seconds_and_the_new_code_replaces_the_old(ctx, clock):
    send_code("13900000015", SIGN_IN)
    first = sent_code("13900000015")
    clock.advance(seconds=30)
    with pytest.raises(ValidationFailed, match="another in 31 s"):
        send_code("13900000015", SIGN_IN)
    clock.advance(seconds=30)
    send_code("13900000015", SIGN_IN)
    second = sent_code("13900000015")
    if first != second:
        with pytest.raises(ValidationFailed, match="Wrong code"):
            verify_code("13900000015", SIGN_IN, first)
    assert verify_code("13900000015", SIGN_IN, second) == "13900000015"


def test_a_number_gets_five_codes_an_hour(ctx, clock):
    for _ in range(5):
        send_code("13900000015", SIGN_IN)
        clock.advance(seconds=61)
    with pytest.raises(ValidationFailed, match="Try again in an hour"):
        send_code("13900000015", SIGN_IN)
    clock.advance(hours=1)
    send_code("13900000015", SIGN_IN)


def test_a_sign_in_code_cannot_confirm_a_deletion(ctx):
    send_code("13900000015", SIGN_IN)
    with pytest.raises(ValidationFailed, match="Wrong code"):
        verify_code("13900000015", DELETE_ACCOUNT, sent_code("13900000015"))


@pytest.mark.parametrize("raw", ["", "12345", "1390000001\ud800", "+1 415 555 0100"])
def test_a_number_that_is_not_mainland_is_refused(ctx, raw):
    with pytest.raises(ValidationFailed, match="11 digits"):
        send_code(raw, SIGN_IN)
    assert db.session.scalar(select(SmsCode)) is None
