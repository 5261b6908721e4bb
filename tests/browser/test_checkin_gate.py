"""The event gate in Chromium at phone size: the phone's own signature check, check-in by the
code field, a photo and the camera, and check-in without signal through the service worker,
uploaded when the signal returns."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from app.core.clock import utcnow
from app.core.tokens import PREFIX, TokenSigner, b64decode, b64encode
from app.events.checkin import ticket_token
from app.events.models import CheckIn, EventKind, EventRegistration
from app.events.services import create_event, sign_up
from app.extensions import db
from app.loyalty.services import account_for
from app.members.services import get_dealer_by_code
from tests.browser.conftest import PHONE, launch_with_camera
from tests.browser.test_accessibility import violations
from tests.browser.test_journey import log_in
from tests.factories import make_member, make_staff, make_vehicle

POINTS = 300
OWNERS = ("Zhang Wei", "Li Na", "Wang Fang", "Chen Jie", "Zhao Lei")


@pytest.fixture(scope="module")
def gate(live_server) -> dict:
    """A SZ01 trip with four confirmed owners (Zhang Wei brings two companions), another SZ01
    trip, and an event staff member. Tickets by owner name, the staff mobile, the ids."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        dealer = get_dealer_by_code("SZ01")
        staff = make_staff("event_staff", dealer.id)
        now = utcnow()
        fields = {
            "kind": EventKind.TRIP,
            "place": "Huizhou",
            # Its check-in is open: it starts within the hour (the window opens 2 hours before).
            "starts_at": now + timedelta(hours=1),
            "ends_at": now + timedelta(days=1),
            "registration_opens_at": now - timedelta(days=1),
            "registration_closes_at": now + timedelta(minutes=30),
            "capacity": 10,
            "max_companions": 2,
            "attendance_points": POINTS,
            "waiver_text": "At my own risk.",
        }
        trip = create_event(staff, title="Lake Dongjiang self-drive", **fields)
        other = create_event(staff, title="Another trip", **fields)
        tickets, registrations = {}, {}
        for name in OWNERS:
            member = make_member(dealer.id, name=name)
            car = make_vehicle(member, model="Sagitar")
            registration = sign_up(
                member,
                trip.id,
                vehicle_id=car.id,
                accept_waiver=True,
                companions=2 if name == "Zhang Wei" else 0,
                companion_names="Li Ming, Zhang Min" if name == "Zhang Wei" else "",
            )
            tickets[name] = ticket_token(registration)
            registrations[name] = registration.id
        stranger = make_member(dealer.id, name="Elsewhere")
        elsewhere = sign_up(
            stranger, other.id, vehicle_id=make_vehicle(stranger).id, accept_waiver=True
        )
        info = {
            "event_id": trip.id,
            "staff_mobile": staff.mobile,
            "tickets": tickets,
            "registrations": registrations,
            "plate": db.session.get(EventRegistration, registrations["Zhang Wei"]).vehicle.plate,
            "other_event_ticket": ticket_token(elsewhere),
            "card_token": app.extensions["token_signer"].sign("card", 1, now=now),
        }
        db.session.commit()
    return info


def check_in_record(app, registration_id: int) -> CheckIn | None:
    with app.app_context():
        check = db.session.scalar(select(CheckIn).where(CheckIn.registration_id == registration_id))
        if check is not None:
            db.session.expunge(check)
        return check


def balance(app, registration_id: int) -> int:
    with app.app_context():
        return account_for(db.session.get(EventRegistration, registration_id).member).balance


def check_in_elsewhere(app, gate, name: str):
    """Another phone, with signal, checks ``name``'s ticket in; the time of the check-in."""
    from app.auth.services import get_user_by_mobile
    from app.events.checkin import check_in

    with app.app_context(), app.test_request_context():
        staff = get_user_by_mobile(gate["staff_mobile"])
        result = check_in(staff, event_id=gate["event_id"], ticket=gate["tickets"][name])
        db.session.commit()
        return result.checked_in_at


def hhmm(moment) -> str:
    """The time as the gate shows it: HH:MM in the club's time zone."""
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")


def open_gate(page, gate) -> None:
    log_in(page, gate["staff_mobile"])
    page.goto(f"/admin/events/{gate['event_id']}/checkin")
    expect(page.get_by_role("heading", name="Check-in", exact=True)).to_be_visible()
    # The attendee list and keys are on the phone.
    page.wait_for_function(
        "id => localStorage.getItem(`carclub.gate.${id}.data`) !== null", arg=gate["event_id"]
    )


