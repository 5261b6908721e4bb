"""Random sequences of earn / redeem / cancel / refund / adjust / sign up with a points deposit /
cancel a place / check in / event over, with time travel that lands on expiry days before or
after the nightly job, keep the books balanced and reconciled (R4, R7, R13)."""

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from app.core.clock import local_date, local_midnight
from app.core.errors import DomainError
from app.events import services as events
from app.events.checkin import check_in, ticket_token
from app.events.closing import lapse_after_event
from app.events.models import EventKind, EventRegistration
from app.extensions import db
from app.loyalty.ledger import (
    InsufficientPoints,
    expire_points,
    post_points,
    refund_debit,
    reverse_entry,
    spendable,
)
from app.loyalty.models import EntryKind, PointsAccount, PointsAllocation, PointsEntry
from app.loyalty.reconcile import reconcile_ledger
from app.loyalty.services import account_for
from tests.conftest import make_app, migrate_to_head
from tests.factories import give_points, make_dealer, make_event, make_member, make_staff

_TEMPLATE: list[Path] = []


def template() -> Path:
    """A migrated SQLite file, made once for this module."""
    if not _TEMPLATE:
        path = Path(tempfile.mkdtemp()) / "ledger.sqlite"
        migrate_to_head(make_app(f"sqlite:///{path}"))
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


