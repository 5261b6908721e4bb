"""The texts the served app "sent": browser journeys read their SMS codes here."""

import re

# The app the current module's live server runs (set by the live_server fixture).
SERVED: dict[str, object] = {}


def sms_code(mobile: str) -> str:
    """The newest one-time code the served app texted to ``mobile`` (log SMS backend)."""
    from app.core.channels import LogSmsBackend

    backend = SERVED["app"].extensions.get("sms_backend")
    text = backend.last_text(mobile) if isinstance(backend, LogSmsBackend) else None
    assert text, f"no text was sent to {mobile}"
    return re.search(r"\b(\d{6})\b", text).group(1)