def type_ticket(page, text: str) -> None:
    page.fill("#ticket", text)
    page.get_by_role("button", name="Check", exact=True).click()


def qr_png(text: str, path) -> None:
    segno.make_qr(text, error="m").save(str(path), scale=8, border=4)


# ------------------------------------------------------------------------ (a) the verifier

VERIFY = """async ([tokens, dataUrl]) => {
  const { verifyToken } = await import("/static/js/checkin-verify.js");
  const data = await (await fetch(dataUrl, { credentials: "same-origin" })).json();
  const answers = {};
  for (const [label, token] of Object.entries(tokens)) {
    answers[label] = await verifyToken(token, data.keys, "ticket");
  }
  return answers;
}"""


def test_the_phone_verifies_tickets_the_server_signed_and_refuses_altered_ones(
    new_phone, live_server, gate
):
    page = new_phone()
    open_gate(page, gate)
    ticket = gate["tickets"]["Chen Jie"]
    raw = bytearray(b64decode(ticket[len(PREFIX) :]))
    altered_subject = bytearray(raw)
    altered_subject[9] ^= 0x01  # another registration id, same signature
    altered_signature = bytearray(raw)
    altered_signature[-1] ^= 0x80
    server_key_id = live_server.app.extensions["token_signer"].key_id
    now = utcnow()
    unknown_key = TokenSigner(200, Ed25519PrivateKey.generate()).sign("ticket", 1, now=now)
    same_id_other_key = TokenSigner(server_key_id, Ed25519PrivateKey.generate()).sign(
        "ticket", gate["registrations"]["Chen Jie"], now=now
    )
    tokens = {
        "ticket": ticket,
        "padded": f"  {ticket}\n",
        "altered subject": PREFIX + b64encode(bytes(altered_subject)),
        "altered signature": PREFIX + b64encode(bytes(altered_signature)),
        "unknown key": unknown_key,
        "other key, same id": same_id_other_key,
        "card": gate["card_token"],
        "truncated": ticket[:-3],
        "not a token": "https://example.com/",
    }
    answers = page.evaluate(VERIFY, [tokens, f"/admin/events/{gate['event_id']}/checkin/data"])
    assert answers["ticket"]["valid"] is True
    assert answers["ticket"]["subjectId"] == gate["registrations"]["Chen Jie"]
    assert answers["ticket"]["keyId"] == server_key_id
    assert answers["padded"]["valid"] is True
    assert {label: a.get("reason") for label, a in answers.items() if not a["valid"]} == {
        "altered subject": "forged",
        "altered signature": "forged",
        "unknown key": "unknown_key",
        "other key, same id": "forged",
        "card": "wrong_kind",
        "truncated": "malformed",
        "not a token": "malformed",
    }


# ------------------------------------------------------------------- (b) the staff check-in


def test_staff_check_a_ticket_in_by_its_code_then_by_a_photo_of_its_qr(
    new_phone, live_server, gate, tmp_path, artifacts
):
    app = live_server.app
    page = new_phone()
    open_gate(page, gate)
    expect(page.locator("#gate-network")).to_have_text("Online")

    type_ticket(page, gate["tickets"]["Zhang Wei"])
    result = page.locator("#gate-result .gate-result")
    expect(result).to_have_class("gate-result gate-ok", timeout=2000)
    expect(result.locator(".gate-title")).to_have_text("✓ Checked in")
    expect(result.locator(".gate-name")).to_have_text("Zhang Wei")
    expect(result).to_contain_text("Companions: 2 (Li Ming, Zhang Min)")
    expect(result).to_contain_text(f"Sagitar · White · {gate['plate']}")
    expect(result.locator(".gate-note")).to_have_count(0)  # the server answered
    expect(page.locator("#gate-count")).to_have_text("1 of 5 checked in")
    page.screenshot(path=artifacts / "checkin-ok.png")
    assert violations(page) == []

    check = check_in_record(app, gate["registrations"]["Zhang Wei"])
    assert check is not None and check.source == "online" and check.nonce
    assert balance(app, gate["registrations"]["Zhang Wei"]) == POINTS

    # The same ticket again, read from a photo of its QR code by the page's decoder.
    photo = tmp_path / "ticket.png"
    qr_png(gate["tickets"]["Zhang Wei"], photo)
    page.set_input_files("#gate-photo", str(photo))
    expect(result).to_have_class("gate-result gate-warn")
    expect(result.locator(".gate-title")).to_have_text(
        f"! Already checked in at {hhmm(check.checked_in_at)}"
    )
    expect(result.locator(".gate-name")).to_have_text("Zhang Wei")
    page.screenshot(path=artifacts / "checkin-again.png")
    assert violations(page) == []

    # Refusals, each with its reason.
    for text, title in (
        (gate["other_event_ticket"], "✗ Ticket of another event"),
        (gate["tickets"]["Zhang Wei"][:-6] + "AAAAAA", "✗ Forged or damaged ticket"),
    ):
        type_ticket(page, text)
        expect(result.locator(".gate-title")).to_have_text(title)
        expect(result).to_have_class("gate-result gate-bad")
    assert violations(page) == []

    assert balance(app, gate["registrations"]["Zhang Wei"]) == POINTS
    # The second scan is listed for staff after a reload.
    page.reload()
    expect(page.locator("#gate-conflict-list li")).to_have_count(1)
    expect(page.locator("#gate-conflict-list li")).to_contain_text("Zhang Wei")