class Ledger(RuleBasedStateMachine):
    """One member's account driven by random operations."""

    @initialize()
    def open_account(self):
        self.dir = Path(tempfile.mkdtemp())
        shutil.copy(template(), self.dir / "db.sqlite")
        self.app = make_app(f"sqlite:///{self.dir / 'db.sqlite'}")
        self.clock = self.app.extensions["clock"]
        self.ctx = self.app.test_request_context()
        self.ctx.push()
        dealer = make_dealer("SZ01")
        self.member = make_member(dealer.id)
        self.other = make_member(dealer.id, name="Other owner")
        self.staff = make_staff("event_staff", dealer.id)
        self.account_id = account_for(self.member).id
        self.earnings: list[int] = []
        self.redemptions: list[int] = []
        self.events: list[int] = []
        self.places: list[int] = []
        self.keys = 0
        # Whether the event-over job has run since the clock last moved.
        self.events_job_ran = True

    def teardown(self):
        if hasattr(self, "ctx"):
            db.session.remove()
            db.engine.dispose()
            self.ctx.pop()
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def account(self) -> PointsAccount:
        return db.session.get(PointsAccount, self.account_id)

    @rule(points=st.integers(1, 5000), replay=st.booleans())
    def earn(self, points, replay):
        if not replay or self.keys == 0:
            self.keys += 1
        entry = post_points(
            self.account_id,
            points,
            kind=EntryKind.EARN,
            source="service_visit",
            key=f"ro:{self.keys}",
            qualifying=True,
        )
        if entry.id not in self.earnings:
            self.earnings.append(entry.id)

    @rule(points=st.integers(1, 8000))
    def redeem(self, points):
        # Value-dated: points past their date are not the owner's, recorded or not.
        available = spendable(self.account_id, local_date(self.clock.now()))
        before = available
        try:
            debit = post_points(self.account_id, -points, kind=EntryKind.REDEEM, source="reward")
        except InsufficientPoints:
            assert points > available
            assert self.account.balance == before
        else:
            assert points <= available
            assert self.account.balance == before - points
            self.redemptions.append(debit.id)

    @precondition(lambda self: self.redemptions)
    @rule(data=st.data())
    def cancel(self, data):
        """A voucher cancelled unused: exactly its points come back, once."""
        debit_id = data.draw(st.sampled_from(self.redemptions))
        self.redemptions.remove(debit_id)
        amount = -db.session.get(PointsEntry, debit_id).delta
        before = spendable(self.account_id, local_date(self.clock.now()))
        refund = refund_debit(debit_id, key=f"cancel:{debit_id}", reason="voucher cancelled")
        assert refund.delta == amount
        # Less may stay spendable: points owed are settled, points past their date expire.
        assert before <= self.account.balance <= before + amount
        after = self.account.balance
        refund_debit(debit_id, key=f"cancel:{debit_id}", reason="replayed")
        assert self.account.balance == after

    @precondition(lambda self: self.earnings)
    @rule(data=st.data())
    def reverse(self, data):
        entry_id = data.draw(st.sampled_from(self.earnings))
        reverse_entry(entry_id, reason="refund")
        reverse_entry(entry_id, reason="refund replayed")

    @rule(points=st.integers(-3000, 3000).filter(bool))
    def adjust(self, points):
        try:
            post_points(self.account_id, points, kind=EntryKind.ADJUST, source="goodwill")
        except InsufficientPoints:
            assert points < 0

    @rule(days=st.integers(1, 400), job=st.booleans())
    def time_passes(self, days, job):
        """Days go by; the nightly job may or may not have run (value-dated either way)."""
        self.clock.advance(days=days)
        self.events_job_ran = False
        if job:
            self.nightly_job()

    @rule(full=st.booleans(), deposit=st.integers(1, 400), attendance=st.integers(0, 300))
    def new_event(self, full, deposit, attendance):
        """An owners' lecture in ten days with one place and a points deposit; another owner
        may have taken the place already (the member then waits in line)."""
        event = make_event(
            self.staff,
            now=self.clock.now(),
            kind=EventKind.LECTURE,
            capacity=1,
            max_companions=0,
            deposit_points=deposit,
            attendance_points=attendance,
            waiver_text="",
        )
        if full:
            give_points(self.other, deposit)
            events.sign_up(self.other, event.id)
        self.events.append(event.id)

    @precondition(lambda self: self.events)
    @rule(data=st.data())
    def sign_up(self, data):
        event_id = data.draw(st.sampled_from(self.events))
        before = self.account.balance
        try:
            registration = events.sign_up(self.member, event_id)
        except DomainError:
            assert self.account.balance == before
        else:
            self.places.append(registration.id)

    @precondition(lambda self: self.places)
    @rule(data=st.data())
    def cancel_place(self, data):
        """The owner cancels a place; a refused cancellation (checked in, too late) changes
        nothing."""
        registration_id = data.draw(st.sampled_from(self.places))
        before = self.account.balance
        try:
            events.cancel_registration(self.member, registration_id)
        except DomainError:
            assert self.account.balance == before

    @precondition(lambda self: self.places)
    @rule(data=st.data(), at_the_start=st.booleans())
    def gate_scans(self, data, at_the_start):
        """The gate scans a ticket, now or half an hour after the event starts."""
        registration = db.session.get(EventRegistration, data.draw(st.sampled_from(self.places)))
        start = registration.event.starts_at + timedelta(minutes=30)
        if at_the_start and self.clock.now() < start:
            self.clock.at = start
            self.events_job_ran = False
        before = self.account.balance
        try:
            check_in(self.staff, event_id=registration.event_id, ticket=ticket_token(registration))
        except DomainError:  # outside the window, cancelled, waiting: a refusal changes nothing
            assert self.account.balance == before

    @precondition(lambda self: self.earnings)
    @rule(data=st.data(), hours=st.integers(0, 23))
    def expiry_day(self, data, hours):
        """The clock lands on the day an earning's points expire, before the nightly job."""
        today = local_date(self.clock.now())
        days = sorted(
            {
                db.session.get(PointsEntry, e).expires_on
                for e in self.earnings
                if db.session.get(PointsEntry, e).expires_on > today
            }
        )
        if days:
            day = data.draw(st.sampled_from(days))
            self.clock.at = local_midnight(day) + timedelta(hours=hours)
            self.events_job_ran = False

    @precondition(lambda self: self.events)
    @rule(job=st.booleans())
    def events_over(self, job):
        """The clock passes the end of every event so far; the job may have run since."""
        from app.events.models import Event

        last_end = max(db.session.get(Event, e).ends_at for e in self.events)
        if self.clock.now() < last_end:
            self.clock.at = last_end + timedelta(hours=1)
            self.events_job_ran = False
        if job:
            self.nightly_job()

    @rule()
    def nightly_job(self):
        expire_points()
        lapse_after_event(now=self.clock.now())
        self.events_job_ran = True

    @invariant()
    def books_balance(self):
        if not hasattr(self, "ctx"):
            return
        db.session.flush()
        account = self.account
        entries = select(PointsEntry).where(PointsEntry.account_id == self.account_id).subquery()
        total, lots = db.session.execute(
            select(
                func.coalesce(func.sum(entries.c.delta), 0),
                func.coalesce(func.sum(entries.c.remaining), 0),
            )
        ).one()
        assert total == account.balance == lots
        assert account.balance >= 0 and account.debt >= 0
        assert account.debt == 0 or account.balance == 0
        # Every debit drew exactly its amount from lots.
        drawn = dict(
            db.session.execute(
                select(PointsAllocation.debit_id, func.sum(PointsAllocation.amount)).group_by(
                    PointsAllocation.debit_id
                )
            ).all()
        )
        debits = db.session.execute(
            select(PointsEntry.id, PointsEntry.delta).where(
                PointsEntry.account_id == self.account_id, PointsEntry.delta < 0
            )
        ).all()
        assert all(drawn.get(entry_id) == -delta for entry_id, delta in debits)
        breaches = reconcile_ledger(now=self.clock.now())
        if not self.events_job_ran:
            # Deposits of events that ended since the job last ran come back when it runs.
            breaches = [b for b in breaches if b.check != "deposits"]
        assert breaches == []


Ledger.TestCase.settings = settings(max_examples=20, stateful_step_count=25, deadline=None)
TestLedger = Ledger.TestCase
