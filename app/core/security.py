"""Security headers on every response, and HTTPS seen through trusted reverse proxies.

Behind a proxy that ends TLS the app only sees plain HTTP from the proxy; with
``TRUSTED_PROXIES`` set to the number of proxies in front of it, werkzeug's ProxyFix takes the
scheme and the client's address from their ``X-Forwarded-Proto`` / ``X-Forwarded-For``, so
HTTPS requests are recognised (HSTS, secure redirects) and rate limits count real clients.
Left at 0, those headers are ignored: a client could otherwise claim any address or scheme.
"""

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

HSTS = "max-age=31536000; includeSubDomains"
# The event gate scans tickets with the phone's camera; nothing else needs a device feature.
PERMISSIONS_POLICY = "camera=(self), microphone=(), geolocation=(), payment=(), usb=()"


def content_security_policy(stripe_checkout: str) -> str:
    """No inline script or style, no framing; forms post here or to Stripe Checkout."""
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"object-src 'none'; frame-ancestors 'none'; form-action 'self' {stripe_checkout}; "
        "base-uri 'self'"
    )


def init_app(app: Flask) -> None:
    """Trust ``TRUSTED_PROXIES`` proxies' forwarded headers; add the headers to responses."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    csp = content_security_policy(
        app.config.get("STRIPE_API_BASE") or "https://checkout.stripe.com"
    )

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        # Only over HTTPS: a browser ignores it on HTTP, and a development server has no TLS.
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")
        return response
