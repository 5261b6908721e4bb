"""A self-drive trip's day on the phone (issue 21): event staff run a prize draw among the
checked-in attendees and the live screen shows the winners without a reload; the owner's
ticket shows their car number, the lead and tail cars and the route (English and Chinese).
Every page fits 390 px and passes axe."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.core.clock import utcnow
from app.events import trips
from app.events.checkin import check_in, ticket_token
from app.events.models import EventKind
from app.events.services import create_event, sign_up
from app.extensions import db
from app.members.services import get_dealer_by_code
from tests.browser.test_accessibility import violations
from tests.browser.test_journey import log_in
from tests.factories import make_member, make_staff, make_vehicle

OWNER_MOBILE = "13700002121"
DRIVERS = ("Zhang Wei", "Li Na", "Wang Fang", "Chen Jie", "Zhao Lei", "Sun Mei")


@pytest.fixture(scope="module")
def trip_day(live_server) -> dict:
    """A SZ01 trip starting within the hour: six cars signed up, five checked in (Zhang Wei,
    the owner whose ticket we open, among them); its route, convoy and fixed numbers."""
    app = live_server.app
    with app.app_context(), app.test_request_context():
        dealer = get_dealer_by_code("SZ01")
        staff = make_staff("event_staff", dealer.id)
        now = utcnow()
        trip = create_event(
            staff,
            kind=EventKind.TRIP,
            title="大泽山 grape-picking drive",
            place="润桥4S店, Pingdu",
            starts_at=now + timedelta(hours=1),
            ends_at=now + timedelta(hours=11),
            registration_opens_at=now - timedelta(days=5),
            registration_closes_at=now + timedelta(minutes=30),
            capacity=10,
            max_companions=2,
            waiver_text="I drive at my own risk.",
        )
        places = {}
        for name in DRIVERS:
            owner = make_member(
                dealer.id, name=name, mobile=OWNER_MOBILE if name == "Zhang Wei" else None
            )
            car = make_vehicle(owner, model="Haima Knight")
            places[name] = sign_up(owner, trip.id, vehicle_id=car.id, accept_waiver=True)
        for name in DRIVERS[:5]:
            check_in(staff, event_id=trip.id, ticket=ticket_token(places[name]))
        start = trip.starts_at
        for name, address, minutes, note in (
            ("润桥4S店", "青岛路 8号", 0, "Stickers and flags; safety check"),
            ("青岛路 → 北外环", "", None, ""),
            ("大泽山葡萄采摘园", "大泽山镇", 50, "Grape picking; photos at the gate"),
            ("物资宾馆", "平度市人民路", 220, "Lunch"),
        ):
            planned = start + timedelta(minutes=minutes) if minutes is not None else None
            trips.add_stop(
                staff, trip.id, name=name, address=address, planned_at=planned, note=note
            )
        trips.set_convoy(
            staff,
            trip.id,
            lead=f"staff:{staff.id}",
            lead_note="White service van 鲁B·88888, Mr Wang",
            tail=f"car:{places['Li Na'].id}",
        )
        trips.fix_car_numbers(staff, trip.id, expected=len(DRIVERS))
        info = {
            "event_id": trip.id,
            "staff_mobile": staff.mobile,
            "ticket_id": places["Zhang Wei"].id,
        }
        db.session.commit()
    return info


def _check(page, artifacts=None, shot: str | None = None) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url
    assert violations(page) == [], page.url
    if shot:
        page.screenshot(path=artifacts / shot, full_page=True)


def test_staff_draw_prizes_the_screen_shows_them_live_and_the_ticket_shows_the_trip(
    trip_day, new_phone, artifacts
):
    staff = new_phone()
    log_in(staff, trip_day["staff_mobile"])
    staff.goto(f"/admin/events/{trip_day['event_id']}")
    # The trip's plan as the organiser edits it on the phone, and the sheet they print.
    staff.get_by_role("link", name=re.compile("Trip plan")).click()
    expect(staff.locator(".trip-car")).to_have_count(len(DRIVERS))
    expect(staff.locator("#route + .route .route-stop")).to_have_count(4)
    _check(staff, artifacts, "phone-trip-plan.png")
    staff.get_by_role("link", name="Sheet to print").click()
    expect(staff.locator(".sheet-cars tbody tr")).to_have_count(len(DRIVERS))
    _check(staff, artifacts, "phone-trip-sheet.png")

    staff.goto(f"/admin/events/{trip_day['event_id']}")
    staff.get_by_role("link", name=re.compile("Prize draw")).click()
    staff.wait_for_url("**/draw")
    expect(staff.locator(".lead")).to_contain_text("5 attendees checked in")
    _check(staff)

    # A prize of two; its seed's commitment is on the page before anything is drawn.
    staff.fill("#name", "Car care kit")
    staff.fill("#quantity", "2")
    staff.get_by_role("button", name="Add the prize").click()
    expect(staff.get_by_role("status").first).to_contain_text("Prize added: Car care kit.")
    expect(staff.locator(".prize code")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    _check(staff, artifacts, "phone-draw-prize.png")

    # The screen at the event, opened before the draw: nobody has won yet.
    screen = staff.context.new_page()
    screen.goto(f"/admin/events/{trip_day['event_id']}/draw/live")
    expect(screen.locator("#draw-latest")).to_contain_text("No winners yet.")
    _check(screen)

    staff.get_by_role("button", name="Draw “Car care kit”").click()
    expect(staff.get_by_role("status").first).to_contain_text("2 winners drawn.")
    expect(staff.locator(".winners .winner")).to_have_count(2)
    _check(staff, artifacts, "phone-draw-winners.png")

    # Without a reload, the screen shows the two winners (masked) and reads them out.
    expect(screen.locator("#draw-latest li")).to_have_count(2, timeout=15_000)
    expect(screen.locator("#draw-latest")).to_contain_text("Car care kit")
    expect(screen.locator("#draw-announce")).to_contain_text("New winner")
    assert "Zhang Wei" not in screen.locator("#draw-latest").inner_text()
    _check(screen, artifacts, "phone-draw-live.png")

    # A winner is not there when called: the prize is drawn again, the screen follows.
    first = staff.locator(".winners .winner").first
    first.get_by_role("button", name=re.compile("is absent: draw again")).click()
    sheet = staff.locator("#confirm-sheet")
    expect(sheet).to_contain_text("is not here: draw “Car care kit” again?")
    sheet.get_by_role("button", name="Absent: draw again").click()
    expect(staff.get_by_role("status").first).to_contain_text("drawn again")
    expect(staff.locator(".winner-absent")).to_have_count(1)
    expect(screen.locator(".draw-winners .winner-absent")).to_have_count(1, timeout=15_000)
    expect(screen.locator("#draw-latest li")).to_have_count(2)
    _check(screen)

    # The owner's ticket: car number, the convoy and the route, in English then Chinese.
    owner = new_phone()
    log_in(owner, OWNER_MOBILE)
    owner.goto(f"/me/tickets/{trip_day['ticket_id']}")
    expect(owner.locator(".trip-number")).to_contain_text("Your car is number 1")
    expect(owner.locator(".trip-ticket")).to_contain_text("White service van")
    expect(owner.locator(".trip-ticket")).to_contain_text("Car 2")
    expect(owner.locator(".trip-ticket .route-stop")).to_have_count(4)
    _check(owner, artifacts, "phone-trip-ticket.png")
    owner.goto(f"/lang/zh?next=/me/tickets/{trip_day['ticket_id']}")
    expect(owner.locator(".trip-number")).to_contain_text("您的车辆序号：1 号")
    expect(owner.locator(".trip-ticket")).to_contain_text("收尾车")
    _check(owner, artifacts, "phone-trip-ticket-zh.png")
