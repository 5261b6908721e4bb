"""The gate (R7): a ticket checks in once with its points once, offline uploads replay safely,
two phones' scans of one ticket make one check-in and a reported conflict, bad tickets are
refused with their reason."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from app.auth.models import User
from app.core.errors import NotFound
from app.core.tokens import PREFIX, TokenSigner, b64decode, b64encode
from app.events import checkin, services
from app.events.checkin import Scan
from app.events.models import CheckIn, EventRegistration, RegistrationStatus, ScanConflict
from app.extensions import db
from app.loyalty.models import PointsEntry
from app.loyalty.services import account_for
from app.members.models import Member
from tests.events.test_services import join, make_trip, owner
from tests.factories import make_staff


@pytest.fixture
def staff(ctx, dealers):
    return make_staff("event_staff", dealers["SZ01"])


@pytest.fixture
def trip_day(staff, clock):
    """A trip open for sign-up now; ``at_the_gate`` moves the clock to its day."""
    return make_trip(staff, clock, capacity=5)


def at_the_gate(clock, trip):
    """Move the clock to an hour after the trip starts."""
    clock.at = trip.starts_at + timedelta(hours=1)
    return clock.now()


def counts(registration) -> tuple[int, int]:
    """(check-ins, conflicts) of a registration."""
    check_ins = db.session.scalar(
        select(func.count(CheckIn.id)).where(CheckIn.registration_id == registration.id)
    )
    conflicts = db.session.scalar(
        select(func.count(ScanConflict.id)).where(ScanConflict.registration_id == registration.id)
    )
    return check_ins, conflicts


def event_points(member) -> int:
    return db.session.scalar(
        select(func.count(PointsEntry.id)).where(
            PointsEntry.account_id == account_for(member).id, PointsEntry.source == "event"
        )
    )


def tamper(token: str) -> str:
    """The token with one bit of its subject id flipped (signature left as it was)."""
    raw = bytearray(b64decode(token[len(PREFIX) :]))
    raw[9] ^= 0x01
    return PREFIX + b64encode(bytes(raw))


# ------------------------------------------------------------------------------ online


def test_the_same_ticket_twice_is_already_checked_in_and_points_come_once(
    staff, dealers, clock, trip_day
):
    member = owner(dealers)
    registration = join(member, trip_day)
    token = checkin.ticket_token(registration)
    opened = at_the_gate(clock, trip_day)

    first = checkin.check_in(staff, event_id=trip_day.id, ticket=token, nonce="phone-a-0001")
    assert (first.status, first.checked_in_at) == ("checked_in", opened)
    assert first.registration.id == registration.id

    clock.advance(minutes=7)
    second = checkin.check_in(staff, event_id=trip_day.id, ticket=token, nonce="phone-a-0002")
    assert second.status == "already_checked_in"
    assert second.checked_in_at == opened
    # Without a nonce (the page's form without JavaScript) the answer is the same.
    assert checkin.check_in(staff, event_id=trip_day.id, ticket=token).status == (
        "already_checked_in"
    )

    assert account_for(member).balance == 300
    assert event_points(member) == 1
    assert counts(registration) == (1, 1)
    check = db.session.scalar(select(CheckIn).where(CheckIn.registration_id == registration.id))
    assert (check.source, check.staff_id, check.nonce) == ("online", staff.id, "phone-a-0001")


def test_a_nonce_spent_on_another_ticket_does_not_pass_for_a_replay(
    staff, dealers, clock, trip_day
):
    first, second = join(owner(dealers, "A"), trip_day), join(owner(dealers, "B"), trip_day)
    at_the_gate(clock, trip_day)
    nonce = "reused-nonce-01"
    checkin.check_in(staff, event_id=trip_day.id, ticket=checkin.ticket_token(first), nonce=nonce)
    result = checkin.check_in(
        staff, event_id=trip_day.id, ticket=checkin.ticket_token(second), nonce=nonce
    )
    assert result.status == "checked_in" and result.registration.id == second.id
    assert counts(second) == (1, 0)


# ------------------------------------------------------------------------------ offline


def test_a_batch_replayed_twice_changes_nothing(staff, dealers, clock, trip_day):
    members = [owner(dealers, f"O{i}") for i in range(3)]
    registrations = [join(m, trip_day) for m in members]
    opened = at_the_gate(clock, trip_day)
    scans = [
        Scan(checkin.ticket_token(r), f"offline-{i:04d}", opened + timedelta(minutes=i))
        for i, r in enumerate(registrations)
    ]
    # The third ticket scanned twice on the same phone (a second nonce) before the upload.
    scans.append(Scan(scans[2].ticket, "offline-0099", opened + timedelta(minutes=5)))
    clock.advance(hours=1)

    first = checkin.check_in_batch(staff, event_id=trip_day.id, scans=scans)
    assert [(b.nonce, b.result.status, b.conflict) for b in first] == [
        ("offline-0000", "checked_in", False),
        ("offline-0001", "checked_in", False),
        ("offline-0002", "checked_in", False),
        ("offline-0099", "already_checked_in", True),
    ]
    # Each check-in keeps the phone's time of the scan, not the upload's.
    assert [b.result.checked_in_at for b in first[:3]] == [s.scanned_at for s in scans[:3]]
    db.session.commit()

    again = checkin.check_in_batch(staff, event_id=trip_day.id, scans=scans)
    assert [(b.nonce, b.result.status, b.result.checked_in_at, b.conflict) for b in again] == [
        (b.nonce, b.result.status, b.result.checked_in_at, b.conflict) for b in first
    ]
    assert [counts(r) for r in registrations] == [(1, 0), (1, 0), (1, 1)]
    assert [account_for(m).balance for m in members] == [300, 300, 300]
    assert [event_points(m) for m in members] == [1, 1, 1]
    assert set(db.session.scalars(select(CheckIn.source))) == {"offline"}


def test_two_phones_offline_make_one_check_in_and_a_reported_conflict(
    staff, dealers, clock, trip_day
):
    member = owner(dealers)
    registration = join(member, trip_day)
    token = checkin.ticket_token(registration)
    opened = at_the_gate(clock, trip_day)
    other_phone = make_staff("event_staff", dealers["SZ01"])
    clock.advance(minutes=30)

    # Phone B uploads first, then phone A: the first upload checks the ticket in.
    by_b = checkin.check_in_batch(
        other_phone,
        event_id=trip_day.id,
        scans=[Scan(token, "phone-b-scan-1", opened + timedelta(minutes=3))],
    )
    by_a = checkin.check_in_batch(
        staff, event_id=trip_day.id, scans=[Scan(token, "phone-a-scan-1", opened)]
    )
    assert (by_b[0].result.status, by_b[0].conflict) == ("checked_in", False)
    assert (by_a[0].result.status, by_a[0].conflict) == ("already_checked_in", True)
    assert by_a[0].result.checked_in_at == opened + timedelta(minutes=3)
    assert counts(registration) == (1, 1)
    assert account_for(member).balance == 300

    [conflict] = checkin.scan_conflicts(trip_day)
    assert conflict.registration.id == registration.id
    assert (conflict.scanned_at, conflict.checked_in_at) == (opened, opened + timedelta(minutes=3))
    assert conflict.staff_name == staff.name
    assert checkin.gate_summary(trip_day) == checkin.GateSummary(1, 1, 1)


def test_a_phone_clock_in_the_future_gives_the_upload_time_and_a_scan_before_the_window_is_refused(
    staff, dealers, clock, trip_day
):
    early, late, good = (join(owner(dealers, n), trip_day) for n in ("Early", "Late", "Good"))
    opened = at_the_gate(clock, trip_day)
    window_opens, _ends = checkin.checkin_window(trip_day)
    clock.advance(minutes=20)
    uploaded = clock.now()
    results = checkin.check_in_batch(
        staff,
        event_id=trip_day.id,
        scans=[
            Scan(checkin.ticket_token(early), "clock-early-1", window_opens - timedelta(seconds=1)),
            Scan(checkin.ticket_token(late), "clock-late-01", uploaded + timedelta(hours=3)),
            Scan(checkin.ticket_token(good), "clock-good-01", window_opens),
        ],
    )
    assert [r.result.status for r in results] == ["outside_window", "checked_in", "checked_in"]
    assert [r.result.checked_in_at for r in results] == [None, uploaded, window_opens]
    assert "check-in is not open: it opens at" in results[0].result.message
    assert counts(early) == (0, 0)
    assert opened > window_opens


# ------------------------------------------------------------------------------ refused


def test_forged_altered_wrong_event_cancelled_and_unpaid_tickets_are_refused(
    app, staff, dealers, clock, trip_day
):
    other_trip = make_trip(staff, clock, title="Another trip")
    member = owner(dealers)
    registration = join(member, trip_day)
    token = checkin.ticket_token(registration)
    cancelled = join(owner(dealers, "Leaver"), trip_day)
    cancelled_token = checkin.ticket_token(cancelled)
    services.cancel_registration(cancelled.member, cancelled.id)
    unpaid = join(owner(dealers, "Payer"), trip_day)
    unpaid.status = RegistrationStatus.PENDING  # a paid event's place held until paid
    waiting = join(owner(dealers, "Waiter"), trip_day)
    waiting.status = RegistrationStatus.WAITING
    db.session.flush()
    at_the_gate(clock, trip_day)

    # Signed with a key of the same id that is not the club's.
    key_id = app.extensions["token_signer"].key_id
    stranger = TokenSigner(key_id, Ed25519PrivateKey.generate())
    forged = stranger.sign("ticket", registration.id, now=clock.now())
    card = app.extensions["token_signer"].sign("card", registration.id, now=clock.now())
    refused = {
        "forged": forged,
        "altered": tamper(token),
        "signature cut": token[:-4] + "AAAA",
        "card, not ticket": card,
        "garbage": "hello",
        "empty": "",
    }
    for label, ticket in refused.items():
        result = checkin.check_in(staff, event_id=trip_day.id, ticket=ticket, nonce=None)
        assert result.status == "invalid", label
        assert result.registration is None, label

    wrong = checkin.check_in(staff, event_id=other_trip.id, ticket=token)
    # A ticket of another event says nothing about whose it is.
    assert (wrong.status, wrong.registration) == ("wrong_event", None)
    results = {
        name: checkin.check_in(staff, event_id=trip_day.id, ticket=checkin.ticket_token(r))
        for name, r in (("cancelled", cancelled), ("unpaid", unpaid), ("waiting", waiting))
    }
    assert results["cancelled"].status == "cancelled"
    assert results["unpaid"].status == "unpaid"
    assert results["waiting"].status == "cancelled"
    assert checkin.check_in(
        staff, event_id=trip_day.id, ticket=cancelled_token
    ).registration.id == (cancelled.id)

    # The same refusals in an offline upload.
    batch = checkin.check_in_batch(
        staff,
        event_id=trip_day.id,
        scans=[
            Scan(forged, "refused-000001", clock.now()),
            Scan(tamper(token), "refused-000002", clock.now()),
            Scan(checkin.ticket_token(cancelled), "refused-000003", clock.now()),
            Scan(checkin.ticket_token(unpaid), "refused-000004", clock.now()),
        ],
    )
    assert [b.result.status for b in batch] == ["invalid", "invalid", "cancelled", "unpaid"]
    assert not any(b.conflict for b in batch)
    assert db.session.scalar(select(func.count(CheckIn.id))) == 0
    assert account_for(member).balance == 0


def test_staff_of_another_dealer_and_keys_of_another_dealer_find_no_event(
    staff, dealers, clock, trip_day
):
    registration = join(owner(dealers), trip_day)
    token = checkin.ticket_token(registration)
    at_the_gate(clock, trip_day)
    with pytest.raises(NotFound):
        checkin.check_in(
            make_staff("event_staff", dealers["GZ01"]), event_id=trip_day.id, ticket=token
        )
    with pytest.raises(NotFound):
        checkin.check_in_batch(
            None,
            event_id=trip_day.id,
            scans=[Scan(token, "other-dealer-1", clock.now())],
            dealer_id=dealers["GZ01"],
        )
    hq = make_staff("hq_admin", None)
    assert checkin.check_in(hq, event_id=trip_day.id, ticket=token).status == "checked_in"
    assert counts(registration) == (1, 0)


def test_the_gate_list_has_every_registration_with_its_gate_status(staff, dealers, clock, trip_day):
    confirmed = join(owner(dealers, "Ann"), trip_day)
    unpaid = join(owner(dealers, "Bob"), trip_day)
    unpaid.status = RegistrationStatus.PENDING
    db.session.flush()
    at_the_gate(clock, trip_day)
    checkin.check_in(staff, event_id=trip_day.id, ticket=checkin.ticket_token(confirmed))
    entries = checkin.gate_attendees(trip_day)
    assert [(e.registration.member.name, e.status, e.checked_in_at) for e in entries] == [
        ("Ann", "ok", clock.now()),
        ("Bob", "unpaid", None),
    ]
    described = checkin.describe_attendee(confirmed)
    assert described["name"] == "Ann" and described["car"]["model"]
    assert set(described) == {"registration_id", "name", "companions", "companion_names", "car"}
    assert db.session.get(EventRegistration, confirmed.id).status == RegistrationStatus.CONFIRMED


# ---------------------------------------------------------------------------- the gate page


@pytest.fixture
def gate_page(app, seeded, dealers, clock):
    """A SZ01 trip with a confirmed and an unpaid owner: ids and the confirmed one's ticket;
    the clock on the trip's day."""
    with seeded():
        organiser = make_staff("event_staff", dealers["SZ01"])
        trip = make_trip(organiser, clock)
        registration = join(owner(dealers, "Zhang Wei"), trip)
        join(owner(dealers, "Unpaid owner"), trip).status = RegistrationStatus.PENDING
        info = {"event_id": trip.id, "ticket": checkin.ticket_token(registration)}
        info["registration_id"] = registration.id
        at_the_gate(clock, trip)
    return info


