"""POST /api/v1/checkin and /checkin/batch: the gate with a dealer's key or a staff session."""

from datetime import timedelta

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from app.events import checkin
from app.events.models import (
    CheckIn,
    EventKind,
    EventRegistration,
    RegistrationStatus,
    ScanConflict,
)
from app.events.services import cancel_registration, create_event, sign_up
from app.extensions import db
from app.loyalty.services import account_for
from app.members.models import Member
from tests.api.conftest import assert_error
from tests.conftest import login
from tests.factories import make_member, make_staff, make_vehicle


def _trip(staff, now, title):
    return create_event(
        staff,
        kind=EventKind.TRIP,
        title=title,
        place="Huizhou",
        starts_at=now + timedelta(days=10),
        ends_at=now + timedelta(days=11),
        registration_opens_at=now - timedelta(days=1),
        registration_closes_at=now + timedelta(days=8),
        capacity=10,
        max_companions=2,
        attendance_points=200,
        waiver_text="At my own risk.",
    )


@pytest.fixture
def gate(app, seeded, dealers, clock) -> dict:
    """A SZ01 trip with a confirmed owner (two companions), a cancelled and an unpaid one, and
    another SZ01 trip; the clock an hour after the trip starts. Ids and tickets."""
    with seeded():
        staff = make_staff("event_staff", dealers["SZ01"])
        trip = _trip(staff, clock.now(), "Lake Dongjiang self-drive")
        other = _trip(staff, clock.now(), "Another trip")
        people = {}
        for name in ("Zhang Wei", "Leaver", "Payer"):
            member = make_member(dealers["SZ01"], name=name)
            car = make_vehicle(member, model="Sagitar", plate=None)
            people[name] = sign_up(
                member,
                trip.id,
                vehicle_id=car.id,
                accept_waiver=True,
                companions=2 if name == "Zhang Wei" else 0,
                companion_names="Li Na, Zhang Min" if name == "Zhang Wei" else "",
            )
        cancel_registration(people["Leaver"].member, people["Leaver"].id)
        people["Payer"].status = RegistrationStatus.PENDING
        db.session.flush()
        ids = {
            "event_id": trip.id,
            "other_event_id": other.id,
            "starts_at": trip.starts_at,
            "registration_id": people["Zhang Wei"].id,
            "member_id": people["Zhang Wei"].member_id,
            "vehicle_id": people["Zhang Wei"].vehicle_id,
            "ticket": checkin.ticket_token(people["Zhang Wei"]),
            "cancelled": checkin.ticket_token(people["Leaver"]),
            "unpaid": checkin.ticket_token(people["Payer"]),
        }
    clock.at = ids["starts_at"] + timedelta(hours=1)
    return ids


def balance(app, member_id: int) -> int:
    with app.app_context():
        return account_for(db.session.get(Member, member_id)).balance


def rows(app, model, registration_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(model.id)).where(model.registration_id == registration_id)
        )


def attendee(gate) -> dict:
    return {
        "registration_id": gate["registration_id"],
        "name": "Zhang Wei",
        "companions": 2,
        "companion_names": "Li Na, Zhang Min",
        "car": {"model": "Sagitar", "colour": "White", "plate": None},
    }


# ---------------------------------------------------------------------------- with a key


def test_a_ticket_checks_in_once_with_a_key(app, api, gate, clock):
    body = {"event_id": gate["event_id"], "ticket": gate["ticket"], "nonce": "key-scan-0001"}
    first = api.post("/checkin", body)
    assert first.status_code == 201, first.get_json()
    assert first.get_json() == {
        "status": "checked_in",
        "checked_in_at": clock.now().isoformat(),
        "attendee": attendee(gate),
    }
    checked_at = clock.now().isoformat()

    clock.advance(minutes=12)
    second = api.post("/checkin", {**body, "nonce": "key-scan-0002"})
    assert second.status_code == 409
    assert second.get_json() == {
        "status": "already_checked_in",
        "checked_in_at": checked_at,
        "attendee": attendee(gate),
    }
    # The same send again (a lost answer) answers as the first time.
    replay = api.post("/checkin", body)
    assert replay.status_code == 201 and replay.get_json()["checked_in_at"] == checked_at

    assert balance(app, gate["member_id"]) == 200
    assert rows(app, CheckIn, gate["registration_id"]) == 1
    # The second scan stays on record although it answered 409.
    assert rows(app, ScanConflict, gate["registration_id"]) == 1


