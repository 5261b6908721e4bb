"""The card on the phone, its refreshing QR, reissue, and the staff scan page."""

import json
import re

from app.extensions import db
from tests.conftest import login


def card_numbers(page: str) -> list[str]:
    return re.findall(r"\d{4} \d{4} \d{4} \d{4}", page)


def shown_token(page: str) -> str:
    """The signed token the card page gives its script to draw as a QR."""
    return re.search(r'data-token="(CC1\.[A-Za-z0-9_-]+)"', page).group(1)


def test_the_card_shows_name_tier_points_and_a_qr(app, member_client):
    from app.cards.services import check_card
    from app.core.permissions import Role
    from tests.factories import make_staff

    page = member_client.get("/card").get_data(as_text=True)
    assert "Zhang Wei" in page
    assert "Gold" in page
    assert "0</strong> points" in page
    assert "≈ ¥0.00" in page
    assert len(card_numbers(page)) == 1
    # The page draws the token's QR; a browser without JavaScript shows the server's picture.
    assert '<noscript><img src="/card/qr.svg"' in page
    with app.app_context(), app.test_request_context():
        staff = make_staff(Role.HQ_ADMIN, None)
        assert check_card(staff, shown_token(page)).member.name == "Zhang Wei"


def test_the_qr_picture_is_the_token_the_page_shows(member_client):
    from app.cards.views import CARD_QR_MASK
    from app.core.qr import qr_svg

    page = member_client.get("/card").get_data(as_text=True)
    picture = member_client.get("/card/qr.svg")
    assert picture.mimetype == "image/svg+xml"
    assert picture.headers["Cache-Control"] == "no-store"
    # Drawn with one fixed mask, not the best of eight (tests/browser reads it from a screen).
    drawn = qr_svg(shown_token(page), mask=CARD_QR_MASK, standalone=True)
    assert picture.get_data(as_text=True) == drawn
    assert drawn.startswith('<svg xmlns="http://www.w3.org/2000/svg"')


def test_the_token_endpoint_returns_a_fresh_token_after_half_a_minute(member_client, clock):
    first = member_client.get("/card/token")
    again = member_client.get("/card/token")
    clock.advance(seconds=30)
    second = member_client.get("/card/token")
    assert first.headers["Cache-Control"] == "no-store"
    assert first.json["token"].startswith("CC1.") and first.json["token"] == again.json["token"]
    assert second.json["token"] != first.json["token"]
    # The QR drawn too, for a card page kept from before the page drew its own.
    assert first.json["svg"].startswith("<svg") and second.json["svg"] != first.json["svg"]
    assert first.json["expires_at"].endswith("+00:00")


def test_card_pages_are_for_owners_only(client, staff_client):
    assert client.get("/card").status_code == 302
    assert client.get("/card/qr.svg").status_code == 302
    assert staff_client.get("/card").status_code == 403
    assert staff_client.get("/card/token").status_code == 403
    assert staff_client.get("/card/qr.svg").status_code == 403


