"""The gate: the staff check-in page (camera, offline) and its data."""

from app.events.views import bp  # noqa: F401
