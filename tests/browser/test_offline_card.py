"""The member card without signal (issue 18): a phone that opened the card once keeps working
the next day offline, a staff phone offline accepts its live code and refuses a screenshot a
minute old, and logging out forgets the card."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.browser.test_journey import log_in, register_owner, scan

TOMORROW = timedelta(hours=20)


def live_code(page: Page) -> str:
    """The code the card page shows once its key is certified (a ``CC2.`` code)."""
    expect(page.locator("#qr-box")).to_have_attribute("data-mode", "device")
    expect(page.locator("#qr")).to_have_attribute("data-code", re.compile(r"^CC2\."))
    return page.locator("#qr").get_attribute("data-code")


def next_code(page: Page, shown: str) -> str:
    """The card page's next code after ``shown``."""
    page.wait_for_function("old => document.getElementById('qr').dataset.code !== old", arg=shown)
    return page.locator("#qr").get_attribute("data-code")


def code_time(code: str) -> int:
    """The Unix time a code was made (the four bytes before the device's signature)."""
    from app.core.tokens import b64decode

    raw = b64decode(code[4:])
    return int.from_bytes(raw[-68:-64], "big")


def second_desk(live_server) -> str:
    """Another sales consultant of the test dealer; their mobile."""
    from sqlalchemy import select

    from app.extensions import db
    from app.members.models import Dealer
    from tests.factories import make_staff

    app = live_server.app
    with app.app_context(), app.test_request_context():
        dealer = db.session.scalar(select(Dealer).where(Dealer.code == "SZ01"))
        mobile = make_staff("sales_consultant", dealer.id).mobile
        db.session.commit()
    return mobile


def check_offline(desk: Page, code: str):
    """Type ``code`` on the staff check page (offline: checked on the phone)."""
    desk.fill("#code", code)
    desk.get_by_role("button", name="Check").click()
    result = desk.locator("#card-check-result section.result")
    expect(result).to_be_visible()
    return result


def test_a_card_opened_yesterday_works_offline_and_a_screenshot_is_refused(
    new_phone, live_server, artifacts
):
    owner = new_phone()
    register_owner(owner, "Offline Owner", "13700007777")
    owner.goto("/card")
    first = live_code(owner)
    assert abs(code_time(first) - time.time()) < 30
    expect(owner.locator("#qr-box")).to_have_attribute("data-kept", "1")
    expect(owner.locator("#qr-countdown")).to_have_text(re.compile(r"^New code in \d+ s$"))
    expect(owner.locator(".qr-hint")).to_contain_text("Turn up your screen brightness")

    desk = new_phone()
    log_in(desk, live_server.staff_mobile)
    desk.goto("/admin/scan")
    expect(desk.locator("#card-check")).to_have_attribute("data-kept", "1")

    # The next day, without signal: both phones open their pages from the service worker.
    tomorrow = datetime.now(UTC) + TOMORROW
    for page in (owner, desk):
        page.context.set_offline(True)
        page.clock.install(time=tomorrow)
    reopened = owner.reload()
    assert reopened.from_service_worker
    code = live_code(owner)
    assert abs(code_time(code) - tomorrow.timestamp()) < 30
    expect(owner.locator("#qr-offline")).to_have_text("Offline: this card still works.")
    owner.screenshot(path=artifacts / "card-offline-en.png")
    assert desk.reload().from_service_worker
    expect(desk.locator("#card-check-offline")).to_be_visible()

    result = check_offline(desk, code)
    expect(result).to_have_class("result result-ok")
    expect(result).to_contain_text("Valid member card")
    expect(result).to_contain_text("Offline Owner")
    expect(result).to_contain_text("without signal")

    # A changed code fails a signature.
    forged = code[:-8] + ("AAAAAAAA" if not code.endswith("AAAAAAAA") else "BBBBBBBB")
    result = check_offline(desk, forged)
    expect(result).to_have_class("result result-bad")
    expect(result).to_contain_text("Forged code")

    # A minute later the code on a screenshot is refused; the live card's next code is not.
    screenshot = code
    for page in (owner, desk):
        page.clock.fast_forward(61_000)
    result = check_offline(desk, screenshot)
    expect(result).to_have_class("result result-bad")
    expect(result).to_contain_text("This code is old")
    fresh = next_code(owner, screenshot)
    assert code_time(fresh) >= code_time(screenshot) + 60
    expect(check_offline(desk, fresh)).to_have_class("result result-ok")
    # Shown again after a newer one, the older code is a replay.
    for page in (owner, desk):
        page.clock.fast_forward(21_000)
    newer = next_code(owner, fresh)
    expect(check_offline(desk, newer)).to_have_class("result result-ok")
    result = check_offline(desk, fresh)
    expect(result).to_have_class("result result-bad")
    expect(result).to_contain_text("already shown")


def test_the_server_accepts_the_live_code_and_refuses_it_at_a_second_desk(new_phone, live_server):
    owner = new_phone()
    register_owner(owner, "Desk Owner", "13700008888")
    owner.goto("/card")
    code = live_code(owner)
    desk = new_phone()
    log_in(desk, live_server.staff_mobile)
    result = scan(desk, code)
    expect(result).to_contain_text("Valid member card")
    expect(result.locator(".result-name")).to_contain_text("Desk Owner")
    # The same code at another desk: already shown.
    other = new_phone()
    log_in(other, second_desk(live_server))
    result = scan(other, code)
    expect(result).to_contain_text("Refused")
    expect(result).to_contain_text("already shown")