def y4m_of(png, path) -> None:
    """A one-frame Y4M video (Chromium's fake camera) showing the image in ``png``."""
    width, height = 640, 480
    frame = Image.new("L", (width, height), 255)
    with Image.open(png) as qr:
        qr = qr.convert("L")
        frame.paste(qr, ((width - qr.width) // 2, (height - qr.height) // 2))
    chroma = bytes([128]) * (width // 2 * height // 2)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        out.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)


def test_the_camera_reads_a_ticket(browser, live_server, gate, tmp_path, artifacts):
    png, video = tmp_path / "ticket.png", tmp_path / "camera.y4m"
    qr_png(gate["tickets"]["Wang Fang"], png)
    y4m_of(png, video)
    # A second Chromium whose fake camera films the ticket.
    camera_browser = launch_with_camera(browser, video)
    try:
        context = camera_browser.new_context(
            base_url=live_server.url, permissions=["camera"], **PHONE
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        open_gate(page, gate)
        page.get_by_role("button", name="Scan tickets with the camera").click()
        expect(page.locator("#gate-video")).to_be_visible()
        result = page.locator("#gate-result .gate-result")
        expect(result.locator(".gate-name")).to_have_text("Wang Fang")
        expect(result).to_have_class("gate-result gate-ok")
        page.screenshot(path=artifacts / "checkin-camera.png")
        page.get_by_role("button", name="Stop the camera").click()
        expect(page.locator("#gate-video")).to_be_hidden()
        context.close()
    finally:
        camera_browser.close()
    assert check_in_record(live_server.app, gate["registrations"]["Wang Fang"]) is not None
    assert balance(live_server.app, gate["registrations"]["Wang Fang"]) == POINTS


# --------------------------------------------------------------------------- (c) offline


def test_without_signal_the_gate_checks_tickets_and_uploads_them_later(
    new_phone, live_server, gate, artifacts
):
    app = live_server.app
    li_na = gate["registrations"]["Li Na"]
    page = new_phone()
    open_gate(page, gate)
    # The service worker is installed and keeps the page; the list is on the phone.
    expect(page.locator("#gate-ready")).to_be_visible()
    expect(page.locator("#gate-ready")).to_have_text("Ready to work without signal")

    page.context.set_offline(True)
    reloaded = page.reload()
    assert reloaded.from_service_worker
    expect(page.locator("#gate-network")).to_have_text("Offline: tickets are checked on this phone")

    type_ticket(page, gate["tickets"]["Li Na"])
    result = page.locator("#gate-result .gate-result")
    expect(result).to_have_class("gate-result gate-ok")
    expect(result.locator(".gate-title")).to_have_text("✓ Checked in")
    expect(result.locator(".gate-name")).to_have_text("Li Na")
    expect(result.locator(".gate-note")).to_contain_text("without signal")
    expect(page.locator("#gate-queue")).to_have_text("Scans waiting to upload: 1")
    page.screenshot(path=artifacts / "checkin-offline.png")
    scanned = page.evaluate(
        "id => JSON.parse(localStorage.getItem(`carclub.gate.${id}.queue`))[0].scanned_at",
        gate["event_id"],
    )

    # Offline, the phone knows what it checked in, and still refuses forged tickets.
    type_ticket(page, gate["tickets"]["Li Na"])
    expect(result.locator(".gate-title")).to_have_text(
        f"! Already checked in at {hhmm(datetime.fromisoformat(scanned))}"
    )
    type_ticket(page, gate["tickets"]["Li Na"][:-6] + "AAAAAA")
    expect(result.locator(".gate-title")).to_have_text("✗ Forged or damaged ticket")
    expect(page.locator("#gate-queue")).to_have_text("Scans waiting to upload: 1")
    assert check_in_record(app, li_na) is None

    # Chen Jie is checked in here without signal, and meanwhile on another phone with signal.
    type_ticket(page, gate["tickets"]["Chen Jie"])
    expect(result.locator(".gate-name")).to_have_text("Chen Jie")
    expect(page.locator("#gate-queue")).to_have_text("Scans waiting to upload: 2")
    other_phone_at = check_in_elsewhere(app, gate, "Chen Jie")

    # Back online: the queued scans are uploaded; the server has Li Na's check-in, points once,
    # and Chen Jie's second check-in is reported, not counted.
    with page.expect_response("**/api/v1/checkin/batch") as upload:
        page.context.set_offline(False)
    assert upload.value.status == 200
    expect(page.locator("#gate-queue")).to_have_text("Offline scans uploaded: 2")
    check = check_in_record(app, li_na)
    assert check is not None and check.source == "offline"
    assert balance(app, li_na) == POINTS
    chen_jie = gate["registrations"]["Chen Jie"]
    assert check_in_record(app, chen_jie).source == "online"
    assert balance(app, chen_jie) == POINTS
    expect(page.locator("#gate-conflict-list li").first).to_contain_text(
        f"Chen Jie: already checked in at {hhmm(other_phone_at)} on another phone"
    )
    assert (
        page.evaluate(
            "id => JSON.parse(localStorage.getItem(`carclub.gate.${id}.queue`)).length",
            gate["event_id"],
        )
        == 0
    )

    # The same upload sent again (an answer lost on the way) changes nothing.
    replay = page.evaluate(
        """async ([url, eventId, ticket, nonce, scannedAt]) => {
          const csrf = document.getElementById("gate").dataset.csrf;
          const response = await fetch(url, {
            method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
            body: JSON.stringify(
              {event_id: eventId, scans: [{ticket, nonce, scanned_at: scannedAt}]}
            ),
          });
          return response.json();
        }""",
        ["/api/v1/checkin/batch", gate["event_id"], gate["tickets"]["Li Na"], check.nonce, scanned],
    )
    assert replay["results"][0]["status"] == "checked_in"
    assert replay["results"][0]["conflict"] is False
    assert balance(app, li_na) == POINTS


def test_without_signal_the_phone_keeps_the_check_in_window(new_phone, gate):
    """A phone whose list is loaded refuses, offline, a scan before the window opens (two hours
    before the start) or after the event ended, as the server would; nothing is queued. (Zhao
    Lei's ticket is scanned by no other test.)"""
    page = new_phone()
    open_gate(page, gate)
    expect(page.locator("#gate-ready")).to_be_visible()
    page.context.set_offline(True)
    page.reload()
    result = page.locator("#gate-result .gate-result")
    data = page.evaluate(
        "id => JSON.parse(localStorage.getItem(`carclub.gate.${id}.data`)).event", gate["event_id"]
    )
    opens = datetime.fromisoformat(data["checkin_opens_at"])

    page.clock.set_fixed_time(opens - timedelta(minutes=10))
    type_ticket(page, gate["tickets"]["Zhao Lei"])
    expect(result.locator(".gate-title")).to_have_text("✗ Check-in is not open")
    expect(result).to_contain_text(f"It opens at {hhmm(opens)}.")
    expect(result.locator(".gate-name")).to_have_text("Zhao Lei")

    page.clock.set_fixed_time(
        datetime.fromisoformat(data["checkin_closes_at"]) + timedelta(hours=1)
    )
    type_ticket(page, gate["tickets"]["Zhao Lei"])
    expect(result).to_contain_text("This event is over: its tickets no longer check in.")
    queued = page.evaluate(
        "id => localStorage.getItem(`carclub.gate.${id}.queue`)", gate["event_id"]
    )
    assert queued in (None, "[]")
