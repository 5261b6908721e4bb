"""The staff desk: who may open what, dealer scoping, search, masking, tiers, colours,
transfers and the audit log."""

import re
from html import unescape
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from app.cards.services import active_card, format_card_number
from app.core.audit import AuditEntry, record_audit
from app.core.identifiers import vin_check_digit
from app.extensions import db
from app.loyalty.models import Tier
from app.members import services as members
from app.members.models import ChapterTransfer, Colour, Member, TransferStatus
from tests.admin.care_routes import CARE_ROUTES
from tests.admin.event_routes import EVENT_ROUTES
from tests.admin.matrix import (
    HOLDERS,
    PRINCIPALS,
    Route,
    assert_nothing_of_the_others,
    module_desk,
)
from tests.conftest import login
from tests.factories import (
    colour,
    make_dealer,
    make_member,
    make_staff,
    make_vehicle,
)

ROUTES = (
    Route("GET", "/admin/", "/admin/", "members.view", 200),
    Route("GET", "/admin/notices", "/admin/notices", "members.view", 200),
    Route("GET", "/admin/members", "/admin/members", "members.view", 200),
    Route(
        "GET",
        "/admin/members/<int:member_id>",
        "/admin/members/{member_id}",
        "members.view",
        200,
    ),
    Route(
        "POST",
        "/admin/members/<int:member_id>/reveal-mobile",
        "/admin/members/{member_id}/reveal-mobile",
        "members.reveal_mobile",
        302,
    ),
    Route("GET", "/admin/scan", "/admin/scan", "cards.scan", 200),
    Route("POST", "/admin/scan", "/admin/scan", "cards.scan", 200),
    Route("GET", "/admin/tiers", "/admin/tiers", "tiers.edit", 200),
    Route("POST", "/admin/tiers", "/admin/tiers", "tiers.edit", 200),
    Route(
        "POST",
        "/admin/tiers/<int:schedule_id>/withdraw",
        "/admin/tiers/999999/withdraw",
        "tiers.edit",
        302,
    ),
    Route("GET", "/admin/colours", "/admin/colours", "colours.manage", 200),
    Route("GET", "/admin/colours/new", "/admin/colours/new", "colours.manage", 200),
    Route("POST", "/admin/colours/new", "/admin/colours/new", "colours.manage", 200),
    Route(
        "GET",
        "/admin/colours/<int:colour_id>",
        "/admin/colours/{colour_id}",
        "colours.manage",
        200,
    ),
    Route(
        "POST",
        "/admin/colours/<int:colour_id>",
        "/admin/colours/{colour_id}",
        "colours.manage",
        302,
        # The colour as it is, so a permitted save changes nothing.
        {
            "code": "white",
            "name_en": "White",
            "name_zh": "白色",
            "confusion_group": "white",
            "active": "y",
        },
    ),
    Route("GET", "/admin/models", "/admin/models", "models.manage", 200),
    Route("GET", "/admin/models/new", "/admin/models/new", "models.manage", 200),
    Route("POST", "/admin/models/new", "/admin/models/new", "models.manage", 200),
    Route(
        "GET",
        "/admin/models/<int:car_model_id>",
        "/admin/models/{car_model_id}",
        "models.manage",
        200,
    ),
    Route(
        "POST",
        "/admin/models/<int:car_model_id>",
        "/admin/models/{car_model_id}",
        "models.manage",
        302,
        # The model as it is, so a permitted save changes nothing.
        {"name": "Golf", "family": "Golf", "active": "y"},
    ),
    Route("GET", "/admin/transfers", "/admin/transfers", "transfers.decide", 200),
    Route(
        "POST",
        "/admin/transfers/<int:transfer_id>/<any(approve, reject):decision>",
        "/admin/transfers/{approve_id}/approve",
        "transfers.decide",
        302,
        # GZ01 receives the member: its admin decides the receiving side.
        other_dealer=302,
    ),
    Route(
        "POST",
        "/admin/transfers/<int:transfer_id>/<any(approve, reject):decision>",
        "/admin/transfers/{reject_id}/reject",
        "transfers.decide",
        302,
        # GZ01 receives the member: its admin decides the receiving side.
        other_dealer=302,
    ),
    Route("GET", "/admin/audit", "/admin/audit", "audit.view", 200),
    Route("GET", "/admin/rewards", "/admin/rewards", "rewards.manage", 200),
    Route("GET", "/admin/rewards/new", "/admin/rewards/new", "rewards.manage", 200),
    Route("POST", "/admin/rewards/new", "/admin/rewards/new", "rewards.manage", 200),
    Route(
        "GET",
        "/admin/rewards/<int:reward_id>",
        "/admin/rewards/{reward_id}",
        "rewards.manage",
        200,
    ),
    Route(
        "POST",
        "/admin/rewards/<int:reward_id>",
        "/admin/rewards/{reward_id}",
        "rewards.manage",
        200,
    ),
    Route("GET", "/admin/vouchers/redeem", "/admin/vouchers/redeem", "vouchers.redeem", 200),
    Route("POST", "/admin/vouchers/redeem", "/admin/vouchers/redeem", "vouchers.redeem", 200),
    Route("GET", "/admin/visits", "/admin/visits", "visits.record", 200),
    Route("POST", "/admin/visits", "/admin/visits", "visits.record", 200),
    Route(
        "POST",
        "/admin/visits/<int:visit_id>/refund",
        "/admin/visits/{visit_id}/refund",
        "visits.record",
        302,
    ),
    Route(
        "GET",
        "/admin/visits/<int:visit_id>/amend",
        "/admin/visits/{visit_id}/amend",
        "visits.record",
        200,
        other_dealer=404,
    ),
    Route(
        "POST",
        "/admin/visits/<int:visit_id>/amend",
        "/admin/visits/{visit_id}/amend",
        "visits.record",
        200,
        other_dealer=404,
    ),
    Route(
        "GET",
        "/admin/members/<int:member_id>/adjust",
        "/admin/members/{member_id}/adjust",
        "points.adjust",
        200,
    ),
    Route(
        "POST",
        "/admin/members/<int:member_id>/adjust",
        "/admin/members/{member_id}/adjust",
        "points.adjust",
        200,
    ),
    Route("GET", "/admin/adjustments", "/admin/adjustments", "points.approve", 200),
    Route(
        "POST",
        "/admin/adjustments/<int:adjustment_id>/<any(approve, reject):decision>",
        "/admin/adjustments/{adjustment_id}/approve",
        "points.approve",
        302,
    ),
    Route("GET", "/admin/earning-rules", "/admin/earning-rules", "rules.edit", 200),
    Route("POST", "/admin/earning-rules", "/admin/earning-rules", "rules.edit", 200),
    # No version 999999 is announced: the page says nothing changed.
    Route(
        "POST",
        "/admin/earning-rules/<int:version_id>/withdraw",
        "/admin/earning-rules/999999/withdraw",
        "rules.edit",
        302,
    ),
    # Referrals (R6). Empty POSTs change nothing: forms re-show, one-tap actions are refused.
    Route("GET", "/admin/referrals", "/admin/referrals", "referrals.view", 200),
    Route("GET", "/admin/referrals/new", "/admin/referrals/new", "referrals.register", 200),
    Route("POST", "/admin/referrals/new", "/admin/referrals/new", "referrals.register", 200),
    Route("GET", "/admin/prospects", "/admin/prospects", "prospects.record", 200),
    Route("POST", "/admin/prospects", "/admin/prospects", "prospects.record", 200),
    Route("GET", "/admin/deliveries", "/admin/deliveries", "deliveries.record", 200),
    Route("POST", "/admin/deliveries", "/admin/deliveries", "deliveries.record", 200),
    Route("GET", "/admin/referrals/funnel", "/admin/referrals/funnel", "referrals.funnel", 200),
    Route(
        "GET",
        "/admin/referrals/<int:referral_id>",
        "/admin/referrals/{referral_id}",
        "referrals.view",
        200,
    ),
    Route(
        "GET",
        "/admin/referrals/<int:referral_id>/licence",
        "/admin/referrals/{referral_id}/licence",
        "referrals.licence",
        200,
    ),
    Route(
        "POST",
        "/admin/referrals/<int:referral_id>/licence",
        "/admin/referrals/{referral_id}/licence",
        "referrals.licence",
        200,
    ),
    Route(
        "GET",
        "/admin/referrals/<int:referral_id>/callback",
        "/admin/referrals/{callback_id}/callback",
        "referrals.callback",
        200,
    ),
    Route(
        "POST",
        "/admin/referrals/<int:referral_id>/callback/start",
        "/admin/referrals/{referral_id}/callback/start",
        "referrals.callback",
        302,
    ),
    Route(
        "POST",
        "/admin/referrals/<int:referral_id>/attempts",
        "/admin/referrals/{callback_id}/attempts",
        "referrals.callback",
        302,
    ),
    Route(
        "POST",
        "/admin/referrals/<int:referral_id>/questions/<int:question_id>",
        "/admin/referrals/{callback_id}/questions/{question_id}",
        "referrals.callback",
        302,
    ),
    Route(
        "POST",
        "/admin/referrals/<int:referral_id>/callback/finish",
        "/admin/referrals/{callback_id}/callback/finish",
        "referrals.callback",
        200,
    ),
    Route(
        "GET",
        "/admin/referrals/<int:referral_id>/review",
        "/admin/referrals/{referral_id}/review",
        "referrals.decide",
        200,
    ),
    Route(
        "POST",
        "/admin/referrals/<int:referral_id>/review",
        "/admin/referrals/{referral_id}/review",
        "referrals.decide",
        200,
    ),
)
ROUTES += EVENT_ROUTES + CARE_ROUTES


