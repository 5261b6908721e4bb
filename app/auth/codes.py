"""One-time codes sent by SMS: whoever can read them owns the mobile number (R12).

A code has 6 digits, lives ``CODE_TTL`` (5 minutes), works once, and dies after
``MAX_WRONG_TRIES`` (5) wrong tries. Only an HMAC of it (keyed with SECRET_KEY, bound to the
number and the purpose) is stored, so the table alone reveals no code. A number gets a new code
at most every ``RESEND_AFTER`` (60 s) and ``SMS_CODES_PER_HOUR`` per hour; the views add the
per-address limits (Flask-Limiter). The answer to "send me a code" is the same whether or not an
account holds the number: what differs happens on the phone, which only its holder reads.

Purposes keep codes apart: a sign-in code cannot confirm an account deletion.
"""

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app.auth.models import SmsCode, User
from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.core.identifiers import mask_mobile, normalize_mobile
from app.extensions import db

log = logging.getLogger(__name__)

SIGN_IN = "signin"  # register, sign in with a code, reset the password
DELETE_ACCOUNT = "delete"  # confirm "delete my account"
NEW_MOBILE = "new_mobile"  # an owner whose number was found dead proves the one they use now
PURPOSES = frozenset({SIGN_IN, DELETE_ACCOUNT, NEW_MOBILE})

CODE_TTL = timedelta(minutes=5)
RESEND_AFTER = timedelta(seconds=60)
MAX_WRONG_TRIES = 5


def _hash(mobile: str, purpose: str, code: str) -> str:
    key = current_app.secret_key.encode()
    return hmac.new(key, f"{purpose}:{mobile}:{code}".encode(), hashlib.sha256).hexdigest()


def require_mobile(raw: str | None, field: str = "mobile") -> str:
    """The normalised mainland number in ``raw``; ValidationFailed when it is not one."""
    mobile = normalize_mobile(raw or "")
    if mobile is None:
        raise ValidationFailed(_l("Enter a mainland mobile number of 11 digits."), field=field)
    return mobile


def _latest(mobile: str, purpose: str) -> SmsCode | None:
    return db.session.scalar(
        select(SmsCode)
        .where(SmsCode.mobile == mobile, SmsCode.purpose == purpose)
        .order_by(SmsCode.created_at.desc(), SmsCode.id.desc())
        .limit(1)
    )


def _message(mobile: str, code: str, purpose: str, locale: str | None) -> str:
    """The SMS text, in the language of the account holding the number if there is one."""
    holder = db.session.scalar(select(User.locale).where(User.mobile == mobile))
    with force_locale(holder or locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        if purpose == NEW_MOBILE:
            text = _l(
                "[Car Club] %(code)s is your code to make this number your club account's. It "
                "is valid for 5 minutes. If you did not ask for it, ignore this message.",
                code=code,
            )
        elif purpose == DELETE_ACCOUNT:
            text = _l(
                "[Car Club] %(code)s is your code to delete your club account. It is valid for "
                "5 minutes. If you did not ask for it, ignore this message.",
                code=code,
            )
        else:
            text = _l(
                "[Car Club] %(code)s is your sign-in code. It is valid for 5 minutes. "
                "Never tell it to anyone, staff included.",
                code=code,
            )
        return str(text)


def send_code(
    raw_mobile: str, purpose: str, *, locale: str | None = None, now: datetime | None = None
) -> str:
    """Send a new code for ``purpose`` to the number; return the normalised number."""
    from app.core.channels import DeliveryError, sms_backend

    if purpose not in PURPOSES:
        raise ValueError(f"unknown code purpose: {purpose!r}")
    now = now or utcnow()
    mobile = require_mobile(raw_mobile)
    latest = _latest(mobile, purpose)
    if latest is not None and now - latest.created_at < RESEND_AFTER:
        wait = int((RESEND_AFTER - (now - latest.created_at)).total_seconds()) + 1
        raise ValidationFailed(
            _l("A code was just sent. You can ask for another in %(seconds)d s.", seconds=wait),
            field="mobile",
            code="resend_wait",
        )
    sent_last_hour = db.session.scalar(
        select(func.count())
        .select_from(SmsCode)
        .where(SmsCode.mobile == mobile, SmsCode.created_at > now - timedelta(hours=1))
    )
    if sent_last_hour >= current_app.config["SMS_CODES_PER_HOUR"]:
        raise ValidationFailed(
            _l("Too many codes were sent to this number. Try again in an hour."),
            field="mobile",
            code="hour_limit",
        )
    code = f"{secrets.randbelow(10**6):06d}"
    row = SmsCode(
        mobile=mobile,
        purpose=purpose,
        code_hash=_hash(mobile, purpose, code),
        created_at=now,
        expires_at=now + CODE_TTL,
    )
    db.session.add(row)
    db.session.flush()
    try:
        sms_backend().send(
            mobile,
            _message(mobile, code, purpose, locale),
            reference=f"code-{row.id}",
            template="code",
            params={"code": code},
        )
    except DeliveryError as err:
        log.warning("SMS code to %s not sent: %s", mask_mobile(mobile), err)
        raise ValidationFailed(
            _l("The text message could not be sent. Try again in a minute."), field="mobile"
        ) from None
    return mobile


def verify_code(raw_mobile: str, purpose: str, code: str, *, now: datetime | None = None) -> str:
    """Use the number's latest code for ``purpose``; return the normalised number.

    A wrong try is committed before the error is raised (the request itself rolls back), so
    the fifth wrong try kills the code whatever the caller does next.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown code purpose: {purpose!r}")
    now = now or utcnow()
    mobile = require_mobile(raw_mobile)
    code = (code or "").strip()
    latest = _latest(mobile, purpose)
    if latest is None:
        raise ValidationFailed(_l("Wrong code. Check the text message."), field="code")
    if latest.used_at is not None:
        raise ValidationFailed(
            _l("This code was already used. Ask for a new one."), field="code", code="used"
        )
    if latest.attempts >= MAX_WRONG_TRIES:
        raise ValidationFailed(
            _l("Too many wrong tries for this code. Ask for a new one."),
            field="code",
            code="too_many_tries",
        )
    if now >= latest.expires_at:
        raise ValidationFailed(
            _l("This code has expired. Ask for a new one."), field="code", code="expired"
        )
    right = len(code) == 6 and hmac.compare_digest(latest.code_hash, _hash(mobile, purpose, code))
    if not right:
        db.session.execute(
            update(SmsCode)
            .where(SmsCode.id == latest.id, SmsCode.used_at.is_(None))
            .values(attempts=SmsCode.attempts + 1)
        )
        db.session.commit()
        left = MAX_WRONG_TRIES - latest.attempts
        if left <= 0:
            raise ValidationFailed(
                _l("Too many wrong tries for this code. Ask for a new one."),
                field="code",
                code="too_many_tries",
            )
        raise ValidationFailed(
            _l("Wrong code. %(left)d tries left.", left=left), field="code", code="wrong"
        )
    # Single use, even when two requests carry the same code at once.
    used = db.session.execute(
        update(SmsCode)
        .where(
            SmsCode.id == latest.id,
            SmsCode.used_at.is_(None),
            SmsCode.attempts < MAX_WRONG_TRIES,
        )
        .values(used_at=now)
    )
    if used.rowcount != 1:
        raise ValidationFailed(
            _l("This code was already used. Ask for a new one."), field="code", code="used"
        )
    return mobile
