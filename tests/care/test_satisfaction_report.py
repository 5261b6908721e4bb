"""The monthly satisfaction report (issue 20): per dealer and service advisor — questionnaires
sent and answered, mean score, would / would not recommend, NPS, complaints opened, resolved and
overdue; a dealer's staff see their dealer only, HQ every dealer; chart and CSV."""

from datetime import date, datetime

import pytest
from sqlalchemy import select

from app.care.followups import complaints
from app.care.followups.models import ComplaintCase
from app.care.followups.reports import satisfaction
from app.care.followups.surveys import answer_survey
from app.core.errors import NotFound
from app.extensions import db
from app.hq.months import Month
from app.service.services import record_visit, refund_visit
from tests.conftest import NOW
from tests.factories import make_member, make_staff, make_vehicle

NOVEMBER = Month(date(2026, 11, 1))


def _visit(actor, car, ro, *, on=date(2026, 11, 22), now=None):
    return record_visit(
        actor,
        dealer_id=car.member.dealer_id,
        ro_number=ro,
        vin=car.vin,
        visited_on=on,
        mileage_km=1000,
        amount_fen=50_000,
        category="maintenance",
        now=now,
    ).visit


@pytest.fixture
def figures(seeded, dealers):
    """SZ01: an advisor's three visits (10 with a 5 for the advisor, 8, one unanswered), a DMS
    visit scored 3 (a case opens), a refunded visit, an October visit; GZ01: one visit scored 9.
    Ids of the people."""
    with seeded():
        advisor = make_staff("service_advisor", dealers["SZ01"])
        advisor.name = "Advisor Fang"
        owner = make_member(dealers["SZ01"], name="Wu Hao")
        car = make_vehicle(owner)
        answers = [(advisor, 10, 5), (advisor, 8, None), (None, 3, None), (advisor, None, None)]
        for n, (actor, score, rating) in enumerate(answers):
            visit = _visit(actor, car, f"RO-S{n}")
            if score is not None:
                answer_survey(owner, visit.id, score=score, advisor_rating=rating)
        _visit(advisor, car, "RO-REFUND")
        refund_visit(None, dealer_id=owner.dealer_id, ro_number="RO-REFUND")
        october = datetime(2026, 10, 21, 2, 0, tzinfo=NOW.tzinfo)
        old = _visit(advisor, car, "RO-OCT", on=date(2026, 10, 20), now=october)
        answer_survey(owner, old.id, score=0, now=october)
        gz_owner = make_member(dealers["GZ01"], name="Zhou Min")
        gz_visit = _visit(None, make_vehicle(gz_owner), "RO-GZ")
        answer_survey(gz_owner, gz_visit.id, score=9)
        return {
            "sz_admin": make_staff("dealer_admin", dealers["SZ01"]).id,
            "gz_admin": make_staff("dealer_admin", dealers["GZ01"]).id,
            "hq": make_staff("hq_admin", None).id,
        }


def _user(user_id):
    from app.auth.models import User

    return db.session.get(User, user_id)


def _rows(table) -> list[list[str]]:
    return [[cell.text for cell in row] for row in table.all_rows()]


def test_a_dealers_month_per_dealer_and_advisor(ctx, figures):
    report = satisfaction(_user(figures["sz_admin"]), month=NOVEMBER)
    dealers, advisors = report.tables
    assert _rows(dealers) == [
        ["SZ01", "4", "3", "75.0%", "7.0", "33.3%", "33.3%", "+0", "5.0", "1", "0", "0"]
    ]
    assert _rows(advisors) == [
        ["Advisor Fang", "SZ01", "3", "2", "66.7%", "9.0", "50.0%", "0.0%", "5.0", "0"],
        ["No advisor (DMS)", "SZ01", "1", "1", "100.0%", "3.0", "0.0%", "100.0%", "—", "1"],
    ]
    (bar,) = report.charts[0].bars
    assert (bar.label, bar.text, len(bar.parts)) == ("SZ01", "NPS +0", 3)


