"""Permission-matrix routes: routes_checkin."""

from tests.admin.matrix import Route

CHECKIN_ROUTES: tuple[Route, ...] = ()
