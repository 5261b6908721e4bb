"""The daily care job: each care moment is reminded once, on its day, on the owner's channels."""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.care import schedule
from app.care.maintenance import Visit, next_maintenance, visits_by_car
from app.care.models import CareReminder, CareTask
from app.care.schedule import (
    ReminderKind,
    _vehicle_moments,
    find_moments,
    notice_offset,
    run_daily,
)
from app.care.settings import intervals
from app.core.clock import local_date, utcnow
from app.extensions import db
from app.loyalty.ledger import post_points
from app.loyalty.models import EntryKind
from app.loyalty.services import account_for
from app.members.models import Member, Notification, OutboxMessage, Vehicle
from app.service.models import ServiceCategory, ServiceVisit, VisitStatus
from tests.care.helpers import add_visit, make_car, make_owner
from tests.factories import make_dealer
from tests.test_postgres_concurrency import race


def _seed_owners() -> dict[str, int]:
    """Four owners of the walk below (E, closed, is never reminded); their cars' ids."""
    sz, gz = make_dealer("SZ01"), make_dealer("GZ01")
    # A: a new car, first maintenance in the walk, an opt-in for offers.
    a = make_owner(sz.id, name="A", email="a@example.com", marketing_opt_in=True)
    a1 = make_car(a, purchased_on=date(2026, 9, 28), delivered_on=date(2026, 10, 1))
    # B: a three-year-old car whose warranty is ending; no offers; insurance and inspection.
    b = make_owner(sz.id, name="B", birthday=date(1985, 3, 15), marketing_opt_in=False)
    b1 = make_car(
        b,
        purchased_on=date(2023, 12, 10),
        delivered_on=date(2023, 12, 12),
        insurance_expires_on=date(2027, 2, 20),
        inspection_due_on=date(2027, 6, 30),
    )
    add_visit(b1, on=date(2025, 9, 1), km=30_000)
    add_visit(b1, on=date(2026, 9, 1), km=40_000)
    # C: first maintenance already done; born on 29 February; points expiring; no SMS.
    c = make_owner(
        sz.id,
        name="C",
        birthday=date(1988, 2, 29),
        email="c@example.com",
        notify_sms=False,
        marketing_opt_in=True,
    )
    c1 = make_car(c, purchased_on=date(2026, 8, 20), delivered_on=date(2026, 8, 25))
    add_visit(c1, on=date(2026, 10, 20), km=2_500)
    post_points(
        account_for(c).id,
        500,
        kind=EntryKind.EARN,
        source="service_visit",
        now=datetime(2025, 2, 10, 4, tzinfo=UTC),
    )
    # D, of another dealer: a warranty date entered, bought in November.
    d = make_owner(gz.id, name="D", marketing_opt_in=True)
    d1 = make_car(
        d,
        purchased_on=date(2025, 11, 5),
        delivered_on=date(2025, 11, 8),
        warranty_until=date(2027, 5, 31),
        inspection_due_on=date(2027, 7, 15),
    )
    # E closed their account: nothing for them.
    e = make_owner(sz.id, name="E", birthday=date(1990, 1, 10))
    make_car(e, purchased_on=date(2026, 9, 1), delivered_on=date(2026, 9, 2))
    e.user.active = False
    db.session.flush()
    return {"A1": a1.id, "B1": b1.id, "C1": c1.id, "D1": d1.id}