def test_the_gate_page_is_for_the_events_dealer_and_hq(staff_factory, gate_page):
    path = f"/admin/events/{gate_page['event_id']}/checkin"
    for role, dealer, status in (
        ("event_staff", "SZ01", 200),
        ("dealer_admin", "SZ01", 200),
        ("hq_admin", None, 200),
        ("event_staff", "GZ01", 404),
        ("dealer_admin", "GZ01", 404),
    ):
        client = staff_factory(role, dealer)
        assert client.get(path).status_code == status, (role, dealer)
        assert client.get(f"{path}/data").status_code == status, (role, dealer)
    assert staff_factory("event_staff", "SZ01").get("/admin/events/999999/checkin").status_code == (
        404
    )


def test_the_gate_page_gives_its_script_what_it_needs(staff_factory, gate_page):
    page = staff_factory("event_staff", "SZ01").get(
        f"/admin/events/{gate_page['event_id']}/checkin"
    )
    html = page.get_data(as_text=True)
    assert 'data-check-url="/api/v1/checkin"' in html
    assert 'data-batch-url="/api/v1/checkin/batch"' in html
    assert f'data-sw-scope="/admin/events/{gate_page["event_id"]}/checkin"' in html
    assert 'data-t-already-checked-in="Already checked in at {time}"' in html
    assert re.search(r'<script type="module" src="/static/js/checkin\.js\?v=\w+">', html)
    # Strict CSP: no inline script or style on the page.
    assert "<script>" not in html and "style=" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_the_offline_data_has_the_keys_and_every_registration_but_no_contacts(
    app, staff_factory, gate_page
):
    client = staff_factory("event_staff", "SZ01")
    with app.app_context():
        mobiles = [m.mobile for m in db.session.scalars(select(Member))]
    response = client.get(f"/admin/events/{gate_page['event_id']}/checkin/data")
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    assert data["keys"] == app.extensions["token_signer"].public_keys()
    assert data["event"]["id"] == gate_page["event_id"]
    assert [(a["name"], a["status"], a["checked_in_at"]) for a in data["attendees"]] == [
        ("Unpaid owner", "unpaid", None),
        ("Zhang Wei", "ok", None),
    ]
    assert data["summary"] == {"expected": 1, "checked_in": 0, "conflicts": 0}
    assert data["csrf_token"]
    assert not any(mobile in response.get_data(as_text=True) for mobile in mobiles)