def _body(response) -> str:
    return response.get_data(as_text=True)


def _error(html: str, field: str) -> str:
    """The text of the error shown next to ``field`` (empty when there is none)."""
    start = html.find(f'id="{field}-error"')
    if start == -1:
        return ""
    return unescape(html[html.index(">", start) + 1 : html.index("</p>", start)])


def _input_value(html: str, name: str) -> str | None:
    for tag in re.findall(r"<input\b[^>]*>", html):
        if f'name="{name}"' in tag:
            found = re.search(r'value="([^"]*)"', tag)
            return found.group(1) if found else None
    return None


def _audit(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


# --------------------------------------------------------------------- permission matrix


desk = module_desk("matrix")


def test_the_matrix_covers_every_staff_route(app):
    served = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        # Staff pages of other blueprints (rewards...) live under /admin/ too.
        if rule.endpoint.startswith("admin.") or rule.rule.startswith("/admin/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served == {(r.method, r.rule) for r in ROUTES}


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_permission_matrix(desk, route, principal):
    path = route.path.format(**desk.ids)
    data = dict(route.data or {}) if route.method == "POST" else None
    response = desk.open(principal, path, route.method, data)
    location = response.headers.get("Location", "")
    # GZ01's admin holds a dealer admin's permissions, for GZ01's rows only.
    role = "dealer_admin" if principal == "gz_dealer_admin" else principal

    if principal == "anonymous":
        assert response.status_code == 302
        assert location.startswith("/login?next=")
        assert unquote(location.split("next=", 1)[1]) == path
    elif role in HOLDERS[route.permission]:
        ok = route.ok
        if principal == "gz_dealer_admin":
            # A row of SZ01 in the path is not found, as if there were none.
            ok = route.other_dealer or (404 if "{" in route.path else route.ok)
        assert response.status_code == ok, _body(response)[:500]
        if ok == 302:
            assert not location.startswith("/login")
    else:
        assert response.status_code == 403
        assert "Your account may not open this page." in _body(response)
    assert_nothing_of_the_others(desk, principal, _body(response))


# ------------------------------------------------------------------------ dealer scoping


@pytest.fixture
def gz_member(seeded, dealers):
    """An owner of GZ01: their id."""
    with seeded():
        return make_member(dealers["GZ01"], name="Chen Jie").id


def test_staff_of_another_dealer_cannot_open_a_member(staff_factory, member):
    gz_staff = staff_factory("dealer_admin", "GZ01")
    response = gz_staff.get(f"/admin/members/{member['id']}")
    assert response.status_code == 404
    assert "Zhang Wei" not in _body(response)


def test_staff_of_another_dealer_cannot_reveal_a_members_mobile(app, staff_factory, member):
    gz_staff = staff_factory("care_agent", "GZ01")
    response = gz_staff.post(f"/admin/members/{member['id']}/reveal-mobile")
    assert response.status_code == 404
    assert _audit(app, "member.mobile_revealed") == []


def test_dealer_staff_search_lists_only_their_dealers_members(staff_factory, member, gz_member):
    gz_staff = staff_factory("sales_consultant", "GZ01")
    html = _body(gz_staff.get("/admin/members"))
    assert "Chen Jie" in html
    assert "Zhang Wei" not in html
    assert "1 member found" in html

    html = _body(gz_staff.get("/admin/members", query_string={"q": "Zhang"}))
    assert "Zhang Wei" not in html
    assert "0 members found" in html


def test_dealer_staff_desk_counts_only_their_dealers_members(staff_client, member, gz_member):
    assert "1 member" in _body(staff_client.get("/admin/"))


def test_hq_sees_the_members_of_every_dealer(staff_factory, member, gz_member):
    hq = staff_factory("hq_admin", None)
    html = _body(hq.get("/admin/members"))
    assert "Zhang Wei" in html
    assert "Chen Jie" in html
    assert "2 members found" in html
    assert hq.get(f"/admin/members/{gz_member}").status_code == 200
    assert hq.get(f"/admin/members/{member['id']}").status_code == 200


# --------------------------------------------------------------------------------- search

FOUND_VIN = "LSVAU218" + "X" + "N2KTRXWM"
FOUND_VIN = FOUND_VIN[:8] + vin_check_digit(FOUND_VIN) + FOUND_VIN[9:]


@pytest.fixture
def findable(app, seeded, dealers, member):
    """Huang Lei (SZ01): mobile ...8765, plate 粤BX7K2P, a VIN ending KTRXWM, likes fishing."""
    with seeded():
        huang = make_member(dealers["SZ01"], name="Huang Lei", mobile="13712348765")
        make_vehicle(huang, plate="粤BX7K2P", vin=FOUND_VIN)
        members.update_profile(
            huang,
            name="Huang Lei",
            birthday=None,
            gender=None,
            occupation="",
            home_area="",
            hobbies="golf，Fishing",
            marketing_opt_in=False,
        )
        card = format_card_number(active_card(huang).number)
    return {"card": card}


@pytest.mark.parametrize(
    ("q", "field"),
    [
        pytest.param("Huang", "all", id="name"),
        pytest.param("ang Le", "name", id="name-part"),
        pytest.param("8765", "all", id="mobile-last-4"),
        pytest.param("8765", "mobile", id="mobile-field"),
        pytest.param("粤b x7k2p", "all", id="plate-space-lowercase"),
        pytest.param("粤B·X7K2P", "plate", id="plate-with-dot"),
        pytest.param("ktrxwm", "all", id="vin-fragment"),
        pytest.param("N2KTRX", "vin", id="vin-field"),
        pytest.param("{card}", "all", id="card-number"),
        pytest.param("{card}", "card", id="card-field"),
        pytest.param("fishing", "all", id="hobby"),
        pytest.param("GOLF", "hobby", id="hobby-field"),
    ],
)
def test_member_search_finds_the_member(staff_client, findable, q, field):
    q = q.format(**findable)
    html = _body(staff_client.get("/admin/members", query_string={"q": q, "field": field}))
    assert "<strong>Huang Lei</strong>" in html
    assert "<strong>Zhang Wei</strong>" not in html
    assert "1 member found" in html


def test_a_search_on_one_field_ignores_the_others(staff_client, findable):
    html = _body(staff_client.get("/admin/members", query_string={"q": "Huang", "field": "plate"}))
    assert "Huang Lei" not in html


def test_a_search_without_a_match_says_so(staff_client, findable):
    html = _body(staff_client.get("/admin/members", query_string={"q": "Nobody Here"}))
    assert "No member matches." in html
    assert "0 members found" in html
    assert "Huang Lei" not in html


def test_the_member_list_is_paginated_by_twenty(staff_client, seeded, dealers):
    with seeded():
        for n in range(1, 26):
            make_member(dealers["SZ01"], name=f"Member {n:02d}")

    first = _body(staff_client.get("/admin/members"))
    assert "25 members found" in first
    assert "Page 1 of 2" in first
    assert "<strong>Member 20</strong>" in first
    assert "<strong>Member 21</strong>" not in first
    assert 'rel="next"' in first

    second = _body(staff_client.get("/admin/members", query_string={"page": 2}))
    assert "Page 2 of 2" in second
    for n in range(21, 26):
        assert f"<strong>Member {n}</strong>" in second
    assert "<strong>Member 01</strong>" not in second
    assert 'rel="next"' not in second


@pytest.mark.postgres
def test_name_search_ignores_case_on_postgresql(pg_app):
    with pg_app.app_context(), pg_app.test_request_context():
        sz = make_dealer("SZ01")
        make_member(sz.id, name="Zhang Wei")
        mobile = make_staff("sales_consultant", sz.id).mobile
        db.session.commit()
    client = pg_app.test_client()
    login(client, mobile)
    for q in ("Zhang", "zhang wei", "ZHANG"):
        html = _body(client.get("/admin/members", query_string={"q": q}))
        assert "<strong>Zhang Wei</strong>" in html, q


# ------------------------------------------------------------------------ mobile masking


def test_member_list_and_page_mask_the_mobile(staff_client, member):
    mobile = member["mobile"]
    masked = f"{mobile[:3]}****{mobile[-4:]}"
    for path in ("/admin/members", f"/admin/members/{member['id']}"):
        html = _body(staff_client.get(path))
        assert masked in html
        assert mobile not in html


def test_a_care_agent_reveals_the_mobile_and_the_reveal_is_audited(
    app, staff_factory, member, dealers
):
    agent = staff_factory("care_agent", "SZ01")
    assert "Show the full number" in _body(agent.get(f"/admin/members/{member['id']}"))

    response = agent.post(f"/admin/members/{member['id']}/reveal-mobile", follow_redirects=True)

    assert response.status_code == 200
    assert f"Mobile number of Zhang Wei: {member['mobile']}" in _body(response)
    (entry,) = _audit(app, "member.mobile_revealed")
    assert entry.actor.role == "care_agent"
    assert (entry.subject_type, entry.subject_id) == ("Member", member["id"])
    assert entry.dealer_id == dealers["SZ01"]
    # The number is shown once: the page itself stays masked.
    assert member["mobile"] not in _body(agent.get(f"/admin/members/{member['id']}"))


def test_event_staff_cannot_reveal_a_mobile(app, staff_factory, member):
    event_staff = staff_factory("event_staff", "SZ01")
    assert "Show the full number" not in _body(event_staff.get(f"/admin/members/{member['id']}"))
    response = event_staff.post(f"/admin/members/{member['id']}/reveal-mobile")
    assert response.status_code == 403
    assert member["mobile"] not in _body(response)
    assert _audit(app, "member.mobile_revealed") == []


def test_revealing_a_mobile_needs_the_csrf_token(app, staff_factory, member):
    agent = staff_factory("care_agent", "SZ01")
    response = agent.post(f"/admin/members/{member['id']}/reveal-mobile", with_csrf=False)
    assert response.status_code == 400
    assert _audit(app, "member.mobile_revealed") == []


# ---------------------------------------------------------------------------------- tiers

TIERS = {
    "effective_from": "2027-01-01",
    "note": "New thresholds",
    "gold_threshold": "0",
    "gold_multiplier": "100",
    "platinum_threshold": "5000",
    "platinum_multiplier": "125",
    "diamond_threshold": "15000",
    "diamond_multiplier": "150",
}


def _thresholds(app) -> dict[str, int]:
    with app.app_context():
        return {t.code: t.threshold_points for t in db.session.scalars(select(Tier))}


@pytest.fixture
def hq(staff_factory):
    """An HQ admin, logged in."""
    return staff_factory("hq_admin", None)


def test_hq_announces_a_platinum_threshold_that_applies_on_its_day(app, hq, clock):
    response = hq.post("/admin/tiers", data={**TIERS, "platinum_threshold": "6000"})
    assert response.status_code == 302

    page = _body(hq.get(response.headers["Location"]))
    assert "New tiers announced: they apply from 2027-01-01." in page
    assert "Announced for" in page and "New thresholds" in page
    assert _thresholds(app) == {"gold": 0, "platinum": 5000, "diamond": 15000}
    (scheduled,) = _audit(app, "tiers.scheduled")
    assert scheduled.details["after"]["platinum"][0] == 6000

    clock.advance(days=39)
    output = app.test_cli_runner().invoke(args=["loyalty", "daily"]).output
    assert "Applied 1 announced tier changes" in output
    assert _thresholds(app) == {"gold": 0, "platinum": 6000, "diamond": 15000}
    (entry,) = _audit(app, "tiers.updated")
    assert entry.details["after"]["platinum"][0] == 6000
    assert entry.details["before"]["platinum"][0] == 5000


def test_a_tier_change_must_be_announced_in_advance(app, hq):
    html = _body(hq.post("/admin/tiers", data={**TIERS, "effective_from": "2026-12-01"}))
    assert "Members must be told in advance" in _error(html, "effective_from")
    assert _audit(app, "tiers.scheduled") == []


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        pytest.param(
            {"platinum_threshold": "0"},
            "platinum_threshold",
            "Each tier needs more points than the tier below it.",
            id="platinum-equals-gold",
        ),
        pytest.param(
            {"platinum_threshold": "6000", "diamond_threshold": "5500"},
            "diamond_threshold",
            "Each tier needs more points than the tier below it.",
            id="diamond-below-platinum",
        ),
        pytest.param(
            {"gold_threshold": "100", "platinum_threshold": "6000"},
            "gold_threshold",
            "The lowest tier starts at 0 points.",
            id="gold-not-zero",
        ),
        pytest.param(
            {"platinum_threshold": "6000", "diamond_multiplier": "120"},
            "diamond_multiplier",
            "A higher tier cannot earn less than the tier below it.",
            id="diamond-earns-less",
        ),
        pytest.param(
            {"platinum_threshold": "6000", "diamond_threshold": ""},
            "diamond_threshold",
            "Enter a number.",
            id="missing-number",
        ),
    ],
)
def test_invalid_tiers_are_refused_and_nothing_is_saved(app, hq, changes, field, message):
    response = hq.post("/admin/tiers", data={**TIERS, **changes})
    html = _body(response)
    assert response.status_code == 200
    assert "New tiers announced" not in html
    assert message in _error(html, field)
    assert _thresholds(app) == {"gold": 0, "platinum": 5000, "diamond": 15000}
    assert _input_value(_body(hq.get("/admin/tiers")), "platinum_threshold") == "5000"
    assert _audit(app, "tiers.scheduled") == []


