"""``flask bench seed``: fill a migrated database with N owners and three years of history, fast.

Rows go in by bulk, never an ORM object per row: on PostgreSQL by binary COPY, which a writer
thread streams while the next owners are simulated; on SQLite by SQLAlchemy Core inserts of 5,000
rows. Ids are handed out here, from each table's current maximum, so rows can point at each other
before they are written (PostgreSQL's sequences are moved past them at the end). Everything
happens in the caller's one transaction: a failure writes nothing.

The history is simulated owner by owner, as the services would have written it, so that every
page, report and API works on it as on real data. Its figures come from the services' own rule
functions, not from copies of them: a visit's points from ``visit_points`` with the rules
version ``rules_in_force`` gives for its day, tier moves from ``upgrade_for``, ``review_outcome``
and ``corrected_tier`` (app.loyalty.tiers), the 12-month window, review dates, lot and voucher
expiry from ``window_start``, ``first_review_on``/``next_review_on``, ``expiry_date`` and
``voucher_expiry`` (tests/test_bench_seed.py checks each figure against them). What it does
itself is the bookkeeping the services do row by row, set-based:

- each owner has a user (one argon2 hash, computed once, shared by all), a member profile of
  one of the demo dealers, an active card (Luhn), a points account and one or two cars with
  valid, unique VINs (ISO 3779 check digit) and plates;
- about 50 ledger entries over the last three years: service visits (with their visit rows,
  points per yuan × the tier multiplier at the time, doubled in the purchase-anniversary month),
  a few refunded visits (their points reversed from their own lot), event attendance (with the
  registration and check-in), referral rewards (with the referral, its callback questions and
  free vouchers), redemptions (vouchers, drawn from the oldest lots) and the daily job's expiries
  (lots older than 24 months). Balances, lots' remaining points and allocations agree with the
  ledger (R4); tiers follow the qualifying points of the trailing 12 months, upgrade at once and
  go down by one at most at the annual review (R2), with their tier-change rows.

Every ledger entry names the dealer it is settled with (the owner's: they act at their own).
For the staff pages, SZ01 gets BENCH_CONSULTANTS more sales consultants and BENCH_AGENTS more
care agents (mobiles 1381000xxxx, the owners' password), and GRADED_SHARE of its owners are
graded A/B/C (seed 003) by its consultants, a few regraded, with the care contacts made since,
now and then late: some owners' care is overdue (a random stream of its own).

For the load benchmark (``bench/run.py``) it also makes, in dealer SZ01: a known owner (mobile
13900000000 and the given password), an API key of SZ01's systems, an open day today with up to
40,000 confirmed registrations (their signed tickets), up to 40,000 unused vouchers and 2,000
VINs, all listed in the manifest. So that a load run never runs out of work, there are at least
``supply`` (30,000 by default) tickets and unused vouchers at every scale: when SZ01 has fewer
owners, they are registered for several open days of today (one ticket each), and the vouchers
are topped up with free vouchers of the car wash (source ``bench:<n>``, as
``issue_free_voucher`` tags its vouchers), handed round the same owners. Not generated:
audit-log entries of the history, in-app messages of past tier changes, care reminders,
appointments, perk claims, chapter transfers.
The care loop of issue 20 since it went live (callbacks and questionnaires after every visit,
complaint cases, the daily job's maintenance and recall call tasks with their calls, outcomes
and reasons, numbers found dead, a greeting to send) is bench/care_seed.py's, owner by owner
from this history. Campaigns are made by ``flask bench campaign`` (bench/campaign.py).
"""

import bisect
import gc
import itertools
import queue
import random
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from app.auth.models import User
from app.campaigns.grading.models import CareContact, OwnerGrading
from app.campaigns.grading.services import CONSULTANT_ROLES, DEFAULT_STANDARDS
from app.cards.models import MemberCard
from app.cards.services import CARD_PREFIX
from app.core.clock import local_date, local_midnight, utcnow
from app.core.errors import Conflict
from app.core.identifiers import CODE_ALPHABET, VIN_ALPHABET, luhn_check_digit, vin_check_digit
from app.core.permissions import Role
from app.events.models import CheckIn, Event, EventKind, EventRegistration
from app.extensions import db
from app.loyalty.ledger import add_months, expiry_date
from app.loyalty.models import PointsAccount, PointsAllocation, PointsEntry, TierChange
from app.loyalty.rules import rules_in_force, visit_points
from app.loyalty.services import list_tiers
from app.loyalty.tiers import (
    corrected_tier,
    first_review_on,
    next_review_on,
    review_outcome,
    tier_at_least,
    upgrade_for,
    window_start,
)
from app.members.models import Colour, Dealer, Member, Transmission, Vehicle
from app.referrals.models import (
    Callee,
    CrossCheckQuestion,
    QuestionKind,
    Referral,
    ShowroomVisit,
)
from app.referrals.terms import terms_today
from app.rewards.models import Reward, Voucher
from app.rewards.services import (
    CODE_LENGTH,
    MAX_STOCK,
    format_voucher_code,
    voucher_expiry,
)
from app.service.models import ServiceVisit
from bench.care_seed import CARE_COLUMNS, CARE_MODELS, CareHistory

OWNER_MOBILE = "13900000000"
DEFAULT_PASSWORD = "bench-password-1"  # noqa: S105 - documented bench login  # nosec B105
DEALER_CODE = "SZ01"
CHECKIN_TICKETS = 40_000
ACTIVE_VOUCHERS = 40_000
# Tickets and unused vouchers the load test gets at least, whatever the scale: a POST path at a
# few thousand requests/s for BENCH_SECONDS must not run out.
SUPPLY = 30_000
MANIFEST_VINS = 2_000
HISTORY_DAYS = 3 * 365
# Owners simulated between two writes: a few hundred thousand rows.
CHUNK_OWNERS = 2_000
SQLITE_ROWS_PER_INSERT = 5_000
RANDOM_SEED = 7
# Demo owners of `flask seed-demo` (139 0000 0001...) may be present; anything else is refused.
DEMO_OWNER_MOBILES = ("13900000001", "13900099999")

# Activities per owner over the history; with expiries and refunds about 50 ledger entries.
ACTIVITIES = (44, 56)
# Share of activities: service visits, event attendance, the rest redemptions.
VISIT_SHARE, EVENT_SHARE = 0.77, 0.80
# Past events are club-sized (the demo's trip takes 10 cars, its lecture 40 seats): their number
# grows with the owners, about 1.5 attended per owner over the history, at least one a month.
EVENT_SIZE, EVENTS_PER_OWNER = 40, 1.5
REFUND_SHARE = 0.02
# Spending profiles: (weight, lowest and highest yuan of a visit); they spread the tiers.
PROFILES = ((0.55, 60, 260), (0.30, 300, 700), (0.15, 1_200, 2_400))
CATEGORIES = (("maintenance", 0.70), ("repair", 0.90), ("accident", 0.95), ("other", 1.0))
VIN_WMIS = ("LFV", "LSV")
VIN_YEARS = "ABCDEFGHJKLMNPRSTVWXY123456789"  # model-year codes from 2010, a 30-year cycle
PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
# Group-wide rewards of the bench catalog: (name, kind, points, minimum tier, validity days).
REWARDS = (
    ("Hand car wash", "gift", 300, None, 60),
    ("Labour-hour voucher ¥50", "labour_voucher", 2_500, None, 180),
    ("Fuel voucher ¥100", "fuel_voucher", 8_000, "platinum", 180),
    ("Maintenance package", "maintenance_package", 15_000, "diamond", 365),
)
# Past events: (kind, title, attendance points, companions, hours).
EVENT_KINDS = (
    (EventKind.LECTURE, "Owner lecture: car care", 100, 1, 2),
    (EventKind.OTHER, "Members' afternoon", 150, 1, 3),
    (EventKind.TRIP, "Self-drive day", 300, 2, 30),
)
WAIVER = "I take part at my own risk and drive my own car within the law."

# SZ01's extra staff (a dealer of 50,000 owners has more than the demo's one of each): sales
# consultants who care for graded owners and care agents who share campaign call lists.
BENCH_CONSULTANTS, BENCH_AGENTS = 6, 4
BENCH_STAFF_MOBILE = "1381000{:04d}"
# ABC grading (seed 003) of SZ01's owners: the share graded, each grade's weight, the share
# regraded later, and how the consultants keep to the care interval: a contact made on time
# (up to a week early), late now and then, sometimes not reaching the owner (tried again
# three days later).
GRADED_SHARE = 0.30
GRADE_WEIGHTS = (("A", 0.20), ("B", 0.55), ("C", 1.0))
REGRADED_SHARE = 0.10
LATE_SHARE, REACHED_SHARE = 0.20, 0.80
GRADE_REASONS = {
    "A": ("Maintains here on schedule and spends well", "Referred two friends; comes to events"),
    "B": ("Regular maintenance, average spend", "Comes for maintenance, repairs elsewhere"),
    "C": ("Rarely comes in", "Only comes for insurance repairs"),
}

