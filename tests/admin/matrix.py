"""A route of the staff permission matrix (tests/admin/test_views.py)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str
    rule: str  # as in app.url_map
    path: str  # with {placeholders} for real ids
    permission: str
    ok: int  # status for a holder of the permission (an empty POST re-shows its form)
    data: dict | None = None  # what a POST sends besides the CSRF token

    def __str__(self) -> str:
        return f"{self.method} {self.path}"
