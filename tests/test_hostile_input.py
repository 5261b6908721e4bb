"""Hostile and odd input, black-box against the live app: each answers 4xx with a clear
message, never a 500, and changes nothing (issue 16)."""

import csv
import io
import json

import pytest
from sqlalchemy import select

from app.extensions import db
from tests.api.conftest import make_key
from tests.conftest import login
from tests.factories import make_dealer, make_event, make_member, make_staff, valid_vin

HUGE = "99999999999999999999"
JUST_TOO_BIG = str(2**31)
INT_ARGS = ("page", "dealer", "consultant", "campaign", "payment_id", "registration_id")


def error_of(response) -> dict:
    assert response.is_json, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["message"]
    return error


@pytest.fixture
def api_key(app, dealers) -> str:
    return make_key(app, "SZ01")


def post_api(app, key, path, data, content_type="application/json"):
    return app.test_client().post(
        f"/api/v1{path}",
        data=data,
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
    )


# ------------------------------------------------------------------------ bodies


def test_a_body_over_the_limit_answers_413_in_the_apis_format(app, api_key):
    body = b'{"event_id": 1, "scans": [' + b'"x",' * 3_000_000 + b'"x"]}'
    response = post_api(app, api_key, "/checkin/batch", body)
    assert response.status_code == 413
    assert "too large" in error_of(response)["message"]


def test_a_full_check_in_batch_fits_under_the_limit(app):
    from app.events.checkin import MAX_BATCH

    scan = {
        "ticket": "CC1." + "A" * 500,
        "nonce": "n" * 64,
        "scanned_at": "2026-11-23T10:00:00.000000+08:00",
    }
    body = json.dumps({"event_id": 2**31 - 1, "scans": [scan] * MAX_BATCH}).encode()
    assert len(body) < app.config["MAX_CONTENT_LENGTH"]


def test_a_form_over_the_limit_answers_413(client):
    response = client.post("/login", data={"mobile": "1" * 2_000_000, "password": "x"})
    assert response.status_code == 413


def test_json_nested_ten_thousand_deep_is_refused(app, api_key):
    response = post_api(app, api_key, "/checkin", b"[" * 10_000 + b"]" * 10_000)
    assert response.status_code == 400
    assert "deep" in error_of(response)["message"]


def test_json_nested_inside_an_object_is_refused(app, api_key):
    body = b'{"event_id": 1, "ticket": ' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}"
    response = post_api(app, api_key, "/checkin", body)
    assert response.status_code == 400


def test_brackets_inside_strings_do_not_count_as_depth(app, api_key):
    body = json.dumps({"event_id": 1, "ticket": "[" * 100, "nonce": "abcdefgh"}).encode()
    response = post_api(app, api_key, "/checkin", body)
    assert response.status_code == 404, response.get_data(as_text=True)  # parsed: no event 1


def test_a_text_plain_body_is_refused_with_415(app, api_key):
    body = json.dumps({"event_id": 1, "ticket": "CC1.x", "nonce": "abcdefgh"})
    response = post_api(app, api_key, "/checkin", body, content_type="text/plain")
    assert response.status_code == 415
    assert "application/json" in error_of(response)["message"]