# When each reminder must appear, walking the daily job from 2026-11-23 for a year.
EXPECTED = {
    (
        "2026-11-23",
        ReminderKind.WARRANTY_EXPIRY,
        "B",
    ),  # ends 2026-12-12: the window is already open
    ("2026-11-23", ReminderKind.ANNIVERSARY, "D"),  # bought in November: the month is running
    ("2026-11-30", ReminderKind.FIRST_MAINTENANCE, "A"),  # day 60 after delivery
    ("2026-12-01", ReminderKind.ANNIVERSARY, "B"),
    ("2026-12-28", ReminderKind.MAINTENANCE_DUE, "B"),  # 5,000 km more at 40 km/day: 2027-01-04
    ("2027-01-11", ReminderKind.POINTS_EXPIRY, "C"),  # 500 points expire on 2027-02-10: 30 days
    ("2027-01-21", ReminderKind.INSURANCE_EXPIRY, "B"),  # 30 days before 2027-02-20
    (
        "2027-02-02",
        ReminderKind.MAINTENANCE_DUE,
        "C",
    ),  # 2,500 km in 56 days: 5,000 more by 2027-02-09
    ("2027-02-03", ReminderKind.POINTS_EXPIRY, "C"),  # 7 days
    ("2027-02-06", ReminderKind.INSURANCE_EXPIRY, "B"),  # 14 days
    ("2027-02-28", ReminderKind.BIRTHDAY, "C"),  # 29 February in a common year
    ("2027-03-15", ReminderKind.BIRTHDAY, "B"),
    ("2027-04-12", ReminderKind.MAINTENANCE_DUE, "A"),  # first maintenance 2026-12-15 at 3,000 km
    ("2027-05-01", ReminderKind.WARRANTY_EXPIRY, "D"),
    ("2027-05-31", ReminderKind.INSPECTION, "B"),
    ("2027-06-15", ReminderKind.INSPECTION, "D"),
    ("2027-08-01", ReminderKind.ANNIVERSARY, "C"),
    ("2027-09-01", ReminderKind.ANNIVERSARY, "A"),
    ("2027-11-01", ReminderKind.ANNIVERSARY, "D"),
}


def test_a_year_of_daily_runs_reminds_each_moment_once_on_its_day(ctx, clock):
    cars = _seed_owners()
    db.session.commit()
    appeared, seen = set(), 0
    tasks_closed = {}
    for _ in range(365):
        today = local_date(clock.now())
        if today == date(2026, 12, 15):
            # A comes in for the first maintenance (the DMS pushes the visit).
            add_visit(db.session.get(Vehicle, cars["A1"]), on=today, km=3_000)
            db.session.commit()
        report = run_daily()
        if report.tasks_closed:
            tasks_closed[today.isoformat()] = report.tasks_closed
        for reminder in db.session.scalars(
            select(CareReminder).where(CareReminder.id > seen).order_by(CareReminder.id)
        ):
            owner = db.session.get(Member, reminder.member_id).name
            appeared.add((today.isoformat(), ReminderKind(reminder.kind), owner))
            assert local_date(reminder.created_at) == today
            seen = reminder.id
        # A second run the same day creates nothing.
        assert run_daily().total == 0
        clock.advance(days=1)

    assert sorted(appeared) == sorted(EXPECTED)
    # A's first-maintenance call was settled by the visit; the birthday calls closed the next
    # day (their greeting went by SMS at the deadline); the other calls are still to make.
    assert tasks_closed == {"2026-12-15": 1, "2027-03-01": 1, "2027-03-16": 1}
    tasks = {
        (db.session.get(Member, t.member_id).name, t.kind, t.status, t.dealer_id)
        for t in db.session.scalars(select(CareTask))
    }
    sz, gz = (db.session.scalar(select(Member.dealer_id).where(Member.name == n)) for n in "AD")
    assert tasks == {
        ("A", "first_maintenance", "closed", sz),
        ("A", "maintenance_due", "open", sz),
        ("B", "warranty_expiry", "open", sz),
        ("B", "maintenance_due", "open", sz),
        ("C", "maintenance_due", "open", sz),
        ("D", "warranty_expiry", "open", gz),
        ("B", "birthday", "sms_sent", sz),
        ("C", "birthday", "sms_sent", sz),
        # Issue 20: A and C accept offers; their cars, unseen for 90 days, are lost owners to
        # recall (B declined offers; D's car was lost beyond 360 days before the walk began).
        ("A", "recall", "open", sz),
        ("C", "recall", "open", sz),
    }
    # Every reminder reached the inbox once, except the offer B declined.
    inbox = db.session.scalar(select(func.count(Notification.id)))
    assert inbox == len(EXPECTED) - 1


