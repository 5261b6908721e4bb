"""Issue 15 (R12): a DMS delivery never hands a car to an unproven account, and a proven
owner's name is never overwritten by the DMS's: it is flagged for staff."""

from sqlalchemy import select

from app.auth.models import User
from app.core.audit import AuditEntry
from app.extensions import db
from app.loyalty.services import account_for
from app.members.models import Member, NameMismatch, Notification, OutboxMessage, Vehicle
from app.members.registration import register_member
from tests.api.test_deliveries import delivery
from tests.auth.flows import details_form, prove
from tests.conftest import PASSWORD, login
from tests.factories import next_mobile

IMPOSTOR_MOBILE = "13900007777"


def unproven(seeded, dealer_id: int, *, mobile: str, name: str, locale: str | None = None):
    """Someone registered ``mobile`` with a password but never proved it by SMS code."""
    with seeded():
        user = register_member(
            mobile=mobile,
            password=PASSWORD,
            name=name,
            dealer_id=dealer_id,
            locale=locale,
            mobile_verified_at=None,
        )
        return user.member.id


def messages(app, member_id: int) -> dict[str, list[str]]:
    """The invitations in the member's inbox and the bodies queued per channel."""
    with app.app_context():
        inbox = db.session.scalars(
            select(Notification.body).where(
                Notification.member_id == member_id, Notification.kind == "invitation"
            )
        ).all()
        outbox = db.session.execute(
            select(OutboxMessage.channel, OutboxMessage.body).where(
                OutboxMessage.member_id == member_id, OutboxMessage.kind == "invitation"
            )
        ).all()
    queued: dict[str, list[str]] = {"inbox": list(inbox)}
    for channel, body in outbox:
        queued.setdefault(channel, []).append(body)
    return queued


def name_checks(app) -> list[NameMismatch]:
    with app.app_context():
        rows = db.session.scalars(select(NameMismatch).order_by(NameMismatch.id)).all()
        db.session.expunge_all()
        return rows


def audits(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).all()
        db.session.expunge_all()
        return rows


# ------------------------------------------------------------------- unproven accounts


def test_a_car_for_an_unproven_account_waits_there_and_the_number_is_invited(
    app, api, seeded, dealers
):
    mobile = next_mobile("137")
    member_id = unproven(seeded, dealers["SZ01"], mobile=mobile, name="Somebody", locale="en")
    response = api.post("/dms/deliveries", delivery(customer={"mobile": mobile}))
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["member_id"] == member_id
    assert data["owner_status"] == "waiting_for_proof"
    assert data["name_mismatch"] is False
    with app.app_context():
        car = db.session.get(Vehicle, data["vehicle_id"])
        assert car.member_id == member_id
        owner = db.session.get(Member, member_id)
        assert owner.user.mobile_verified_at is None
        assert owner.name == "Somebody"  # whoever proves the number names themselves
    queued = messages(app, member_id)
    assert len(queued["inbox"]) == 1 and len(queued["sms"]) == 1
    for body in queued["inbox"] + queued["sms"]:
        assert "http://localhost/register" in body
        assert "/account/setup/" not in body
        assert "Somebody" not in body  # the account's name may be anyone's
        assert "Sagitar" in body and "code" in body
    (entry,) = audits(app, "delivery.recorded")
    assert entry.details["member_enrolled"] is False
    assert entry.details["waiting_for_proof"] is True
    assert mobile not in str(entry.details)
    assert name_checks(app) == []  # the name is for whoever proves the number to give


def test_a_replay_sends_nothing_new_and_a_second_car_invites_again(app, api, seeded, dealers):
    mobile = next_mobile("137")
    member_id = unproven(seeded, dealers["SZ01"], mobile=mobile, name="Somebody")
    body = delivery(customer={"mobile": mobile})
    first = api.post("/dms/deliveries", body)
    again = api.post("/dms/deliveries", body)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert len(messages(app, member_id)["inbox"]) == 1
    assert len(messages(app, member_id)["sms"]) == 1

    second = api.post("/dms/deliveries", delivery(customer={"mobile": mobile}))
    assert second.status_code == 201 and second.get_json()["owner_status"] == "waiting_for_proof"
    assert len(messages(app, member_id)["inbox"]) == 2
    assert len(messages(app, member_id)["sms"]) == 2


def test_the_invitation_speaks_the_owners_language(app, api, seeded, dealers):
    mobile = next_mobile("137")
    member_id = unproven(seeded, dealers["SZ01"], mobile=mobile, name="某人", locale="zh")
    api.post("/dms/deliveries", delivery(customer={"mobile": mobile}))
    (body,) = messages(app, member_id)["sms"]
    assert "验证码" in body and "http://localhost/register" in body


