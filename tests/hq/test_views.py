"""HQ pages: who sees what, bad months and dealers, CSV, and HQ setting dealers' regions."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.extensions import db
from app.loyalty.ledger import post_points
from app.loyalty.models import EntryKind
from app.loyalty.services import account_for
from app.members.models import Dealer
from tests.factories import make_member, make_vehicle


@pytest.fixture
def activity(seeded, network):
    """An owner of SZ01 with a delivered car and 1,250 points earned in November."""
    with seeded():
        owner = make_member(network["SZ01"], name="Zhang Wei")
        make_vehicle(owner)
        post_points(
            account_for(owner).id,
            1250,
            kind=EntryKind.EARN,
            source="service_visit",
            now=datetime(2026, 11, 5, 2, 0, tzinfo=UTC),
        )
    return network


@pytest.fixture
def hq(staff_factory, network):
    return staff_factory("hq_admin", None)


@pytest.fixture
def gz_admin(app, seeded, network):
    from tests.conftest import login
    from tests.factories import make_staff

    with seeded():
        mobile = make_staff("dealer_admin", network["GZ01"]).mobile
    client = app.test_client()
    login(client, mobile)
    return client


def _body(response) -> str:
    return response.get_data(as_text=True)


def test_hq_sees_every_dealers_statement_and_the_funding_rule(hq, activity):
    html = _body(hq.get("/admin/hq/settlement?month=2026-11"))
    assert "Funding rule:" in html
    assert "valued at 100 points = ¥1" in html
    for code in ("SZ01", "GZ01", "SH01"):
        assert f"Statement of {code}" in html
    html = _body(hq.get(f"/admin/hq/settlement/{activity['SZ01']}?month=2026-11"))
    assert "2026-11: The dealer pays HQ ¥12.50." in html


def test_the_statement_csv_holds_the_lines(hq, activity):
    response = hq.get(
        f"/admin/hq/settlement.csv?table=statement&dealer={activity['SZ01']}&month=2026-11"
    )
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(
        'filename="settlement-statement-SZ01-2026-11.csv"'
    )
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeffLine,Points,Funded by\r\n")
    assert "Points issued,1250,Dealer\r\n" in body


def test_a_dealer_admin_sees_their_dealer_and_no_other(gz_admin, activity):
    html = _body(gz_admin.get("/admin/hq/settlement?month=2026-11"))
    assert "Statement of GZ01" in html and "SZ01" not in html
    assert gz_admin.get(f"/admin/hq/settlement/{activity['SZ01']}").status_code == 404
    assert gz_admin.get(f"/admin/hq/settlement.csv?dealer={activity['SZ01']}").status_code == 404
    assert gz_admin.get(f"/admin/hq/recruitment?dealer={activity['SZ01']}").status_code == 404
    assert gz_admin.get(f"/admin/hq/settlement/{activity['GZ01']}").status_code == 200


def test_an_unknown_dealer_is_not_found(hq, activity):
    assert hq.get("/admin/hq/settlement/999").status_code == 404
    assert hq.get("/admin/hq/recruitment?dealer=999").status_code == 404


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "Give the month as YYYY-MM, for example 2026-11."),
        ("November", "Give the month as YYYY-MM, for example 2026-11."),
        ("2026-12", "2026-12 has not begun yet: choose this month or an earlier one."),
    ],
)
@pytest.mark.parametrize("page", ["/admin/hq/settlement", "/admin/hq/recruitment"])
def test_a_bad_month_says_why(hq, activity, page, month, message):
    response = hq.get(f"{page}?month={month}")
    assert response.status_code == 400
    assert message in _body(response)


def test_the_recruitment_page_shows_the_rate_and_its_charts(hq, activity):
    html = _body(hq.get("/admin/hq/recruitment?month=2026-11"))
    assert "recruitment rate 100.0% — delivered owners 1, members 1, applying 0." in html
    assert html.count('class="panel insight-chart"') == 2
    assert 'style="' not in html.split("<main", 1)[-1]
    csv = _body(hq.get("/admin/hq/recruitment.csv?table=regions&month=2026-11"))
    assert "华南,2,1,1,0,100.0%" in csv


def test_hq_sets_a_dealers_region_and_it_is_audited(app, hq, activity):
    response = hq.post(
        f"/admin/hq/regions/{activity['SH01']}", data={"region": "  华北 "}, follow_redirects=True
    )
    assert "Region of SH01 saved." in _body(response)
    with app.app_context():
        assert db.session.get(Dealer, activity["SH01"]).region == "华北"
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "dealer.region_set")
        )
        assert entry.details == {"region": ["华东", "华北"]}


def test_a_too_long_region_is_refused_and_nothing_is_saved(app, hq, activity):
    response = hq.post(
        f"/admin/hq/regions/{activity['SH01']}", data={"region": "x" * 33}, follow_redirects=True
    )
    assert "at most 32 characters" in _body(response)
    with app.app_context():
        assert db.session.get(Dealer, activity["SH01"]).region == "华东"


def test_a_dealer_admin_cannot_set_regions(gz_admin, activity):
    assert (
        gz_admin.post(f"/admin/hq/regions/{activity['GZ01']}", data={"region": "x"}).status_code
        == 403
    )
