"""Trip day (safety checks, attendee list) and lectures (evaluations, questions)."""

from app.events.views import bp  # noqa: F401