def _outbox(key: str) -> dict[str, str]:
    rows = db.session.execute(
        select(OutboxMessage.channel, OutboxMessage.status).where(
            OutboxMessage.dedupe_key.startswith(key + ":")
        )
    )
    return dict(rows.all())


def test_each_reminder_goes_to_the_owners_channels(ctx, clock):
    cars = _seed_owners()
    db.session.commit()
    run_daily()  # 2026-11-23

    # A call task: inbox and e-mail now; the SMS waits for the call to fail.
    b1 = cars["B1"]
    assert _outbox(f"warranty_expiry:v{b1}:2026-12-12:30") == {"in_app": "sent"}
    # An offer to an owner who opted in: every channel.
    d1 = cars["D1"]
    assert _outbox(f"anniversary:v{d1}:2026") == {"in_app": "sent", "sms": "pending"}

    clock.advance(days=8)  # 2026-12-01: B's anniversary, but B declined offers.
    run_daily()
    assert _outbox(f"anniversary:v{b1}:2026") == {"in_app": "skipped", "sms": "skipped"}

    clock.advance(days=41)  # 2027-01-11: C's points; C turned SMS off and has an e-mail.
    run_daily()
    c = db.session.scalar(select(Member).where(Member.name == "C"))
    assert _outbox(f"points_expiry:m{c.id}:2027-02-10:30") == {
        "in_app": "sent",
        "email": "pending",
    }
    key = f"points_expiry:m{c.id}:2027-02-10:30"
    message = db.session.scalar(select(Notification).where(Notification.dedupe_key == key))
    # No language chosen: Chinese, the club's language.
    assert message.title == "500 积分将于 2027年2月10日 过期"


def test_reminders_are_written_in_the_owners_language(ctx, clock):
    sz = make_dealer("SZ01")
    owner = make_owner(sz.id, name="Liu")
    owner.user.locale = "en"
    make_car(owner, purchased_on=date(2026, 1, 5), insurance_expires_on=date(2026, 12, 7))
    db.session.commit()
    run_daily()
    message = db.session.scalar(select(Notification))
    assert message.kind == "insurance_expiry"
    assert message.title.endswith("ends on 7 December 2026")


@pytest.mark.parametrize(
    ("today", "offset"),
    [
        (date(2027, 1, 20), None),
        (date(2027, 1, 21), 30),
        (date(2027, 2, 5), 30),
        (date(2027, 2, 6), 14),
        (date(2027, 2, 19), 14),
        (date(2027, 2, 20), None),
    ],
)
def test_the_notice_whose_window_holds_today(today, offset):
    assert notice_offset(date(2027, 2, 20), today, (30, 14)) == offset


def test_maintenance_is_due_by_months_when_the_car_is_driven_little(ctx):
    sz = make_dealer("SZ01")
    car = make_car(
        make_owner(sz.id, name="Slow"), purchased_on=date(2026, 1, 1), delivered_on=date(2026, 1, 5)
    )
    add_visit(car, on=date(2026, 4, 1), km=1_000)
    _base, due = next_maintenance(car, visits_by_car(date(2026, 4, 2))[car.id])
    assert due == date(2026, 10, 1)  # 6 months; 5,000 km would take over a year


def test_a_repair_visit_updates_the_mileage_estimate(ctx):
    sz = make_dealer("SZ01")
    car = make_car(
        make_owner(sz.id, name="Busy"), purchased_on=date(2026, 1, 1), delivered_on=date(2026, 1, 1)
    )
    add_visit(car, on=date(2026, 3, 2), km=3_000)  # 60 days: 50 km a day
    _base, due = next_maintenance(car, visits_by_car(date(2026, 3, 3))[car.id])
    assert due == date(2026, 6, 10)  # 5,000 km more: 100 days
    add_visit(car, on=date(2026, 4, 1), km=7_000, category=ServiceCategory.REPAIR)
    _base, due = next_maintenance(car, visits_by_car(date(2026, 4, 2))[car.id])
    # 7,000 km in 90 days: the last 1,000 km take 13 days.
    assert due == date(2026, 4, 14)


