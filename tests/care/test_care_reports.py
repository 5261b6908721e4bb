"""Issue 20's reports: the recall report (won back within 60 days of the call, the seed's
classes, the reasons) and the first- and regular-maintenance return rates."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.care.models import CareReminder, CareTask, LostReason
from app.care.outcomes import CallReport, Outcome, record_outcome
from app.care.recall_reports import recall_report
from app.care.return_rates import return_rates
from app.care.schedule import run_daily
from app.core.clock import utcnow
from app.extensions import db
from app.service.models import ServiceCategory
from tests.care.helpers import add_visit, make_car, make_owner
from tests.factories import make_dealer, make_staff

TODAY = date(2026, 11, 23)
LATER = datetime(2027, 3, 1, 4, tzinfo=UTC)


def _reason(code: str) -> int:
    return db.session.scalar(select(LostReason.id).where(LostReason.code == code))


def _table(report, key):
    return [[cell.text for cell in cells] for cells in report.table(key).all_rows()]


def _lost(dealer_id, name, **car):
    owner = make_owner(dealer_id, name=name, marketing_opt_in=True)
    car.setdefault("purchased_on", date(2024, 5, 1))
    car.setdefault("delivered_on", date(2024, 5, 3))
    vehicle = make_car(owner, **car)
    add_visit(vehicle, on=TODAY - timedelta(days=150), km=9_000)
    return vehicle


@pytest.fixture
def recalled(ctx, clock):
    """Five lost owners of SZ01 and one of GZ01, called on 23 November as the names say."""
    sz, gz = make_dealer("SZ01").id, make_dealer("GZ01").id
    cars = {
        "won at 60": _lost(sz, "won at 60"),
        "late at 61": _lost(sz, "late at 61", plate="湘A11111"),
        "not coming": _lost(sz, "not coming"),
        "dead": _lost(
            sz,
            "dead",
            plate="粤B22222",
            purchased_on=date(2021, 1, 1),
            delivered_on=date(2021, 1, 2),
        ),
        "never called": _lost(sz, "never called"),
        "GZ": _lost(gz, "GZ"),
    }
    db.session.commit()
    run_daily()
    agent = make_staff("care_agent", sz)
    task = {
        db.session.get(CareTask, t).vehicle_id: t
        for t in db.session.scalars(select(CareTask.id).where(CareTask.kind == "recall"))
    }

    def call(name, outcome, **extra):
        record_outcome(agent, task[cars[name].id], CallReport(Outcome(outcome), **extra))

    call("won at 60", "will_come")
    call("late at 61", "booked")
    call("not coming", "not_coming", reason_id=_reason("price"))
    call("dead", "wrong_number")
    add_visit(cars["won at 60"], on=TODAY + timedelta(days=60), km=10_000)
    add_visit(cars["late at 61"], on=TODAY + timedelta(days=61), km=10_000)
    db.session.commit()
    return cars


def test_the_recall_report_counts_won_back_within_60_days_of_the_call(recalled):
    hq = make_staff("hq_admin", None)
    report = recall_report(hq, month=date(2026, 11, 1), now=LATER)

    # Dealer, lost, called, reached, dead, won back, rate.
    assert _table(report, "dealers") == [
        ["GZ01", "1", "0", "0", "0", "0", "0.0%"],
        ["SZ01", "5", "4", "3", "1", "1", "20.0%"],
        ["Total", "6", "4", "3", "1", "1", "16.7%"],
    ]
    classes = dict((r[0], r[1:]) for r in _table(report, "classes"))
    assert classes["Local"] == ["5", "3", "2", "1", "1", "20.0%"]
    assert classes["Non-local"] == ["1", "1", "1", "0", "0", "0.0%"]
    assert classes["Local, out of warranty"] == ["1", "1", "0", "1", "0", "0.0%"]
    assert classes["Non-local, out of warranty"][0] == "0"
    assert _table(report, "reasons") == [["Price", "1"]]
    # The chart: won back of lost, per dealer.
    assert [(b.label, b.text) for b in report.charts[0].bars] == [
        ("GZ01", "0 / 1"),
        ("SZ01", "1 / 5"),
    ]
    # Another month has none of them.
    assert _table(recall_report(hq, month=date(2026, 10, 1), now=LATER), "dealers")[-1][1] == "0"


def test_a_dealer_sees_only_its_recalls(recalled):
    gz = db.session.scalar(
        select(CareTask.dealer_id)
        .where(CareTask.kind == "recall")
        .order_by(CareTask.dealer_id.desc())
    )
    admin = make_staff("dealer_admin", gz)
    report = recall_report(admin, month=date(2026, 11, 1), now=LATER)
    assert [r[0] for r in _table(report, "dealers")] == ["GZ01"]


def test_won_back_counts_from_the_calls_local_day(ctx, clock):
    # A call at 01:30 in Shanghai is the previous day in UTC: the window counts from the
    # local day of the call.
    sz = make_dealer("SZ01").id
    car = _lost(sz, "early bird")
    db.session.commit()
    run_daily()
    task_id = db.session.scalar(select(CareTask.id))
    clock.advance(hours=15.5)  # 17:30 UTC on the 23rd: 01:30 on the 24th in Shanghai
    assert (clock.now().day, clock.now().hour) == (23, 17)
    record_outcome(make_staff("care_agent", sz), task_id, CallReport(Outcome.BOOKED))
    add_visit(car, on=date(2026, 11, 24) + timedelta(days=60), km=12_000)
    db.session.commit()
    report = recall_report(make_staff("hq_admin", None), month=date(2026, 11, 1), now=LATER)
    assert _table(report, "dealers")[0][5] == "1"


# -------------------------------------------------------------------------- return rates


def test_first_maintenance_return_rate_of_the_cohort_three_months_before(ctx):
    sz = make_dealer("SZ01").id
    owner = make_owner(sz, name="Fleet")

    def car(delivered: date, visit_day: int | None, category=ServiceCategory.MAINTENANCE):
        vehicle = make_car(owner, purchased_on=delivered, delivered_on=delivered)
        if visit_day is not None:
            add_visit(
                vehicle, on=delivered + timedelta(days=visit_day), km=3_000, category=category
            )
        return vehicle

    car(date(2026, 8, 1), 90)  # came on the window's last day
    car(date(2026, 8, 2), 91)  # a day late: did not come
    car(date(2026, 8, 10), 30, ServiceCategory.REPAIR)  # a repair is no maintenance
    open_car = car(date(2026, 8, 31), None)  # day 84 today: its window is open
    car(date(2026, 7, 31), 10)  # delivered in July: another cohort
    car(date(2026, 9, 1), 10)
    # The first-maintenance call of the open car: the owner is not coming, went elsewhere.
    task = CareTask(
        dealer_id=sz,
        member_id=owner.id,
        vehicle_id=open_car.id,
        kind="first_maintenance",
        due_on=date(2026, 10, 30),
        status="open",
        created_at=utcnow(),
    )
    db.session.add(task)
    db.session.flush()
    record_outcome(
        make_staff("care_agent", sz),
        task.id,
        CallReport(
            Outcome.NOT_COMING,
            reason_id=_reason("other_workshop"),
            workshop_name="Speedy",
            workshop_location="Futian",
            workshop_price_fen=45_000,
        ),
    )
    admin = make_staff("dealer_admin", sz)

    report = return_rates(admin, month=date(2026, 11, 1))

    # Dealer, delivered in, cars, came, did not come, window open, rate.
    assert _table(report, "first") == [["SZ01", "2026-08", "4", "1", "2", "1", "25.0%"]]
    assert _table(report, "reasons") == [["Went to another workshop", "1", "0", "1"]]
    assert _table(report, "workshops") == [
        ["First maintenance", "Speedy", "Futian", "450.00", "2026-11-23"]
    ]
    # Once its window has closed, the open car did not come either.
    later = return_rates(admin, month=date(2026, 11, 1), now=LATER)
    assert _table(later, "first") == [["SZ01", "2026-08", "4", "1", "3", "0", "25.0%"]]


def test_regular_maintenance_return_rate_of_the_cars_due_in_the_month(ctx):
    sz = make_dealer("SZ01").id
    owner = make_owner(sz, name="Regular")
    now = utcnow()

    def due(on: date, visit: date | None, category=ServiceCategory.MAINTENANCE):
        vehicle = make_car(owner, purchased_on=date(2024, 1, 1), delivered_on=date(2024, 1, 2))
        db.session.add(
            CareReminder(
                member_id=owner.id,
                vehicle_id=vehicle.id,
                kind="maintenance_due",
                due_on=on,
                key=f"maintenance_due:v{vehicle.id}:1",
                created_at=now,
            )
        )
        if visit is not None:
            add_visit(vehicle, on=visit, km=20_000, category=category)

    due(date(2026, 11, 5), date(2026, 10, 29))  # 7 days early: the notice, counts
    due(date(2026, 11, 5), date(2026, 10, 28))  # 8 days early: before the notice
    due(date(2026, 11, 5), date(2026, 12, 5))  # 30 days late: counts
    due(date(2026, 11, 10), date(2026, 12, 11))  # 31 days late: does not
    due(date(2026, 11, 20), None)  # still within 30 days today
    due(date(2026, 12, 1), date(2026, 12, 1))  # December's
    db.session.flush()
    admin = make_staff("dealer_admin", sz)

    # On 15 December the windows of the cars due on 5 and 10 November have closed.
    report = return_rates(admin, month=date(2026, 11, 1), now=datetime(2026, 12, 15, tzinfo=UTC))

    # Dealer, due, came, did not come, window open, rate.
    assert _table(report, "regular") == [["SZ01", "5", "2", "2", "1", "40.0%"]]
    assert [c.bars[0].text for c in report.charts] == ["—", "40.0%"]  # no car delivered in Aug


# ------------------------------------------------------------------------------ the pages


def test_the_report_pages_for_managers_of_their_dealer(staff_factory, dealers):
    manager = staff_factory("showroom_manager", "SZ01")
    for page, title in (("recall", "Recall of lost owners"), ("returns", "Return rates")):
        html = manager.get(f"/admin/insight/{page}").get_data(as_text=True)
        assert title in html and "Figures of SZ01" in html
        assert f"/admin/insight/{page}.csv?table=" in html
        assert manager.get(f"/admin/insight/{page}?dealer={dealers['GZ01']}").status_code == 404
        assert manager.get(f"/admin/insight/{page}?month=2026-13").status_code == 400
        assert manager.get(f"/admin/insight/{page}?month=2027-01").status_code == 400
    assert staff_factory("care_agent", "SZ01").get("/admin/insight/recall").status_code == 403
    response = manager.get("/admin/insight/returns.csv?table=first&month=2026-10")
    assert response.mimetype == "text/csv"
    assert "insight-returns-first-SZ01-2026-10.csv" in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True).splitlines()[0].startswith("\ufeffDealer,Delivered in")
    assert manager.get("/admin/insight/recall.csv?table=nope").status_code == 404


def test_hq_sees_every_dealer_in_chinese(staff_factory, dealers):
    hq = staff_factory("hq_admin", None)
    html = hq.get("/admin/insight/recall", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "GZ01" in html and "SZ01" in html and "流失客户分类回访统计" in html
