"""The API against its own OpenAPI document (schemathesis).

Every operation is fuzzed with bodies, paths and queries made from the document, valid and
not, with a real key on a seeded database: no answer is a 500, every answer is documented
(status code, content type, headers, body schema), a method the address does not serve is a
405 that lists the allowed ones, and no operation answers without the key.

Random data rarely reaches the answers that need a secret or a state: a ticket is an Ed25519
signature (random text is always refused as ``invalid``), a voucher code or card number is one
of few in 10^16, and a callback needs a referral whose licence was checked. The fuzz still
drives their validation and refusals; ``test_the_documented_answers_of_a_working_day`` then
sends real tickets, codes and callback steps and checks those answers against the document.
"""

import shutil
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from app.cards.services import active_card
from app.events import checkin
from app.events.services import sign_up
from app.extensions import db
from app.rewards.services import redeem_reward
from tests.api.conftest import make_key
from tests.api.test_referrals import build_referral
from tests.conftest import make_app
from tests.factories import (
    give_points,
    make_dealer,
    make_event,
    make_member,
    make_reward,
    make_staff,
    make_vehicle,
    valid_vin,
)

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.unsupported_method,
    checks.ignored_auth,
    checks.missing_required_header,
]
# Not run: positive_data_acceptance (a VIN, mobile or card number can fit the document's
# types and still fail its check digit or format: 422 by design) and negative_data_rejection
# (unknown query parameters are ignored, as the document says).

# The document depends on the routes only, so it is read at collection from an app on an empty
# in-memory database; the cases are sent to the seeded apps of the tests. (A lazy schema from a
# fixture, schemathesis.pytest.from_fixture, does not run on pytest 9.2: it sets a node's
# ``_nodeid``, which pytest no longer has.)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", make_app("sqlite://"))


def _seed(clock_now) -> dict:
    """Owners, a voucher, a referral ready for its callback and a trip with a confirmed place
    at SZ01; an owner at GZ01. What the requests name, by name."""
    sz, gz = make_dealer("SZ01"), make_dealer("GZ01")
    owner = make_member(sz.id, name="Zhang Wei")
    car = make_vehicle(owner)
    give_points(owner, 5000)
    voucher = redeem_reward(owner, make_reward(sz.id).id)
    make_member(gz.id, name="Chen Jie")
    referral = build_referral(sz.id)
    trip = make_event(make_staff("event_staff", sz.id), now=clock_now, attendance_points=50)
    place = sign_up(owner, trip.id, vehicle_id=car.id, accept_waiver=True)
    return {
        "card": active_card(owner).number,
        "voucher": voucher.code,
        "referral": referral,
        "event_id": trip.id,
        "starts_at": trip.starts_at,
        "ticket": checkin.ticket_token(place),
    }


@pytest.fixture(scope="module")
def fuzzed(template_db, tmp_path_factory):
    """One seeded app for every operation's fuzz, and the headers of a key of SZ01."""
    path = tmp_path_factory.mktemp("fuzz") / "carclub.sqlite"
    shutil.copy(template_db, path)
    app = make_app(f"sqlite:///{path}")
    with app.app_context(), app.test_request_context():
        _seed(app.extensions["clock"].now())
        db.session.commit()
    yield app, {"Authorization": f"Bearer {make_key(app, 'SZ01')}"}
    with app.app_context():
        db.engine.dispose()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same cases on every run, so CI is repeatable
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_documented(case, fuzzed):
    app, headers = fuzzed
    # call_and_validate raises, naming the check, when an answer breaks the document.
    response = case.call_and_validate(app=app, headers=headers, checks=CHECKS)
    assert response.status_code < 500


# ------------------------------------------------------------------ the answers fuzz misses


class Caller:
    """Sends one request through the document's operation and checks the answer against it."""

    def __init__(self, app, key: str):
        self.app = app
        self.headers = {"Authorization": f"Bearer {key}"}

    def __call__(self, method: str, path: str, status: int, *, body=None, **path_parameters):
        operation = schema[path][method]
        kwargs = {"path_parameters": path_parameters}
        if body is not None:
            kwargs |= {"body": body, "media_type": "application/json"}
        case = operation.Case(**kwargs)
        response = case.call_and_validate(app=self.app, headers=self.headers, checks=CHECKS)
        assert response.status_code == status, response.text
        return response.json()


@pytest.fixture
def day(app, clock):
    """The seeded app's figures, and a caller with a key of SZ01."""
    with app.app_context(), app.test_request_context():
        seeded = _seed(clock.now())
        db.session.commit()
    return seeded, Caller(app, make_key(app, "SZ01"))


