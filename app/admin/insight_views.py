"""Dealer insight (R10): members by tier, segments, lost customers, points liability,
referrals, events and campaign results; charts and CSV, scoped to the viewer's dealer."""

from app.admin.views import bp  # noqa: F401
