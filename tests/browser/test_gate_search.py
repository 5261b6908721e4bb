"""The gate finds attendees without a ticket (issue 18), at phone size: by name or plate from
the list kept on the phone, offline too, checked in by a tap after a confirmation (recorded as
manual); and a ticket's short code typed, offline, from the same list."""

import pytest
from playwright.sync_api import expect

from app.events.models import EventRegistration
from app.extensions import db
from tests.browser.test_accessibility import violations
from tests.browser.test_checkin_gate import check_in_record, gate, open_gate, type_ticket

__all__ = ["gate"]  # the module's fixture, shared with the gate's own tests


@pytest.fixture(scope="module")
def codes(live_server, gate) -> dict:
    """Each owner's short ticket code."""
    with live_server.app.app_context():
        return {
            name: db.session.get(EventRegistration, rid).ticket_code
            for name, rid in gate["registrations"].items()
        }


def search(page, text: str):
    page.fill("#gate-search-field", text)
    return page.locator("#gate-matches li")


def tap_check_in(page, name: str) -> None:
    row = page.locator("#gate-matches li", has_text=name)
    row.get_by_role("button", name="Check in").click()
    expect(row).to_contain_text(f"Check in {name} without a ticket?")
    row.get_by_role("button", name="Yes, check in").click()


def test_offline_the_gate_finds_attendees_by_name_or_plate_and_checks_them_in_by_a_tap(
    new_phone, live_server, gate, artifacts
):
    app = live_server.app
    page = new_phone()
    open_gate(page, gate)
    expect(page.locator("#gate-ready")).to_be_visible()
    page.context.set_offline(True)
    assert page.reload().from_service_worker

    # By name, any case, part of it.
    rows = search(page, "li n")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Li Na")
    expect(rows.first).to_contain_text("Sagitar · White")
    # By plate, lower case, without the province character.
    rows = search(page, gate["plate"][1:].lower())
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Zhang Wei")
    expect(rows.first).to_contain_text("Companions: 2")
    expect(search(page, "nobody here")).to_have_text(["No attendee matches."])

    search(page, "Zhao")
    row = page.locator("#gate-matches li", has_text="Zhao Lei")
    row.get_by_role("button", name="Check in").click()
    page.screenshot(path=artifacts / "checkin-search-confirm.png")
    assert violations(page) == []
    row.get_by_role("button", name="Cancel").click()
    expect(row.get_by_role("button", name="Check in")).to_be_visible()

    tap_check_in(page, "Zhao Lei")
    result = page.locator("#gate-result .gate-result")
    expect(result).to_have_class("gate-result gate-ok")
    expect(result.locator(".gate-name")).to_have_text("Zhao Lei")
    expect(page.locator("#gate-queue")).to_have_text("Scans waiting to upload: 1")
    # The list now says so, and offers no second check-in.
    row = page.locator("#gate-matches li", has_text="Zhao Lei")
    expect(row).to_contain_text("In at")
    expect(row.get_by_role("button", name="Check in")).to_have_count(0)
    page.screenshot(path=artifacts / "checkin-search-offline.png")

    # Back online, the tap is uploaded and recorded as manual, once.
    with page.expect_response("**/api/v1/checkin/batch") as upload:
        page.context.set_offline(False)
    assert upload.value.status == 200
    record = check_in_record(app, gate["registrations"]["Zhao Lei"])
    assert record is not None and record.source == "manual"


def test_online_a_tap_checks_in_at_once(new_phone, live_server, gate):
    page = new_phone()
    open_gate(page, gate)
    search(page, "wang")
    tap_check_in(page, "Wang Fang")
    result = page.locator("#gate-result .gate-result")
    expect(result).to_have_class("gate-result gate-ok")
    expect(result.locator(".gate-note")).to_have_count(0)  # the server answered
    record = check_in_record(live_server.app, gate["registrations"]["Wang Fang"])
    assert record is not None and record.source == "manual"


def test_offline_a_short_code_of_the_list_is_taken_typed_as_read_out(
    new_phone, live_server, gate, codes
):
    page = new_phone()
    open_gate(page, gate)
    expect(page.locator("#gate-ready")).to_be_visible()
    page.context.set_offline(True)
    page.reload()
    result = page.locator("#gate-result .gate-result")
    code = codes["Chen Jie"]
    type_ticket(page, f"{code[:4]}-{code[4:]}".lower())
    expect(result).to_have_class("gate-result gate-ok")
    expect(result.locator(".gate-name")).to_have_text("Chen Jie")
    type_ticket(page, "ZZZZ-ZZZZ" if code != "ZZZZZZZZ" else "YYYY-YYYY")
    expect(result).to_have_class("gate-result gate-bad")
    expect(result).to_contain_text("No ticket of this event has this code.")
    with page.expect_response("**/api/v1/checkin/batch"):
        page.context.set_offline(False)
    record = check_in_record(live_server.app, gate["registrations"]["Chen Jie"])
    assert record is not None and record.source == "offline"