def test_the_documented_answers_of_a_working_day(day, clock):
    seeded, call = day
    vin = valid_vin()
    delivery = {
        "delivered_on": "2026-11-20",
        "sales_consultant": "Wang Fang",
        "customer": {"name": "Li Lei", "mobile": "13700001111"},
        "vehicle": {"vin": vin, "model": "Golf", "colour": "red", "transmission": "manual"},
    }
    call("POST", "/api/v1/dms/deliveries", 201, body=delivery)
    call("POST", "/api/v1/dms/deliveries", 200, body=delivery)
    visit = {
        "ro_number": "RO/2026/001",
        "vin": vin,
        "visited_on": "2026-11-21",
        "mileage_km": 5000,
        "amount_yuan": 1280.5,
        "category": "maintenance",
    }
    call("POST", "/api/v1/dms/service-visits", 201, body=visit)
    call("POST", "/api/v1/dms/service-visits", 200, body=visit)
    differs = call("POST", "/api/v1/dms/service-visits", 409, body={**visit, "amount_yuan": 99})
    assert differs["error"]["recorded"]["amount_yuan"] == "1280.50"
    amend = "/api/v1/dms/service-visits/{ro_number}/amend"
    corrected = {k: v for k, v in visit.items() if k != "ro_number"}
    corrected.update(amount_yuan=99, reason="Keyed wrongly")
    call("POST", amend, 201, body=corrected, ro_number="RO/2026/001")
    call("POST", amend, 200, body=corrected, ro_number="RO/2026/001")
    refund = "/api/v1/dms/service-visits/{ro_number}/refund"
    call("POST", refund, 200, ro_number="RO/2026/001")
    call("POST", refund, 200, ro_number="RO/2026/001")
    call("POST", refund, 404, ro_number="RO/2026/404")
    call("POST", amend, 409, body=corrected, ro_number="RO/2026/001")

    call("GET", "/api/v1/members/by-card/{card_number}", 200, card_number=seeded["card"])
    call("POST", "/api/v1/vouchers/redeem", 200, body={"code": seeded["voucher"]})
    refused = call("POST", "/api/v1/vouchers/redeem", 409, body={"code": seeded["voucher"]})
    assert refused["status"] == "already_redeemed"

    referral = seeded["referral"]
    agent = {"agent_mobile": referral["agent"]}
    assert call("GET", "/api/v1/referrals", 200)["total"] == 1
    call("GET", "/api/v1/referrals/{referral_id}", 200, referral_id=referral["id"])
    started = call(
        "POST",
        "/api/v1/referrals/{referral_id}/callback/start",
        200,
        body=agent,
        referral_id=referral["id"],
    )
    call(
        "POST",
        "/api/v1/referrals/{referral_id}/callback/attempts",
        201,
        body={**agent, "reached": True, "note": "Answered"},
        referral_id=referral["id"],
    )
    answer = "/api/v1/referrals/{referral_id}/callback/questions/{question_id}/answer"
    for question in started["questions"]:
        call(
            "POST",
            answer,
            200,
            body={**agent, "correct": True},
            referral_id=referral["id"],
            question_id=question["id"],
        )
    call(
        "POST",
        answer,
        409,
        body={**agent, "correct": False},
        referral_id=referral["id"],
        question_id=started["questions"][0]["id"],
    )
    done = call(
        "POST",
        "/api/v1/referrals/{referral_id}/callback/complete",
        200,
        body={**agent, "recording_ref": "CC-1"},
        referral_id=referral["id"],
    )
    assert done["decision"]["outcome"] == "approved"

    clock.at = seeded["starts_at"] + timedelta(hours=1)
    scan = {"event_id": seeded["event_id"], "ticket": seeded["ticket"], "nonce": "scan-0001"}
    call("POST", "/api/v1/checkin", 201, body=scan)
    call("POST", "/api/v1/checkin", 409, body={**scan, "nonce": "scan-0002"})
    forged = {**scan, "ticket": seeded["ticket"][:-4] + "AAAA", "nonce": "scan-0003"}
    assert call("POST", "/api/v1/checkin", 422, body=forged)["status"] == "invalid"
    assert "error" in call("POST", "/api/v1/checkin", 422, body={"event_id": 1})
    offline = {
        "ticket": seeded["ticket"],
        "nonce": "offline-0001",
        "scanned_at": clock.now().isoformat(),
    }
    batch = call(
        "POST",
        "/api/v1/checkin/batch",
        200,
        body={"event_id": seeded["event_id"], "scans": [offline]},
    )
    assert batch["results"][0]["status"] == "already_checked_in"


# ------------------------------------------------------------- what the fuzz found, pinned

HUGE = 2**63  # past SQLite's INTEGER; past PostgreSQL's from 2**31


def test_odd_requests_answer_their_documented_errors(db_app):
    """Ids no row can have, NUL characters PostgreSQL cannot store, a page past any OFFSET and
    a method the address does not serve: each answers its documented error, not a 500."""
    app = db_app
    with app.app_context(), app.test_request_context():
        make_dealer("SZ01")
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {make_key(app, 'SZ01')}"}

    def post(path, body=None):
        return client.post(f"/api/v1{path}", json=body, headers=headers, with_csrf=False)

    for referral_id in (2**31, HUGE):
        assert client.get(f"/api/v1/referrals/{referral_id}", headers=headers).status_code == 404
        assert post(f"/referrals/{referral_id}/callback/start", {}).status_code == 404
    assert post(f"/referrals/1/callback/questions/{HUGE}/answer", {}).status_code == 404
    assert "event_id" in post("/checkin", {"event_id": HUGE, "ticket": "x"}).json["error"]["fields"]
    page = client.get("/api/v1/referrals", query_string={"page": HUGE}, headers=headers)
    assert page.status_code == 422 and "page" in page.json["error"]["fields"]

    assert post("/vouchers/redeem", {"code": "AB\x00CD"}).status_code == 422
    assert post("/dms/service-visits/RO%00/refund").status_code == 404
    assert client.get("/api/v1/members/by-card/81%0023", headers=headers).status_code == 404
    delivery = post(
        "/dms/deliveries",
        {
            "delivered_on": "2026-11-20",
            "sales_consultant": "Wang\x00",
            "customer": {"name": "Li\x00Lei", "mobile": "13700001111"},
            "vehicle": {
                "vin": valid_vin(),
                "model": "Golf",
                "colour": "red",
                "transmission": "manual",
            },
        },
    )
    assert delivery.status_code == 422
    assert {"sales_consultant", "customer.name"} <= set(delivery.json["error"]["fields"])

    wrong_method = client.put("/api/v1/vouchers/redeem", headers=headers)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "OPTIONS, POST"
