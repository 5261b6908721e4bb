"""Security headers on every response, HTTPS seen through trusted reverse proxies, and
addresses and forms that cannot name anything refused before they reach the database.

Behind a proxy that ends TLS the app only sees plain HTTP from the proxy; with
``TRUSTED_PROXIES`` set to the number of proxies in front of it, werkzeug's ProxyFix takes the
scheme and the client's address from their ``X-Forwarded-Proto`` / ``X-Forwarded-For``, so
HTTPS requests are recognised (HSTS, secure redirects) and rate limits count real clients.
Left at 0, those headers are ignored: a client could otherwise claim any address or scheme.

An id in a path beyond any row's (``/me/vehicles/99999999999999999999``) is not found, and text
with a NUL character (which PostgreSQL cannot store) in a path, query or form is a bad request:
the database would otherwise refuse the query and the answer would be a 500.
"""

import re

from flask import Flask, abort, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

# The largest row id (PostgreSQL INTEGER).
MAX_ID = 2**31 - 1
# What a number too long to be any id or page stands for: beyond every range.
_TOO_LONG = 10**20
_INTEGER = re.compile(r"-?[0-9]+")
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
# Half of a UTF-16 pair: UTF-8 cannot encode it, so no database can store it.
_SURROGATE = re.compile("[\ud800-\udfff]")

HSTS = "max-age=31536000; includeSubDomains"
# No page needs a device feature, except the staff scanning pages' camera (``uses_camera``).
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
CAMERA_POLICY = PERMISSIONS_POLICY.replace("camera=()", "camera=(self)")


def uses_camera(view):
    """Mark a view whose page scans codes with the phone's camera: its Permissions-Policy
    allows the camera (for this site only); every other page's forbids it."""
    view.uses_camera = True
    return view


def _permissions_policy() -> str:
    view = current_app.view_functions.get(request.endpoint or "")
    return CAMERA_POLICY if getattr(view, "uses_camera", False) else PERMISSIONS_POLICY


def content_security_policy(stripe_checkout: str) -> str:
    """No inline script or style, no framing; forms post here or to Stripe Checkout."""
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"object-src 'none'; frame-ancestors 'none'; form-action 'self' {stripe_checkout}; "
        "base-uri 'self'"
    )


def has_surrogate(text: str) -> bool:
    """True when ``text`` holds a lone surrogate (``\\ud800`` in JSON, say)."""
    return _SURROGATE.search(text) is not None


def unstorable(text: str) -> bool:
    """True for text no database column can hold: a NUL or a lone surrogate."""
    return "\x00" in text or has_surrogate(text)


def plain_int(text: str | None) -> int | None:
    """``text`` as a plain decimal integer (" 42", "-3"), else None: not "1e9", "4.0", "+4"
    or other scripts' digits ("٣"), which ``int`` would take. A number longer than 20 digits
    comes back as ±10**20, out of every range, rather than parsed."""
    text = (text or "").strip()
    if not _INTEGER.fullmatch(text):
        return None
    if len(text.lstrip("-")) > 20:
        return -_TOO_LONG if text.startswith("-") else _TOO_LONG
    return int(text)


def id_in_range(value: int | None) -> bool:
    """True for a number that can be a row's id (1 to MAX_ID)."""
    return value is not None and 1 <= value <= MAX_ID


def init_app(app: Flask) -> None:
    """Trust ``TRUSTED_PROXIES`` proxies' forwarded headers, refuse input that names nothing,
    add the headers to responses."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    @app.before_request
    def refuse_impossible_input():
        for value in (request.view_args or {}).values():
            if (isinstance(value, int) and value > MAX_ID) or (
                isinstance(value, str) and unstorable(value)
            ):
                abort(404)
        if request.blueprint == "api":
            return  # the API checks its own queries and bodies (422, naming the field)
        sent = [*request.args.values()]
        if request.mimetype in FORMS:
            sent += request.form.values()
        if any(unstorable(value) for value in sent):
            abort(400)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        # Read per response: the Stripe address can change after start-up (tests' fake Stripe).
        stripe_checkout = app.config.get("STRIPE_API_BASE") or "https://checkout.stripe.com"
        headers.setdefault("Content-Security-Policy", content_security_policy(stripe_checkout))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", _permissions_policy())
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        # Only over HTTPS: a browser ignores it on HTTP, and a development server has no TLS.
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")
        return response
