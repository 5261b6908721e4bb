"""Login limits (R12): failed attempts only, per normalised mobile number and per address.

A wrong password and a wrong second-factor code both count. When a limit is used up the
attempt is refused before the password is checked, with a message naming the limit.
"""

from flask import current_app, request

from app.core.attempts import exhausted, record_failure, refusal_message


def _counters(mobile: str) -> list[tuple[str, str, str]]:
    """(subject, scope, key) of each counter a login attempt for ``mobile`` touches."""
    return [
        ("mobile", "login-mobile", mobile),
        ("address", "login-address", request.remote_addr or "-"),
    ]


def login_refusal(mobile: str) -> str | None:
    """Why a login attempt for ``mobile`` from this address is refused now, or None."""
    limits = current_app.config["LOGIN_RATE_LIMIT"]
    for subject, scope, key in _counters(mobile):
        item = exhausted(scope, limits, key)
        if item is not None:
            return refusal_message(subject, item)
    return None


def record_login_failure(mobile: str) -> None:
    """Count a wrong password or code for ``mobile`` and for this address."""
    limits = current_app.config["LOGIN_RATE_LIMIT"]
    for _subject, scope, key in _counters(mobile):
        record_failure(scope, limits, key)