def test_the_service_worker_keeps_the_gates_files(app, staff_factory, gate_page):
    client = staff_factory("event_staff", "SZ01")
    response = client.get("/admin/events/checkin-sw.js")
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    first_line, source = response.get_data(as_text=True).split("\n", 1)
    assert first_line.startswith("const WORKER = ") and "WORKER.version" in source
    settings = json.loads(first_line.removeprefix("const WORKER = ").rstrip(";"))
    assert len(settings["version"]) == 16
    # The code both workers share, loaded first.
    assert "importScripts(WORKER.common)" in source
    assert settings["common"].split("?v=")[0] == "/static/js/sw-common.js"
    with client.get(settings["common"]) as common:
        assert common.status_code == 200
    assert {
        "/static/js/checkin.js",
        "/static/js/scanner.js",
        "/static/js/card-code.js",
        "/static/js/checkin-verify.js",
        "/static/js/vendor/noble-ed25519/index.js",
        "/static/js/vendor/zxing-library/index.min.js",
        "/static/css/app.css",
    } <= {asset.split("?v=")[0] for asset in settings["assets"]}
    for asset in settings["assets"]:
        with client.get(asset) as served:
            assert served.status_code == 200, asset
    static = Path(app.static_folder)
    for vendored in ("noble-ed25519", "zxing-library"):
        assert (static / "js" / "vendor" / vendored / "LICENSE").stat().st_size > 1000