def test_an_impostors_unproven_account_only_holds_the_car_and_points_for_the_prover(
    app, api, seeded, dealers
):
    # Reproduced in issue 15: someone registers the buyer's number as themselves, unproven.
    member_id = unproven(seeded, dealers["SZ01"], mobile=IMPOSTOR_MOBILE, name="Attacker")
    body = delivery(customer={"name": "Chen Jie", "mobile": "139 0000 7777"})
    delivered = api.post("/dms/deliveries", body)
    assert delivered.status_code == 201, delivered.get_json()
    assert delivered.get_json()["owner_status"] == "waiting_for_proof"
    visit = {
        "ro_number": "RO-IMPOSTOR-1",
        "vin": body["vehicle"]["vin"],
        "visited_on": "2026-11-22",
        "mileage_km": 300,
        "amount_yuan": 2000,
        "category": "maintenance",
    }
    visited = api.post("/dms/service-visits", visit)
    assert visited.status_code == 201, visited.get_json()
    assert visited.get_json()["points_awarded"] == 2000
    with app.app_context():
        waiting = db.session.get(Member, member_id)
        # The car and the points sit on the account of the number, which nobody has proved:
        # they go to whoever proves 139…7777 by SMS code (the claim step), not to a password.
        assert [v.vin for v in waiting.vehicles] == [body["vehicle"]["vin"]]
        assert account_for(waiting).balance == 2000
        user = db.session.scalar(select(User).where(User.mobile == IMPOSTOR_MOBILE))
        assert user.id == waiting.user_id
        assert user.mobile_verified_at is None
        assert waiting.name == "Attacker"
    # Nothing named the number's account as the car's owner: no name check, and the audit
    # says the car waits for proof.
    assert name_checks(app) == []
    (entry,) = audits(app, "delivery.recorded")
    assert entry.details["waiting_for_proof"] is True

    # The attacker's password opens nothing but the page asking to prove the number.
    attacker = app.test_client()
    login(attacker, IMPOSTOR_MOBILE)
    assert attacker.get("/me/vehicles").headers["Location"].endswith("/account/verify-mobile")
    assert attacker.get("/me/points").headers["Location"].endswith("/account/verify-mobile")
    # The real buyer proves the number by SMS code and holds the car and the points.
    buyer = app.test_client()
    assert prove(buyer, "139 0000 7777").headers["Location"].endswith("/register/details")
    joined = buyer.post(
        "/register/details",
        data=details_form(dealers["SZ01"], name="Chen Jie", password="", confirm=""),
    )
    assert joined.headers["Location"].endswith("/"), joined.get_data(as_text=True)
    garage = buyer.get("/me/vehicles").get_data(as_text=True)
    assert body["vehicle"]["vin"][-6:] in garage or body["vehicle"]["model"] in garage
    assert "<strong>2000</strong> points" in buyer.get("/me/points").get_data(as_text=True)
    assert attacker.get("/me/vehicles").headers["Location"].startswith("/login")
    with app.app_context():
        member = db.session.get(Member, member_id)
        assert member.name == "Chen Jie" and member.user.mobile_verified_at is not None
        assert account_for(member).balance == 2000


# --------------------------------------------------------------------- proven owners


def test_a_proven_owner_named_otherwise_keeps_the_name_and_staff_are_asked(app, api, member):
    body = delivery(customer={"name": "Zhang Weiwei", "mobile": member["mobile"]})
    response = api.post("/dms/deliveries", body)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["member_id"] == member["id"]
    assert data["owner_status"] == "proven" and data["name_mismatch"] is True
    with app.app_context():
        assert db.session.get(Member, member["id"]).name == "Zhang Wei"
    (check,) = name_checks(app)
    assert (check.member_id, check.vehicle_id) == (member["id"], data["vehicle_id"])
    assert (check.stored_name, check.dms_name) == ("Zhang Wei", "Zhang Weiwei")
    assert check.resolved_at is None
    (entry,) = audits(app, "delivery.name_mismatch")
    assert entry.details["stored_name"] == "Zhang Wei"
    assert entry.details["dms_name"] == "Zhang Weiwei"
    assert member["mobile"] not in str(entry.details)
    assert messages(app, member["id"]) == {"inbox": []}  # they have a login: no invitation

    again = api.post("/dms/deliveries", body)
    assert again.status_code == 200 and again.get_json() == data
    assert len(name_checks(app)) == 1
    assert len(audits(app, "delivery.name_mismatch")) == 1


def test_spacing_and_letter_case_are_no_mismatch(app, api, member):
    body = delivery(customer={"name": "  zhang   WEI ", "mobile": member["mobile"]})
    data = api.post("/dms/deliveries", body).get_json()
    assert data["owner_status"] == "proven" and data["name_mismatch"] is False
    assert name_checks(app) == []


def test_the_openapi_document_describes_what_happened_to_the_owner(api):
    document = api.get("/openapi.json", dealer=None).get_json()
    recorded = document["components"]["schemas"]["DeliveryRecorded"]
    assert recorded["properties"]["owner_status"]["enum"] == ["proven", "waiting_for_proof"]
    assert recorded["properties"]["name_mismatch"]["type"] == "boolean"
    assert {"owner_status", "name_mismatch"} <= set(recorded["required"])


def test_staff_recording_for_an_unproven_number_are_not_shown_the_accounts_name(
    app, seeded, dealers, staff_factory
):
    mobile = next_mobile("137")
    unproven(seeded, dealers["SZ01"], mobile=mobile, name="Attacker")
    staff = staff_factory("sales_consultant", "SZ01")
    form = {
        "name": "Chen Jie",
        "mobile": mobile,
        "vin": delivery()["vehicle"]["vin"],
        "model": "Golf",
        "colour": "red",
        "transmission": "manual",
        "delivered_on": "2026-11-22",
        "sales_consultant": "Staff",
    }
    page = staff.post("/admin/deliveries", data=form, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "the Golf waits in the club for the buyer" in text
    assert "Attacker" not in text