@pytest.mark.parametrize(
    ("ticket", "event", "status"),
    [
        ("altered", "event_id", "invalid"),
        ("garbage", "event_id", "invalid"),
        ("ticket", "other_event_id", "wrong_event"),
        ("cancelled", "event_id", "cancelled"),
        ("unpaid", "event_id", "unpaid"),
    ],
)
def test_refused_tickets_answer_422_with_the_reason(app, api, gate, ticket, event, status):
    tickets = {**gate, "altered": gate["ticket"][:-6] + "AAAAAA", "garbage": "CC1.nope"}
    response = api.post("/checkin", {"event_id": gate[event], "ticket": tickets[ticket]})
    assert response.status_code == 422
    body = response.get_json()
    assert body["status"] == status
    assert "error" not in body and "checked_in_at" not in body
    if status in ("cancelled", "unpaid"):
        assert body["attendee"]["name"] in ("Leaver", "Payer")
    else:
        assert "attendee" not in body
    assert balance(app, gate["member_id"]) == 0


def test_an_edited_events_check_in_window_applies_at_once(app, api, gate, clock, seeded, dealers):
    """The gate's event is kept per process (app.core.caches): an edit is not hidden by it."""
    from app.auth.models import User
    from app.events.services import update_event

    refused = {"event_id": gate["event_id"], "ticket": gate["cancelled"], "nonce": "edit-0001"}
    assert api.post("/checkin", refused).get_json()["status"] == "cancelled"  # now cached
    with seeded():
        staff_id = make_staff("event_staff", dealers["SZ01"]).id
        update_event(
            db.session.get(User, staff_id),
            gate["event_id"],
            starts_at=clock.now() + timedelta(days=1),
            ends_at=clock.now() + timedelta(days=2),
        )
    body = {"event_id": gate["event_id"], "ticket": gate["ticket"], "nonce": "edit-0002"}
    later = api.post("/checkin", body)
    assert later.status_code == 422 and later.get_json()["status"] == "outside_window"
    with seeded():
        update_event(
            db.session.get(User, staff_id),
            gate["event_id"],
            starts_at=gate["starts_at"],
            ends_at=gate["starts_at"] + timedelta(days=1),
        )
    assert api.post("/checkin", {**body, "nonce": "edit-0003"}).status_code == 201


def test_another_dealers_key_finds_no_event(app, api, gate):
    body = {"event_id": gate["event_id"], "ticket": gate["ticket"]}
    assert_error(api.post("/checkin", body, dealer="GZ01"), 404)
    batch = {
        "event_id": gate["event_id"],
        "scans": [
            {
                "ticket": gate["ticket"],
                "nonce": "gz-scan-0001",
                "scanned_at": "2026-12-03T03:00:00Z",
            }
        ],
    }
    assert_error(api.post("/checkin/batch", batch, dealer="GZ01"), 404)
    assert_error(api.post("/checkin", {**body, "event_id": 999_999}), 404)
    assert rows(app, CheckIn, gate["registration_id"]) == 0


def test_no_key_and_no_session_is_401(api, gate):
    body = {"event_id": gate["event_id"], "ticket": gate["ticket"]}
    assert_error(api.post("/checkin", body, dealer=None), 401)
    assert_error(api.post("/checkin/batch", body, dealer=None), 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ticket": "CC1.x"}, "event_id"),
        ({"event_id": "1", "ticket": "CC1.x"}, "event_id"),
        ({"event_id": 1}, "ticket"),
        ({"event_id": 1, "ticket": "CC1.x", "nonce": "short"}, "nonce"),
        ({"event_id": 1, "ticket": "CC1.x", "nonce": "has spaces in it"}, "nonce"),
        ({"event_id": 1, "ticket": "CC1.x", "extra": 1}, "extra"),
    ],
)
def test_a_bad_body_is_the_usual_error(api, gate, body, field):
    assert_error(api.post("/checkin", body), 422, "validation_failed", field)


@pytest.mark.parametrize(
    ("scans", "field"),
    [
        ([], "scans"),
        ([{"ticket": "CC1.x", "scanned_at": "2026-12-03T03:00:00Z"}], "scans.0.nonce"),
        (
            [{"ticket": "CC1.x", "nonce": "abcdefgh", "scanned_at": "2026-12-03T03:00"}],
            "scans.0.scanned_at",
        ),
        (
            [{"ticket": "CC1.x", "nonce": "abcdefgh", "scanned_at": "2026-12-03T03:00Z"}] * 501,
            "scans",
        ),
    ],
)
def test_a_bad_batch_is_the_usual_error(api, gate, scans, field):
    body = {"event_id": gate["event_id"], "scans": scans}
    assert_error(api.post("/checkin/batch", body), 422, "validation_failed", field)