def test_logging_out_forgets_the_card_on_this_phone(new_phone, live_server):
    owner = new_phone()
    register_owner(owner, "Shared Phone Owner", "13700009999")
    owner.goto("/card")
    live_code(owner)
    expect(owner.locator("#qr-box")).to_have_attribute("data-kept", "1")
    # Log out sits on "Me" (the tab bar's last tab) since the owner shell.
    owner.get_by_role("link", name="Me", exact=True).click()
    owner.wait_for_url("**/me")
    owner.get_by_role("button", name="Log out").click()
    owner.wait_for_url(lambda url: not url.endswith("/me"))
    databases = owner.evaluate("indexedDB.databases().then(list => list.map(d => d.name))")
    assert "carclub-card" not in databases
    assert owner.evaluate("caches.open('carclub-site-pages').then(c => c.match('/card'))") is None

    owner.context.set_offline(True)
    # Nothing kept: the browser's own offline error.
    with pytest.raises(PlaywrightError):
        owner.goto("/card")
    expect(owner.locator("body")).not_to_contain_text("Shared Phone Owner")
    owner.context.set_offline(False)


# ------------------------------------------------------------------ the gate takes the card


def card_event(live_server, owner_mobile: str) -> dict:
    """An SZ01 meet-up whose check-in is open now and all of tomorrow, an event staff member,
    and the owner with ``owner_mobile`` signed up for it."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.core.clock import utcnow
    from app.events.models import EventKind
    from app.events.services import sign_up
    from app.extensions import db
    from app.members.models import Dealer
    from tests.factories import make_event, make_staff

    app = live_server.app
    with app.app_context(), app.test_request_context():
        dealer = db.session.scalar(select(Dealer).where(Dealer.code == "SZ01"))
        staff = make_staff("event_staff", dealer.id)
        now = utcnow()
        event = make_event(
            staff,
            now=now,
            kind=EventKind.OTHER,
            title="Owners' breakfast",
            starts_at=now + timedelta(hours=1),
            ends_at=now + timedelta(days=2),
            registration_closes_at=now + timedelta(minutes=30),
            max_companions=0,
            attendance_points=50,
        )
        member = db.session.scalar(select(User).where(User.mobile == owner_mobile)).member
        registration = sign_up(member, event.id)
        db.session.commit()
        return {"event_id": event.id, "staff": staff.mobile, "registration_id": registration.id}


def gate_records(live_server, registration_id: int) -> list[str]:
    """The sources of the registration's check-ins."""
    from sqlalchemy import select

    from app.events.models import CheckIn
    from app.extensions import db

    with live_server.app.app_context():
        return list(
            db.session.scalars(
                select(CheckIn.source).where(CheckIn.registration_id == registration_id)
            )
        )


def gate_check(gate: Page, code: str):
    """Type ``code`` in the gate's code field; the answer shown."""
    gate.fill("#ticket", code)
    gate.get_by_role("button", name="Check", exact=True).click()
    result = gate.locator("#gate-result .gate-result")
    expect(result).to_be_visible()
    return result


def test_the_offline_gate_takes_a_card_opened_yesterday_and_refuses_a_minute_old_code(
    new_phone, live_server, artifacts
):
    owner = new_phone()
    register_owner(owner, "Gate Card Owner", "13700006666")
    event = card_event(live_server, "13700006666")
    owner.goto("/card")
    live_code(owner)
    expect(owner.locator("#qr-box")).to_have_attribute("data-kept", "1")

    # Event staff open the gate with signal: the page, its scripts and the list are kept.
    gate = new_phone()
    log_in(gate, event["staff"])
    gate.goto(f"/admin/events/{event['event_id']}/checkin")
    expect(gate.locator("#gate-ready")).to_be_visible()

    # The next day, without signal on either phone.
    tomorrow = datetime.now(UTC) + TOMORROW
    for page in (owner, gate):
        page.context.set_offline(True)
        page.clock.install(time=tomorrow)
    assert owner.reload().from_service_worker
    assert gate.reload().from_service_worker
    expect(gate.locator("#gate-network")).to_have_text("Offline: tickets are checked on this phone")
    screenshot = live_code(owner)

    # A minute later the code on a screenshot is refused, and nothing is queued.
    for page in (owner, gate):
        page.clock.fast_forward(61_000)
    result = gate_check(gate, screenshot)
    expect(result).to_have_class("gate-result gate-bad")
    expect(result).to_contain_text("This code is old")
    expect(gate.locator("#gate-queue")).to_be_hidden()

    # The live card's code checks the owner in on the gate phone.
    code = next_code(owner, screenshot)
    result = gate_check(gate, code)
    expect(result).to_have_class("gate-result gate-ok")
    expect(result.locator(".gate-name")).to_have_text("Gate Card Owner")
    expect(result.locator(".gate-note")).to_contain_text("without signal")
    expect(gate.locator("#gate-queue")).to_have_text("Scans waiting to upload: 1")
    gate.screenshot(path=artifacts / "checkin-card-offline.png")
    # Shown again, the card finds the owner already in.
    for page in (owner, gate):
        page.clock.fast_forward(21_000)
    result = gate_check(gate, next_code(owner, code))
    expect(result).to_have_class("gate-result gate-warn")
    assert gate_records(live_server, event["registration_id"]) == []

    # Signal again: the upload checks the owner in once.
    with gate.expect_response("**/api/v1/checkin/batch") as upload:
        gate.context.set_offline(False)
    assert upload.value.status == 200
    answer = upload.value.json()
    assert [r["status"] for r in answer["results"]] == ["checked_in"]
    expect(gate.locator("#gate-queue")).to_have_text("Offline scans uploaded: 1")
    assert gate_records(live_server, event["registration_id"]) == ["offline"]
