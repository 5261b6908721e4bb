"""Owner journeys through the code pages, for tests of every domain."""

import re

from app.core.channels import sms_backend


def last_code(app, mobile: str) -> str:
    """The newest one-time code ``app`` texted to ``mobile`` (the log SMS backend keeps it)."""
    with app.app_context():
        text = sms_backend().last_text(mobile)
    assert text, f"no text was sent to {mobile}"
    return re.search(r"\b(\d{6})\b", text).group(1)


def prove(client, mobile: str, path: str = "/register", **extra):
    """Send a code to ``mobile`` on ``path`` and type it back; the last response."""
    response = client.post(path, data={"mobile": mobile, "action": "send"})
    assert response.status_code == 302, response.get_data(as_text=True)
    code = last_code(client.application, re.sub(r"\D", "", mobile)[-11:])
    return client.post(path, data={"mobile": mobile, "code": code, "action": "verify", **extra})


def details_form(dealer_id, **overrides) -> dict:
    """A complete step-two registration form."""
    return {
        "name": "Wang Fang",
        "password": "secret-pass-1",
        "confirm": "secret-pass-1",
        "dealer_id": dealer_id,
        "privacy": "y",
        **overrides,
    }


def join(client, mobile: str, dealer_id: int, **overrides):
    """Join the club with a proven ``mobile``; the response after step two."""
    response = prove(client, mobile)
    assert response.headers["Location"].endswith("/register/details"), response.headers
    return client.post("/register/details", data=details_form(dealer_id, **overrides))