def test_a_batch_answers_each_scan_and_a_replay_changes_nothing(app, api, gate, clock):
    starts = gate["starts_at"]
    scans = [
        {
            "ticket": gate["ticket"],
            "nonce": "phone-a-000001",
            "scanned_at": (starts + timedelta(minutes=5)).isoformat(),
        },
        {
            "ticket": gate["ticket"],
            "nonce": "phone-a-000002",
            "scanned_at": (starts + timedelta(minutes=9)).isoformat(),
        },
        {
            "ticket": gate["cancelled"],
            "nonce": "phone-a-000003",
            "scanned_at": (starts + timedelta(minutes=7)).isoformat(),
        },
    ]
    body = {"event_id": gate["event_id"], "scans": scans}
    first = api.post("/checkin/batch", body)
    assert first.status_code == 200, first.get_json()
    checked_at = (starts + timedelta(minutes=5)).isoformat()
    expected = {
        "results": [
            {
                "nonce": "phone-a-000001",
                "status": "checked_in",
                "checked_in_at": checked_at,
                "conflict": False,
                "attendee": attendee(gate),
            },
            {
                "nonce": "phone-a-000002",
                "status": "already_checked_in",
                "checked_in_at": checked_at,
                "conflict": True,
                "attendee": attendee(gate),
            },
            {
                "nonce": "phone-a-000003",
                "status": "cancelled",
                "checked_in_at": None,
                "conflict": False,
                "attendee": {
                    **attendee(gate),
                    "registration_id": gate["registration_id"] + 1,
                    "name": "Leaver",
                    "companions": 0,
                    "companion_names": "",
                },
            },
        ],
        "checked_in": 1,
        "conflicts": 1,
    }
    assert first.get_json() == expected

    clock.advance(minutes=30)
    again = api.post("/checkin/batch", body)
    assert again.status_code == 200
    assert again.get_json() == expected
    assert balance(app, gate["member_id"]) == 200
    assert rows(app, CheckIn, gate["registration_id"]) == 1
    assert rows(app, ScanConflict, gate["registration_id"]) == 1
    with app.app_context():
        assert db.session.scalar(select(CheckIn.source)) == "offline"


def test_an_online_check_in_then_the_same_scan_in_an_upload_is_one_check_in(app, api, gate):
    """The phone gave up waiting for the server and queued the scan with the same nonce."""
    online = api.post(
        "/checkin",
        {"event_id": gate["event_id"], "ticket": gate["ticket"], "nonce": "slow-scan-01"},
    )
    assert online.status_code == 201
    batch = api.post(
        "/checkin/batch",
        {
            "event_id": gate["event_id"],
            "scans": [
                {
                    "ticket": gate["ticket"],
                    "nonce": "slow-scan-01",
                    "scanned_at": "2026-12-03T02:30:00Z",
                }
            ],
        },
    )
    [item] = batch.get_json()["results"]
    assert (item["status"], item["conflict"]) == ("checked_in", False)
    assert item["checked_in_at"] == online.get_json()["checked_in_at"]
    assert rows(app, ScanConflict, gate["registration_id"]) == 0


# ------------------------------------------------------------------------- with a session


@pytest.fixture
def event_staff(app, seeded, dealers):
    """A client logged in as event staff of SZ01 (it sends no API key)."""
    with seeded():
        mobile = make_staff("event_staff", dealers["SZ01"]).mobile
    client = app.test_client()
    login(client, mobile)
    return client


def session_post(client, path: str, body: dict, *, csrf: bool = True):
    headers = {"X-CSRFToken": client.csrf_token()} if csrf else {}
    return client.post(f"/api/v1{path}", json=body, headers=headers, with_csrf=False)


