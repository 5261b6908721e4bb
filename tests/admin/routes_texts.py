"""Permission-matrix routes: care texts (issue 20): the list, a text, saving, handing back and
restoring a version. GZ01's admin sees GZ01's texts on the list pages (no SZ01 row in them);
the version of SZ01's text is not found for it."""

from app.care.texts.models import TextVersion, scope_of
from app.core.clock import utcnow
from app.extensions import db
from tests.admin.matrix import Route

ROUTES: tuple[Route, ...] = (
    Route("GET", "/admin/care/texts", "/admin/care/texts", "care.texts", 200),
    Route(
        "GET",
        "/admin/care/texts/<kind>/<language>",
        "/admin/care/texts/birthday/zh",
        "care.texts",
        200,
    ),
    # An empty POST (no version it was edited from) re-shows the form and saves nothing.
    Route(
        "POST",
        "/admin/care/texts/<kind>/<language>",
        "/admin/care/texts/birthday/zh",
        "care.texts_edit",
        200,
    ),
    Route(
        "POST",
        "/admin/care/texts/<kind>/<language>/inherit",
        "/admin/care/texts/weather_warning/en/inherit",
        "care.texts_edit",
        302,
    ),
    Route(
        "POST",
        "/admin/care/texts/versions/<int:version_id>/restore",
        "/admin/care/texts/versions/{text_version_id}/restore",
        "care.texts_edit",
        302,
    ),
)


def desk(dealer, owner) -> dict[str, int]:
    """A version of SZ01's birthday text, for the restore route."""
    version = TextVersion(
        scope=scope_of(dealer.id),
        dealer_id=dealer.id,
        kind="birthday",
        language="zh",
        version=1,
        title="生日快乐，{name}！",
        body="Desk car spa greeting",
        inherits=False,
        created_at=utcnow(),
    )
    db.session.add(version)
    db.session.flush()
    return {"text_version_id": version.id}