# Columns written per table, in an order where every reference points backwards.
COLUMNS = {
    User.__table__: (
        "id mobile password_hash role name dealer_id partner_id locale active session_version "
        "created_at last_login_at mobile_verified_at"
    ),
    Member.__table__: (
        "id user_id dealer_id name birthday gender occupation home_area hobbies privacy_version "
        "privacy_accepted_at marketing_opt_in marketing_changed_at email notify_email notify_sms "
        "created_at joined_at"
    ),
    MemberCard.__table__: "id member_id number status issued_at replaced_at replace_reason",
    PointsAccount.__table__: "id member_id balance qualifying_points tier_code debt review_on",
    Vehicle.__table__: (
        "id member_id vin plate model colour_id transmission purchased_on delivered_on "
        "warranty_until insurance_expires_on inspection_due_on created_at"
    ),
    PointsEntry.__table__: (
        "id account_id delta kind source reference idempotency_key qualifying_delta reversed_at "
        "remaining expires_on reverses_id reason actor_id created_at dealer_id"
    ),
    PointsAllocation.__table__: "id debit_id lot_id amount",
    ServiceVisit.__table__: (
        "id dealer_id ro_number vehicle_id member_id visited_on mileage_km amount_fen category "
        "points_awarded entry_id status refunded_at points_reversed source recorded_by_id "
        "created_at"
    ),
    EventRegistration.__table__: (
        "id event_id member_id vehicle_id companions companion_names status waiver_accepted_at "
        "created_at confirmed_at offered_at offer_expires_at cancelled_at payment_due_at "
        "ticket_uuid ticket_code"
    ),
    CheckIn.__table__: "id registration_id event_id checked_in_at staff_id nonce source",
    Voucher.__table__: (
        "id code reward_id member_id dealer_id status cost_points issued_at expires_on "
        "redeemed_at redeemed_by_id cancelled_at debit_entry_id refund_entry_id source"
    ),
    TierChange.__table__: "id account_id from_code to_code reason qualifying_points at",
    # After every owner (``_write_staff_and_grades``), with SZ01's extra staff as users.
    OwnerGrading.__table__: (
        "id dealer_id member_id grade consultant_id graded_by_id graded_at reason"
    ),
    CareContact.__table__: "id dealer_id member_id staff_id contacted_on reached note created_at",
    # The care loop (bench/care_seed.py), owner by owner.
    **CARE_COLUMNS,
}
COLUMNS = {table: tuple(names.split()) for table, names in COLUMNS.items()}
# Indexes of an entry row (a list, changed while later debits draw on the lot).
E_REVERSED_AT, E_REMAINING = 8, 9


class BenchDataExists(Conflict):
    """The database already holds owners: bench data goes into an empty one."""


@dataclass
class BenchResult:
    """What the seed made: the manifest (without its timing) and row counts per table."""

    manifest: dict
    counts: dict[str, int] = field(default_factory=dict)


def refuse_if_seeded() -> None:
    """Raise BenchDataExists when any owner other than the demo's is in the database."""
    others = db.session.scalar(
        select(func.count(Member.id))
        .join(User, User.id == Member.user_id)
        .where(~User.mobile.between(*DEMO_OWNER_MOBILES))
    )
    if others:
        raise BenchDataExists(
            _l(
                "The database already has owners (%(n)s besides the demo's): bench data goes "
                "into an empty database. Make a new one, run `flask db upgrade`, then "
                "`flask bench seed`.",
                n=others,
            )
        )


def seed_bench(
    *,
    members: int,
    password: str = DEFAULT_PASSWORD,
    supply: int = SUPPLY,
    now: datetime | None = None,
) -> BenchResult:
    """Create the demo dealers and staff, then ``members`` owners with their history and at
    least ``supply`` tickets and unused vouchers for the load test (flushes, never commits);
    refuses a database that already has owners besides the demo's."""
    refuse_if_seeded()
    return _Seeder(members, password, now or utcnow(), supply=supply).run()


