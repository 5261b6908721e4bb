"""What else the gate reads (issue 18): a ticket's short code typed, the owner's live member
card (``CC2.``) as their ticket, online and in an offline upload judged by the gate's clock, and
a tap on the attendee list (manual, audit-logged, once)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.cards.devices import revoke_devices
from app.cards.services import active_card, reissue_card
from app.core.audit import AuditEntry
from app.core.errors import NotFound
from app.core.identifiers import CODE_ALPHABET
from app.events import checkin
from app.events.checkin import Scan
from app.events.models import CheckIn
from app.events.services import TICKET_CODE_LENGTH, cancel_registration, format_ticket_code
from app.extensions import db
from app.loyalty.services import account_for
from tests.cards.test_devices import Phone
from tests.events.test_checkin import at_the_gate, counts
from tests.events.test_services import join, make_trip, owner
from tests.factories import make_staff


@pytest.fixture
def staff(ctx, dealers):
    return make_staff("event_staff", dealers["SZ01"])


@pytest.fixture
def trip(staff, clock):
    return make_trip(staff, clock, capacity=20)


def check_record(registration) -> CheckIn | None:
    return db.session.scalar(select(CheckIn).where(CheckIn.registration_id == registration.id))


# --------------------------------------------------------------------------- short codes


def test_every_ticket_has_a_short_code_unique_in_its_event(dealers, trip):
    registrations = [join(owner(dealers, f"O{i}"), trip) for i in range(12)]
    codes = [r.ticket_code for r in registrations]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert len(code) == TICKET_CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    assert format_ticket_code("K7QX2MXP") == "K7QX-2MXP"


def test_a_new_code_avoids_one_taken_in_the_event(dealers, trip, monkeypatch):
    taken = join(owner(dealers, "First"), trip).ticket_code
    draws = iter([taken, taken, "ZZZZ2222"])
    monkeypatch.setattr("app.events.services.random_code", lambda length: next(draws))
    assert join(owner(dealers, "Second"), trip).ticket_code == "ZZZZ2222"


@pytest.mark.parametrize(
    "typed", ["{code}", "{lower}", "{dashed}", " {dashed_lower} ", "{a} {b}", "{a}-{b}\n"]
)
def test_the_gate_takes_the_short_code_typed_in_any_case_with_or_without_the_dash(
    staff, dealers, clock, trip, typed
):
    registration = join(owner(dealers), trip)
    code = registration.ticket_code
    text = typed.format(
        code=code,
        lower=code.lower(),
        dashed=format_ticket_code(code),
        dashed_lower=format_ticket_code(code).lower(),
        a=code[:4],
        b=code[4:],
    )
    at_the_gate(clock, trip)
    result = checkin.check_in(staff, event_id=trip.id, ticket=text, nonce="typed-code-01")
    assert (result.status, result.registration) == ("checked_in", registration)
    assert check_record(registration).source == "online"


def test_a_short_code_of_another_event_or_a_typo_is_refused(staff, dealers, clock, trip):
    other = make_trip(staff, clock, capacity=5, title="Other trip")
    elsewhere = join(owner(dealers, "Elsewhere"), other)
    mine = join(owner(dealers, "Mine"), trip)
    at_the_gate(clock, trip)
    for text in (elsewhere.ticket_code, mine.ticket_code[:-1], "0" * 8, "x" * 600, ""):
        result = checkin.check_in(staff, event_id=trip.id, ticket=text)
        assert result.status == "invalid", text
    typo = checkin.check_in(staff, event_id=trip.id, ticket=elsewhere.ticket_code)
    assert typo.message == "No ticket of this event has this code."
    assert counts(mine) == (0, 0) and counts(elsewhere) == (0, 0)


# ------------------------------------------------------------------------- member cards


def test_the_owners_live_card_checks_them_in_once(staff, dealers, clock, trip):
    member = owner(dealers, "Card Owner")
    registration = join(member, trip)
    now = at_the_gate(clock, trip)  # the owner opened the card that morning
    phone = Phone().certify(active_card(member))
    first = checkin.check_in(staff, event_id=trip.id, ticket=phone.code(now), nonce="card-0001")
    assert (first.status, first.registration) == ("checked_in", registration)
    assert account_for(member).balance == 300
    clock.advance(seconds=20)
    again = checkin.check_in(
        staff, event_id=trip.id, ticket=phone.code(clock.now()), nonce="card-0002"
    )
    assert again.status == "already_checked_in"
    assert counts(registration) == (1, 1)
    assert account_for(member).balance == 300


def test_a_card_code_a_minute_old_or_from_a_signed_out_phone_is_refused(
    staff, dealers, clock, trip
):
    member = owner(dealers, "Screenshot")
    registration = join(member, trip)
    now = at_the_gate(clock, trip)  # the owner opened the card that morning
    phone = Phone().certify(active_card(member))
    old = phone.code(now - timedelta(seconds=61))
    result = checkin.check_in(staff, event_id=trip.id, ticket=old)
    assert result.status == "invalid"
    assert result.message.startswith("This code is old")
    forged = phone.code(now)[:-8] + "AAAAAAAA"
    assert checkin.check_in(staff, event_id=trip.id, ticket=forged).status == "invalid"
    revoke_devices(active_card(member), now=now)
    result = checkin.check_in(staff, event_id=trip.id, ticket=phone.code(now))
    assert result.status == "invalid" and "signed out" in result.message
    assert counts(registration) == (0, 0)


def test_a_replaced_card_does_not_open_the_gate(staff, dealers, clock, trip):
    member = owner(dealers, "Lost Card")
    join(member, trip)
    now = at_the_gate(clock, trip)  # the owner opened the card that morning
    phone = Phone().certify(active_card(member))
    reissue_card(member.user, member, reason="lost")
    assert checkin.check_in(staff, event_id=trip.id, ticket=phone.code(now)).status == "invalid"


def test_a_card_of_an_owner_not_signed_up_is_told_so(staff, dealers, clock, trip):
    member = owner(dealers, "Not Coming")
    now = at_the_gate(clock, trip)  # the owner opened the card that morning
    phone = Phone().certify(active_card(member))
    assert checkin.check_in(staff, event_id=trip.id, ticket=phone.code(now)).status == (
        "not_signed_up"
    )


def test_an_offline_card_scan_is_judged_by_the_gates_clock_at_the_scan(staff, dealers, clock, trip):
    """The gate phone uploads later: the code must have been fresh when it was scanned."""
    fresh_owner, late_owner = owner(dealers, "Fresh"), owner(dealers, "Late")
    fresh, late = join(fresh_owner, trip), join(late_owner, trip)
    scanned = at_the_gate(clock, trip)
    fresh_phone = Phone().certify(active_card(fresh_owner))
    late_phone = Phone().certify(active_card(late_owner))
    scans = [
        Scan(fresh_phone.code(scanned - timedelta(seconds=10)), "offline-card-01", scanned),
        Scan(late_phone.code(scanned - timedelta(seconds=61)), "offline-card-02", scanned),
    ]
    clock.advance(hours=3)  # the upload, hours later
    results = checkin.check_in_batch(staff, event_id=trip.id, scans=scans)
    assert [r.result.status for r in results] == ["checked_in", "invalid"]
    assert check_record(fresh).source == "offline"
    assert check_record(fresh).checked_in_at == scanned
    assert check_record(late) is None
    # The same upload again changes nothing.
    again = checkin.check_in_batch(staff, event_id=trip.id, scans=scans)
    assert [r.result.status for r in again] == ["checked_in", "invalid"]
    assert counts(fresh) == (1, 0)


# ------------------------------------------------------------------------------ by a tap


def manual_entries() -> int:
    return db.session.scalar(
        select(func.count(AuditEntry.id)).where(AuditEntry.action == "event.checked_in_manually")
    )


def test_a_tap_on_the_list_checks_in_once_recorded_as_manual_and_audited(
    staff, dealers, clock, trip
):
    member = owner(dealers, "Forgot Phone")
    registration = join(member, trip)
    at_the_gate(clock, trip)
    first = checkin.check_in_manually(
        staff, event_id=trip.id, registration_id=registration.id, nonce="tap-00000001"
    )
    assert first.status == "checked_in"
    # A double tap (the same nonce) and a second tap answer without a second check-in.
    replay = checkin.check_in_manually(
        staff, event_id=trip.id, registration_id=registration.id, nonce="tap-00000001"
    )
    assert replay.status == "checked_in"
    second = checkin.check_in_manually(
        staff, event_id=trip.id, registration_id=registration.id, nonce="tap-00000002"
    )
    assert second.status == "already_checked_in"
    record = check_record(registration)
    assert (record.source, record.staff_id) == ("manual", staff.id)
    assert counts(registration) == (1, 1)
    assert account_for(member).balance == 300
    assert manual_entries() == 1
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "event.checked_in_manually")
    )
    assert (entry.actor_id, entry.subject_id) == (staff.id, registration.id)
    assert entry.details == {"event_id": trip.id, "offline": False}


def test_taps_made_offline_upload_as_manual(staff, dealers, clock, trip):
    registration = join(owner(dealers, "Offline Tap"), trip)
    tapped = at_the_gate(clock, trip)
    scan = Scan(None, "offline-tap-01", tapped, registration_id=registration.id)
    clock.advance(minutes=30)
    [result] = checkin.check_in_batch(staff, event_id=trip.id, scans=[scan])
    assert result.result.status == "checked_in"
    record = check_record(registration)
    assert (record.source, record.checked_in_at) == ("manual", tapped)
    assert manual_entries() == 1


def test_a_tap_on_another_events_or_dealers_registration_is_refused(staff, dealers, clock, trip):
    other = make_trip(staff, clock, capacity=5, title="Other trip")
    elsewhere = join(owner(dealers, "Elsewhere"), other)
    at_the_gate(clock, trip)
    result = checkin.check_in_manually(staff, event_id=trip.id, registration_id=elsewhere.id)
    assert result.status == "invalid"
    foreign = make_staff("event_staff", dealers["GZ01"])
    with pytest.raises(NotFound):
        checkin.check_in_manually(foreign, event_id=trip.id, registration_id=elsewhere.id)
    assert counts(elsewhere) == (0, 0)
    assert manual_entries() == 0


def test_a_tap_on_an_unpaid_or_cancelled_place_is_refused(staff, dealers, clock, trip):
    registration = join(owner(dealers, "Leaver"), trip)
    cancel_registration(registration.member, registration.id)
    at_the_gate(clock, trip)
    result = checkin.check_in_manually(staff, event_id=trip.id, registration_id=registration.id)
    assert result.status == "cancelled"
    assert manual_entries() == 0
