"""The C3 segments page: sizes and the movement matrix against a plain-Python computation over
generated owners and visits, dealer scoping, CSV = page, the thresholds form, Chinese."""

import csv
import io
import random
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.campaigns.segments.models import SegmentThresholds
from app.extensions import db
from app.service.models import VisitStatus
from tests.admin.test_insight import tables_of
from tests.conftest import NOW
from tests.factories import make_member, make_visit

TODAY = date(2026, 11, 23)
CURRENT = (date(2025, 11, 24), TODAY)
PREVIOUS = (date(2024, 11, 24), date(2025, 11, 23))
ORDER = (
    "Profitable-loyal",
    "Split-loyal",
    "High-risk",
    "High-opportunity",
    "To-develop",
    "High-cost",
    "Low-cost",
    "Mystery-opportunity",
)
# (maintenance ≥ 2, paid ≥ ¥2,000, repairs + accidents ≥ 30 % of visits) -> group, written
# out again here from seed 000's pairs rather than taken from the app.
GROUP = {
    (1, 1, 1): "Profitable-loyal",
    (1, 1, 0): "Split-loyal",
    (0, 1, 1): "High-risk",
    (0, 1, 0): "High-opportunity",
    (1, 0, 1): "To-develop",
    (1, 0, 0): "High-cost",
    (0, 0, 1): "Low-cost",
    (0, 0, 0): "Mystery-opportunity",
}
CATEGORIES = ("maintenance", "maintenance", "maintenance", "repair", "accident", "other")


def _group(visits, first, last) -> str:
    counted = [v for v in visits if first <= v[0] <= last and not v[3]]
    maintenance = sum(1 for v in counted if v[1] == "maintenance")
    paid = sum(v[2] for v in counted)
    repairs = sum(1 for v in counted if v[1] in ("repair", "accident"))
    ratio_high = bool(counted) and repairs / len(counted) >= 0.3
    return GROUP[(int(maintenance >= 2), int(paid >= 200_000), int(ratio_high))]


@pytest.fixture
def owners(seeded, dealers):
    """Owners of both dealers with random visits over two years; per dealer, each owner's
    (group in the previous period or "New owner", group now)."""
    rng = random.Random(8)
    expected = {"SZ01": [], "GZ01": []}
    with seeded():
        for code, count in (("SZ01", 60), ("GZ01", 15)):
            for i in range(count):
                owner = make_member(dealers[code], name=f"{code} owner {i}")
                joined = NOW - timedelta(days=rng.choice([800, 700, 400, 200, 30]))
                owner.created_at = joined
                visits = []
                for _ in range(rng.randint(0, 7)):
                    day = TODAY - timedelta(days=rng.randint(0, 760))
                    visit = (
                        day,
                        rng.choice(CATEGORIES),
                        rng.choice([0, 5_000, 60_000, 100_000, 150_000]),
                        rng.random() < 0.1,
                    )
                    status = VisitStatus.REFUNDED if visit[3] else VisitStatus.RECORDED
                    make_visit(owner, visit[0], visit[1], visit[2], status=status)
                    visits.append(visit)
                joined_before = joined.date() < CURRENT[0]
                before = _group(visits, *PREVIOUS) if joined_before else "New owner"
                expected[code].append((before, _group(visits, *CURRENT)))
    return expected


def _expected_tables(pairs):
    sources = [*ORDER, "New owner"]
    moves = [["From \\ to", *ORDER, "Total"]]
    for b in sources:
        row = [sum(1 for p in pairs if p == (b, s)) for s in ORDER]
        moves.append([b, *map(str, row), str(sum(row))])
    now = [sum(1 for p in pairs if p[1] == s) for s in ORDER]
    moves.append(["Total", *map(str, now), str(len(pairs))])
    sizes = [["Group", "Previous period", "This period", "Change", "Share"]]
    for s, n in zip(ORDER, now, strict=True):
        before = sum(1 for p in pairs if p[0] == s)
        sizes.append([s, str(before), str(n), f"{n - before:+d}", f"{n * 100 / len(pairs):.1f}%"])
    before_total = sum(1 for p in pairs if p[0] != "New owner")
    sizes.append(
        [
            "Total",
            str(before_total),
            str(len(pairs)),
            f"{len(pairs) - before_total:+d}",
            "100.0%",
        ]
    )
    return sizes, moves


def test_sizes_and_movements_match_an_independent_count(staff_factory, owners):
    client = staff_factory("dealer_admin", "SZ01")
    html = client.get("/admin/campaigns/segments").get_data(as_text=True)
    tables = tables_of(html)
    sizes, moves = _expected_tables(owners["SZ01"])
    assert tables["table-sizes"] == sizes
    assert tables["table-moves"] == moves
    assert "GZ01 owner" not in html