def test_october_is_its_own_month(ctx, figures):
    # October's low score opened a case that is still open, past its deadline: overdue.
    report = satisfaction(_user(figures["sz_admin"]), month=NOVEMBER.shift(-1))
    assert _rows(report.tables[0]) == [
        ["SZ01", "1", "1", "100.0%", "0.0", "0.0%", "100.0%", "-100", "—", "1", "0", "1"]
    ]


def test_complaints_resolved_and_overdue(ctx, figures, clock):
    admin = _user(figures["sz_admin"])
    november = ComplaintCase.created_at >= NOVEMBER.starts
    case = ctx.scalar(select(ComplaintCase).where(november))
    clock.advance(days=4)
    assert _rows(satisfaction(admin, month=NOVEMBER).tables[0])[0][-3:] == ["1", "0", "1"]
    complaints.resolve_case(admin, case.id, "Refunded the labour")
    assert _rows(satisfaction(admin, month=NOVEMBER).tables[0])[0][-3:] == ["1", "1", "1"]


def test_hq_sees_every_dealer_with_totals_and_staff_their_own(ctx, figures, dealers):
    hq = satisfaction(_user(figures["hq"]), month=NOVEMBER)
    rows = _rows(hq.tables[0])
    assert [r[0] for r in rows] == ["GZ01", "SZ01", "Total"]
    assert rows[0][1:4] == ["1", "1", "100.0%"]
    assert rows[2][1:8] == ["5", "4", "80.0%", "7.5", "50.0%", "25.0%", "+25"]
    gz = satisfaction(_user(figures["gz_admin"]), month=NOVEMBER)
    assert [r[0] for r in _rows(gz.tables[0])] == ["GZ01"]
    assert "Advisor Fang" not in str(_rows(gz.tables[1]))
    with pytest.raises(NotFound):
        satisfaction(_user(figures["gz_admin"]), month=NOVEMBER, dealer_id=dealers["SZ01"])


def test_a_month_without_anything_says_so(ctx, figures):
    report = satisfaction(_user(figures["sz_admin"]), month=NOVEMBER.shift(-6))
    assert _rows(report.tables[0]) == [
        ["SZ01", "0", "0", "—", "—", "—", "—", "—", "—", "0", "0", "0"]
    ]
    assert report.tables[1].rows == []


def test_the_page_and_its_csv(app, figures, staff_factory, dealers):
    manager = staff_factory("showroom_manager", "SZ01")
    page = manager.get("/admin/insight/satisfaction?month=2026-11").get_data(as_text=True)
    assert "Satisfaction per dealer" in page and "Advisor Fang" in page
    assert "2026-11: 3 of 4 questionnaires answered" in page
    csv = manager.get("/admin/insight/satisfaction.csv?table=advisors&month=2026-11")
    assert csv.status_code == 200
    assert "insight-satisfaction-advisors-SZ01-2026-11.csv" in csv.headers["Content-Disposition"]
    assert "Advisor Fang,SZ01,3,2,66.7%" in csv.get_data(as_text=True)
    for month in ("2027-01", "2026-13", "x" * 40):
        assert manager.get(f"/admin/insight/satisfaction?month={month}").status_code == 400
    assert manager.get("/admin/insight/satisfaction.csv?month=2027-01").status_code == 400
    gz = staff_factory("dealer_admin", "GZ01")
    assert gz.get(f"/admin/insight/satisfaction?dealer={dealers['SZ01']}").status_code == 404
    assert staff_factory("care_agent", "SZ01").get("/admin/insight/satisfaction").status_code == 403


def test_this_month_is_the_default(app, figures, staff_factory):
    page = staff_factory("showroom_manager", "SZ01").get("/admin/insight/satisfaction")
    assert page.status_code == 200
    assert "2026-11:" in page.get_data(as_text=True)
