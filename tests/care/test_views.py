"""The owner's message settings and car dates; the inbox with a care reminder."""

from datetime import date

from sqlalchemy import select

from app.care.schedule import run_daily
from app.extensions import db
from app.members.models import Member, Vehicle
from tests.care.helpers import make_car, make_owner

CHANNELS = {"email": "zhang@example.com", "notify_email": "y", "notify_sms": "y"}


def _member(app, member_id) -> Member:
    with app.app_context():
        return db.session.get(Member, member_id)


def test_the_owner_chooses_channels_and_opts_out_of_offers(app, member_client, member):
    page = member_client.get("/me/notifications").get_data(as_text=True)
    assert "Messages and reminders" in page
    assert "21:00–08:00" in page

    response = member_client.post("/me/notifications", data={**CHANNELS, "marketing": "y"})
    assert response.status_code == 302
    saved = _member(app, member["id"])
    assert (saved.email, saved.notify_email, saved.notify_sms) == ("zhang@example.com", True, True)
    assert saved.marketing_opt_in is True
    assert saved.marketing_changed_at is not None

    member_client.post("/me/notifications", data={"email": "zhang@example.com"})
    saved = _member(app, member["id"])
    assert (saved.notify_email, saved.notify_sms, saved.marketing_opt_in) == (False, False, False)
    assert "Message settings saved." in member_client.get("/me/notifications").get_data(
        as_text=True
    )


def as_shown(html: str) -> dict:
    """What the browser posts when the form is submitted as it opened: text inputs' values and
    the ticked checkboxes (the CSRF token is the test client's)."""
    from html.parser import HTMLParser

    data = {}

    class Inputs(HTMLParser):
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag != "input" or not a.get("name") or a["name"] == "csrf_token":
                return
            if a.get("type") == "checkbox":
                if "checked" in a:
                    data[a["name"]] = a.get("value", "y")
            elif a.get("type") != "submit":
                data[a["name"]] = a.get("value", "")

    Inputs().feed(html)
    return data


def test_a_new_owner_can_save_the_reminders_page_as_it_opens(app, member_client, member):
    """With no e-mail address yet, e-mail reminders show unticked (they used to be ticked, so
    saving the page as it opened was refused for the missing address)."""
    html = member_client.get("/me/notifications").get_data(as_text=True)
    shown = as_shown(html)
    assert "notify_email" not in shown and "notify_sms" in shown
    response = member_client.post("/me/notifications", data=shown)
    assert response.status_code == 302
    saved = _member(app, member["id"])
    assert (saved.email, saved.notify_email, saved.notify_sms) == (None, False, True)


def test_a_mistyped_email_address_is_refused(app, member_client, member):
    html = member_client.post(
        "/me/notifications", data={**CHANNELS, "email": "zhang@example"}
    ).get_data(as_text=True)
    assert "Enter an e-mail address such as name@example.com." in html
    assert _member(app, member["id"]).email is None


def test_email_on_needs_an_address(app, member_client, member):
    html = member_client.post("/me/notifications", data={**CHANNELS, "email": ""}).get_data(
        as_text=True
    )
    assert "Enter your e-mail address, or turn e-mail off." in html


def test_the_owner_enters_the_dates_of_their_car(app, member_client, member):
    path = f"/me/vehicles/{member['vehicle_id']}/care-dates"
    assert "Warranty ends" in member_client.get(path).get_data(as_text=True)
    response = member_client.post(
        path,
        data={
            "warranty_until": "2027-05-03",
            "insurance_expires_on": "2027-01-15",
            "inspection_due_on": "",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/me/notifications"
    with app.app_context():
        car = db.session.get(Vehicle, member["vehicle_id"])
        assert car.warranty_until == date(2027, 5, 3)
        assert car.insurance_expires_on == date(2027, 1, 15)
        assert car.inspection_due_on is None
    page = member_client.get("/me/notifications").get_data(as_text=True)
    assert "15 Jan 2027" in page


def test_a_warranty_cannot_end_before_the_purchase(member_client, member):
    html = member_client.post(
        f"/me/vehicles/{member['vehicle_id']}/care-dates", data={"warranty_until": "2020-01-01"}
    ).get_data(as_text=True)
    assert "The warranty cannot end before the car was bought." in html


def test_another_owners_car_dates_are_not_found(seeded, dealers, member_client):
    with seeded():
        other = make_owner(dealers["SZ01"], name="Other")
        car_id = make_car(other, purchased_on=date(2025, 1, 1)).id
    assert member_client.get(f"/me/vehicles/{car_id}/care-dates").status_code == 404
    response = member_client.post(
        f"/me/vehicles/{car_id}/care-dates", data={"insurance_expires_on": "2027-01-01"}
    )
    assert response.status_code == 404


def test_staff_and_visitors_cannot_open_the_owners_settings(client, staff_client):
    assert staff_client.get("/me/notifications").status_code == 403
    response = client.get("/me/notifications")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_care_reminder_arrives_in_the_inbox(app, seeded, member, member_client):
    with seeded():
        car = db.session.get(Vehicle, member["vehicle_id"])
        car.insurance_expires_on = date(2026, 12, 7)
        db.session.get(Member, member["id"]).user.locale = "en"
    with app.app_context(), app.test_request_context():
        run_daily()
    html = member_client.get("/").get_data(as_text=True)
    assert 'aria-label="1 unread"' in html
    inbox = member_client.get("/me/inbox").get_data(as_text=True)
    assert "ends on 7 December 2026" in inbox
    with app.app_context():
        assert db.session.scalar(select(Member.email).where(Member.id == member["id"])) is None


def test_the_car_form_links_to_the_care_dates(member_client, member):
    html = member_client.get(f"/me/vehicles/{member['vehicle_id']}/edit").get_data(as_text=True)
    assert f'href="/me/vehicles/{member["vehicle_id"]}/care-dates"' in html