@pytest.mark.postgres
@pytest.mark.parametrize("batch_size", [1000, 3])
def test_two_hosts_running_the_job_at_once_remind_once(pg_app, monkeypatch, batch_size):
    # In batches of 3, the hosts wait for each other's keys over several transactions.
    monkeypatch.setattr(schedule, "BATCH_SIZE", batch_size)
    with pg_app.app_context(), pg_app.test_request_context():
        _seed_owners()
        sz = db.session.scalar(select(Member.dealer_id).where(Member.name == "A"))
        for n in range(20):
            make_owner(sz, name=f"Born today {n}", birthday=date(1990, 11, 23))
        db.session.commit()

    def run():
        report = run_daily()
        return report.total, report.failed

    results = race(pg_app, run, racers=4)

    assert all(isinstance(r, tuple) for r in results), results
    assert [failed for _total, failed in results] == [[]] * 4
    # 2026-11-23: B's warranty, D's anniversary, 20 birthdays; each made by exactly one host.
    assert sum(total for total, _failed in results) == 22
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(CareReminder.id))) == 22
        # B's warranty call and the 20 birthday calls.
        assert db.session.scalar(select(func.count(CareTask.id))) == 21
        assert db.session.scalar(select(func.count(Notification.id))) == 22
        # The inbox for all; SMS for D's offer and the 20 greetings (held back for the calls);
        # B's waits for the call to fail.
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 22 + 21


# ------------------------------------------------------------------- the first run, at scale


def test_the_first_run_over_years_of_history_reminds_only_of_the_open_windows(ctx):
    sz = make_dealer("SZ01")
    owner = make_owner(sz.id, name="Old hand")
    # Delivered three years ago, maintained until 2025, insured and inspected until 2025: every
    # one of its moments is long past, none is reminded now.
    old = make_car(
        owner,
        purchased_on=date(2023, 10, 10),
        delivered_on=date(2023, 10, 12),
        insurance_expires_on=date(2025, 10, 11),
        inspection_due_on=date(2025, 10, 12),
    )
    add_visit(old, on=date(2024, 4, 1), km=8_000)
    add_visit(old, on=date(2025, 3, 1), km=20_000)
    add_visit(old, on=date(2025, 9, 1), km=26_000, category=ServiceCategory.REPAIR)
    # Delivered 83 days ago and not maintained yet: the first maintenance window is open.
    new = make_car(owner, purchased_on=date(2026, 8, 30), delivered_on=date(2026, 9, 1))
    # Due for maintenance 20 days ago (6 months): still in the 30 days after the due day.
    late = make_car(owner, purchased_on=date(2025, 10, 1), delivered_on=date(2025, 10, 3))
    add_visit(late, on=date(2026, 5, 3), km=2_000)
    db.session.commit()

    report = run_daily()  # 2026-11-23

    assert report.created == {"first_maintenance": 1, "maintenance_due": 1}
    reminders = db.session.execute(select(CareReminder.vehicle_id, CareReminder.kind)).all()
    assert sorted(reminders) == sorted(
        [(new.id, "first_maintenance"), (late.id, "maintenance_due")]
    )


