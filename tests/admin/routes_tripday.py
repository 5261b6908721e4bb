"""Permission-matrix routes: routes_tripday."""

from tests.admin.matrix import Route

TRIPDAY_ROUTES: tuple[Route, ...] = ()
