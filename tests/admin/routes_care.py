"""Permission-matrix routes: care (issue 6)."""

from tests.admin.matrix import Route

ROUTES: tuple[Route, ...] = ()


def desk(dealer, owner) -> dict[str, int]:
    """Rows the routes above need in the desk's database, by the names their paths use."""
    return {}
