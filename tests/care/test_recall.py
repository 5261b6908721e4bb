"""Recall of lost owners (issue 20): the daily job makes one recall task per owner whose car
enters the lost window, with consent, classed local/non-local × in/out of warranty."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.care.models import CareTask, ContactCorrection
from app.care.recall import create_recall_tasks, set_local_plates
from app.care.schedule import run_daily
from app.care.tasks import record_call
from app.core.clock import local_date, utcnow
from app.core.errors import ValidationFailed
from app.extensions import db
from app.members.models import Member
from tests.care.helpers import add_visit, make_car, make_owner
from tests.factories import make_dealer, make_staff
from tests.test_postgres_concurrency import race

TODAY = date(2026, 11, 23)  # the test clock's day (tests/conftest.py NOW)


def _lost_owner(dealer_id, name, *, last_seen: date, consent=True, **car):
    """An owner whose only car was last serviced on ``last_seen``."""
    owner = make_owner(dealer_id, name=name, marketing_opt_in=consent)
    car.setdefault("purchased_on", date(2024, 5, 1))
    car.setdefault("delivered_on", date(2024, 5, 3))
    vehicle = make_car(owner, **car)
    add_visit(vehicle, on=last_seen, km=10_000)
    return owner, vehicle


def _recalls() -> dict[str, tuple]:
    """The recall tasks by owner's name: (status, class, lost since, car)."""
    rows = db.session.execute(
        select(Member.name, CareTask.status, CareTask.recall_class, CareTask.lost_since)
        .join(Member, Member.id == CareTask.member_id)
        .where(CareTask.kind == "recall")
        .order_by(CareTask.id)
    )
    found = {}
    for name, *rest in rows:
        found.setdefault(name, []).append(tuple(rest))
    return found


def test_the_lost_window_runs_from_90_to_360_days_unseen(ctx):
    sz = make_dealer("SZ01").id
    for days in (89, 90, 360, 361):
        _lost_owner(sz, f"{days} days", last_seen=TODAY - timedelta(days=days))
    # Never serviced: counts from the delivery day, as the lost-customer list does.
    owner = make_owner(sz, name="never", marketing_opt_in=True)
    make_car(owner, purchased_on=date(2026, 2, 1), delivered_on=TODAY - timedelta(days=100))

    assert create_recall_tasks() == 3

    assert sorted(_recalls()) == ["360 days", "90 days", "never"]
    assert _recalls()["90 days"] == [("open", "local_in", TODAY - timedelta(days=90))]


def test_only_owners_who_accept_offers_and_are_active_are_called(ctx):
    sz = make_dealer("SZ01").id
    seen = TODAY - timedelta(days=120)
    _lost_owner(sz, "yes", last_seen=seen)
    _lost_owner(sz, "no", last_seen=seen, consent=False)
    closed, _car = _lost_owner(sz, "closed account", last_seen=seen)
    closed.user.active = False
    db.session.flush()

    create_recall_tasks()

    assert list(_recalls()) == ["yes"]
    # Withdrawing the consent closes the open task at the next run.
    db.session.scalar(select(Member).where(Member.name == "yes")).marketing_opt_in = False
    db.session.commit()
    assert run_daily().recalls_closed == 1
    assert _recalls()["yes"][0][0] == "closed"


def test_one_open_task_per_owner_about_the_car_unseen_longest(ctx, clock):
    sz = make_dealer("SZ01").id
    owner, older = _lost_owner(sz, "two cars", last_seen=TODAY - timedelta(days=200))
    newer = make_car(owner, purchased_on=date(2024, 5, 1), delivered_on=date(2024, 5, 3))
    add_visit(newer, on=TODAY - timedelta(days=100), km=5_000)
    db.session.commit()

    assert run_daily().recalls_made == 1
    assert run_daily().recalls_made == 0  # a rerun makes nothing
    (task,) = db.session.scalars(select(CareTask).where(CareTask.kind == "recall"))
    assert task.vehicle_id == older.id

    # The call reached the owner; the next day the other car's episode gets its own task,
    # and the first car's episode is not called again.
    agent = make_staff("care_agent", sz)
    record_call(agent, task.id, reached=True)
    db.session.commit()
    clock.advance(days=1)
    assert run_daily().recalls_made == 1
    clock.advance(days=1)
    assert run_daily().recalls_made == 0
    cars = db.session.scalars(
        select(CareTask.vehicle_id).where(CareTask.kind == "recall").order_by(CareTask.id)
    ).all()
    assert cars == [older.id, newer.id]