def test_json_with_a_charset_is_accepted(app, api_key):
    body = json.dumps({"event_id": 1, "ticket": "CC1.x", "nonce": "abcdefgh"})
    response = post_api(
        app, api_key, "/checkin", body, content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 404


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "x\\udc00y"])
def test_a_lone_surrogate_in_a_json_string_is_refused(app, api_key, escape):
    body = f'{{"customer": {{"mobile": "13912345678", "name": "{escape}"}}}}'.encode()
    response = post_api(app, api_key, "/dms/deliveries", body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert (
        "surrogate" in error_of(response)["message"]
        or "character" in (error_of(response)["message"])
    )


def test_a_lone_surrogate_as_a_json_key_is_refused(app, api_key):
    response = post_api(app, api_key, "/checkin", b'{"\\ud800": 1}')
    assert response.status_code == 400


# --------------------------------------------------------------------------- text


def test_a_surrogate_encoded_in_utf8_in_a_query_or_form_is_no_500(client):
    # Werkzeug decodes such bytes (not valid UTF-8) to U+FFFD; nothing reaches the database.
    assert client.get("/login?next=%ED%A0%80").status_code == 200
    response = client.post(
        "/login",
        data=b"mobile=%ED%A0%80&password=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (200, 400)


@pytest.mark.parametrize(
    "name", ["\u200b\u200b", "\u202e", "\u2066\u2069", "\ufeff", " \u200d \u200c "]
)
def test_a_name_of_invisible_characters_is_refused(app, member_client, name):
    response = member_client.post("/me/profile", data={"name": name, "language": "en"})
    assert response.status_code == 200
    assert "visible" in response.get_data(as_text=True)


@pytest.mark.parametrize("target", ["/%0D%0AX-Evil:%201", "/%0Ax", "/%09x", "/\x7fx"])
def test_a_header_breaking_next_is_refused(client, target):
    response = client.get(f"/lang/en?next={target}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# ------------------------------------------------------------------ integers


@pytest.fixture
def sites(db_app):
    """An HQ admin's and an owner's client on a migrated database (SQLite, PostgreSQL)."""
    with db_app.app_context(), db_app.test_request_context():
        dealer = make_dealer("SZ01")
        owner = make_member(dealer.id)
        admin = make_staff("hq_admin", None)
        mobiles = {"hq": admin.mobile, "owner": owner.user.mobile}
        db.session.commit()
    clients = {}
    for who, mobile in mobiles.items():
        clients[who] = db_app.test_client()
        login(clients[who], mobile)
    return db_app, clients


def _plain_get_paths(app) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.rule.startswith("/api"):
            continue
        if rule.endpoint in ("static", "favicon", "auth.logout") or rule.rule.endswith(".csv"):
            continue
        paths.append(rule.rule)
    return sorted(paths)


@pytest.mark.parametrize("value", [HUGE, JUST_TOO_BIG, "-" + HUGE, "1e9", "\u0663"])
def test_no_page_breaks_on_an_integer_out_of_range(sites, value):
    app, clients = sites
    query = "&".join(f"{name}={value}" for name in INT_ARGS)
    broken = []
    for who, client in clients.items():
        for path in _plain_get_paths(app):
            response = client.get(f"{path}?{query}")
            if response.status_code >= 500:
                broken.append((who, path))
            response.close()
    assert broken == []


def test_the_named_pages_answer_not_found_or_the_first_page(sites):
    _app, clients = sites
    assert clients["owner"].get(f"/events?page={HUGE}").status_code in (200, 404)
    assert clients["hq"].get(f"/admin/insight?dealer={JUST_TOO_BIG}").status_code in (200, 404)


_NEW_REWARD = {"name": "Fuel", "kind": "gift", "cost_points": "10", "stock": "1", "active": "y"}
_NEW_PARTNER = {"name": "Car Care", "category": "car_care", "active": "y"}


@pytest.mark.parametrize("value", [HUGE, JUST_TOO_BIG, "-1", "1e9", "\u0663"])
@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/admin/rewards/new", {**_NEW_REWARD, "validity_days": "30"}),
        ("/admin/partners/new", _NEW_PARTNER),
    ],
)
def test_a_posted_dealer_beyond_any_row_is_refused_not_a_500(sites, path, form, value):
    _app, clients = sites
    response = clients["hq"].post(path, data={**form, "dealer_id": value})
    # The form again with its error (not a redirect: nothing was saved), never a 500.
    assert response.status_code in (200, 422)


@pytest.mark.parametrize("value", [HUGE, JUST_TOO_BIG, "-1", "1e9", "\u0663"])
def test_an_owners_form_naming_a_row_beyond_any_id_is_refused_not_a_500(sites, value):
    """Selects whose choices the service checks (a chapter, a colour, the car for a trip)
    took any integer: one beyond the database's reached it (OverflowError, a 500)."""
    app, clients = sites
    owner = clients["owner"]
    with app.app_context(), app.test_request_context():
        from app.members.models import Member

        member = db.session.scalar(select(Member))
        staff = make_staff("event_staff", member.dealer_id)
        event_id = make_event(staff, now=app.extensions["clock"].now()).id
        db.session.commit()
    before = _counts(app)
    answers = [
        owner.post("/me/chapter", data={"to_dealer_id": value, "reason": ""}),
        owner.post(
            "/me/vehicles/new",
            data={
                "vin": valid_vin(),
                "model": "Lavida",
                "colour_id": value,
                "transmission": "automatic",
                "purchased_on": "2024-03-01",
            },
        ),
        owner.post(f"/events/{event_id}/sign-up", data={"vehicle_id": value, "accept_waiver": "y"}),
    ]
    assert [r.status_code for r in answers if r.status_code >= 500] == []
    assert all(r.status_code in (200, 422) for r in answers), [r.status_code for r in answers]
    assert _counts(app) == before


def _counts(app) -> tuple[int, ...]:
    from sqlalchemy import func

    from app.events.models import EventRegistration
    from app.members.models import ChapterTransfer, Vehicle

    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (ChapterTransfer, Vehicle, EventRegistration)
        )


