"""Pages: owners browse and claim perks; a partner checks codes and downloads the settlement;
admins manage partners, perks and logins within their scope."""

import csv
import io
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import AuditEntry
from app.core.permissions import Role
from app.extensions import db
from app.members.models import Member
from app.partners.claims import claim_perk, perk_token
from app.partners.models import Partner, Perk, PerkClaim
from app.rewards.services import format_voucher_code
from tests.conftest import login
from tests.factories import make_member, make_staff, next_mobile
from tests.partners.helpers import make_partner, make_partner_user, make_perk, set_tier


def text(response) -> str:
    """The page's visible text, tags removed and whitespace squeezed."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


@pytest.fixture
def perks(seeded, member, dealers):
    """A group-wide hotel (with a front-desk login), an SZ01 car spa, a GZ01 partner: ids."""
    with seeded():
        hotel = make_partner(name="Longcheng Palace Hotel")
        spa = make_partner(dealers["SZ01"], name="Binhai Car Spa", category="car_care")
        gz = make_partner(dealers["GZ01"], name="Guangzhou Tea House")
        ids = {
            "hotel": hotel.id,
            "spa": spa.id,
            "gz": gz.id,
            "upgrade": make_perk(hotel, title="Room upgrade").id,
            "suite": make_perk(hotel, title="Diamond suite", min_tier_code="diamond").id,
            "wash": make_perk(spa, title="Free wash", total_limit=1).id,
            "tea": make_perk(gz, title="Tea for two").id,
            "desk_mobile": make_partner_user(hotel).mobile,
            "spa_mobile": make_partner_user(spa).mobile,
        }
    return ids


@pytest.fixture
def front_desk(app, perks):
    """The hotel's front desk, logged in."""
    client = app.test_client()
    login(client, perks["desk_mobile"])
    return client


def claims(app) -> list[PerkClaim]:
    with app.app_context():
        return list(db.session.scalars(select(PerkClaim).order_by(PerkClaim.id)))