def test_event_staff_check_in_with_their_session_and_the_csrf_token(app, event_staff, gate, clock):
    body = {"event_id": gate["event_id"], "ticket": gate["ticket"], "nonce": "session-scan-1"}
    response = session_post(event_staff, "/checkin", body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["attendee"] == attendee(gate)
    again = session_post(event_staff, "/checkin", {**body, "nonce": "session-scan-2"})
    assert again.status_code == 409
    assert again.get_json()["checked_in_at"] == clock.now().isoformat()
    with app.app_context():
        check = db.session.scalar(select(CheckIn))
        assert check.staff_id is not None and check.source == "online"
    upload = session_post(
        event_staff,
        "/checkin/batch",
        {
            "event_id": gate["event_id"],
            "scans": [
                {
                    "ticket": gate["unpaid"],
                    "nonce": "session-scan-3",
                    "scanned_at": clock.now().isoformat(),
                }
            ],
        },
    )
    assert upload.status_code == 200
    assert upload.get_json()["results"][0]["status"] == "unpaid"


def test_a_session_call_without_the_csrf_token_is_refused(app, event_staff, gate):
    body = {"event_id": gate["event_id"], "ticket": gate["ticket"]}
    for path in ("/checkin", "/checkin/batch"):
        assert_error(session_post(event_staff, path, body, csrf=False), 400)
    response = event_staff.post(
        "/api/v1/checkin", json=body, headers={"X-CSRFToken": "forged"}, with_csrf=False
    )
    assert_error(response, 400)
    assert rows(app, CheckIn, gate["registration_id"]) == 0


def test_staff_without_the_permission_or_of_another_dealer_are_refused(app, staff_factory, gate):
    body = {"event_id": gate["event_id"], "ticket": gate["ticket"]}
    consultant = staff_factory("sales_consultant", "SZ01")
    assert_error(session_post(consultant, "/checkin", body), 403)
    other_dealer = staff_factory("event_staff", "GZ01")
    assert_error(session_post(other_dealer, "/checkin", body), 404)
    hq = staff_factory("hq_admin", None)
    assert session_post(hq, "/checkin", body).status_code == 201


def test_a_session_does_not_open_the_other_endpoints(staff_factory, gate):
    hq = staff_factory("hq_admin", None)
    assert_error(hq.get("/api/v1/members/by-card/8000000000000000"), 401)


def test_the_openapi_document_lists_both_endpoints(api):
    document = api.get("/openapi.json", dealer=None).get_json()
    validate(document)
    single = document["paths"]["/api/v1/checkin"]["post"]
    batch = document["paths"]["/api/v1/checkin/batch"]["post"]
    assert set(single["responses"]) >= {"201", "409", "422", "404"}
    assert single["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CheckInRequest"
    }
    assert "X-CSRFToken" in single["description"]
    assert set(batch["responses"]) >= {"200", "404", "422"}
    schemas = document["components"]["schemas"]
    assert schemas["CheckInRefused"]["properties"]["status"]["enum"] == [
        "invalid",
        "wrong_event",
        "not_signed_up",
        "cancelled",
        "unpaid",
        "outside_window",
    ]
    # A scan names the ticket read or the registration tapped (one of them, checked on load).
    assert schemas["OfflineScan"]["required"] == ["nonce", "scanned_at"]
    assert {"ticket", "registration_id"} <= set(schemas["OfflineScan"]["properties"])
    assert {"CheckedIn", "AlreadyCheckedIn", "CheckInBatch", "GateAttendee"} <= set(schemas)


# ------------------------------------------------- short codes, member cards, taps (issue 18)


def test_a_batch_takes_a_member_card_a_short_code_and_a_tap(app, api, gate, clock, dealers):
    from app.cards.services import active_card
    from tests.cards.test_devices import Phone

    with app.app_context(), app.test_request_context():
        registration = db.session.get(EventRegistration, gate["registration_id"])
        phone = Phone().certify(active_card(registration.member))
        scanned = clock.now()
        card_code = phone.code(scanned - timedelta(seconds=5))
        stale = phone.code(scanned - timedelta(seconds=61))
        short = registration.ticket_code.lower()
        db.session.commit()
    at = scanned.isoformat()
    # The stale card code is refused; the live one checks the owner in; the short code and the
    # tap then find the owner already in: one check-in.
    scans = [
        {"ticket": stale, "nonce": "card-stale-01", "scanned_at": at},
        {"ticket": card_code, "nonce": "card-live-01", "scanned_at": at},
        {"ticket": f"{short[:4]}-{short[4:]}", "nonce": "code-typed-01", "scanned_at": at},
        {"registration_id": gate["registration_id"], "nonce": "tap-000001", "scanned_at": at},
    ]
    clock.advance(minutes=30)
    response = api.post("/checkin/batch", {"event_id": gate["event_id"], "scans": scans})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == [
        "invalid",
        "checked_in",
        "already_checked_in",
        "already_checked_in",
    ]
    assert results[0]["message"].startswith("This code is old")
    assert rows(app, CheckIn, gate["registration_id"]) == 1


def test_a_tap_checks_in_online_as_manual(app, api, gate):
    body = {"event_id": gate["event_id"], "registration_id": gate["registration_id"]}
    response = api.post("/checkin", {**body, "nonce": "tap-online-01"})
    assert response.status_code == 201
    assert response.get_json()["attendee"] == attendee(gate)
    with app.app_context():
        source = db.session.scalar(
            select(CheckIn.source).where(CheckIn.registration_id == gate["registration_id"])
        )
    assert source == "manual"
    # Another event's registration is not tapped in.
    other = {"event_id": gate["other_event_id"], "registration_id": gate["registration_id"]}
    assert api.post("/checkin", other).get_json()["status"] == "invalid"


@pytest.mark.parametrize(
    "scan",
    [
        {"ticket": "CC1.x", "registration_id": 1},
        {},
        {"registration_id": 0},
        {"registration_id": "1"},
    ],
)
def test_a_scan_names_a_ticket_or_a_registration(api, gate, scan):
    body = {"event_id": gate["event_id"], **scan}
    response = api.post("/checkin", body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"