def test_registering_with_a_dealer_beyond_any_row_is_refused_not_a_500(client):
    from tests.conftest import PASSWORD

    form = {"name": "Li Na", "password": PASSWORD, "confirm": PASSWORD, "privacy": "y"}
    for value in (HUGE, JUST_TOO_BIG):
        response = client.post("/register/details", data={**form, "dealer_id": value})
        assert response.status_code < 500


def test_an_id_beyond_any_row_in_a_path_is_not_found(member_client):
    assert member_client.get(f"/me/vehicles/{HUGE}").status_code == 404


# ------------------------------------------------------------------- tokens


def _variants(token: str) -> list[str]:
    body = token[len("CC1.") :]
    last = body[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # Characters whose 6 bits differ from the last one's only in the unused low bits.
    keep = alphabet.index(last) & ~0b1111 if len(body) % 4 == 2 else alphabet.index(last) & ~0b11
    siblings = [c for c in alphabet if alphabet.index(c) & ~0b1111 == keep and c != last]
    variants = [token + "=", token + "==", token.replace("-", "+").replace("_", "/")]
    variants += ["CC1." + body[:-1] + c for c in siblings[:3]]
    return [v for v in variants if v != token]


def test_every_other_spelling_of_a_token_is_refused(app):
    from app.core.clock import utcnow
    from app.core.tokens import TokenError

    with app.app_context():
        signer = app.extensions["token_signer"]
        now = utcnow()
        for _ in range(20):
            token = signer.sign("ticket", 42, now=now)
            assert signer.verify(token, kind="ticket", now=now).subject_id == 42
            for variant in _variants(token):
                with pytest.raises(TokenError):
                    signer.verify(variant, kind="ticket", now=now)


# ---------------------------------------------------------------------- CSV


def test_the_partner_settlement_csv_neutralises_formulas(app, seeded, member):
    from app.members.models import Member
    from app.partners.claims import claim_perk
    from app.partners.settlement import parse_month, settlement_csv, settlement_for
    from tests.partners.helpers import make_partner, make_perk

    with seeded():
        partner = make_partner(name='=HYPERLINK("http://evil.example","x")')
        perk = make_perk(partner, title="+1+cmd|' /C calc'!A0")
        claim_perk(db.session.get(Member, member["id"]), perk.id)
        partner_id = partner.id
    with app.app_context(), app.test_request_context():
        from app.partners.models import Partner

        body = settlement_csv(
            settlement_for(db.session.get(Partner, partner_id), parse_month(None))
        )
    for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))):
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), row