def _fleet(rng: random.Random) -> None:
    """Owners with cars of every shape the rules know: month-end and leap-day purchases, no
    delivery date, an entered warranty, visits before delivery, in the future, repairs."""
    sz = make_dealer("SZ01")
    tricky = [date(2024, 2, 29), date(2023, 8, 31), date(2024, 1, 31), date(2023, 12, 31)]
    for n in range(16):
        owner = make_owner(sz.id, name=f"Owner {n}")
        for _car in range(rng.randint(1, 4)):
            purchased = (
                rng.choice(tricky)
                if rng.random() < 0.3
                else date(2019, 1, 1) + timedelta(days=rng.randint(0, 2_880))
            )
            delivered = None if rng.random() < 0.15 else purchased + timedelta(rng.randint(0, 9))
            car = make_car(
                owner,
                purchased_on=purchased,
                delivered_on=delivered,
                warranty_until=(
                    date(2026, 10, 1) + timedelta(days=rng.randint(0, 500))
                    if rng.random() < 0.3
                    else None
                ),
                insurance_expires_on=date(2026, 11, 1) + timedelta(days=rng.randint(0, 500)),
                inspection_due_on=(
                    date(2026, 11, 1) + timedelta(days=rng.randint(0, 500))
                    if rng.random() < 0.7
                    else None
                ),
            )
            day, km = (delivered or purchased) - timedelta(days=rng.randint(-20, 5)), 0
            for _visit in range(rng.randint(0, 8)):
                day += timedelta(days=rng.randint(10, 200))
                km += rng.randint(0, 12_000)
                category = rng.choice([ServiceCategory.MAINTENANCE, ServiceCategory.REPAIR])
                add_visit(car, on=day, km=km, category=category)
    db.session.commit()


def _every_car_moment():
    """A function of the day: the cars' moment keys from every active owner's car and all its
    visits."""
    visits = defaultdict(list)
    for v in db.session.scalars(
        select(ServiceVisit)
        .where(ServiceVisit.status == VisitStatus.RECORDED)
        .order_by(ServiceVisit.visited_on, ServiceVisit.id)
    ):
        maintenance = v.category == ServiceCategory.MAINTENANCE
        visits[v.vehicle_id].append(Visit(v.id, v.visited_on, v.mileage_km, maintenance))
    cars = db.session.scalars(
        select(Vehicle).join(Member).join(User, User.id == Member.user_id).where(User.active)
    ).all()
    every = intervals()

    def moments(today: date) -> set[str]:
        return {
            m.key
            for car in cars
            for m in _vehicle_moments(
                car,
                [v for v in visits[car.id] if v.visited_on <= today],
                today,
                every=every,
                anniversary_times="2",
            )
        }

    return moments


def test_the_few_visits_loaded_per_car_give_the_moments_of_all_its_visits(ctx):
    _fleet(random.Random(8))
    expected = _every_car_moment()
    today, found_any = date(2026, 11, 1), 0
    while today < date(2027, 9, 30):
        found = {m.key for m in find_moments(today) if m.vehicle_id is not None}
        assert found == expected(today), today
        found_any += len(found)
        today += timedelta(days=1)
    assert found_any > 1_000


def test_a_moment_the_database_refuses_fails_alone(ctx, monkeypatch):
    monkeypatch.setattr(schedule, "BATCH_SIZE", 10)
    sz = make_dealer("SZ01")
    owners = [make_owner(sz.id, name=f"Born {n}", birthday=date(1980, 11, 23)) for n in range(5)]
    # An inbox message already holds the key of one greeting: its insert fails, and so would
    # the whole batch's.
    refused = f"birthday:m{owners[2].id}:2026"
    db.session.add(
        Notification(
            member_id=owners[2].id, kind="x", title="", dedupe_key=refused, created_at=utcnow()
        )
    )
    db.session.commit()

    report = run_daily()

    assert report.created == {"birthday": 4}
    assert report.failed == [refused]
    assert db.session.scalar(select(func.count(CareReminder.id))) == 4


def test_reminders_are_made_in_batches_each_once(ctx, monkeypatch):
    monkeypatch.setattr(schedule, "BATCH_SIZE", 2)
    sz = make_dealer("SZ01")
    for n in range(5):
        owner = make_owner(sz.id, name=f"Born {n}", birthday=date(1980, 11, 23))
        make_car(owner, purchased_on=date(2024, 1, 1), insurance_expires_on=date(2026, 12, 1))
    db.session.commit()

    assert run_daily().created == {"birthday": 5, "insurance_expiry": 5}
    assert run_daily().total == 0
    assert db.session.scalar(select(func.count(Notification.id))) == 10
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 20  # inbox and SMS