def test_a_car_that_comes_back_closes_its_recall_and_a_new_lost_episode_calls_again(ctx, clock):
    sz = make_dealer("SZ01").id
    _owner, car = _lost_owner(sz, "back", last_seen=TODAY - timedelta(days=95))
    db.session.commit()
    run_daily()
    add_visit(car, on=TODAY + timedelta(days=3), km=12_000)
    db.session.commit()
    clock.advance(days=3)

    report = run_daily()

    assert (report.recalls_closed, report.recalls_made) == (1, 0)
    assert _recalls()["back"] == [("closed", "local_in", TODAY - timedelta(days=95))]
    # 90 days after that visit the car is lost again: a new episode, a new task.
    clock.advance(days=89)
    assert run_daily().recalls_made == 0
    clock.advance(days=1)
    assert run_daily().recalls_made == 1
    assert _recalls()["back"][-1] == ("open", "local_in", TODAY + timedelta(days=3))


def test_the_seed_classes_local_by_plate_and_warranty(ctx):
    sz = make_dealer("SZ01").id  # Shenzhen: 粤B plates are local
    seen = TODAY - timedelta(days=150)
    _lost_owner(sz, "local in", last_seen=seen, plate="粤B12345")
    _lost_owner(
        sz,
        "local out",
        last_seen=seen,
        plate="粤B12346",
        purchased_on=date(2022, 1, 1),
        delivered_on=date(2022, 1, 5),
    )
    _lost_owner(sz, "remote in", last_seen=seen, plate="湘A12345")
    _lost_owner(sz, "remote out", last_seen=seen, plate="粤A12345", warranty_until=date(2026, 1, 1))
    _lost_owner(sz, "no plate", last_seen=seen, plate=None)

    create_recall_tasks()

    classes = {name: tasks[0][1] for name, tasks in _recalls().items()}
    assert classes == {
        "local in": "local_in",
        "local out": "local_out",
        "remote in": "remote_in",
        "remote out": "remote_out",
        "no plate": "local_in",
    }


def test_a_dealer_sets_its_local_plates(ctx):
    sz = make_dealer("SZ01").id
    admin = make_staff("dealer_admin", sz)
    seen = TODAY - timedelta(days=150)
    _lost_owner(sz, "Dongguan", last_seen=seen, plate="粤S12345")
    _lost_owner(sz, "Shenzhen", last_seen=seen, plate="粤B12345")

    assert set_local_plates(admin, sz, "粤b，粤S  粤S") == ["粤B", "粤S"]
    create_recall_tasks()
    assert {n: t[0][1] for n, t in _recalls().items()} == {
        "Dongguan": "local_in",
        "Shenzhen": "local_in",
    }
    for wrong in ("GD", "粤BB", "X粤"):
        with pytest.raises(ValidationFailed):
            set_local_plates(admin, sz, wrong)


def test_an_owner_on_the_correction_list_is_not_called(ctx):
    sz = make_dealer("SZ01").id
    owner, _car = _lost_owner(sz, "dead number", last_seen=TODAY - timedelta(days=130))
    db.session.add(
        ContactCorrection(
            member_id=owner.id, old_mobile=owner.user.mobile, status="open", reported_at=utcnow()
        )
    )
    db.session.flush()

    assert create_recall_tasks() == 0


@pytest.mark.postgres
def test_two_hosts_making_recall_tasks_at_once_make_one_per_owner(pg_app):
    with pg_app.app_context(), pg_app.test_request_context():
        sz = make_dealer("SZ01").id
        for n in range(30):
            owner, _car = _lost_owner(sz, f"Lost {n}", last_seen=TODAY - timedelta(days=100 + n))
            second = make_car(owner, purchased_on=date(2024, 5, 1), delivered_on=date(2024, 5, 3))
            add_visit(second, on=TODAY - timedelta(days=95), km=1_000)
        db.session.commit()

    def run():
        return run_daily().recalls_made

    results = race(pg_app, run, racers=4)

    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 30
    with pg_app.app_context():
        per_owner = db.session.execute(
            select(CareTask.member_id, func.count())
            .where(CareTask.kind == "recall", CareTask.status == "open")
            .group_by(CareTask.member_id)
        ).all()
        assert len(per_owner) == 30 and {n for _m, n in per_owner} == {1}
        assert local_date(utcnow()) == TODAY
