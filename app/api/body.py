"""Reading a JSON request body that cannot hurt: JSON only (415), no deeper than MAX_DEPTH
(checked before parsing, so 10,000 nested brackets never reach the recursive parser), no lone
surrogates (which no database can store), exact decimals, and the body size limit
(``MAX_CONTENT_LENGTH``, 413) in the API's words."""

import json
import re
from decimal import Decimal

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from app.api.errors import MalformedBody
from app.core.security import has_surrogate

MAX_DEPTH = 32
# A JSON string literal (escapes included), found without backtracking.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def too_large() -> RequestEntityTooLarge:
    """The 413 for a body over ``MAX_CONTENT_LENGTH``, with the limit in the user's language."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return RequestEntityTooLarge(
        description=str(_l("The request is too large: send at most %(kb)s KB.", kb=limit // 1024))
    )


def json_depth(raw: bytes, limit: int = MAX_DEPTH) -> int:
    """How deep ``raw``'s arrays and objects nest (strings skipped); stops counting past
    ``limit``."""
    depth = deepest = 0
    for bracket in _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        if bracket in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def _check_strings(value) -> None:
    strings = []
    if isinstance(value, str):
        strings = [value]
    elif isinstance(value, dict):
        strings = list(value)
        for item in value.values():
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)
    if any(has_surrogate(text) for text in strings):
        raise MalformedBody(_l("The body holds a character that is not valid (a lone surrogate)."))


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def read_json_object() -> dict:
    """The request's body as a JSON object, or a 4xx naming what is wrong with it."""
    try:
        raw = request.get_data()
    except RequestEntityTooLarge:
        raise too_large() from None
    # A body sent as text/plain (or as a form) is not taken for JSON; no body at all is
    # simply not a JSON object (400 below).
    if raw and not request.is_json:
        raise UnsupportedMediaType(
            description=str(_l("Send the body as JSON, with 'Content-Type: application/json'."))
        )
    if json_depth(raw) > MAX_DEPTH:
        raise MalformedBody(_l("The body nests too deep: at most %(max)s levels.", max=MAX_DEPTH))
    try:
        data = json.loads(raw or b"", parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise MalformedBody(_l("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise MalformedBody(_l("The body must be a JSON object."))
    _check_strings(data)
    return data