def test_reissue_needs_confirmation_and_then_changes_the_number(member_client):
    before = card_numbers(member_client.get("/card").get_data(as_text=True))
    page = member_client.post("/card/reissue", data={"reason": "lost"}).get_data(as_text=True)
    assert "Tick the box to confirm." in page
    assert card_numbers(member_client.get("/card").get_data(as_text=True)) == before
    response = member_client.post(
        "/card/reissue", data={"reason": "lost", "confirm": "y"}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "The old number no longer works" in page
    assert card_numbers(page) != before


def test_the_scan_page_shows_the_member_for_a_valid_number(app, member, staff_client):
    from app.cards.services import active_card
    from app.members.models import Member

    with app.app_context():
        number = active_card(db.session.get(Member, member["id"])).number
    page = staff_client.post("/admin/scan", data={"code": number}).get_data(as_text=True)
    assert "Valid member card" in page
    assert "Zhang Wei" in page


def test_the_scan_page_refuses_garbage_with_a_reason(staff_client):
    page = staff_client.post("/admin/scan", data={"code": "CC1.not-a-token"}).get_data(as_text=True)
    assert "Refused" in page
    assert "not a club card code" in page


def test_an_empty_scan_asks_for_a_code(staff_client):
    page = staff_client.post("/admin/scan", data={"code": ""}).get_data(as_text=True)
    assert "Scan or type a code." in page


def test_members_cannot_use_the_scan_page(member_client):
    assert member_client.get("/admin/scan").status_code == 403


def test_a_fresh_login_sees_the_same_card(app, member):
    client = app.test_client()
    login(client, member["mobile"])
    assert len(card_numbers(client.get("/card").get_data(as_text=True))) == 1


def post_json(client, body, *, csrf=True):
    """A JSON post as card.js sends it: the CSRF token in the X-CSRFToken header."""
    headers = {"X-CSRFToken": client.csrf_token()} if csrf else {}
    return client.post(
        "/card/device",
        data=body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
        headers=headers,
        with_csrf=False,
    )


def test_the_card_page_certifies_the_browsers_key(member_client):
    from tests.cards.test_devices import Phone

    phone = Phone()
    sent = post_json(member_client, {"public_key": phone.public_key})
    assert sent.status_code == 200 and sent.headers["Cache-Control"] == "no-store"
    again = post_json(member_client, {"public_key": phone.public_key})
    assert again.json["device_id"] == sent.json["device_id"]
    assert sent.json["not_after"].endswith("+00:00")
    assert len(sent.json["card_number"]) == 16


def test_certifying_a_key_needs_csrf_a_key_and_an_owner(app, member_client, staff_client):
    bad = post_json(member_client, {"public_key": "AAAA"})
    assert bad.status_code == 422 and bad.json["error"]["message"]
    assert post_json(member_client, ["x"]).status_code == 400
    assert post_json(member_client, "{").status_code == 400
    assert post_json(member_client, {"public_key": None}).status_code == 400
    # Without the CSRF token: refused before anything is read.
    assert post_json(member_client, {"public_key": "x"}, csrf=False).status_code == 400
    assert post_json(staff_client, {"public_key": "x"}).status_code == 403
    assert post_json(app.test_client(), {"public_key": "x"}).status_code == 302


def test_the_site_worker_may_control_the_whole_site(client):
    response = client.get("/card/sw.js")
    assert response.status_code == 200
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.mimetype == "text/javascript"
    source = response.get_data(as_text=True)
    assert '"/card"' in source
    assert "importScripts(WORKER.common)" in source and "sw-common.js" in source
    assert "scanner.js" in source  # the staff card check's camera, offline too


def test_phones_opening_the_card_at_once_on_the_expiry_day_expire_the_points_once(db_app):
    # The card page only reads until it finds lots past their date; recording their expiry
    # locks the account first (app/core/database.py), so only one request records it.
    import threading

    from sqlalchemy import select

    from app.loyalty.ledger import post_points
    from app.loyalty.models import EntryKind, PointsAccount, PointsEntry
    from app.loyalty.services import account_for
    from tests.factories import make_dealer, make_member

    with db_app.app_context(), db_app.test_request_context():
        member = make_member(make_dealer("SZ01").id)
        account_id = account_for(member).id
        post_points(account_id, 1000, kind=EntryKind.EARN, source="service_visit", key="ro:1")
        mobile = member.user.mobile
        db.session.commit()
    db_app.extensions["clock"].advance(days=731)
    phones = [db_app.test_client() for _ in range(4)]
    for phone in phones:
        login(phone, mobile)
    barrier, codes = threading.Barrier(len(phones)), []

    def open_card(phone):
        barrier.wait()
        codes.append(phone.get("/card").status_code)

    threads = [threading.Thread(target=open_card, args=(phone,)) for phone in phones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * len(phones)
    with db_app.app_context():
        kinds = db.session.scalars(
            select(PointsEntry.kind).where(PointsEntry.account_id == account_id)
        ).all()
        assert kinds.count(EntryKind.EXPIRE) == 1
        assert db.session.get(PointsAccount, account_id).balance == 0