def analyze_tables() -> None:
    """Bring PostgreSQL to the state autovacuum keeps a live database in, after the bulk load
    (run after the commit): planner statistics, and the visibility map that lets the reports
    answer from their indexes alone instead of visiting every row."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))


# --------------------------------------------------------------------------------- writing


def write_rows(connection, table, columns, rows) -> None:
    """Write ``rows`` (sequences in ``columns`` order) to ``table`` in bulk on ``connection``:
    binary COPY on PostgreSQL, the compiled Core insert run on the DB-API cursor on SQLite."""
    if connection.dialect.name == "postgresql":
        from psycopg import sql

        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:
            cursor.execute(
                "SELECT attname, atttypid::int FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0",
                (table.name,),
            )
            oids = dict(cursor.fetchall())
            with cursor.copy(statement) as copy:
                # Binary: neither side formats or parses text (several times less work).
                copy.set_types([oids[name] for name in columns])
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
        return
    # The Core insert, compiled once, and each column's own conversion (UTC timestamps,
    # dates...), run on the DB-API cursor: SQLAlchemy's per-row work costs more than SQLite's.
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    order = [columns.index(name) for name in compiled.positiontup]
    convert = [
        (position, processor)
        for position, name in enumerate(columns)
        if (processor := table.c[name].type.bind_processor(dialect)) is not None
    ]
    cursor = connection.connection.driver_connection.cursor()
    for start in range(0, len(rows), SQLITE_ROWS_PER_INSERT):
        batch = []
        for row in rows[start : start + SQLITE_ROWS_PER_INSERT]:
            row = list(row)
            for position, processor in convert:
                row[position] = processor(row[position])
            batch.append([row[position] for position in order])
        cursor.executemany(compiled.string, batch)
    cursor.close()


class _Sink:
    """Rows waiting to be written, per table; ``flush`` writes them in reference order.

    On PostgreSQL a writer thread streams each batch with COPY while the next owners are being
    simulated (the simulation does not touch the database), so both cores work; COPY goes
    without the foreign-key triggers where the role may switch them off (rows refer to ids
    handed out here, and the tests check every reference).
    """

    def __init__(self, connection):
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.rows = {table: [] for table in COLUMNS}
        self.written: dict[str, int] = {}
        self.failure: BaseException | None = None
        if self.postgres:
            self._skip_reference_triggers()
            self.queue: queue.Queue = queue.Queue(maxsize=2)
            self.thread = threading.Thread(target=self._drain, name="bench-copy", daemon=True)
            self.thread.start()

    def _skip_reference_triggers(self) -> None:
        try:
            with db.session.begin_nested():
                db.session.execute(text("SET LOCAL session_replication_role = replica"))
        except DBAPIError:
            pass  # not a superuser: the triggers check every row, slower but the same

    def flush(self) -> None:
        """Write (PostgreSQL: hand to the writer) every waiting row."""
        batch = [(table, rows) for table, rows in self.rows.items() if rows]
        self.rows = {table: [] for table in COLUMNS}
        for table, rows in batch:
            self.written[table.name] = self.written.get(table.name, 0) + len(rows)
        if self.postgres:
            self._check()
            self.queue.put(batch)
            return
        for table, rows in batch:
            self.write(table, COLUMNS[table], rows)

    def close(self) -> None:
        """Wait until everything is written; raise what the writer met."""
        self.flush()
        if self.postgres:
            self.queue.put(None)
            self.thread.join()
            self._check()

    def stop(self) -> None:
        """Drop what is not written yet and wait for the writer (the run failed)."""
        if self.postgres and self.thread.is_alive():
            self.failure = self.failure or RuntimeError("stopped")
            self.queue.put(None)
            self.thread.join()

    def _check(self) -> None:
        if self.failure is not None:
            raise self.failure

    def _drain(self) -> None:
        while (batch := self.queue.get()) is not None:
            if self.failure is not None:
                continue
            try:
                for table, rows in batch:
                    self.write(table, COLUMNS[table], rows)
            except BaseException as exc:  # handed to the main thread
                self.failure = exc

    def write(self, table, columns, rows) -> None:
        """Write ``rows`` (sequences in ``columns`` order) to ``table`` in bulk."""
        write_rows(self.connection, table, columns, rows)


# ------------------------------------------------------------------------------- the seeder


@dataclass
class _Event:
    id: int
    day: int  # date ordinal
    starts_at: datetime
    closes_at: datetime
    seconds: int  # local time of the start
    kind: EventKind
    title: str
    points: int
    companions: int
    staff_id: int | None
    places: int = 0
    # Members registered, so nobody signs up twice.
    members: set = field(default_factory=set)


def _plain(row) -> SimpleNamespace:
    """A copy of an ORM row's column values: read without SQLAlchemy's attribute machinery."""
    return SimpleNamespace(**{a.key: getattr(row, a.key) for a in inspect(row).mapper.column_attrs})


class _Seconds(dict):
    """timedelta(seconds=n), each made once."""

    def __missing__(self, seconds: int) -> timedelta:
        found = self[seconds] = timedelta(seconds=seconds)
        return found


@dataclass
class _Car:
    id: int
    vin: str
    plate: str | None
    model: str
    colour_id: int
    transmission: Transmission
    purchased: int  # date ordinal
    purchased_on: date  # the same day: its month of later years earns double
    km_per_day: int
    delivered: int  # date ordinal


class _Seeder:
    """One run of the generator; see the module's docstring."""

    def __init__(self, members: int, password: str, now: datetime, *, supply: int = SUPPLY):
        from demo.seed import AREAS, DEALERS, GIVEN, HOBBIES, MODELS, OCCUPATIONS, SURNAMES

        if members < 1:
            raise ValueError("members must be at least 1")
        self.n = members
        self.supply = supply
        self.password = password
        self.now = now
        self.today = local_date(now).toordinal()
        self.start = self.today - HISTORY_DAYS
        self.rng = random.Random(RANDOM_SEED)  # noqa: S311 - reproducible data, not secrets  # nosec B311
        self.demo = SimpleNamespace(
            dealers=DEALERS,
            surnames=SURNAMES,
            given=GIVEN,
            models=MODELS,
            occupations=OCCUPATIONS,
            areas=AREAS,
            hobbies=HOBBIES,
        )
        self.rand = self.rng.random
        self.code_pairs = [a + b for a in CODE_ALPHABET for b in CODE_ALPHABET]
        self._midnights: dict[int, datetime] = {}
        self._since: dict[int, datetime] = {}
        self._seconds = _Seconds()
        self._dates: dict[int, date] = {}
        self._months: dict[tuple[int, int], int] = {}
        self._expiries: dict[int, int] = {}

    # ---- small helpers

    def date(self, ordinal: int) -> date:
        found = self._dates.get(ordinal)
        if found is None:
            found = self._dates[ordinal] = date.fromordinal(ordinal)
        return found

    def at(self, ordinal: int, seconds: int) -> datetime:
        """The UTC moment ``seconds`` after local midnight of day ``ordinal``."""
        midnight = self._midnights.get(ordinal)
        if midnight is None:
            midnight = self._midnights[ordinal] = local_midnight(self.date(ordinal))
        return midnight + self._seconds[seconds]

    def plus_months(self, ordinal: int, months: int) -> int:
        key = (ordinal, months)
        found = self._months.get(key)
        if found is None:
            found = self._months[key] = add_months(self.date(ordinal), months).toordinal()
        return found

    def between(self, low: int, high: int) -> int:
        """A random integer of [low, high], as randint but at a tenth of its cost."""
        return low + int(self.rand() * (high - low + 1))

    def rules_on(self, ordinal: int):
        """The earning rules in force on day ``ordinal`` of the history (looked up at the start)."""
        return self.rules_by_day[ordinal - self.start]

    def year_ago(self, ordinal: int) -> datetime:
        """Where the 12 months of qualifying points counted on day ``ordinal`` begin."""
        found = self._since.get(ordinal)
        if found is None:
            found = self._since[ordinal] = window_start(self.date(ordinal))
        return found

    def expiry(self, ordinal: int) -> int:
        """The day points earned on day ``ordinal`` expire."""
        found = self._expiries.get(ordinal)
        if found is None:
            found = self._expiries[ordinal] = expiry_date(self.date(ordinal)).toordinal()
        return found

    def _name(self) -> str:
        return self.rng.choice(self.demo.surnames) + self.rng.choice(self.demo.given)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    @staticmethod
    def ticket_code(registration_id: int) -> str:
        """A registration's short ticket code: its id scrambled by a bijection of the 8-letter
        codes (a multiplier prime to 31**8), so no two of the bench's tickets share one."""
        n = len(CODE_ALPHABET)
        value = (registration_id * 2_654_435_761) % n**8
        letters = []
        for _ in range(8):
            value, digit = divmod(value, n)
            letters.append(CODE_ALPHABET[digit])
        return "".join(letters)

    # ---- the run

    def run(self) -> BenchResult:
        from demo.seed import seed_demo

        seed_demo(0)
        self._load_context()
        self.care = CareHistory(self)
        self._make_catalog_and_key()
        self._plan_members()
        self._make_bench_events()
        db.session.flush()
        connection = db.session.connection()
        self.sink = _Sink(connection)
        self._start_ids()
        self._plan_referrals()
        self._write_past_events()
        # Millions of short-lived rows: the cycle collector would only walk them again and again.
        gc.disable()
        try:
            for first in range(0, self.n, CHUNK_OWNERS):
                for i in range(first, min(first + CHUNK_OWNERS, self.n)):
                    self._owner(i)
                self.sink.flush()
            self._write_staff_and_grades()
            self._write_supply_vouchers()
            self.sink.close()
        except BaseException:
            # The writer must let go of the connection before the caller rolls back.
            self.sink.stop()
            raise
        finally:
            gc.enable()
        self._write_referrals()
        self.care.finish()
        self._finish_counts()
        if self.sink.postgres:
            self._move_sequences(connection)
        db.session.expire_all()
        return BenchResult(self._manifest(), self._counts())

    def _load_context(self) -> None:
        codes = [code for code, *_ in self.demo.dealers]
        found = db.session.scalars(select(Dealer).where(Dealer.code.in_(codes)))
        dealers = {d.code: d for d in found}
        self.dealers = [dealers[code] for code in codes]
        self.dealer_codes = codes
        self.plate_prefixes = [prefix for *_, prefix in self.demo.dealers]
        staff: dict[tuple[int | None, Role], int] = {}
        for user_id, role, dealer_id in db.session.execute(
            select(User.id, User.role, User.dealer_id)
            .where(User.role != Role.MEMBER)
            .order_by(User.id)
        ):
            staff.setdefault((dealer_id, Role(role)), user_id)

        def first(dealer: Dealer, *roles: Role) -> int | None:
            return next((staff[(dealer.id, r)] for r in roles if (dealer.id, r) in staff), None)

        admin = (Role.DEALER_ADMIN,)
        self.staff = [
            SimpleNamespace(
                events=first(d, Role.EVENT_STAFF, *admin),
                advisor=first(d, Role.SERVICE_ADVISOR),
                counter=first(d, Role.SERVICE_ADVISOR, Role.SALES_CONSULTANT, *admin),
                consultant=first(d, Role.SALES_CONSULTANT),
                manager=first(d, Role.SHOWROOM_MANAGER, *admin),
                agent=first(d, Role.CARE_AGENT, *admin),
                admin=first(d, *admin),
            )
            for d in self.dealers
        ]
        self.hq = db.session.get(User, staff[(None, Role.HQ_ADMIN)])
        # SZ01's staff who may care for graded owners (no query once the writer runs).
        self.consultants = list(
            db.session.scalars(
                select(User.id)
                .where(
                    User.dealer_id == self.dealers[0].id,
                    User.active.is_(True),
                    User.role.in_([r.value for r in CONSULTANT_ROLES]),
                )
                .order_by(User.id)
            )
        )
        # The tiers and each day's earning rules for the rule functions, looked up before the
        # writer takes the connection, as plain copies (read millions of times).
        self.tiers = [_plain(t) for t in list_tiers()]
        self.rank = {t.code: t.rank for t in self.tiers}
        self.top_tier = self.tiers[-1]
        self.last_job_day = self.today if self.at(self.today, 120) <= self.now else self.today - 1
        in_force = [rules_in_force(self.date(day)) for day in range(self.start, self.today + 1)]
        copies = {rules.id: _plain(rules) for rules in in_force}
        self.rules_by_day = [copies[rules.id] for rules in in_force]
        self.colours = [c.id for c in db.session.scalars(select(Colour).where(Colour.active))]
        self.programme = terms_today()
        self.validity = dict(db.session.execute(select(Reward.id, Reward.validity_days)).all())
        self.privacy_version = current_app.config["PRIVACY_NOTICE_VERSION"]
        self.taken_vins = set(db.session.scalars(select(Vehicle.vin)))
        self.taken_plates = set(db.session.scalars(select(Vehicle.plate)))
        self.taken_cards = set(db.session.scalars(select(MemberCard.number)))
        self.taken_codes = set(db.session.scalars(select(Voucher.code)))
        self.taken_mobiles = set(db.session.scalars(select(User.mobile)))
        from app.auth.services import hash_password

        self.password_hash = hash_password(self.password)

    def _make_catalog_and_key(self) -> None:
        """The few rows made by the real services: rewards and the API key."""
        from app.api.auth import create_api_key
        from app.rewards.services import save_reward

        now = self.now
        self.rewards = []
        for name, kind, cost, tier, days in REWARDS:
            reward = save_reward(
                self.hq,
                None,
                name=name,
                description="",
                kind=kind,
                cost_points=cost,
                stock=MAX_STOCK,
                min_tier_code=tier,
                validity_days=days,
                image_url=None,
                active=True,
                dealer_id=None,
                now=now,
            )
            self.rewards.append(
                SimpleNamespace(id=reward.id, name=name, cost=cost, tier=tier, days=days, issued=0)
            )
        _, self.api_key = create_api_key(None, dealer_code=DEALER_CODE, name="bench load")

    def _make_bench_events(self) -> None:
        """Today's open days of SZ01 (by the real service), enough for ``supply`` tickets of the
        ticket owners, one each: one open day from 30,000 owners of SZ01 on."""
        from app.events.services import create_event

        now = self.now
        places = len(self.ticket_owners)
        count = max(1, -(-self.supply // places)) if places else 1
        # Check-in is open from the seed on (it opens 2 hours before the start) for a day.
        starts = now + timedelta(hours=1)
        organiser = db.session.get(User, self.staff[0].events)
        self.bench_events = [
            create_event(
                organiser,
                kind=EventKind.OTHER,
                title="Owners' open day" + (f" ({k + 1})" if count > 1 else ""),
                description="The showroom's open day: coffee, a workshop tour and the new models.",
                place="SZ01 showroom",
                starts_at=starts,
                ends_at=starts + timedelta(hours=24),
                registration_opens_at=starts - timedelta(days=30),
                registration_closes_at=starts - timedelta(minutes=1),
                capacity=places + places // 10 + 10,
                max_companions=1,
                attendance_points=100,
                now=now,
            )
            for k in range(count)
        ]
        self.tickets: dict[int, list[int]] = {event.id: [] for event in self.bench_events}

    def _start_ids(self) -> None:
        def after(model) -> itertools.count:
            return itertools.count(
                (db.session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0) + 1
            )

        self.ids = {
            model: after(model).__next__
            for model in (
                User,
                Member,
                MemberCard,
                PointsAccount,
                Vehicle,
                PointsEntry,
                PointsAllocation,
                ServiceVisit,
                Event,
                EventRegistration,
                CheckIn,
                Voucher,
                TierChange,
                Referral,
                CrossCheckQuestion,
                ShowroomVisit,
                OwnerGrading,
                CareContact,
                *CARE_MODELS,
            )
        }
        # Owners take consecutive ids, so owner i's rows are found without a lookup.
        self.user_base = self.ids[User]()
        self.member_base = self.ids[Member]()
        self.account_base = self.ids[PointsAccount]()
        self.card_numbers = self._card_numbers()
        self.vin_serial = itertools.count(1)
        self.plate_serial = [itertools.count(0) for _ in self.dealers]
        self.green_serial = [itertools.count(0) for _ in self.dealers]

    # ---- plans made before any owner is written

    def _plan_members(self) -> None:
        rng, n, span = self.rng, self.n, HISTORY_DAYS - 10
        dealers = len(self.dealers)
        self.dealer_of = [i % dealers for i in range(n)]
        # Most owners joined early (at delivery of their car), a few recently.
        self.join = [self.start + int(rng.random() ** 2 * span) for _ in range(n)]
        self.join[0] = self.start + 5
        weights = list(itertools.accumulate(w for w, *_ in PROFILES))
        self.profile = [bisect.bisect(weights, rng.random() * weights[-1]) for _ in range(n)]
        self.profile = [min(p, len(PROFILES) - 1) for p in self.profile]
        # SZ01's owners for the load test: tickets of today's event, unused vouchers, VINs.
        sz01 = [i for i in range(n) if self.dealer_of[i] == 0]
        # The known owner's history stays as it is: no ticket or voucher of theirs is used up.
        settled = [i for i in sz01[1:] if self.join[i] <= self.today - 60]
        self.ticket_owners = set(settled[:CHECKIN_TICKETS])
        self.voucher_owners = set(settled[:ACTIVE_VOUCHERS])
        self.vin_owners = set(sz01[:MANIFEST_VINS])
        self.voucher_codes: list[str] = []
        self.vins: list[str] = []
        self.first_car: dict[int, _Car] = {}
        self.facts: dict[int, tuple[str, str, str]] = {}

    def _plan_referrals(self) -> None:
        """Referrals between owners (planned first: both sides' histories depend on them)."""
        rng, n = self.rng, self.n
        by_dealer = [[] for _ in self.dealers]
        for i in range(n):
            by_dealer[self.dealer_of[i]].append(i)
        self.referral_earns: dict[int, list] = {}
        self.referrals: list[dict] = []
        friends: set[int] = set()
        wanted = {"rewarded": max(1, n // 100), "fraud": max(1, n // 400)}
        for status, count in wanted.items():
            for _ in range(count * 30):
                if count == 0:
                    break
                f = rng.randrange(1, n)
                if f in friends or not self.start + 40 <= self.join[f] <= self.today - 14:
                    continue
                r = rng.choice(by_dealer[self.dealer_of[f]])
                if r == f or self.join[r] > self.join[f] - 30:
                    continue
                friends.add(f)
                self._plan_referral(status, r, f)
                count -= 1
        recent = [i for i in range(1, n) if self.join[i] >= self.today - 30 and i not in friends]
        for f in recent[: max(1, n // 400)]:
            r = rng.choice(by_dealer[self.dealer_of[f]])
            if r != f and self.join[r] < self.join[f] - 30:
                friends.add(f)
                self._plan_referral("purchased", r, f)
        for status in ("registered", "visited", "withdrawn"):
            for _ in range(max(1, n // 400)):
                r = rng.randrange(n)
                if self.join[r] <= self.today - 70:
                    self._plan_referral(status, r, None)

    def _plan_referral(self, status: str, referrer: int, friend: int | None) -> None:
        rng = self.rng
        referral_id = self.ids[Referral]()
        plan = {"id": referral_id, "status": status, "referrer": referrer, "friend": friend}
        if friend is None:
            registered = self.today - self.between(5, 60)
            mobile = f"135{referral_id:08d}"
            plan.update(registered=self.at(registered, 11 * 3600), mobile=mobile)
            if status == "visited":
                plan["visited_on"] = min(registered + self.between(0, 4), self.today)
            self.referrals.append(plan)
            return
        joined = self.join[friend]
        plan.update(
            registered=self.at(joined - 20, 11 * 3600),
            visited_on=joined - 12,
            purchased=self.at(joined, 15 * 3600),
        )
        if status in ("rewarded", "fraud"):
            decided = self.at(joined + 6, 16 * 3600)
            plan.update(
                licence_checked=self.at(joined + 3, 10 * 3600),
                callback=self.at(joined + 5, 14 * 3600),
                decided=decided,
                callee=rng.choice((Callee.REFERRER, Callee.FRIEND)),
            )
        if status == "rewarded":
            key = f"referral:{referral_id}"
            reference = f"R{referral_id}"
            for who, member, points in (
                ("referrer", referrer, self.programme.referrer_points),
                ("friend", friend, self.programme.friend_points),
            ):
                self.referral_earns.setdefault(member, []).append(
                    (joined + 6, 16 * 3600, "F", (points, f"{key}:{who}", reference, referral_id))
                )
        self.referrals.append(plan)

    def _write_past_events(self) -> None:
        """Each dealer's events over the history, evenly spread; capacities are set at the end."""
        self.events: list[list[_Event]] = []
        self.event_days: list[list[int]] = []
        rows = []
        first_day, span = self.start + 3, HISTORY_DAYS - 5
        for d, dealer in enumerate(self.dealers):
            owners = self.dealer_of.count(d)
            count = max(HISTORY_DAYS // 30, round(owners * EVENTS_PER_OWNER / EVENT_SIZE))
            events = []
            for number in range(count):
                day = first_day + number * span // count
                kind, title, points, companions, hours = EVENT_KINDS[number % len(EVENT_KINDS)]
                seconds = (10, 14, 19)[number % 3] * 3600
                starts = self.at(day, seconds)
                event = _Event(
                    id=self.ids[Event](),
                    day=day,
                    starts_at=starts,
                    closes_at=starts - timedelta(days=1),
                    seconds=seconds,
                    kind=kind,
                    title=f"{title} #{number + 1}",
                    points=points,
                    companions=companions,
                    staff_id=self.staff[d].events,
                )
                events.append(event)
                rows.append(
                    {
                        "id": event.id,
                        "dealer_id": dealer.id,
                        "kind": kind.value,
                        "title": event.title,
                        "description": "",
                        "place": f"{dealer.code} showroom",
                        "starts_at": starts,
                        "ends_at": starts + timedelta(hours=hours),
                        "registration_opens_at": starts - timedelta(days=30),
                        "registration_closes_at": event.closes_at,
                        "cancel_until": None,
                        "capacity": 1,
                        "max_companions": companions,
                        "min_tier_code": None,
                        "model_filter": None,
                        "price_fen": 0,
                        "attendance_points": points,
                        "deposit_points": 0,
                        "waiver_text": WAIVER if kind == EventKind.TRIP else "",
                        "cover_url": None,
                        "offer_hours": 48,
                        "created_by_id": event.staff_id,
                        "created_at": starts - timedelta(days=30),
                    }
                )
            self.events.append(events)
            self.event_days.append([e.day for e in events])
        if rows:
            db.session.execute(insert(Event.__table__), rows)

    # ---- identifiers

    def _card_numbers(self):
        """Unique card numbers as the cards service makes them (its prefix, 14 digits, the Luhn
        digit), the digits a scrambled counter."""
        for j in itertools.count(1):
            payload = f"{CARD_PREFIX}{(j * 7_919_207_531 + 31_337) % 10**14:014d}"
            number = payload + luhn_check_digit(payload)
            if number not in self.taken_cards:
                yield number

    def _vin(self, year: int) -> str:
        """A plausible VIN with a correct check digit; the serial makes it unique."""
        rng = self.rng
        while True:
            serial, digits = next(self.vin_serial), []
            for _ in range(7):
                serial, digit = divmod(serial, len(VIN_ALPHABET))
                digits.append(VIN_ALPHABET[digit])
            body = (
                rng.choice(VIN_WMIS)
                + "".join(rng.choices(VIN_ALPHABET, k=5))
                + "0"
                + VIN_YEARS[(year - 2010) % len(VIN_YEARS)]
                + "".join(reversed(digits))
            )
            vin = body[:8] + vin_check_digit(body) + body[9:]
            if vin not in self.taken_vins:
                return vin

    def _plate(self, d: int, electric: bool) -> str | None:
        """A unique plate of the dealer's city: 粤B3K7Q2, or 粤BD31234 for an electric car."""
        prefix = self.plate_prefixes[d]
        for _ in range(10):
            if electric:
                serial = next(self.green_serial[d])
                if serial >= 34 * 10_000:
                    return None
                plate = f"{prefix}D{PLATE_CHARS[serial // 10_000]}{serial % 10_000:04d}"
            else:
                serial, chars = next(self.plate_serial[d]), []
                for _ in range(5):
                    serial, digit = divmod(serial, len(PLATE_CHARS))
                    chars.append(PLATE_CHARS[digit])
                plate = prefix + "".join(chars)
            if plate not in self.taken_plates:
                return plate
        return None

    def _voucher_code(self) -> str:
        """A fresh voucher code: CODE_LENGTH characters of the unambiguous alphabet."""
        bits, pairs, taken = self.rng.getrandbits, self.code_pairs, self.taken_codes
        while True:
            number, parts = bits(50), []
            for _ in range(CODE_LENGTH // 2):
                number, pair = divmod(number, len(pairs))
                parts.append(pairs[pair])
            code = "".join(parts)
            if code not in taken:
                taken.add(code)
                return code

    # ---- one owner

    def _owner(self, i: int) -> None:
        rng, rows = self.rng, self.sink.rows
        d = self.dealer_of[i]
        dealer_id = self.dealers[d].id
        member_id, user_id = self.member_base + i, self.user_base + i
        joined = self.join[i]
        joined_at = self.at(joined, self.between(9 * 3600, 18 * 3600))
        mobile = OWNER_MOBILE if i == 0 else f"136{i:08d}"
        if mobile in self.taken_mobiles:
            raise BenchDataExists(_l("The mobile %(m)s is already registered.", m=mobile))
        demo = self.demo
        name = self._name()
        rows[User.__table__].append(
            (
                user_id,
                mobile,
                self.password_hash,
                "member",
                name,
                None,
                None,
                None,
                True,
                1,
                joined_at,
                None,
                joined_at,  # owners proved their number when they joined
            )
        )
        opted_in = rng.random() < 0.35
        occupation, area = rng.choice(demo.occupations), rng.choice(demo.areas)
        self.facts[i] = (occupation, area, name)
        rows[Member.__table__].append(
            (
                member_id,
                user_id,
                dealer_id,
                name,
                date(self.between(1965, 2001), self.between(1, 12), self.between(1, 28)),
                rng.choice(("female", "male", "undisclosed", None)),
                occupation,
                area,
                ", ".join(rng.sample(demo.hobbies, 2)),
                self.privacy_version,
                joined_at,
                opted_in,
                joined_at,
                None,
                True,
                True,
                joined_at,
                joined_at,
            )
        )
        rows[MemberCard.__table__].append(
            (
                self.ids[MemberCard](),
                member_id,
                next(self.card_numbers),
                "active",
                joined_at,
                None,
                None,
            )
        )
        cars = self._cars(i, d, member_id, joined, joined_at)
        history = _History(self, i, d, dealer_id, member_id, cars)
        visits = rows[ServiceVisit.__table__]
        first_visit = len(visits)
        history.run(self._activities(i, cars))
        self.care.owner(i, member_id, user_id, mobile, d, cars, visits[first_visit:], opted_in)
        if i in self.ticket_owners:
            self._bench_registration(member_id, joined_at)

    def _cars(self, i: int, d: int, member_id: int, joined: int, joined_at: datetime):
        rng = self.rng
        cars = []
        purchases = [joined - self.between(0, 7)]
        if rng.random() < 0.3:
            purchases.append(joined - self.between(400, 1_500))
        for purchased in purchases:
            model, transmission = rng.choice(self.demo.models)
            delivered = purchased + (3 if purchased < joined - 3 else joined - purchased)
            day = self.date(purchased)
            car = _Car(
                id=self.ids[Vehicle](),
                vin=self._vin(day.year),
                plate=self._plate(d, transmission == Transmission.SINGLE_SPEED),
                model=model,
                colour_id=rng.choice(self.colours),
                transmission=transmission,
                purchased=purchased,
                purchased_on=day,
                km_per_day=self.between(20, 70),
                delivered=delivered,
            )
            insurance = self.plus_months(delivered, 12)
            while insurance <= self.today:
                insurance = self.plus_months(insurance, 12)
            self.sink.rows[Vehicle.__table__].append(
                (
                    car.id,
                    member_id,
                    car.vin,
                    car.plate,
                    model,
                    car.colour_id,
                    transmission.value,
                    day,
                    self.date(delivered),
                    self.date(self.plus_months(delivered, 36)),
                    self.date(insurance - 1),
                    self.date(self.plus_months(delivered, 72)),
                    joined_at,
                )
            )
            cars.append(car)
        self.first_car[i] = cars[0]
        if i in self.vin_owners:
            self.vins.append(cars[0].vin)
        return cars

    def _activities(self, i: int, cars: list[_Car]) -> list[tuple]:
        """What owner ``i`` did, by day: visits, events, redemptions, referral rewards."""
        rng, joined, today = self.rng, self.join[i], self.today
        count = self.between(*ACTIVITIES)
        if i == 0:
            count = sum(ACTIVITIES) // 2
        count = min(count, max(3, (today - joined) // 3))
        acts = []
        for _ in range(count):
            day = self.between(joined + 1, today - 1)
            roll = rng.random()
            if VISIT_SHARE <= roll < EVENT_SHARE:
                event = self._event_for(i)
                if event is not None:
                    checked_in = event.seconds + self.between(-1_800, 1_800)
                    acts.append((event.day, checked_in, "E", event))
                    continue
            kind = "V" if roll < EVENT_SHARE else "R"
            acts.append((day, self.between(9 * 3600, 19 * 3600), kind, None))
        acts.extend(self.referral_earns.get(i, ()))
        if i in self.voucher_owners:
            acts.append((today - self.between(21, 28), 10 * 3600, "B", None))
        acts.sort(key=lambda a: (a[0], a[1]))
        # The no-shows and cancellations: registrations without points.
        for status in ("no_show", "cancelled"):
            if rng.random() < (0.12 if status == "no_show" else 0.05):
                event = self._event_for(i)
                if event is not None:
                    self._registration(event, i, cars, status)
        return acts

    def _event_for(self, i: int) -> _Event | None:
        """A random event of owner ``i``'s dealer whose registration closed after they joined
        (and which they have not signed up for yet), or None."""
        d = self.dealer_of[i]
        events = self.events[d]
        # Registration closes a day before the start: the owner joined at least a day earlier.
        first = bisect.bisect_left(self.event_days[d], self.join[i] + 2)
        if first == len(events):
            return None
        event = events[self.between(first, len(events) - 1)]
        member_id = self.member_base + i
        if member_id in event.members:
            return None
        event.members.add(member_id)
        return event

    def _registration(
        self,
        event: _Event,
        i: int,
        cars: list[_Car],
        status: str,
        checked_in: datetime | None = None,
    ) -> str:
        """Write owner ``i``'s registration for a past ``event``; returns its ticket uuid."""
        rows = self.sink.rows
        earliest = self.at(self.join[i], 20 * 3600)
        created = max(event.starts_at - timedelta(days=self.between(2, 25)), earliest)
        created = min(created, event.closes_at - timedelta(hours=1))
        trip = event.kind == EventKind.TRIP
        companions = self.between(0, event.companions)
        cancelled = status == "cancelled"
        registration_id, ticket = self.ids[EventRegistration](), self.uuid()
        rows[EventRegistration.__table__].append(
            (
                registration_id,
                event.id,
                self.member_base + i,
                cars[0].id if trip else None,
                companions,
                "",
                "cancelled" if cancelled else "confirmed",
                created if trip else None,
                created,
                created,
                None,
                None,
                created + timedelta(hours=2) if cancelled else None,
                None,
                ticket,
                self.ticket_code(registration_id),
            )
        )
        if not cancelled:
            event.places += 1 if trip else 1 + companions
        if checked_in is not None:
            rows[CheckIn.__table__].append(
                (
                    self.ids[CheckIn](),
                    registration_id,
                    event.id,
                    checked_in,
                    event.staff_id,
                    None,
                    "online",
                )
            )
        return ticket

    def _bench_registration(self, member_id: int, joined_at: datetime) -> None:
        """A confirmed place at each of today's open days of SZ01 (the tickets go in the
        manifest)."""
        for event in self.bench_events:
            self._bench_place(event, member_id, joined_at)

    def _bench_place(self, event, member_id: int, joined_at: datetime) -> None:
        created = self.now - timedelta(minutes=self.between(60, 14 * 24 * 60))
        created = max(min(created, event.registration_closes_at), joined_at)
        registration_id = self.ids[EventRegistration]()
        self.sink.rows[EventRegistration.__table__].append(
            (
                registration_id,
                event.id,
                member_id,
                None,
                0,
                "",
                "confirmed",
                None,
                created,
                created,
                None,
                None,
                None,
                None,
                self.uuid(),
                self.ticket_code(registration_id),
            )
        )
        self.tickets[event.id].append(registration_id)

    def _write_supply_vouchers(self) -> None:
        """Free car-wash vouchers of today for the voucher owners, in turn, until the load test
        has ``supply`` unused vouchers (none when the owners' own are enough)."""
        owners = sorted(self.voucher_owners)
        wanted = self.supply - len(self.voucher_codes)
        if wanted <= 0 or not owners:
            return
        reward = self.rewards[0]
        expires = voucher_expiry(local_date(self.now), reward.days)
        dealer_id = self.dealers[0].id
        rows = self.sink.rows[Voucher.__table__]
        for k in range(wanted):
            code = self._voucher_code()
            member_id = self.member_base + owners[k % len(owners)]
            rows.append(
                (
                    self.ids[Voucher](),
                    code,
                    reward.id,
                    member_id,
                    dealer_id,
                    "issued",
                    0,
                    self.now,
                    expires,
                    None,
                    None,
                    None,
                    None,
                    None,
                    f"bench:{k + 1}",
                )
            )
            self.voucher_codes.append(code)

    # ---- after every owner

    def _write_referrals(self) -> None:
        """Referral rows, their callback questions and showroom visits (a few per 100 owners)."""
        from app.members.car_models import all_car_models
        from app.referrals.callback import wrong_model, wrong_transmission

        known_models = [model for model, _ in self.demo.models]
        car_models = all_car_models()
        referrals, questions, visits = [], [], []
        for plan in self.referrals:
            r, f = plan["referrer"], plan["friend"]
            staff = self.staff[self.dealer_of[r]]
            car = self.first_car[r]
            status = plan["status"]
            row = {
                "id": plan["id"],
                "dealer_id": self.dealers[self.dealer_of[r]].id,
                "referrer_id": self.member_base + r,
                "referrer_vehicle_id": car.id,
                "friend_name": self._name() if f is None else self.facts[f][2],
                "friend_mobile": plan.get("mobile") or (OWNER_MOBILE if f == 0 else f"136{f:08d}"),
                "model_of_interest": self.rng.choice(known_models),
                "status": status,
                "registered_by_id": self.user_base + r,
                # A consultant in a fraudulent referral would be flagged: these owners acted alone.
                "consultant_id": None if status == "fraud" else staff.consultant,
                "registered_at": plan["registered"],
                "visited_on": self.date(plan["visited_on"]) if "visited_on" in plan else None,
                "purchased_at": plan.get("purchased"),
                "terms_id": self.programme.id if plan.get("purchased") else None,
                "friend_member_id": None if f is None else self.member_base + f,
                "friend_vehicle_id": None if f is None else self.first_car[f].id,
                "licence_checked_by_id": None,
                "licence_checked_at": None,
                "licence_details": None,
                "callee": None,
                "callback_started_at": None,
                "recording_ref": None,
                "review_reason": None,
                "decided_by_id": None,
                "decided_at": None,
                "rewarded_at": None,
                "reward_note": None,
            }
            if "visited_on" in plan:
                visits.append(
                    {
                        "id": self.ids[ShowroomVisit](),
                        "dealer_id": row["dealer_id"],
                        "mobile": row["friend_mobile"],
                        "name": row["friend_name"],
                        "visited_on": row["visited_on"],
                        "consultant_id": staff.consultant,
                        "recorded_by_id": staff.consultant or staff.admin,
                        "recorded_at": self.at(plan["visited_on"], 15 * 3600),
                    }
                )
            if "decided" in plan:
                row.update(
                    licence_checked_by_id=staff.manager,
                    licence_checked_at=plan["licence_checked"],
                    licence_details={
                        "mismatches": [],
                        "shown": {
                            "plate": car.plate or "",
                            "vin": car.vin,
                            "model": car.model,
                            "colour_id": car.colour_id,
                        },
                    },
                    callee=plan["callee"].value,
                    callback_started_at=plan["callback"],
                    recording_ref=f"REC-{plan['id']}",
                    decided_by_id=staff.agent,
                    decided_at=plan["decided"],
                    rewarded_at=plan["decided"] if status == "rewarded" else None,
                )
                about = Callee.FRIEND if plan["callee"] == Callee.REFERRER else Callee.REFERRER
                subject = f if about == Callee.FRIEND else r
                subject_car = self.first_car[subject]
                wrong_answers = 2 if status == "fraud" else 0
                topic = self.rng.choice(("occupation", "home_area"))
                drafts = [
                    (
                        QuestionKind.OPEN,
                        {"topic": topic},
                        self.facts[subject][0 if topic == "occupation" else 1],
                    ),
                    (
                        QuestionKind.MODEL,
                        {"model": wrong_model(subject_car.model, car_models, known_models)},
                        subject_car.model,
                    ),
                    (
                        QuestionKind.TRANSMISSION,
                        {
                            "model": subject_car.model,
                            "transmission": wrong_transmission(subject_car.transmission),
                        },
                        subject_car.transmission.value,
                    ),
                ]
                for position, (kind, params, expected) in enumerate(drafts, start=1):
                    questions.append(
                        {
                            "id": self.ids[CrossCheckQuestion](),
                            "referral_id": plan["id"],
                            "position": position,
                            "kind": kind.value,
                            "about": about.value,
                            "params": params,
                            "expected": expected,
                            "correct": position > wrong_answers,
                            "answered_at": plan["decided"] - timedelta(minutes=10),
                            "answered_by_id": staff.agent,
                        }
                    )
            referrals.append(row)
        for table, rows in (
            (ShowroomVisit.__table__, visits),
            (Referral.__table__, referrals),
            (CrossCheckQuestion.__table__, questions),
        ):
            if rows:
                db.session.execute(insert(table), rows)
                self.sink.written[table.name] = len(rows)

    def _write_staff_and_grades(self) -> None:
        """SZ01's extra consultants and care agents; ABC gradings of GRADED_SHARE of its owners
        who joined more than a week ago, by its consultants, a few regraded later; and the care
        contacts since each owner was first graded. A random stream of its own, so the history
        above is the same as without it."""
        rng = random.Random(RANDOM_SEED + 8)  # noqa: S311 - reproducible data  # nosec B311
        dealer = self.dealers[0]
        today = self.today

        def name() -> str:
            return rng.choice(self.demo.surnames) + rng.choice(self.demo.given)

        def between(low: int, high: int) -> int:
            return low + int(rng.random() * (high - low + 1))

        # Owners took the ids user_base .. user_base + n - 1: the staff come after them.
        staff_at = self.at(self.start, 9 * 3600)
        roles = [Role.SALES_CONSULTANT] * BENCH_CONSULTANTS + [Role.CARE_AGENT] * BENCH_AGENTS
        users = [
            (
                self.user_base + self.n + k,
                BENCH_STAFF_MOBILE.format(k + 1),
                self.password_hash,
                role.value,
                name(),
                dealer.id,
                None,
                None,
                True,
                1,
                staff_at,
                None,
                None,
            )
            for k, role in enumerate(roles)
        ]
        consultants = self.consultants + [row[0] for row in users]
        gradings, contacts = [], []  # written by the sink's last flush
        next_grading, next_contact = self.ids[OwnerGrading], self.ids[CareContact]
        for i in range(self.n):
            if self.dealer_of[i] != 0 or rng.random() >= GRADED_SHARE:
                continue
            if self.join[i] > today - 8:
                continue
            member_id = self.member_base + i
            first = max(self.join[i] + 7, today - between(1, 400))
            roll = rng.random()
            grade = next(g for g, weight in GRADE_WEIGHTS if roll < weight)
            consultant = rng.choice(consultants)
            graded = [(first, grade)]
            if rng.random() < REGRADED_SHARE and first + 30 < today - 1:
                later = "B" if grade != "B" else rng.choice("AC")
                graded.append((between(first + 30, today - 1), later))
            for day, g in graded:
                gradings.append(
                    (
                        next_grading(),
                        dealer.id,
                        member_id,
                        g,
                        consultant,
                        consultant,
                        self.at(day, between(9 * 3600, 18 * 3600)),
                        rng.choice(GRADE_REASONS[g]),
                    )
                )
            interval = DEFAULT_STANDARDS[graded[-1][1]][0]
            cursor, retry = first, None
            while True:
                if retry is not None:
                    day = retry
                elif rng.random() < LATE_SHARE:
                    day = cursor + interval + between(interval // 2, 2 * interval)
                else:
                    day = cursor + interval - between(0, min(7, interval - 1))
                if day >= today:
                    break
                reached = rng.random() < REACHED_SHARE
                contacts.append(
                    (
                        next_contact(),
                        dealer.id,
                        member_id,
                        consultant,
                        self.date(day),
                        reached,
                        "" if reached else "No answer",
                        self.at(day, between(9 * 3600, 19 * 3600)),
                    )
                )
                cursor, retry = (day, None) if reached else (cursor, day + 3)
        self.sink.rows[User.__table__].extend(users)
        self.sink.rows[OwnerGrading.__table__].extend(gradings)
        self.sink.rows[CareContact.__table__].extend(contacts)

    def _finish_counts(self) -> None:
        """Event capacities from the places taken, reward stock less the vouchers issued."""
        events = [
            {"event_id": e.id, "new_capacity": max(10, e.places + e.places // 10 + 1)}
            for per_dealer in self.events
            for e in per_dealer
        ]
        table = Event.__table__
        if events:
            db.session.execute(
                update(table)
                .where(table.c.id == bindparam("event_id"))
                .values(capacity=bindparam("new_capacity")),
                events,
            )
        table = Reward.__table__
        for reward in self.rewards:
            db.session.execute(
                update(table)
                .where(table.c.id == reward.id)
                .values(stock=max(0, MAX_STOCK - reward.issued))
            )

    def _move_sequences(self, connection) -> None:
        """Point PostgreSQL's id sequences past the ids given here."""
        for model in self.ids:
            highest = connection.scalar(select(func.max(model.id)))
            if highest is not None:
                connection.execute(
                    text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :highest)"),
                    {"table": model.__table__.name, "highest": highest},
                )

    def _manifest(self) -> dict:
        from app.events.checkin import ticket_token
        from demo.seed import DEMO_PASSWORD, STAFF

        admin_mobile = next(
            mobile
            for mobile, role, code, _ in STAFF
            if role == Role.DEALER_ADMIN and code == DEALER_CODE
        )
        return {
            "members": self.n,
            "dealer_code": DEALER_CODE,
            "owner": {"mobile": OWNER_MOBILE, "password": self.password},
            "staff": {"mobile": admin_mobile, "password": DEMO_PASSWORD},
            "api_key": self.api_key,
            # Event by event, so that check-ins in a row are different owners'.
            "checkin": {
                "event_ids": list(self.tickets),
                # ticket_token reads only the registration's id.
                "tickets": [
                    {
                        "event_id": event_id,
                        "ticket": ticket_token(SimpleNamespace(id=rid), now=self.now),
                    }
                    for event_id, registrations in self.tickets.items()
                    for rid in registrations
                ],
            },
            "vouchers": [format_voucher_code(code) for code in self.voucher_codes],
            "vins": self.vins,
        }

    def _counts(self) -> dict[str, int]:
        return dict(sorted(self.sink.written.items()))


class _History:
    """One owner's ledger, simulated in time order as the services would have written it."""

    def __init__(self, seeder: _Seeder, i: int, d: int, dealer_id: int, member_id: int, cars):
        self.s = seeder
        self.i = i
        self.d = d
        self.dealer_id = dealer_id
        self.member_id = member_id
        self.account_id = seeder.account_base + i
        self.cars = cars
        self.rows = seeder.sink.rows
        self.next_entry = seeder.ids[PointsEntry]
        self.entries: list[list] = []
        self.lots: deque = deque()  # [entry row, expiry ordinal], oldest first
        self.balance = 0
        self.tier = seeder.tiers[0]  # (a copy of) a Tier row, as app.loyalty.tiers takes them
        self.review = first_review_on(seeder.date(seeder.join[i])).toordinal()
        self.qualifying: list[list] = []  # [created_at, points]
        self.window_start = 0
        self.window_sum = 0
        self.upgraded: tuple[datetime, SimpleNamespace] | None = None  # last upgrade: when, from
        low, high = PROFILES[seeder.profile[i]][1:]
        self.spend = (low * 100, high * 100)

    # ---- the ledger

    def _entry(
        self, delta, kind, source, at, *, reference=None, key=None, lot_day=0, qualifying=0,
        reverses=None, reason="", actor=None,
    ):  # fmt: skip
        s = self.s
        entry = [
            self.next_entry(), self.account_id, delta, kind, source, reference, key, qualifying,
            None, None, None, reverses, reason, actor, at, self.dealer_id,
        ]  # fmt: skip
        if delta > 0:
            expires = s.expiry(lot_day)
            entry[E_REMAINING] = delta
            entry[10] = s.date(expires)
            self.lots.append([entry, expires])
        self.balance += delta
        self.entries.append(entry)
        return entry

    def _draw(self, debit: list, amount: int) -> None:
        allocations = self.rows[PointsAllocation.__table__]
        next_id = self.s.ids[PointsAllocation]
        for lot in self.lots:
            if amount == 0:
                break
            entry = lot[0]
            use = min(entry[E_REMAINING], amount)
            if use:
                entry[E_REMAINING] -= use
                amount -= use
                allocations.append((next_id(), debit[0], entry[0], use))
        while self.lots and self.lots[0][0][E_REMAINING] == 0:
            self.lots.popleft()

    def _trailing(self, day: int) -> int:
        """Qualifying points of the 12 months up to now, on day ``day`` (not reversed)."""
        since = self.s.year_ago(day)
        q, start = self.qualifying, self.window_start
        while start < len(q) and q[start][0] < since:
            self.window_sum -= q[start][1]
            start += 1
        self.window_start = start
        return self.window_sum

    def _change(self, to: SimpleNamespace, reason: str, points: int, at: datetime) -> None:
        self.rows[TierChange.__table__].append(
            (self.s.ids[TierChange](), self.account_id, self.tier.code, to.code, reason, points, at)
        )
        if reason == "upgrade":
            self.upgraded = (at, self.tier)
        self.tier = to

    def _earn(self, points, source, at, day, *, reference=None, key=None, actor=None):
        entry = self._entry(
            points, "earn", source, at, reference=reference, key=key, lot_day=day,
            qualifying=points, actor=actor,
        )  # fmt: skip
        self.qualifying.append([at, points])
        self.window_sum += points
        if self.tier is not self.s.top_tier:
            total = self._trailing(day)
            target = upgrade_for(self.tier, total, self.s.tiers)
            if target is not None:
                self._change(target, "upgrade", total, at)
        return entry

    def _daily_jobs(self, until: int) -> None:
        """The daily job on every day up to ``until``: expiry at 00:01, reviews at 00:02."""
        until = min(until, self.s.last_job_day)
        lots = self.lots
        while True:
            while lots and lots[0][0][E_REMAINING] == 0:
                lots.popleft()
            expiry = lots[0][1] if lots else self.review
            day = min(expiry, self.review)
            if day > until:
                return
            if expiry == day and lots:
                self._expire(day)
            if self.review == day:
                self._review(day)

    def _expire(self, day: int) -> None:
        s = self.s
        lots = []
        while self.lots and self.lots[0][1] <= day:
            lots.append(self.lots.popleft()[0])
        amount = sum(lot[E_REMAINING] for lot in lots)
        if amount == 0:
            return
        entry = self._entry(
            -amount, "expire", "expiry", s.at(day, 60), reason="points older than 24 months"
        )
        allocations = self.rows[PointsAllocation.__table__]
        for lot in lots:
            if lot[E_REMAINING]:
                allocations.append((s.ids[PointsAllocation](), entry[0], lot[0], lot[E_REMAINING]))
                lot[E_REMAINING] = 0

    def _review(self, day: int) -> None:
        s = self.s
        at = s.at(day, 120)
        points = self._trailing(day)
        outcome = review_outcome(self.tier, points, s.tiers)
        if outcome is not None:
            self._change(*outcome, points, at)
        self.review = next_review_on(s.date(self.review), s.date(day)).toordinal()

    # ---- what the owner did

    def run(self, activities: list[tuple]) -> None:
        s = self.s
        for day, seconds, kind, payload in activities:
            self._daily_jobs(day)
            at = s.at(day, seconds)
            if kind == "V":
                self._visit(day, at)
            elif kind == "E":
                self._attend(payload, at)
            elif kind == "R":
                self._redeem(day, at, None)
            elif kind == "F":
                self._referral_reward(day, at, *payload)
            else:  # "B": a recent visit, then an unused voucher for the load test
                self._visit(day, at, amount_fen=self.s.between(40_000, 90_000))
                self._redeem(day, at + timedelta(minutes=20), s.rewards[0], bench=True)
        self._daily_jobs(s.today)
        points = self._trailing(s.today)
        self.rows[PointsAccount.__table__].append(
            (
                self.account_id,
                self.member_id,
                self.balance,
                points,
                self.tier.code,
                0,
                s.date(self.review),
            )
        )
        self.rows[PointsEntry.__table__].extend(self.entries)

    def _visit(self, day: int, at: datetime, *, amount_fen: int | None = None) -> None:
        s, rand = self.s, self.s.rand
        car = self.cars[-1] if len(self.cars) > 1 and rand() < 0.35 else self.cars[0]
        roll = rand()
        category = "maintenance" if amount_fen else next(c for c, p in CATEGORIES if roll < p)
        amount = amount_fen or s.between(*self.spend)
        visited = s.date(day)
        points = visit_points(
            amount_fen=amount,
            category=category,
            tier_multiplier_pct=self.tier.multiplier_pct,
            purchased_on=car.purchased_on,
            visited_on=visited,
            rules=s.rules_on(day),
        ).points
        visit_id = s.ids[ServiceVisit]()
        ro_number = f"{s.dealer_codes[self.d]}-{visit_id:08d}"
        advisor = s.staff[self.d].advisor
        actor = advisor if advisor is not None and rand() < 0.3 else None
        entry = None
        if points:
            entry = self._earn(
                points, "service_visit", at, day, reference=ro_number, key=f"visit:{visit_id}",
                actor=actor,
            )  # fmt: skip
        visit = [
            visit_id, self.dealer_id, ro_number, car.id, self.member_id, visited,
            (day - car.purchased) * car.km_per_day, amount, category, points,
            entry[0] if entry else None, "recorded", None, None,
            "dms" if actor is None else "staff", actor, at,
        ]  # fmt: skip
        self.rows[ServiceVisit.__table__].append(visit)
        if entry is not None and amount_fen is None and rand() < REFUND_SHARE:
            self._refund(visit, entry, at + timedelta(minutes=30))

    def _refund(self, visit: list, entry: list, at: datetime) -> None:
        """The visit refunded at once: its own lot gives back exactly its points."""
        s = self.s
        points = entry[2]
        reversal = self._entry(
            -points, "reverse", "service_visit", at, reference=visit[2],
            key=f"reverse:{entry[0]}", reason=f"refund of {visit[2]}", reverses=entry[0],
        )  # fmt: skip
        self.rows[PointsAllocation.__table__].append(
            (s.ids[PointsAllocation](), reversal[0], entry[0], points)
        )
        entry[E_REMAINING] = 0
        entry[E_REVERSED_AT] = at
        self.qualifying[-1][1] = 0
        self.window_sum -= points
        visit[11], visit[12], visit[13] = "refunded", at, points
        # Only an upgrade since the earning can be undone (the services look for the first
        # one; within these 30 minutes there is at most one).
        if self.upgraded is not None and self.upgraded[0] >= entry[14]:
            total = self._trailing(local_date(at).toordinal())
            target = corrected_tier(self.tier, total, self.upgraded[1], s.tiers)
            if target is not None:
                self._change(target, "correction", total, at)

    def _redeem(self, day: int, at: datetime, reward, *, bench: bool = False) -> None:
        s, rng = self.s, self.s.rng
        if reward is None:
            rank = self.tier.rank
            affordable = [
                r
                for r in s.rewards
                if r.cost <= self.balance and (r.tier is None or s.rank[r.tier] <= rank)
            ]
            if not affordable:
                return
            # Most owners take the car wash; the dearer rewards now and then.
            reward = affordable[0] if rng.random() < 0.6 else rng.choice(affordable)
        if reward.cost > self.balance:
            return
        debit = self._entry(-reward.cost, "redeem", "reward", at, reference=reward.name[:64])
        self._draw(debit, reward.cost)
        reward.issued += 1
        code = s._voucher_code()
        self._voucher(reward.id, code, reward.cost, at, day, reward.days, debit[0], bench=bench)
        if bench:
            s.voucher_codes.append(code)

    def _voucher(self, reward_id, code, cost, at, day, days, debit_id, *, source="redemption",
                 bench=False):  # fmt: skip
        s, rng = self.s, self.s.rng
        expires = voucher_expiry(s.date(day), days).toordinal()
        status, redeemed_at, redeemed_by = "issued", None, None
        if not bench:
            used = rng.random() < (0.85 if expires < s.today else 0.5)
            last = min(expires, s.today - 1)
            if used and last > day:
                status = "redeemed"
                redeemed_at = s.at(s.between(day + 1, last), s.between(9 * 3600, 19 * 3600))
                redeemed_by = s.staff[self.d].counter if rng.random() < 0.7 else None
        self.rows[Voucher.__table__].append(
            (
                s.ids[Voucher](),
                code,
                reward_id,
                self.member_id,
                self.dealer_id,
                status,
                cost,
                at,
                s.date(expires),
                redeemed_at,
                redeemed_by,
                None,
                debit_id,
                None,
                source,
            )
        )

    def _attend(self, event: _Event, at: datetime) -> None:
        ticket = self.s._registration(event, self.i, self.cars, "attended", checked_in=at)
        self._earn(
            event.points, "event", at, event.day, reference=event.title[:64],
            key=f"ticket:{ticket}", actor=event.staff_id,
        )  # fmt: skip

    def _referral_reward(self, day, at, points, key, reference, referral_id) -> None:
        """Points and the free maintenance voucher; the fuel voucher for a platinum or diamond
        referrer (seed 002)."""
        s = self.s
        self._earn(points, "referral", at, day, reference=reference, key=key)
        programme = s.programme
        referrer = key.endswith(":referrer")
        grants = [
            (
                programme.referrer_reward_id if referrer else programme.friend_reward_id,
                f"referral:{referral_id}",
            )
        ]
        if referrer and tier_at_least(self.tier.code, programme.bonus_min_tier, ranks=s.rank):
            grants.append((programme.bonus_reward_id, f"referral-fuel:{referral_id}"))
        for reward_id, tag in grants:
            if reward_id is not None:
                days = s.validity[reward_id]
                self._voucher(reward_id, s._voucher_code(), 0, at, day, days, None, source=tag)
