"""Trip day: the cars' safety check before departure, the organisers' list and its CSV."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import AuditEntry
from app.core.errors import Conflict, NotFound
from app.events import checkin, services, tripday
from app.events.models import EventKind, SafetyCheck
from app.extensions import db
from tests.factories import make_member, make_staff, make_vehicle

ALL_OK = {
    "tyres_ok": True,
    "lights_ok": True,
    "brakes_ok": True,
    "fluids_ok": True,
    "fuel_ok": True,
}


def make_trip(staff, clock, **overrides):
    """A self-drive trip in ten days for 10 cars, driver and up to 2 family (seed 001)."""
    now = clock.now()
    fields = {
        "kind": EventKind.TRIP,
        "title": "大泽山 self-drive",
        "place": "Pingdu",
        "starts_at": now + timedelta(days=10),
        "ends_at": now + timedelta(days=10, hours=10),
        "registration_opens_at": now - timedelta(days=1),
        "registration_closes_at": now + timedelta(days=8),
        "capacity": 10,
        "max_companions": 2,
        "waiver_text": "I drive at my own risk.",
        **overrides,
    }
    return services.create_event(staff, **fields)


def join(member, event, **kwargs):
    return services.sign_up(
        member, event.id, vehicle_id=member.vehicles[0].id, accept_waiver=True, **kwargs
    )


def _actions(action: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


# ------------------------------------------------------------------------------ services


@pytest.fixture
def staff(ctx, dealers):
    return make_staff("event_staff", dealers["SZ01"])


@pytest.fixture
def driver(dealers):
    member = make_member(dealers["SZ01"], name="Zhang Wei")
    make_vehicle(member, model="Haima Knight", plate="鲁B12345")
    return member


def test_a_car_passes_only_when_every_item_is_ok(staff, driver, clock):
    trip = make_trip(staff, clock)
    registration = join(driver, trip)
    check = tripday.record_safety_check(staff, trip.id, registration.id, **ALL_OK)
    assert check.passed and check.staff_id == staff.id and check.checked_at == clock.now()
    assert tripday.safety_result(check) == "Passed"
    (audit,) = _actions("event.safety_checked")
    assert audit.details["passed"] is True and audit.details["registration_id"] == registration.id


def test_a_recheck_updates_the_one_check_and_is_audited(staff, driver, clock):
    trip = make_trip(staff, clock)
    registration = join(driver, trip)
    tripday.record_safety_check(staff, trip.id, registration.id, **ALL_OK)
    clock.advance(hours=1)
    failed = tripday.record_safety_check(
        staff,
        trip.id,
        registration.id,
        **{**ALL_OK, "brakes_ok": False, "fuel_ok": False},
        notes="Pads worn; fill up before 8:00",
    )
    assert not failed.passed
    assert tripday.safety_result(failed) == "Failed: Brakes, Fuel"
    assert db.session.scalar(select(func.count(SafetyCheck.id))) == 1
    (recheck,) = _actions("event.safety_rechecked")
    assert recheck.details["before"]["passed"] is True
    assert recheck.details["passed"] is False
    assert recheck.details["notes"] == "Pads worn; fill up before 8:00"


def test_only_confirmed_cars_of_a_trip_of_the_dealer_are_checked(staff, dealers, clock):
    trip = make_trip(staff, clock, capacity=1)
    first, second = (make_member(dealers["SZ01"], name=n) for n in ("First", "Second"))
    for member in (first, second):
        make_vehicle(member)
    join(first, trip)
    waiting = join(second, trip)
    with pytest.raises(Conflict, match="confirmed place"):
        tripday.record_safety_check(staff, trip.id, waiting.id, **ALL_OK)

    gz_staff = make_staff("event_staff", dealers["GZ01"])
    confirmed = tripday.attendee_query(trip)
    with pytest.raises(NotFound):
        tripday.record_safety_check(
            gz_staff, trip.id, db.session.scalars(confirmed).first().id, **ALL_OK
        )
    assert db.session.scalar(select(func.count(SafetyCheck.id))) == 0


def test_a_lecture_has_no_safety_check(staff, dealers, clock):
    lecture = make_trip(staff, clock, kind=EventKind.LECTURE, max_companions=0, waiver_text="")
    seat = services.sign_up(make_member(dealers["SZ01"]), lecture.id)
    with pytest.raises(NotFound):
        tripday.record_safety_check(staff, lecture.id, seat.id, **ALL_OK)


def test_the_list_puts_confirmed_places_first_then_sign_up_order(staff, dealers, clock):
    # Seats: a family of three waits for 3 seats while a later single owner takes the last one.
    lecture = make_trip(staff, clock, kind=EventKind.LECTURE, capacity=2, waiver_text="")
    first, family, single = (make_member(dealers["SZ01"], name=n) for n in ("A", "B", "C"))
    services.sign_up(first, lecture.id)
    services.sign_up(family, lecture.id, companions=2, companion_names="B1, B2")
    services.sign_up(single, lecture.id)
    rows = tripday.attendee_rows(db.session.scalars(tripday.attendee_query(lecture)).all())
    assert [(row.name, row.status.value) for row in rows] == [
        ("A", "confirmed"),
        ("C", "confirmed"),
        ("B", "waiting"),
    ]
    summary = tripday.attendee_summary(lecture)
    assert (summary.confirmed, summary.people, summary.waiting) == (2, 2, 1)


# --------------------------------------------------------------------------------- pages


@pytest.fixture
def trip_day(app, seeded, dealers, clock):
    """A trip of SZ01: 张伟 with two companions (checked in), Li Na alone, one on the list."""
    with seeded():
        organiser = make_staff("event_staff", dealers["SZ01"])
        trip = make_trip(organiser, clock, capacity=2)
        zhang = make_member(dealers["SZ01"], name="张伟")
        make_vehicle(zhang, model="Haima Knight", plate="鲁B12345")
        li = make_member(dealers["SZ01"], name="Li Na")
        make_vehicle(li, model="Sagitar", plate="鲁B67890")
        late = make_member(dealers["SZ01"], name="=Late Comer")
        make_vehicle(late, model="Golf", plate="鲁B11111")
        with_family = join(zhang, trip, companions=2, companion_names="王芳, 张小明")
        alone = join(li, trip)
        waiting = join(late, trip)
        ids = {
            "event_id": trip.id,
            "zhang": with_family.id,
            "li": alone.id,
            "waiting": waiting.id,
            "zhang_mobile": zhang.user.mobile,
            "li_mobile": li.user.mobile,
            "organiser": organiser.id,
        }
    clock.advance(days=10, hours=-1)  # the morning of the trip, 09:00 in Shenzhen
    with seeded():
        organiser = db.session.get(User, ids["organiser"])
        registration = db.session.get(services.EventRegistration, ids["zhang"])
        checkin.check_in(
            organiser, event_id=ids["event_id"], ticket=checkin.ticket_token(registration)
        )
    return ids


@pytest.fixture
def organiser_client(staff_factory):
    return staff_factory("event_staff", "SZ01")


def _safety(client, ids, key="zhang", **marks):
    items = {name: "ok" for name in ("tyres", "lights", "brakes", "fluids", "fuel")}
    return client.post(
        f"/admin/events/{ids['event_id']}/registrations/{ids[key]}/safety",
        data={**items, **marks},
    )


def test_staff_record_the_safety_check_and_the_list_shows_it(app, organiser_client, trip_day):
    path = f"/admin/events/{trip_day['event_id']}/registrations/{trip_day['zhang']}/safety"
    form = organiser_client.get(path).get_data(as_text=True)
    assert "张伟" in form and "鲁B12345" in form

    empty = organiser_client.post(path, data={})
    assert empty.status_code == 200
    assert "Mark this item OK or not OK." in empty.get_data(as_text=True)

    passed = _safety(organiser_client, trip_day)
    assert passed.status_code == 302
    assert passed.headers["Location"].endswith(f"/admin/events/{trip_day['event_id']}/attendees")
    failed = _safety(organiser_client, trip_day, key="li", lights="not_ok", notes="Brake light out")
    assert failed.status_code == 302

    page = organiser_client.get(f"/admin/events/{trip_day['event_id']}/attendees")
    html = page.get_data(as_text=True)
    assert "Passed" in html
    assert "Failed: Lights" in html and "Brake light out" in html
    # The form opens again with the last result, for a re-check.
    again = organiser_client.get(path).get_data(as_text=True)
    assert '<input checked id="tyres-0" name="tyres" required type="radio" value="ok">' in again
    with app.app_context():
        assert db.session.scalar(select(func.count(SafetyCheck.id))) == 2


def test_the_attendee_list_shows_people_cars_phones_and_arrivals(organiser_client, trip_day):
    html = organiser_client.get(f"/admin/events/{trip_day['event_id']}/attendees").get_data(
        as_text=True
    )
    # Organisers phone owners on the day: full numbers, tap to call.
    assert f'href="tel:{trip_day["zhang_mobile"]}"' in html
    assert f'href="tel:{trip_day["li_mobile"]}"' in html
    assert "+2 companions: 王芳, 张小明" in html
    assert "Haima Knight" in html and "鲁B12345" in html
    assert "Checked in at" in html and "9:00" in html
    assert "Not checked in" in html
    assert "Waiting list" in html
    assert "<strong>2</strong> cars" in html
    assert "<strong>4</strong> people" in html  # 张伟 with two companions, Li Na alone
    assert html.index("张伟") < html.index("Li Na") < html.index("Late Comer")


def test_the_csv_opens_in_excel_with_chinese_names_and_the_export_is_audited(
    app, organiser_client, trip_day
):
    response = organiser_client.get(f"/admin/events/{trip_day['event_id']}/attendees.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0]) == [
        "Car no.",  # a trip's sheet starts with the car's number (issue 21)
        "Name",
        "Mobile",
        "Status",
        "Companions",
        "Companion names",
        "Car model",
        "Plate",
        "Safety check",
        "Safety notes",
        "Checked in at",
    ]
    assert [r["Name"] for r in rows] == ["张伟", "Li Na", "'=Late Comer"]
    zhang, li, late = rows
    assert [r["Car no."] for r in rows] == ["1", "2", ""]
    assert zhang["Mobile"] == trip_day["zhang_mobile"]
    assert zhang["Companions"] == "2" and zhang["Companion names"] == "王芳, 张小明"
    assert (zhang["Car model"], zhang["Plate"]) == ("Haima Knight", "鲁B12345")
    assert zhang["Status"] == "Confirmed" and late["Status"] == "Waiting list"
    assert zhang["Checked in at"] == "2026-12-03 09:00"
    assert li["Checked in at"] == ""
    assert zhang["Safety check"] == "Not checked"
    with app.app_context():
        (audit,) = _actions("event.attendees_exported")
        assert audit.subject_id == trip_day["event_id"] and audit.details == {"rows": 3}


def test_the_csv_carries_the_safety_results(organiser_client, trip_day):
    _safety(organiser_client, trip_day, brakes="not_ok", notes="Pads worn")
    raw = organiser_client.get(f"/admin/events/{trip_day['event_id']}/attendees.csv").get_data()
    zhang = next(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert zhang["Safety check"] == "Failed: Brakes"
    assert zhang["Safety notes"] == "Pads worn"


def test_another_dealers_staff_get_not_found(app, staff_factory, trip_day):
    gz = staff_factory("dealer_admin", "GZ01")
    event_id = trip_day["event_id"]
    assert gz.get(f"/admin/events/{event_id}/attendees").status_code == 404
    assert gz.get(f"/admin/events/{event_id}/attendees.csv").status_code == 404
    safety = f"/admin/events/{event_id}/registrations/{trip_day['zhang']}/safety"
    assert gz.get(safety).status_code == 404
    assert _safety(gz, trip_day).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(SafetyCheck.id))) == 0
        assert _actions("event.attendees_exported") == []


def test_a_registration_of_another_event_is_not_found(organiser_client, trip_day, seeded, clock):
    with seeded():
        organiser = db.session.get(User, trip_day["organiser"])
        other = make_trip(organiser, clock, title="Another trip")
        other_id = other.id
    path = f"/admin/events/{other_id}/registrations/{trip_day['zhang']}/safety"
    assert organiser_client.get(path).status_code == 404


def test_members_and_staff_without_the_permission_are_refused(
    member_client, staff_client, trip_day
):
    event_id = trip_day["event_id"]
    for client in (member_client, staff_client):  # an owner; a sales consultant
        assert client.get(f"/admin/events/{event_id}/attendees").status_code == 403
        assert client.get(f"/admin/events/{event_id}/attendees.csv").status_code == 403
        safety = f"/admin/events/{event_id}/registrations/{trip_day['zhang']}/safety"
        assert client.get(safety).status_code == 403