def test_a_dealer_admin_cannot_change_tiers(app, staff_factory):
    dealer_admin = staff_factory("dealer_admin", "SZ01")
    assert dealer_admin.get("/admin/tiers").status_code == 403
    response = dealer_admin.post("/admin/tiers", data={**TIERS, "platinum_threshold": "6000"})
    assert response.status_code == 403
    assert _thresholds(app)["platinum"] == 5000


# -------------------------------------------------------------------------------- colours

# Pass copies: the test client adds its CSRF token to the dict it is given.
NEW_COLOUR = {
    "code": "Frost_White",
    "name_en": "Frost white",
    "name_zh": "霜白",
    "confusion_group": "White",
    "active": "y",
}


def _colour_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Colour.id)))


def test_hq_adds_a_colour_to_a_confusion_group(app, hq):
    response = hq.post("/admin/colours/new", data=dict(NEW_COLOUR), follow_redirects=True)
    html = _body(response)
    assert "Colour saved." in html
    assert "Frost white / 霜白" in html
    with app.app_context():
        frost = db.session.scalar(select(Colour).where(Colour.code == "frost_white"))
        assert frost is not None
        assert frost.confusion_group == "white"
        assert frost.active
        assert members.colours_confusable(frost, colour("pearl_white"))
        assert not members.colours_confusable(frost, colour("silver"))
    assert len(_audit(app, "colour.saved")) == 1


