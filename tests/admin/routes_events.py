"""Permission-matrix routes: routes_events."""

from tests.admin.matrix import Route

ORGANISING_ROUTES: tuple[Route, ...] = ()