def test_another_dealers_staff_see_only_their_owners(staff_factory, owners, dealers):
    client = staff_factory("showroom_manager", "GZ01")
    tables = tables_of(client.get("/admin/campaigns/segments").get_data(as_text=True))
    _sizes, moves = _expected_tables(owners["GZ01"])
    assert tables["table-moves"] == moves
    assert tables["table-sizes"][-1][2] == "15"
    # Asking for the other dealer shows nothing of it: a 404, page and CSV alike.
    for path in ("/admin/campaigns/segments", "/admin/campaigns/segments.csv"):
        response = client.get(f"{path}?dealer={dealers['SZ01']}")
        assert response.status_code == 404
        assert "SZ01 owner" not in response.get_data(as_text=True)


def test_hq_sees_every_dealer_and_may_pick_one(staff_factory, owners, dealers):
    client = staff_factory("hq_admin", None)
    tables = tables_of(client.get("/admin/campaigns/segments").get_data(as_text=True))
    assert tables["table-moves"] == _expected_tables(owners["SZ01"] + owners["GZ01"])[1]
    picked = client.get(f"/admin/campaigns/segments?dealer={dealers['GZ01']}")
    assert (
        tables_of(picked.get_data(as_text=True))["table-moves"]
        == (_expected_tables(owners["GZ01"])[1])
    )


@pytest.mark.parametrize("table", ["sizes", "moves"])
def test_the_csv_holds_what_the_page_shows(staff_factory, owners, table):
    client = staff_factory("dealer_admin", "SZ01")
    page = tables_of(client.get("/admin/campaigns/segments").get_data(as_text=True))
    response = client.get(f"/admin/campaigns/segments.csv?table={table}")
    assert response.mimetype == "text/csv"
    assert "c3-segments-" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    # Signed changes (+3, -4) are kept from running as formulas in Excel by a leading quote.
    rows = [[c.removeprefix("'") for c in row] for row in csv.reader(io.StringIO(body[1:]))]
    assert rows == page[f"table-{table}"]
    assert client.get("/admin/campaigns/segments.csv?table=nope").status_code == 404


def test_the_page_in_chinese(staff_factory, owners):
    client = staff_factory("dealer_admin", "SZ01")
    client.set_cookie("lang", "zh")
    html = client.get("/admin/campaigns/segments").get_data(as_text=True)
    for name in (
        "盈利忠诚",
        "分裂忠诚",
        "高风险",
        "高机遇",
        "挖掘",
        "高成本",
        "低成本",
        "神秘机遇",
    ):
        assert name in html
    assert "C3 客户分群" in html


def test_the_desk_and_insight_link_to_the_page(staff_factory):
    client = staff_factory("showroom_manager", "SZ01")
    assert "/admin/campaigns/segments" in client.get("/admin/").get_data(as_text=True)
    assert "/admin/campaigns/segments" in client.get("/admin/insight").get_data(as_text=True)


# ---------------------------------------------------------------------------- thresholds


def _saved(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(SegmentThresholds.id)))


FORM = {
    "period_months": "6",
    "maintenance_visits": "3",
    "spend_yuan": "1500.50",
    "repair_ratio_pct": "40",
}


def test_hq_saves_thresholds_and_the_page_uses_them(app, staff_factory):
    client = staff_factory("hq_admin", None)
    assert client.get("/admin/campaigns/segments/thresholds").status_code == 200
    response = client.post("/admin/campaigns/segments/thresholds", data=FORM)
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalars(select(SegmentThresholds)).one()
        assert (row.period_months, row.maintenance_visits, row.spend_fen) == (6, 3, 150_050)
    html = client.get("/admin/campaigns/segments").get_data(as_text=True)
    assert "at least 3 maintenance visits" in html
    assert "¥1500.50" in html
    assert "24 May 2026" in html  # the six-month period's first day


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("repair_ratio_pct", "101", "above 100 %"),
        ("repair_ratio_pct", "0", "must be 1 % to 100 %"),
        ("maintenance_visits", "-1", "Maintenance visits must be 1 to"),
        ("spend_yuan", "0", "Spend must be more than ¥0"),
        ("period_months", "0", "The period must be 1 to 36 months."),
        ("spend_yuan", "10.001", "Use at most two decimals"),
    ],
)
def test_refused_thresholds_save_nothing(app, staff_factory, field, value, message):
    client = staff_factory("hq_admin", None)
    response = client.post("/admin/campaigns/segments/thresholds", data={**FORM, field: value})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _saved(app) == 0


def test_a_dealer_admin_may_not_change_thresholds(app, staff_factory):
    client = staff_factory("dealer_admin", "SZ01")
    response = client.post("/admin/campaigns/segments/thresholds", data=FORM)
    assert response.status_code == 403
    assert _saved(app) == 0
    assert "Change the thresholds" not in client.get("/admin/campaigns/segments").get_data(
        as_text=True
    )
