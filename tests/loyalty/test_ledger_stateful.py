"""Random sequences of earn / redeem / cancel / refund / adjust, with time travel that lands on
expiry days before or after the nightly job, keep the books balanced and reconciled (R4, R13)."""

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from app.core.clock import local_date, local_midnight
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
from tests.factories import make_dealer, make_member

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
        self.account_id = account_for(make_member(make_dealer("SZ01").id)).id
        self.earnings: list[int] = []
        self.redemptions: list[int] = []
        self.keys = 0

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
        if job:
            expire_points()

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

    @rule()
    def nightly_job(self):
        expire_points()

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
        assert reconcile_ledger(now=self.clock.now()) == []


Ledger.TestCase.settings = settings(max_examples=20, stateful_step_count=25, deadline=None)
TestLedger = Ledger.TestCase