def audit(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# ---------------------------------------------------------------------------------- owners


def test_an_owner_sees_the_perks_of_their_dealer_and_the_group(member_client, perks):
    page = text(member_client.get("/perks"))
    assert "Room upgrade" in page and "Free wash" in page
    assert "Tea for two" not in page
    assert "Diamond suite 1 Binhai Road Until 23 Dec 2026 For Diamond members and above" in page
    html = member_client.get("/perks").get_data(as_text=True)
    assert f"/perks/{perks['upgrade']}/claim" in html
    assert f"/perks/{perks['suite']}/claim" not in html


def test_an_owner_claims_a_perk_and_sees_its_code_and_qr(app, member_client, perks):
    response = member_client.post(f"/perks/{perks['upgrade']}/claim")
    assert response.status_code == 302
    (claim,) = claims(app)
    assert response.headers["Location"] == f"/me/perks/{claim.id}"

    page = member_client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert "Your perk is ready" in text(page)
    assert "Ready to use" in text(page)
    assert format_voucher_code(claim.code) in html
    assert "<svg" in html and "Perk QR code" in html

    listed = text(member_client.get("/me/perks"))
    assert "To use (1)" in listed and "Room upgrade" in listed

    # A second claim of a once-per-member perk is refused, with the reason.
    page = text(member_client.post(f"/perks/{perks['upgrade']}/claim", follow_redirects=True))
    assert "You have already claimed this perk." in page
    assert len(claims(app)) == 1


def test_claiming_above_the_tier_is_refused_and_nothing_saved(app, member_client, perks):
    page = text(member_client.post(f"/perks/{perks['suite']}/claim", follow_redirects=True))
    assert "This perk is for Diamond members and above." in page
    assert claims(app) == []
    with app.app_context():
        assert db.session.get(Perk, perks["suite"]).claimed_count == 0


def test_a_diamond_owner_claims_the_suite(app, seeded, member, member_client, perks):
    with seeded():
        set_tier(db.session.get(Member, member["id"]), "diamond")
    assert member_client.post(f"/perks/{perks['suite']}/claim").status_code == 302
    assert [c.tier_code for c in claims(app)] == ["diamond"]


def test_the_last_perk_goes_to_the_first_owner(app, seeded, member_client, perks, dealers):
    with seeded():
        claim_perk(make_member(dealers["SZ01"]), perks["wash"])
    page = text(member_client.post(f"/perks/{perks['wash']}/claim", follow_redirects=True))
    assert "Sorry, every one of these perks has been claimed." in page
    assert len(claims(app)) == 1
    assert "Free wash" in page and "All claimed" in page


def test_an_owner_cannot_claim_another_dealers_perk(member_client, perks):
    assert member_client.post(f"/perks/{perks['tea']}/claim").status_code == 404


def test_an_owner_cannot_see_another_owners_claim(app, seeded, member_client, perks, dealers):
    with seeded():
        other = claim_perk(make_member(dealers["SZ01"]), perks["upgrade"]).id
    assert member_client.get(f"/me/perks/{other}").status_code == 404


@pytest.mark.parametrize("path", ["/perks", "/me/perks"])
def test_owner_pages_are_for_owners(client, staff_client, front_desk, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert staff_client.get(path).status_code == 403
    assert front_desk.get(path).status_code == 403


# --------------------------------------------------------------------------------- partners


@pytest.fixture
def claimed(seeded, member, perks):
    """Zhang Wei's claim of the hotel's room upgrade: its id, code and QR text."""
    with seeded():
        claim = claim_perk(db.session.get(Member, member["id"]), perks["upgrade"])
        return {"id": claim.id, "code": claim.code, "token": perk_token(claim)}


def test_the_partner_checks_a_code_once(app, front_desk, claimed, clock):
    page = front_desk.get("/partner")
    assert page.status_code == 200
    assert "Longcheng Palace Hotel" in text(page)

    page = text(front_desk.post("/partner", data={"code": claimed["token"]}))
    assert "✓ Valid: honour this perk" in page
    assert "Room upgrade" in page and "Gold" in page

    clock.advance(minutes=45)
    response = front_desk.post("/partner", data={"code": format_voucher_code(claimed["code"])})
    page = text(response)
    assert response.status_code == 200
    assert "✗ Do not honour" in page
    assert "Already used at 10:00 on 23 Nov 2026." in page
    with app.app_context():
        assert db.session.get(PerkClaim, claimed["id"]).honoured_at == clock.at.replace(minute=0)
    assert len(audit(app, "perk.honoured")) == 1
    assert [e.details["reason"] for e in audit(app, "perk.refused")] == ["already_used"]


def test_the_owner_sees_the_perk_used(member_client, front_desk, claimed):
    front_desk.post("/partner", data={"code": claimed["code"]})
    page = member_client.get(f"/me/perks/{claimed['id']}")
    assert "Used on" in text(page)
    # No QR code any more (the page's icons are SVG too).
    assert 'class="qr"' not in page.get_data(as_text=True)


def test_another_partners_code_is_refused_and_nothing_saved(app, perks, claimed):
    spa = app.test_client()
    login(spa, perks["spa_mobile"])
    page = text(spa.post("/partner", data={"code": claimed["token"]}))
    assert "This code is for another partner's perk. Do not honour it here." in page
    assert "Room upgrade" not in page
    with app.app_context():
        assert db.session.get(PerkClaim, claimed["id"]).honoured_at is None
    assert audit(app, "perk.honoured") == []


def test_an_empty_code_is_asked_for(front_desk):
    page = text(front_desk.post("/partner", data={"code": ""}))
    assert "Scan or type a code." in page


def test_partner_pages_are_for_partner_users(app, seeded, client, member_client, staff_factory):
    with seeded():
        loose = make_staff("partner", None).mobile
    unlinked = app.test_client()
    login(unlinked, loose)
    for path in ("/partner", "/partner/settlement", "/partner/settlement.csv"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
        assert member_client.get(path).status_code == 403
        assert staff_factory("hq_admin", None).get(path).status_code == 403
        assert unlinked.get(path).status_code == 403


def test_the_partner_downloads_the_months_settlement(front_desk, claimed, perks):
    front_desk.post("/partner", data={"code": claimed["code"]})

    page = text(front_desk.get("/partner/settlement"))
    assert "Perks honoured in 2026-11: 1" in page
    assert "Room upgrade Gold 1" in page

    response = front_desk.get("/partner/settlement.csv", query_string={"month": "2026-11"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="settlement-' in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == {
        "Partner": "Longcheng Palace Hotel",
        "Month": "2026-11",
        "Perk": "Room upgrade",
        "Tier": "Gold",
        "Perks honoured": "1",
    }
    assert rows[-1]["Tier"] == "All tiers" and rows[-1]["Perks honoured"] == "1"

    october = front_desk.get("/partner/settlement.csv", query_string={"month": "2026-10"})
    rows = list(csv.DictReader(io.StringIO(october.data.decode("utf-8-sig"))))
    assert [r["Perks honoured"] for r in rows] == ["0"]
    assert "No perks were honoured in this month." in text(
        front_desk.get("/partner/settlement", query_string={"month": "2026-10"})
    )


def test_a_bad_month_is_refused(front_desk):
    response = front_desk.get("/partner/settlement", query_string={"month": "2026-13"})
    assert response.status_code == 400
    assert "Choose a month, e.g. 2026-11." in text(response)
    assert front_desk.get("/partner/settlement.csv", query_string={"month": "x"}).status_code == 400


def test_the_chinese_page_works(front_desk):
    front_desk.set_cookie("lang", "zh")
    assert front_desk.get("/partner").status_code == 200
    assert front_desk.get("/partner/settlement").status_code == 200


# ------------------------------------------------------------------------------------ staff


def partner_form(**changes):
    return {
        "name": "Xinqijian Car Care",
        "category": "car_care",
        "address": "8 Shennan Road",
        "logo_url": "",
        "active": "y",
        **changes,
    }


def perk_form(**changes):
    return {
        "title": "Interior clean",
        "description": "Seats and carpets.",
        "min_tier_code": "platinum",
        "valid_from": "2026-11-23",
        "valid_until": "2026-12-31",
        "limit_per_member": "1",
        "total_limit": "50",
        "active": "y",
        **changes,
    }


def test_a_dealer_admin_adds_a_partner_a_perk_and_a_login(app, staff_factory, dealers):
    admin = staff_factory("dealer_admin", "SZ01")
    form = admin.get("/admin/partners/new").get_data(as_text=True)
    assert "All dealers (group-wide)" not in form

    response = admin.post("/admin/partners/new", data=partner_form(dealer_id=dealers["SZ01"]))
    assert response.status_code == 302
    with app.app_context():
        partner = db.session.scalar(select(Partner))
        assert (partner.name, partner.dealer_id) == ("Xinqijian Car Care", dealers["SZ01"])
    detail = response.headers["Location"]
    assert detail == f"/admin/partners/{partner.id}"

    response = admin.post(f"/admin/partners/{partner.id}/perks/new", data=perk_form())
    assert response.status_code == 302
    page = text(admin.get(detail))
    assert "Interior clean" in page and "0 / 50" in page

    mobile = next_mobile("137")
    response = admin.post(
        f"/admin/partners/{partner.id}/users/new",
        data={"name": "Front desk", "mobile": mobile, "password": "partner-pass"},
        follow_redirects=True,
    )
    assert f"Login created for Front desk: they log in with {mobile}." in text(response)
    assert f"{mobile[:3]}****{mobile[-4:]}" in text(admin.get(detail))
    with app.app_context():
        user = db.session.scalar(select(User).where(User.mobile == mobile))
        assert (user.role, user.partner_id) == (Role.PARTNER, partner.id)

    desk = app.test_client()
    login(desk, mobile, "partner-pass")
    assert "Xinqijian Car Care" in text(desk.get("/partner"))
    assert desk.get("/admin/").status_code == 403


def test_bad_perk_values_are_shown_next_to_the_field(app, staff_factory, perks):
    admin = staff_factory("dealer_admin", "SZ01")
    response = admin.post(
        f"/admin/partners/{perks['spa']}/perks/new",
        data=perk_form(valid_until="2026-11-01"),
    )
    assert response.status_code == 422
    assert "The last day cannot be before the first day." in text(response)
    with app.app_context():
        assert db.session.scalar(select(func.count(Perk.id))) == 4


def test_the_total_cannot_drop_below_the_claims(app, seeded, staff_factory, perks, dealers):
    with seeded():
        claim_perk(make_member(dealers["SZ01"]), perks["wash"])
    admin = staff_factory("dealer_admin", "SZ01")
    edit = f"/admin/perks/{perks['wash']}/edit"
    assert "Claimed 1 time so far." in text(admin.get(edit))
    response = admin.post(edit, data=perk_form(title="Free wash", total_limit="0"))
    assert response.status_code == 422
    response = admin.post(edit, data=perk_form(title="Free wash", total_limit="2"))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Perk, perks["wash"]).total_limit == 2


def test_a_duplicate_login_mobile_is_refused(app, staff_factory, perks):
    admin = staff_factory("dealer_admin", "SZ01")
    response = admin.post(
        f"/admin/partners/{perks['spa']}/users/new",
        data={"name": "Again", "mobile": perks["spa_mobile"], "password": "partner-pass"},
    )
    assert response.status_code == 422
    assert "This mobile number is already registered." in text(response)


def test_a_dealer_admin_sees_group_wide_partners_read_only(staff_factory, perks):
    admin = staff_factory("dealer_admin", "SZ01")
    listed = text(admin.get("/admin/partners"))
    assert "Longcheng Palace Hotel" in listed and "Binhai Car Spa" in listed
    assert "Guangzhou Tea House" not in listed

    hotel = f"/admin/partners/{perks['hotel']}"
    page = admin.get(hotel)
    assert page.status_code == 200
    assert "only HQ can change it" in text(page)
    assert f"{hotel}/edit" not in page.get_data(as_text=True)
    for path in (f"{hotel}/edit", f"{hotel}/perks/new", f"{hotel}/users/new"):
        assert admin.get(path).status_code == 403
        assert admin.post(path, data=partner_form()).status_code == 403
    assert admin.get(f"/admin/perks/{perks['upgrade']}/edit").status_code == 403
    assert admin.get(f"{hotel}/settlement").status_code == 200


def test_a_dealer_admin_cannot_open_another_dealers_partner(staff_factory, perks):
    admin = staff_factory("dealer_admin", "SZ01")
    gz = f"/admin/partners/{perks['gz']}"
    for path in (gz, f"{gz}/edit", f"{gz}/settlement.csv", f"/admin/perks/{perks['tea']}/edit"):
        assert admin.get(path).status_code == 404, path


def test_a_dealer_admin_cannot_move_a_partner_to_another_dealer(app, staff_factory, perks, dealers):
    admin = staff_factory("dealer_admin", "SZ01")
    response = admin.post(
        f"/admin/partners/{perks['spa']}/edit", data=partner_form(dealer_id=dealers["GZ01"])
    )
    assert response.status_code == 422
    assert "You may only manage your own dealer's partners." in text(response)
    with app.app_context():
        assert db.session.get(Partner, perks["spa"]).dealer_id == dealers["SZ01"]


def test_hq_manages_group_wide_partners_and_sees_claims(app, staff_factory, perks, claimed):
    hq = staff_factory("hq_admin", None)
    assert "Guangzhou Tea House" in text(hq.get("/admin/partners"))
    response = hq.post(
        f"/admin/partners/{perks['hotel']}/edit",
        data=partner_form(name="Longcheng Palace", dealer_id=""),
    )
    assert response.status_code == 302
    with app.app_context():
        hotel = db.session.get(Partner, perks["hotel"])
        assert (hotel.name, hotel.dealer_id) == ("Longcheng Palace", None)
    page = text(hq.get(f"/admin/partners/{perks['hotel']}"))
    # Room upgrade: 1 claimed, none honoured, 1 by a gold member.
    assert "Room upgrade" in page and "1 0 1 0 0" in page
    csv_text = hq.get(
        f"/admin/partners/{perks['hotel']}/settlement.csv", query_string={"month": "2026-11"}
    ).data.decode("utf-8-sig")
    assert csv_text.splitlines()[-1] == "Longcheng Palace,2026-11,All perks,All tiers,0"


def test_other_staff_cannot_manage_partners(staff_factory, perks):
    for role in ("sales_consultant", "care_agent"):
        assert staff_factory(role, "SZ01").get("/admin/partners").status_code == 403


def test_the_settlement_month_input_shows_this_month(front_desk):
    html = front_desk.get("/partner/settlement").get_data(as_text=True)
    assert 'type="month" value="2026-11"' in html


def test_a_partner_user_starts_at_the_check_page(app, client, seeded, dealers):
    from tests.conftest import PASSWORD
    from tests.partners.helpers import make_partner, make_partner_user

    with seeded():
        mobile = make_partner_user(make_partner()).mobile
    response = client.post("/login", data={"mobile": mobile, "password": PASSWORD})
    assert response.headers["Location"] == "/partner"
    assert client.get("/").headers["Location"] == "/partner"