def test_without_javascript_the_ticket_field_checks_in_on_the_page(
    app, staff_factory, gate_page, clock
):
    client = staff_factory("event_staff", "SZ01")
    path = f"/admin/events/{gate_page['event_id']}/checkin"
    page = client.post(path, data={"ticket": gate_page["ticket"]}).get_data(as_text=True)
    assert "gate-result gate-ok" in page and "✓ Checked in" in page and "Zhang Wei" in page
    clock.advance(minutes=5)
    again = client.post(path, data={"ticket": gate_page["ticket"]}).get_data(as_text=True)
    # 03:00 UTC is 11:00 in Shanghai.
    assert clock.now().strftime("%H:%M") == "03:05"
    assert "Already checked in at 11:00" in again
    forged = client.post(path, data={"ticket": "CC1.forged"}).get_data(as_text=True)
    assert "✗ Forged or damaged ticket" in forged
    empty = client.post(path, data={"ticket": ""})
    assert empty.status_code == 200 and "Scan or type a ticket code." in empty.get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.scalar(select(func.count(CheckIn.id))) == 1


# ------------------------------------------------------------------------------ PostgreSQL


@pytest.mark.postgres
def test_phones_uploading_one_ticket_at_once_check_it_in_once(pg_app):
    from tests.conftest import NOW
    from tests.factories import make_dealer, make_member, make_vehicle
    from tests.test_postgres_concurrency import race

    with pg_app.app_context(), pg_app.test_request_context():
        dealer = make_dealer("SZ01")
        staff = make_staff("event_staff", dealer.id)
        clock = pg_app.extensions["clock"]
        trip = make_trip(staff, clock)
        member = make_member(dealer.id, name="Raced")
        registration = services.sign_up(
            member, trip.id, vehicle_id=make_vehicle(member).id, accept_waiver=True
        )
        ids = (trip.id, registration.id, member.id, staff.id)
        token = checkin.ticket_token(registration)
        db.session.commit()
    clock.at = NOW + timedelta(days=10, hours=1)
    # Six phones with their own scans, and one upload sent twice at once.
    nonces = iter([f"phone-{i}-scan" for i in range(6)] + ["replayed-scan"] * 2)

    def upload():
        nonce = next(nonces)
        staff = db.session.get(User, ids[3])
        [item] = checkin.check_in_batch(
            staff, event_id=ids[0], scans=[Scan(token, nonce, clock.now())]
        )
        return nonce, item.result.status, item.conflict

    results = race(pg_app, upload, racers=8)
    assert not [r for r in results if isinstance(r, Exception)]
    winners = {nonce for nonce, status, _ in results if status == "checked_in"}
    assert len(winners) == 1
    assert all(conflict for nonce, _, conflict in results if nonce not in winners)
    with pg_app.app_context():
        registration = db.session.get(EventRegistration, ids[1])
        assert counts(registration) == (1, 6)
        assert account_for(registration.member).balance == 300