@pytest.mark.parametrize("code", ["pearl_white", "WHITE", "Silver"])
def test_a_duplicate_colour_code_is_refused_next_to_the_field(app, hq, code):
    before = _colour_count(app)
    response = hq.post("/admin/colours/new", data={**NEW_COLOUR, "code": code})
    html = _body(response)
    assert response.status_code == 200
    assert "Colour saved." not in html
    assert "Another colour already has this code." in _error(html, "code")
    assert _colour_count(app) == before
    assert _audit(app, "colour.saved") == []


def test_a_dealer_admin_cannot_add_a_colour(app, staff_factory):
    before = _colour_count(app)
    dealer_admin = staff_factory("dealer_admin", "SZ01")
    assert dealer_admin.post("/admin/colours/new", data=dict(NEW_COLOUR)).status_code == 403
    assert _colour_count(app) == before


# ------------------------------------------------------------------------------ transfers


def test_hq_approves_a_chapter_transfer(app, member_client, hq, member, dealers):
    response = member_client.post(
        "/me/chapter",
        data={"to_dealer_id": dealers["GZ01"], "reason": "Moved to Guangzhou"},
        follow_redirects=True,
    )
    assert "Transfer requested." in _body(response)
    with app.app_context():
        transfer_id = db.session.scalar(
            select(ChapterTransfer.id).where(ChapterTransfer.member_id == member["id"])
        )
    assert transfer_id is not None

    html = _body(hq.get("/admin/transfers"))
    assert "Zhang Wei" in html
    assert "SZ01 → GZ01" in html
    assert "Moved to Guangzhou" in html

    response = hq.post(f"/admin/transfers/{transfer_id}/approve", follow_redirects=True)
    html = _body(response)
    assert "Transfer approved." in html
    assert "No transfer request is waiting." in html
    with app.app_context():
        assert db.session.get(Member, member["id"]).dealer_id == dealers["GZ01"]
        transfer = db.session.get(ChapterTransfer, transfer_id)
        assert transfer.status == TransferStatus.APPROVED
        decided_at = transfer.decided_at
    assert len(_audit(app, "transfer.requested")) == 1
    approved = _audit(app, "transfer.approved")
    assert sorted(e.dealer_id for e in approved) == sorted(dealers.values())
    assert "the chapter of Dealer GZ01" in _body(member_client.get("/me/chapter"))

    # Deciding again changes nothing.
    response = hq.post(f"/admin/transfers/{transfer_id}/reject", follow_redirects=True)
    html = _body(response)
    assert "This request was already decided." in html
    assert "Transfer rejected." not in html
    with app.app_context():
        assert db.session.get(Member, member["id"]).dealer_id == dealers["GZ01"]
        transfer = db.session.get(ChapterTransfer, transfer_id)
        assert transfer.status == TransferStatus.APPROVED
        assert transfer.decided_at == decided_at
    assert _audit(app, "transfer.rejected") == []
    assert len(_audit(app, "transfer.approved")) == 2


def test_deciding_an_unknown_transfer_is_not_found(hq):
    assert hq.post("/admin/transfers/999/approve").status_code == 404


# ---------------------------------------------------------------------------------- audit


@pytest.fixture
def audit_trail(seeded, dealers):
    """One audit entry for each dealer and one for HQ, each with a visible marker."""
    with seeded():
        record_audit(None, "card.refused", dealer_id=dealers["SZ01"], details={"m": "sz-entry"})
        record_audit(None, "card.refused", dealer_id=dealers["GZ01"], details={"m": "gz-entry"})
        record_audit(None, "tiers.updated", details={"m": "hq-entry"})


def test_a_dealer_admin_sees_only_their_dealers_audit_entries(staff_factory, audit_trail):
    html = _body(staff_factory("dealer_admin", "SZ01").get("/admin/audit"))
    assert "sz-entry" in html
    assert "gz-entry" not in html
    assert "hq-entry" not in html


def test_hq_sees_every_audit_entry(hq, audit_trail):
    html = _body(hq.get("/admin/audit"))
    assert "sz-entry" in html
    assert "gz-entry" in html
    assert "hq-entry" in html
