"""Forwarding only: the dealer scope reads the user and dealer models, so it lives in
``app/members/scope.py``. app/campaigns still imports it from here until its rooms slice of
issue 17 lands; then this module goes."""

from app.members.scope import (  # noqa: F401
    dealer_choices,
    dealer_scope,
    scope_code,
    scoped_dealers,
    sees_dealer,
)
