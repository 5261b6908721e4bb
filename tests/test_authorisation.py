"""Who may open what, for every route outside /admin/ (staff routes: tests/admin/test_views.py):
each route visited by a visitor, the owner of the rows it names, an owner of another dealer, a
partner user, each staff role and another dealer's admin; the API also with no key, its
dealer's key and another dealer's. Nobody sees another owner's or another dealer's rows, and
every route of the app is in one matrix or the other."""

from urllib.parse import unquote

import pytest

from tests.admin.matrix import (
    HOLDERS,
    PRINCIPALS,
    STAFF,
    SZ01_ONLY,
    assert_nothing_of_the_others,
    module_desk,
)
from tests.admin.test_views import ROUTES as STAFF_ROUTES
from tests.routes_public import API_ROUTES, ROUTES

DENIED = "Your account may not open this page."
# Where each kind of account starts (auth.views._home_endpoint).
HOME = {"member": "/", "gz_member": "/", "partner": "/partner"}


desk = module_desk("authorisation")


def test_every_route_of_the_app_is_in_a_matrix(app):
    served = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    covered = {(r.method, r.rule) for r in STAFF_ROUTES + ROUTES}
    assert served - covered == set(), "routes without an entry in a matrix"
    assert covered - served == set(), "matrix entries of routes that no longer exist"


def _is_staff(principal: str) -> bool:
    return principal in STAFF or principal == "gz_dealer_admin"


def expected(route, principal: str) -> tuple[int, str | None]:
    """The status ``principal`` gets on ``route``, and where a redirect must lead (None: any
    address but the login page)."""
    audience = route.permission
    other = principal.startswith("gz_")
    login = "/login?next="
    if audience == "anyone":
        return route.ok, None
    if audience == "logout":
        return 302, "/"
    if audience in ("api", "api.checkin"):
        if principal == "anonymous" or audience == "api":
            return 401, None
        role = "dealer_admin" if principal == "gz_dealer_admin" else principal
        # A session may check tickets in (the body is read next: empty here, so 400).
        return (route.ok, None) if role in HOLDERS["events.checkin"] else (403, None)
    home = "/admin/" if _is_staff(principal) else HOME.get(principal)
    if audience == "visitor":
        return (route.ok, None) if principal == "anonymous" else (302, home)
    if audience == "code":
        return 302, "/login" if principal == "anonymous" else home
    if audience == "home":
        return (302, home) if principal not in ("anonymous", "member", "gz_member") else (200, None)
    if principal == "anonymous":
        return 302, login
    if audience == "logged_in":
        return route.ok, None
    holder = {"owner": ("member", "gz_member"), "partner": ("partner",)}[audience]
    if principal not in holder:
        return 403, None
    if other and route.other_dealer is not None:
        return route.other_dealer, None
    return route.ok, None


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_authorisation_matrix(desk, route, principal):
    path = route.path.format(**desk.ids)
    data = dict(route.data or {}) if route.method == "POST" else None
    response = desk.open(principal, path, route.method, data)
    body = response.get_data().decode("utf-8", "replace")
    response.close()
    if route.permission == "logout":
        desk.forget(principal)
    status, location = expected(route, principal)

    assert response.status_code == status, body[:500]
    if status in (301, 302, 303):
        target = response.headers["Location"]
        if location == "/login?next=":
            assert target.startswith(location)
            assert unquote(target.split("next=", 1)[1]) == path
        elif location is not None:
            assert target == location
        else:
            assert not target.startswith("/login")
    if status == 403 and not route.permission.startswith("api"):
        assert DENIED in body
    if status in (401, 403) and route.permission.startswith("api"):
        assert response.get_json()["error"]["code"] in ("unauthorized", "forbidden")
    assert_nothing_of_the_others(desk, principal, body)


@pytest.mark.parametrize("key", ["none", "SZ01", "GZ01"])
@pytest.mark.parametrize("route", API_ROUTES, ids=str)
def test_api_keys_matrix(desk, route, key):
    path = route.path.format(**desk.ids)
    headers = {} if key == "none" else {"Authorization": f"Bearer {desk.keys[key]}"}
    client = desk.app.test_client()
    response = client.open(path, method=route.method, headers=headers, with_csrf=False)

    if route.permission == "anyone":
        status = route.ok
    elif key == "none":
        status = 401
    elif key == "GZ01" and route.other_dealer is not None:
        status = route.other_dealer
    else:
        status = route.ok
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.is_json
    if key == "GZ01":
        body = response.get_data(as_text=True)
        assert [text for text in SZ01_ONLY if text in body] == []


@pytest.mark.parametrize(
    ("principal", "path", "text"),
    [
        ("member", "/events", "Desk trip"),
        ("member", "/perks", "Desk car spa"),
        ("member", "/me/referrals", "Liu Yang"),
        ("dealer_admin", "/admin/members", "Zhang Wei"),
        ("hq_admin", "/admin/members", "Zhou Min"),
        ("event_staff", "/admin/events/{event_id}/attendees", "{member_mobile}"),
    ],
)
def test_the_rows_the_matrix_watches_for_are_shown_to_their_own_people(desk, principal, path, text):
    # Otherwise the matrix's "nobody sees another's rows" would hold for nothing.
    values = {**desk.ids, "member_mobile": desk.mobiles["member"]}
    body = desk.open(principal, path.format(**values), "GET").get_data(as_text=True)
    assert text.format(**values) in body
