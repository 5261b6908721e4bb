"""Limits on failed attempts (wrong passwords, wrong codes), on Flask-Limiter's storage.

Flask-Limiter's decorators count every request, successful ones too, and key on what the
request says. A login (or a code check) must count failures only, and per *normalised* key
(the 11-digit mobile, the client's address), so these helpers use Flask-Limiter's storage and
strategy directly: ``memory://`` in development and tests, ``redis://`` when several workers
must share the counts (RATELIMIT_STORAGE_URI).

How to use, e.g. for SMS-code verification::

    limits = current_app.config["CODE_VERIFY_RATE_LIMIT"]      # "10 per minute;50 per hour"
    for subject, key in (("mobile", mobile), ("address", request.remote_addr)):
        item = exhausted(f"code-{subject}", limits, key)
        if item is not None:                                   # refuse before checking
            return refusal_message(subject, item)
    ...check the code...
    if wrong:
        record_failure("code-mobile", limits, mobile)
        record_failure("code-address", limits, request.remote_addr)

``scope`` separates counters of different purposes; ``keys`` name what is counted. Errors of
the storage (Redis down) propagate, as with Flask-Limiter's own decorators.
"""

from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from limits import RateLimitItem, parse_many

from app.extensions import limiter


@lru_cache(maxsize=32)
def parse_limits(limits_config: str) -> tuple[RateLimitItem, ...]:
    """The limits of a Flask-Limiter string such as "10 per minute;50 per hour"."""
    return tuple(parse_many(limits_config))


def _identifiers(scope: str, keys: tuple[str, ...]) -> tuple[str, ...]:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    return (prefix, "attempts", scope, *(str(k) for k in keys))


def _enabled() -> bool:
    return current_app.config.get("RATELIMIT_ENABLED", True)


def exhausted(scope: str, limits_config: str, *keys: str) -> RateLimitItem | None:
    """The first limit whose failures under ``scope``/``keys`` are used up, else None.

    Call it before checking the secret: a refused attempt checks nothing and counts nothing.
    """
    if not _enabled():
        return None
    ids = _identifiers(scope, keys)
    for item in parse_limits(limits_config):
        if not limiter.limiter.test(item, *ids):
            return item
    return None


def record_failure(scope: str, limits_config: str, *keys: str) -> None:
    """Count one failed attempt under ``scope``/``keys`` against every limit."""
    if not _enabled():
        return
    ids = _identifiers(scope, keys)
    for item in parse_limits(limits_config):
        limiter.limiter.hit(item, *ids)


def clear(scope: str, limits_config: str, *keys: str) -> None:
    """Forget the failures counted under ``scope``/``keys`` (e.g. after staff unlock)."""
    ids = _identifiers(scope, keys)
    for item in parse_limits(limits_config):
        limiter.limiter.clear(item, *ids)


# Whole sentences, so each language words them its own way.
_MESSAGES = {
    ("mobile", "minute"): _l("Too many failed attempts for this number. Try again in a minute."),
    ("mobile", "hour"): _l("Too many failed attempts for this number. Try again in an hour."),
    ("mobile", "later"): _l("Too many failed attempts for this number. Try again tomorrow."),
    ("address", "minute"): _l("Too many failed attempts from your network. Try again in a minute."),
    ("address", "hour"): _l("Too many failed attempts from your network. Try again in an hour."),
    ("address", "later"): _l("Too many failed attempts from your network. Try again tomorrow."),
}


def refusal_message(subject: str, item: RateLimitItem) -> str:
    """What to tell the user when ``item`` is used up for ``subject`` ("mobile" or "address")."""
    granularity = item.GRANULARITY.name
    wait = granularity if granularity in ("minute", "hour") else "later"
    if granularity == "second":
        wait = "minute"
    return str(_MESSAGES[(subject, wait)])
