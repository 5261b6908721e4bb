"""Dealer insight (R10): every figure of every report against a plain-Python computation over a
generated data set, CSV = page, dealer scoping, the configured thresholds at their boundaries."""

import csv
import io
import random
import re
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html import unescape
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.core.identifiers import CODE_ALPHABET
from app.events.models import CheckIn, Event, EventKind, EventRegistration, RegistrationStatus
from app.extensions import db
from app.loyalty.models import EarningRules, EntryKind, PointsEntry
from app.loyalty.services import account_for
from app.referrals import services as referral_services
from app.referrals.models import Referral, ReferralStatus
from app.service.models import ServiceCategory, ServiceVisit, VisitStatus
from tests.conftest import NOW, login, make_app
from tests.factories import make_dealer, make_member, make_staff, make_vehicle

ZONE = ZoneInfo("Asia/Shanghai")
TODAY = NOW.astimezone(ZONE).date()
TIERS = ("gold", "platinum", "diamond")
TIER_NAMES = {"gold": "Gold", "platinum": "Platinum", "diamond": "Diamond"}
SEGMENT_NAMES = {"loyal": "Loyal", "swinging": "Swinging", "lost": "Lost"}

# ------------------------------------------------------------------------ reading pages


class _Tables(HTMLParser):
    """Rows of cell texts of every <table id=...> on a page (header, body and totals)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.feet: dict[str, int] = {}
        self._table: str | None = None
        self._foot = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table] = []
        elif self._table and tag == "tfoot":
            self._foot = True
        elif self._table and tag == "tr":
            self._row = []
        elif self._row is not None and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self.feet[self._table] = self.feet.get(self._table, 0) + self._foot
            self._row = None
        elif tag == "tfoot":
            self._foot = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def foot_rows_of(html: str, key: str) -> int:
    """How many of the table's last rows are its totals (in <tfoot>)."""
    parser = _Tables()
    parser.feed(html)
    return parser.feet.get(f"table-{key}", 0)


def page_table(client, path: str, key: str, **query) -> list[list[str]]:
    """The table ``key`` of the page at ``path``: header row, then body and totals rows."""
    response = client.get(path, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return tables_of(response.get_data(as_text=True))[f"table-{key}"]


def csv_rows(client, report: str, key: str, **query) -> list[list[str]]:
    response = client.get(f"/admin/insight/{report}.csv", query_string={"table": key, **query})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8")[1:])))


def body_rows(table: list[list[str]]) -> list[list[str]]:
    return table[1:]


def percent(part: int, whole: int) -> str:
    if not whole:
        return "—"
    return f"{Decimal(part * 100) / Decimal(whole):.1f}%"


def money(fen: int) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def plus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def local_day(moment: datetime) -> date:
    return moment.astimezone(ZONE).date()


# ------------------------------------------------------------------------ the data set


@dataclass
class Car:
    id: int
    member_id: int
    purchased_on: date
    delivered_on: date | None
    warranty_until: date | None
    model: str
    plate: str


@dataclass
class Owner:
    id: int
    dealer: str
    name: str
    mobile: str
    tier: str
    joined: date
    cars: list[Car] = field(default_factory=list)


@dataclass
class Visit:
    member_id: int
    vehicle_id: int
    dealer: str
    visited_on: date
    amount_fen: int
    refunded: bool
    id: int = 0


@dataclass
class Lot:
    member_id: int
    remaining: int
    expires_on: date


@dataclass
class Seat:
    member_id: int
    status: RegistrationStatus
    companions: int
    checked_in: bool


@dataclass
class Happening:
    id: int
    dealer: str
    title: str
    kind: EventKind
    starts_at: datetime
    ends_at: datetime
    capacity: int
    seats: list[Seat] = field(default_factory=list)


@dataclass
class World:
    dealers: dict[str, int]
    owners: dict[int, Owner]
    visits: list[Visit]
    lots: list[Lot]
    events: list[Happening]
    referrals: list[tuple[str, ReferralStatus]]
    per_yuan: int


_ro = iter(range(1, 1_000_000))


def add_visit(world_visits, owner: Owner, car: Car, dealer_id: int, dealer: str, on, fen, refunded):
    visit = ServiceVisit(
        dealer_id=dealer_id,
        ro_number=f"RO{next(_ro):06d}",
        vehicle_id=car.id,
        member_id=owner.id,
        visited_on=on,
        mileage_km=1000,
        amount_fen=fen,
        category=ServiceCategory.MAINTENANCE,
        status=VisitStatus.REFUNDED if refunded else VisitStatus.RECORDED,
        refunded_at=NOW if refunded else None,
        source="dms",
        created_at=NOW,
    )
    db.session.add(visit)
    db.session.flush()
    world_visits.append(Visit(owner.id, car.id, dealer, on, fen, refunded, visit.id))


def set_tier(member, code: str) -> None:
    account_for(member).tier_code = code


def add_lot(member, remaining: int, expires_on: date, delta: int | None = None) -> None:
    account = account_for(member)
    delta = delta or max(remaining, 1)
    db.session.add(
        PointsEntry(
            account_id=account.id,
            delta=delta,
            kind=EntryKind.EARN,
            source="service_visit",
            remaining=remaining,
            expires_on=expires_on,
            created_at=NOW,
        )
    )
    account.balance += remaining


def build_world(rng: random.Random) -> World:
    """~90 owners over two dealers, with cars, visits, points lots, events and referrals."""
    sz, gz = make_dealer("SZ01"), make_dealer("GZ01")
    dealer_ids = {"SZ01": sz.id, "GZ01": gz.id}
    owners: dict[int, Owner] = {}
    visits: list[Visit] = []
    lots: list[Lot] = []
    members = {}
    for i in range(90):
        code = rng.choice(("SZ01", "GZ01"))
        member = make_member(dealer_ids[code], name=f"Owner {i:03d}")
        tier = rng.choice(TIERS)
        set_tier(member, tier)
        member.created_at = NOW - timedelta(days=rng.randint(0, 900), hours=rng.randint(0, 23))
        owner = Owner(
            member.id, code, member.name, member.user.mobile, tier, local_day(member.created_at)
        )
        owners[member.id] = owner
        members[member.id] = member
        for _n in range(rng.choice((0, 1, 1, 1, 2))):
            purchased = TODAY - timedelta(days=rng.randint(20, 1900))
            delivered = (
                min(purchased + timedelta(days=rng.randint(0, 10)), TODAY)
                if rng.random() < 0.8
                else None
            )
            vehicle = make_vehicle(
                member, purchased_on=purchased, delivered_on=delivered, model=rng.choice("ABC")
            )
            warranty = (
                TODAY + timedelta(days=rng.randint(-500, 500)) if rng.random() < 0.5 else None
            )
            vehicle.warranty_until = warranty
            car = Car(vehicle.id, member.id, purchased, delivered, warranty, vehicle.model, "")
            car.plate = vehicle.plate
            owner.cars.append(car)
            for _v in range(rng.choice((0, 1, 1, 2, 3))):
                other = rng.random() < 0.15
                visit_dealer = ("GZ01" if code == "SZ01" else "SZ01") if other else code
                add_visit(
                    visits,
                    owner,
                    car,
                    dealer_ids[visit_dealer],
                    visit_dealer,
                    TODAY - timedelta(days=rng.randint(0, 600)),
                    rng.randint(10_000, 500_000),
                    rng.random() < 0.12,
                )
        for _l in range(rng.choice((0, 1, 2, 3, 4))):
            delta = rng.randint(100, 5000)
            remaining = rng.choice((0, delta, rng.randint(0, delta)))
            expires = TODAY + timedelta(days=rng.randint(-40, 760))
            add_lot(member, remaining, expires, delta)
            lots.append(Lot(member.id, remaining, expires))
    # An unprocessed lot expiring today is no longer spendable; one tomorrow still is.
    someone = next(iter(members.values()))
    for expires in (TODAY, TODAY + timedelta(days=1)):
        add_lot(someone, 700, expires)
        lots.append(Lot(someone.id, 700, expires))
    db.session.flush()

    events = build_events(rng, dealer_ids, owners, visits)
    referrals = build_referrals(rng, dealer_ids, owners, members)
    per_yuan = db.session.scalar(select(EarningRules.points_worth_one_yuan))
    return World(dealer_ids, owners, visits, lots, events, referrals, per_yuan)


def build_events(rng, dealer_ids, owners, visits) -> list[Happening]:
    """Per dealer: five past events, one under way and one to come, with sign-ups, check-ins
    and service visits around them."""
    events: list[Happening] = []
    for code in dealer_ids:
        own = [o for o in owners.values() if o.dealer == code]
        # Days before today that each event ends (negative: it ends in the future).
        for k, (ends_ago, days) in enumerate(((200, 1), (90, 0), (40, 1), (20, 0), (5, 0))):
            end_day = TODAY - timedelta(days=ends_ago)
            starts_at = datetime.combine(end_day - timedelta(days=days), time(9), ZONE)
            ends_at = datetime.combine(end_day, time(17), ZONE)
            events.append(make_happening(rng, code, dealer_ids, k, starts_at, ends_at, own, visits))
        under_way = datetime.combine(TODAY, time(8), ZONE)
        events.append(
            make_happening(
                rng, code, dealer_ids, 5, under_way, under_way + timedelta(days=1), own, visits
            )
        )
        later = datetime.combine(TODAY + timedelta(days=10), time(9), ZONE)
        events.append(
            make_happening(rng, code, dealer_ids, 6, later, later + timedelta(hours=8), own, visits)
        )
    return events


def make_happening(rng, code, dealer_ids, k, starts_at, ends_at, own, visits) -> Happening:
    """An event of dealer ``code``, its sign-ups and check-ins, and visits around it: some in
    its revenue window, some outside it (before it, day 31, another dealer, refunded)."""
    kind = EventKind.TRIP if k % 2 == 0 else EventKind.LECTURE
    event = Event(
        dealer_id=dealer_ids[code],
        kind=kind,
        title=f"{code} event {k}",
        place="Somewhere",
        starts_at=starts_at,
        ends_at=ends_at,
        registration_opens_at=starts_at - timedelta(days=30),
        registration_closes_at=starts_at - timedelta(days=1),
        capacity=rng.randint(5, 20),
        max_companions=2,
        created_at=NOW - timedelta(days=400),
    )
    db.session.add(event)
    db.session.flush()
    happening = Happening(event.id, code, event.title, kind, starts_at, ends_at, event.capacity)
    started = starts_at <= NOW
    end_day = local_day(ends_at)
    edges_done = False
    for owner in rng.sample(own, min(len(own), rng.randint(6, 14))):
        status = rng.choices(
            (
                RegistrationStatus.CONFIRMED,
                RegistrationStatus.CANCELLED,
                RegistrationStatus.WAITING,
                RegistrationStatus.OFFERED,
                RegistrationStatus.PENDING,
            ),
            (60, 15, 15, 5, 5),
        )[0]
        companions = rng.randint(0, 2)
        checked = status == RegistrationStatus.CONFIRMED and started and rng.random() < 0.65
        registration = EventRegistration(
            event_id=event.id,
            member_id=owner.id,
            status=status,
            companions=companions,
            created_at=starts_at - timedelta(days=10),
            ticket_uuid=str(uuid.UUID(int=rng.getrandbits(128))),
            ticket_code="".join(rng.choice(CODE_ALPHABET) for _ in range(8)),
        )
        db.session.add(registration)
        db.session.flush()
        if checked:
            db.session.add(
                CheckIn(registration_id=registration.id, event_id=event.id, checked_in_at=starts_at)
            )
        happening.seats.append(Seat(owner.id, status, companions, checked))
        if not owner.cars:
            continue
        car = owner.cars[0]
        visits_at = [(rng.randint(-3, 33), False) for _ in range(rng.choice((0, 1, 2)))]
        if checked and not edges_done:
            # The day before the event, and the window's last day and the day after it.
            first_day = local_day(starts_at)
            visits_at += [((first_day - end_day).days - 1, True), (30, True), (31, True)]
            edges_done = True
        for offset, edge in visits_at:
            on = end_day + timedelta(days=offset)
            if on > TODAY:
                continue
            other = not edge and rng.random() < 0.15
            visit_dealer = ("GZ01" if code == "SZ01" else "SZ01") if other else code
            add_visit(
                visits,
                owner,
                car,
                dealer_ids[visit_dealer],
                visit_dealer,
                on,
                rng.randint(10_000, 300_000),
                not edge and rng.random() < 0.1,
            )
    db.session.flush()
    return happening


def build_referrals(rng, dealer_ids, owners, members) -> list[tuple[str, ReferralStatus]]:
    """Referrals registered by owners of both dealers, moved along the funnel."""
    made = []
    statuses = list(ReferralStatus)
    for n, owner in enumerate(rng.sample(list(owners.values()), 14)):
        referral = referral_services.register_referral(
            members[owner.id].user,
            members[owner.id],
            friend_name=f"Friend {n}",
            friend_mobile=f"1361234{n:04d}",
        )
        referral.status = rng.choice(statuses)
        made.append((owner.dealer, referral.status))
    db.session.flush()
    return made


# ------------------------------------------------------------ independent computations


def last_visit(world: World, *, member_id=None, vehicle_id=None) -> date | None:
    days = [
        v.visited_on
        for v in world.visits
        if not v.refunded
        and (member_id is None or v.member_id == member_id)
        and (vehicle_id is None or v.vehicle_id == vehicle_id)
    ]
    return max(days) if days else None


def segment_of(world: World, owner: Owner, loyal=180, lost=360) -> str:
    since = last_visit(world, member_id=owner.id)
    if since is None and owner.cars:
        since = max(c.delivered_on or c.purchased_on for c in owner.cars)
    if since is None:
        since = owner.joined
    days = (TODAY - since).days
    if days <= loyal:
        return "loyal"
    return "swinging" if days <= lost else "lost"


def owners_of(world: World, dealer: str | None) -> list[Owner]:
    return [o for o in world.owners.values() if dealer in (None, o.dealer)]


def expected_members(world: World, dealer: str | None) -> list[list[str]]:
    codes = [dealer] if dealer else sorted(world.dealers)
    rows = []
    for code in codes:
        n = Counter(o.tier for o in owners_of(world, code))
        rows.append([code, *(str(n[t]) for t in TIERS), str(sum(n.values()))])
    if len(codes) > 1:
        n = Counter(o.tier for o in owners_of(world, None))
        rows.append(["Total", *(str(n[t]) for t in TIERS), str(sum(n.values()))])
    return rows


def expected_matrix(world: World, dealer: str | None, **days) -> list[list[str]]:
    cells = Counter((segment_of(world, o, **days), o.tier) for o in owners_of(world, dealer))
    rows = []
    for seg in ("loyal", "swinging", "lost"):
        per_tier = [cells[(seg, t)] for t in TIERS]
        rows.append([SEGMENT_NAMES[seg], *map(str, per_tier), str(sum(per_tier))])
    per_tier = [sum(cells[(s, t)] for s in SEGMENT_NAMES) for t in TIERS]
    rows.append(["Total", *map(str, per_tier), str(sum(per_tier))])
    return rows


def expected_lost(world: World, dealer: str | None, warranty: str = "all") -> list[list[str]]:
    found = []
    for owner in owners_of(world, dealer):
        for car in owner.cars:
            last = last_visit(world, vehicle_id=car.id)
            start = car.delivered_on or car.purchased_on
            since = last or start
            days = (TODAY - since).days
            if not 90 <= days <= 360:
                continue
            until = car.warranty_until or plus_years(start, 3)
            inside = until >= TODAY
            if (warranty == "in" and not inside) or (warranty == "out" and inside):
                continue
            row = [
                owner.name,
                f"{owner.mobile[:3]}****{owner.mobile[-4:]}",
                car.model,
                car.plate,
                last.isoformat() if last else "—",
                str(days),
                until.isoformat(),
                "In warranty" if inside else "Out of warranty",
            ]
            found.append((since, car.id, row))
    return [row for *_key, row in sorted(found)]


def points_value(world: World, points: int) -> str:
    return money(points * 100 // world.per_yuan)


def open_lots(world: World, dealer: str | None) -> list[Lot]:
    return [
        lot
        for lot in world.lots
        if lot.remaining > 0
        and lot.expires_on > TODAY
        and dealer in (None, world.owners[lot.member_id].dealer)
    ]


def expected_liability(world: World, dealer: str | None) -> list[list[str]]:
    codes = [dealer] if dealer else sorted(world.dealers)
    rows = []
    for code in codes:
        lots = open_lots(world, code)
        points = sum(lot.remaining for lot in lots)
        holders = len({lot.member_id for lot in lots})
        rows.append([code, str(holders), str(points), points_value(world, points)])
    if len(codes) > 1:
        lots = open_lots(world, None)
        points = sum(lot.remaining for lot in lots)
        holders = len({lot.member_id for lot in lots})
        rows.append(["Total", str(holders), str(points), points_value(world, points)])
    return rows


def expected_expiry(world: World, dealer: str | None) -> list[list[str]]:
    buckets = Counter()
    for lot in open_lots(world, dealer):
        months = (lot.expires_on.year - TODAY.year) * 12 + lot.expires_on.month - TODAY.month
        buckets[min(months, 12)] += lot.remaining
    rows = []
    for k in range(12):
        year, month = divmod(TODAY.month - 1 + k, 12)
        label = f"{TODAY.year + year}-{month + 1:02d}"
        rows.append([label, str(buckets[k]), points_value(world, buckets[k])])
    rows.append(["Later", str(buckets[12]), points_value(world, buckets[12])])
    total = sum(buckets.values())
    rows.append(["Total", str(total), points_value(world, total)])
    return rows


# A referral whose referrer is confirmed staff (issue 21) may end at any step: it counts as
# registered only.
ENDED = {ReferralStatus.REGISTERED, ReferralStatus.WITHDRAWN, ReferralStatus.STAFF_EXCLUDED}
REACHED = {
    # Every referral was registered; these are the later steps each state has passed.
    "visited": set(ReferralStatus) - ENDED,
    "purchased": set(ReferralStatus) - ENDED - {ReferralStatus.VISITED},
    "verified": {
        ReferralStatus.APPROVED,
        ReferralStatus.REWARDED,
        ReferralStatus.FRAUD,
        ReferralStatus.STAFF_REVIEW,
    },
    "rewarded": {ReferralStatus.REWARDED},
    "fraud": {ReferralStatus.FRAUD},
}


def expected_funnel(world: World, dealer: str | None) -> list[list[str]]:
    def counts(code):
        states = [s for d, s in world.referrals if code in (None, d)]
        return [str(len(states))] + [
            str(sum(s in REACHED[step] for s in states)) for step in REACHED
        ]

    codes = sorted({d for d, _s in world.referrals if dealer in (None, d)})
    rows = [[code, *counts(code)] for code in codes]
    if len(codes) > 1:
        rows.append(["Total", *counts(None)])
    return rows


def events_of(world: World, dealer: str | None, *, ended: bool = False) -> list[Happening]:
    chosen = [
        e
        for e in world.events
        if dealer in (None, e.dealer) and (e.ends_at if ended else e.starts_at) <= NOW
    ]
    return sorted(chosen, key=lambda e: (e.starts_at, e.id), reverse=True)


def expected_attendance(world: World, dealer: str | None) -> list[list[str]]:
    rows = []
    for e in events_of(world, dealer):
        holding = [
            s
            for s in e.seats
            if s.status
            in (
                RegistrationStatus.CONFIRMED,
                RegistrationStatus.OFFERED,
                RegistrationStatus.PENDING,
            )
        ]
        places = sum(1 if e.kind == EventKind.TRIP else 1 + s.companions for s in holding)
        confirmed = sum(s.status == RegistrationStatus.CONFIRMED for s in e.seats)
        checked = sum(s.checked_in for s in e.seats)
        rows.append(
            [e.title]
            + ([e.dealer] if dealer is None else [])
            + [
                local_day(e.starts_at).isoformat(),
                str(e.capacity),
                str(places),
                str(confirmed),
                str(checked),
                percent(checked, confirmed),
            ]
        )
    return rows


def campaign(world: World, e: Happening) -> tuple[int, int, int, int]:
    invited = sum(s.status == RegistrationStatus.CONFIRMED or s.checked_in for s in e.seats)
    attendees = {s.member_id for s in e.seats if s.checked_in}
    first, last = local_day(e.starts_at), local_day(e.ends_at) + timedelta(days=30)
    counted = [
        v
        for v in world.visits
        if v.member_id in attendees
        and v.dealer == e.dealer
        and not v.refunded
        and first <= v.visited_on <= last
    ]
    return invited, len(attendees), len(counted), sum(v.amount_fen for v in counted)


def campaign_cells(invited, attended, visits, revenue) -> list[str]:
    ticket = (
        money(int((Decimal(revenue) / visits).quantize(Decimal(1), ROUND_HALF_UP)))
        if visits
        else "—"
    )
    return [
        str(invited),
        str(attended),
        percent(attended, invited),
        str(visits),
        money(revenue),
        ticket,
    ]


def expected_campaigns(world: World, dealer: str | None) -> list[list[str]]:
    rows, total = [], [0, 0, 0, 0]
    for e in events_of(world, dealer, ended=True):
        figures = campaign(world, e)
        total = [a + b for a, b in zip(total, figures, strict=True)]
        rows.append(
            [e.title]
            + ([e.dealer] if dealer is None else [])
            + [local_day(e.starts_at).isoformat()]
            + campaign_cells(*figures)
            + [(local_day(e.ends_at) + timedelta(days=30)).isoformat()]
        )
    blanks = [""] * (2 if dealer is None else 1)
    rows.append(["Total", *blanks, *campaign_cells(*total), ""])
    return rows


# ------------------------------------------------------------------------------ fixtures

STAFF = {
    "hq": ("hq_admin", None),
    "sz_admin": ("dealer_admin", "SZ01"),
    "gz_admin": ("dealer_admin", "GZ01"),
    "sz_manager": ("showroom_manager", "SZ01"),
    "sz_consultant": ("sales_consultant", "SZ01"),
}


@pytest.fixture(scope="module")
def world(template_db, tmp_path_factory):
    """The generated data set on one app for the module (the reports only read): the truth
    and a client per staff member."""
    path = tmp_path_factory.mktemp("insight") / "carclub.sqlite"
    shutil.copy(template_db, path)
    app = make_app(f"sqlite:///{path}", LOGIN_RATE_LIMIT="1000 per minute")
    mobiles = {}
    with app.app_context(), app.test_request_context():
        truth = build_world(random.Random(20261123))
        for name, (role, dealer) in STAFF.items():
            mobiles[name] = make_staff(role, truth.dealers[dealer] if dealer else None).mobile
        db.session.commit()
    clients = {}
    for name, mobile in mobiles.items():
        clients[name] = app.test_client()
        login(clients[name], mobile)
    yield truth, clients, app
    with app.app_context():
        db.engine.dispose()


# Who looks, and the dealer filter they send: (client, ?dealer=, the dealer they must see).
VIEWS = (
    ("hq", None, None),
    ("hq", "SZ01", "SZ01"),
    ("hq", "GZ01", "GZ01"),
    ("sz_admin", None, "SZ01"),
    ("sz_manager", None, "SZ01"),
    ("gz_admin", None, "GZ01"),
    # Asking for their own dealer is the same as asking for nothing. (Asking for the other
    # dealer is a 404: test_a_dealer_outside_the_scope_is_not_found.)
    ("sz_admin", "SZ01", "SZ01"),
)
VIEW_IDS = [f"{who}-asks-{asked or 'all'}" for who, asked, _sees in VIEWS]


def _query(world_truth: World, asked: str | None, **more) -> dict:
    query = {"dealer": world_truth.dealers[asked]} if asked else {}
    return {**query, **{k: v for k, v in more.items() if v is not None}}


def _all_pages(client, path: str, key: str, **query) -> list[list[str]]:
    """Body rows of every page of a paginated report, then its totals (every page shows them,
    over the whole report)."""
    rows, page, feet = [], 1, []
    while True:
        response = client.get(path, query_string={**query, "page": page})
        html = response.get_data(as_text=True)
        table = tables_of(html).get(f"table-{key}")
        if table:
            n = foot_rows_of(html, key)
            rows += body_rows(table)[: len(table) - 1 - n]
            feet.append(table[len(table) - n :] if n else [])
        if 'rel="next"' not in html:
            assert all(f == feet[0] for f in feet)
            return rows + (feet[0] if feet else [])
        page += 1


@pytest.fixture
def small_pages(monkeypatch):
    """Short pages, so the generated data set spans several."""
    from app.care import reports as members
    from app.events import reports as events

    monkeypatch.setattr(members, "LOST_PER_PAGE", 5)
    monkeypatch.setattr(events, "EVENTS_PER_PAGE", 4)


def _header(table: list[list[str]]) -> list[str]:
    return table[0]


# ------------------------------------------------------------------------------- reports


@pytest.mark.parametrize(("who", "asked", "sees"), VIEWS, ids=VIEW_IDS)
def test_members_by_tier_and_dealer(world, who, asked, sees):
    truth, clients, _app = world
    client, query = clients[who], _query(truth, asked)
    table = page_table(client, "/admin/insight/members", "members", **query)
    assert _header(table) == ["Dealer", "Gold", "Platinum", "Diamond", "Total"]
    assert body_rows(table) == expected_members(truth, sees)
    assert csv_rows(client, "members", "members", **query) == table


@pytest.mark.parametrize(("who", "asked", "sees"), VIEWS, ids=VIEW_IDS)
def test_segment_matrix(world, who, asked, sees):
    truth, clients, _app = world
    client, query = clients[who], _query(truth, asked)
    table = page_table(client, "/admin/insight/segments", "matrix", **query)
    assert _header(table) == ["Segment", "Gold", "Platinum", "Diamond", "Total"]
    assert body_rows(table) == expected_matrix(truth, sees)
    assert csv_rows(client, "segments", "matrix", **query) == table
    # Every segment is populated, so the data set exercises the whole matrix.
    assert all(row[-1] != "0" for row in body_rows(table))


def test_hq_sees_segments_per_dealer(world):
    truth, clients, _app = world
    table = page_table(clients["hq"], "/admin/insight/segments", "dealers")
    expected = []
    for code in sorted(truth.dealers):
        n = Counter(segment_of(truth, o) for o in owners_of(truth, code))
        expected.append([code, str(n["loyal"]), str(n["swinging"]), str(n["lost"])])
        expected[-1].append(str(sum(n.values())))
    n = Counter(segment_of(truth, o) for o in owners_of(truth, None))
    expected.append(["Total", str(n["loyal"]), str(n["swinging"]), str(n["lost"])])
    expected[-1].append(str(sum(n.values())))
    assert body_rows(table) == expected
    assert csv_rows(clients["hq"], "segments", "dealers") == table
    # A dealer's staff get the matrix only, and no per-dealer CSV.
    html = clients["sz_admin"].get("/admin/insight/segments").get_data(as_text=True)
    assert "table-dealers" not in tables_of(html)
    assert clients["sz_admin"].get("/admin/insight/segments.csv?table=dealers").status_code == 404


@pytest.mark.parametrize(("who", "asked", "sees"), VIEWS, ids=VIEW_IDS)
@pytest.mark.parametrize("warranty", ["all", "in", "out"])
def test_lost_customer_list(world, small_pages, who, asked, sees, warranty):
    truth, clients, _app = world
    client = clients[who]
    query = _query(truth, asked, warranty=None if warranty == "all" else warranty)
    expected = expected_lost(truth, sees, warranty)
    assert len(expected) > (5 if warranty == "all" else 0)  # several pages
    assert _all_pages(client, "/admin/insight/lost", "cars", **query) == expected
    rows = csv_rows(client, "lost", "cars", **query)
    assert rows[0] == [
        "Owner",
        "Mobile",
        "Car",
        "Plate",
        "Last visit",
        "Days",
        "Warranty until",
        "Warranty",
    ]
    assert rows[1:] == expected
    html = client.get("/admin/insight/lost", query_string=query).get_data(as_text=True)
    inside = len(expected_lost(truth, sees, "in"))
    outside = len(expected_lost(truth, sees, "out"))
    assert f"In warranty ({inside})" in html
    assert f"Out of warranty ({outside})" in html
    assert f"All ({inside + outside})" in html


def test_lost_customers_link_to_the_owner_and_the_export_is_audited(world):
    truth, clients, app = world
    html = clients["sz_admin"].get("/admin/insight/lost").get_data(as_text=True)
    first = expected_lost(truth, "SZ01")[0][0]
    member_id = next(o.id for o in truth.owners.values() if o.name == first)
    assert f'<a href="/admin/members/{member_id}">{first}</a>' in html
    response = clients["sz_admin"].get("/admin/insight/lost.csv?warranty=in")
    assert (
        'filename="insight-lost-cars-SZ01-2026-11-23.csv"'
        in response.headers["Content-Disposition"]
    )
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "insight.lost_exported")
            .order_by(AuditEntry.id.desc())
        ).first()
        assert entry.dealer_id == truth.dealers["SZ01"]
        assert entry.details == {"rows": len(expected_lost(truth, "SZ01", "in")), "warranty": "in"}


@pytest.mark.parametrize(("who", "asked", "sees"), VIEWS, ids=VIEW_IDS)
def test_points_liability_and_expiry_forecast(world, who, asked, sees):
    truth, clients, _app = world
    client, query = clients[who], _query(truth, asked)
    dealers = page_table(client, "/admin/insight/liability", "dealers", **query)
    assert _header(dealers) == [
        "Dealer",
        "Members holding points",
        "Outstanding points",
        "Value (¥)",
    ]
    assert body_rows(dealers) == expected_liability(truth, sees)
    assert csv_rows(client, "liability", "dealers", **query) == dealers
    expiry = page_table(client, "/admin/insight/liability", "expiry", **query)
    assert _header(expiry) == ["Month", "Points expiring", "Value (¥)"]
    assert body_rows(expiry) == expected_expiry(truth, sees)
    assert expiry[1][0] == "2026-11" and expiry[12][0] == "2027-10"
    assert csv_rows(client, "liability", "expiry", **query) == expiry
    outstanding = sum(lot.remaining for lot in open_lots(truth, sees))
    html = client.get("/admin/insight/liability", query_string=query).get_data(as_text=True)
    assert f"{outstanding} points outstanding, worth ¥{points_value(truth, outstanding)}" in html


@pytest.mark.parametrize(("who", "asked", "sees"), VIEWS, ids=VIEW_IDS)
def test_referral_funnel(world, who, asked, sees):
    truth, clients, _app = world
    client, query = clients[who], _query(truth, asked)
    table = page_table(client, "/admin/insight/referrals", "funnel", **query)
    assert _header(table) == [
        "Dealer",
        "Registered",
        "Visited",
        "Bought a car",
        "Verified",
        "Rewarded",
        "Fraud",
    ]
    assert body_rows(table) == expected_funnel(truth, sees)
    assert csv_rows(client, "referrals", "funnel", **query) == table


def test_the_funnel_is_the_referral_domains_and_links_to_its_page(world):
    _truth, clients, _app = world
    html = clients["sz_admin"].get("/admin/insight/referrals").get_data(as_text=True)
    assert 'href="/admin/referrals/funnel"' in html
    # A showroom manager may not open the full funnel page: no link to it.
    html = clients["sz_manager"].get("/admin/insight/referrals").get_data(as_text=True)
    assert 'href="/admin/referrals/funnel"' not in html


@pytest.mark.parametrize(("who", "asked", "sees"), VIEWS, ids=VIEW_IDS)
def test_event_attendance(world, small_pages, who, asked, sees):
    truth, clients, _app = world
    client, query = clients[who], _query(truth, asked)
    expected = expected_attendance(truth, sees)
    rows = _all_pages(client, "/admin/insight/events", "events", **query)
    assert rows == expected
    table = page_table(client, "/admin/insight/events", "events", **query)
    assert _header(table) == ["Event"] + (["Dealer"] if sees is None else []) + [
        "Date",
        "Capacity",
        "Places taken",
        "Confirmed",
        "Checked in",
        "Attendance rate",
    ]
    assert csv_rows(client, "events", "events", **query) == [_header(table), *expected]
    # The event to come is not listed; the one under way is.
    titles = [row[0] for row in expected]
    assert f"{sees or 'SZ01'} event 6" not in titles
    assert f"{sees or 'SZ01'} event 5" in titles


@pytest.mark.parametrize(("who", "asked", "sees"), VIEWS, ids=VIEW_IDS)
def test_campaign_results(world, small_pages, monkeypatch, who, asked, sees):
    from app.events import reports as events

    monkeypatch.setattr(events, "_CHUNK", 3)  # SQLite's VALUES lists of a few events each
    truth, clients, _app = world
    client, query = clients[who], _query(truth, asked)
    expected = expected_campaigns(truth, sees)
    assert _all_pages(client, "/admin/insight/campaigns", "campaigns", **query) == expected
    table = page_table(client, "/admin/insight/campaigns", "campaigns", **query)
    assert _header(table) == ["Event"] + (["Dealer"] if sees is None else []) + [
        "Date",
        "Invited",
        "Attended",
        "Success rate",
        "Visits",
        "Revenue (¥)",
        "Average ticket (¥)",
        "Counted until",
    ]
    assert csv_rows(client, "campaigns", "campaigns", **query) == [_header(table), *expected]
    # The data set has revenue to count, and visits outside the windows it must not count.
    assert expected[-1][-3] != "0.00"
    # Some windows are still open (counting until today or later), the others closed.
    still_open = sum(
        1
        for e in events_of(truth, sees, ended=True)
        if local_day(e.ends_at) + timedelta(days=30) >= TODAY
    )
    assert 0 < still_open < len(expected) - 1
    html = client.get("/admin/insight/campaigns", query_string=query).get_data(as_text=True)
    assert f"Events whose window is still open: {still_open};" in html


def test_campaign_windows_count_day_30_and_not_day_31(world):
    truth, clients, _app = world
    event = next(e for e in truth.events if e.title == "SZ01 event 0")
    end = local_day(event.ends_at)
    offsets = {
        (v.visited_on - end).days
        for s in event.seats
        if s.checked_in
        for v in truth.visits
        if v.member_id == s.member_id and v.dealer == "SZ01" and not v.refunded
    }
    assert {-2, 30, 31} <= offsets  # the data set holds the edges
    invited, attended, visits, revenue = campaign(truth, event)
    row = next(
        r
        for r in body_rows(page_table(clients["sz_admin"], "/admin/insight/campaigns", "campaigns"))
        if r[0] == event.title
    )
    assert row[2:8] == campaign_cells(invited, attended, visits, revenue)


def test_overview_headline_figures(world):
    truth, clients, _app = world
    for who, sees in (("hq", None), ("sz_admin", "SZ01"), ("gz_admin", "GZ01")):
        html = clients[who].get("/admin/insight").get_data(as_text=True)
        assert f'id="kpi-members">{len(owners_of(truth, sees))}<' in html
        assert f'id="kpi-lost">{len(expected_lost(truth, sees))}<' in html
        points = sum(lot.remaining for lot in open_lots(truth, sees))
        assert f'id="kpi-points">{points}<' in html


# ------------------------------------------------------------------------------ scoping


def test_a_dealer_never_sees_the_other_dealers_figures(world):
    truth, clients, _app = world
    gz_names = [o.name for o in owners_of(truth, "GZ01")]
    gz_titles = [e.title for e in truth.events if e.dealer == "GZ01"]
    for path in (
        "/admin/insight",
        "/admin/insight/members",
        "/admin/insight/segments",
        "/admin/insight/lost",
        "/admin/insight/liability",
        "/admin/insight/referrals",
        "/admin/insight/events",
        "/admin/insight/campaigns",
    ):
        for query in ({}, {"dealer": truth.dealers["GZ01"]}):
            html = clients["sz_admin"].get(path, query_string=query).get_data(as_text=True)
            assert "GZ01" not in html, path
            assert not [name for name in gz_names if name in html], path
            assert not [title for title in gz_titles if title in html], path
            # No dealer picker for a dealer's staff.
            assert 'name="dealer"' not in html


def test_hq_picks_a_dealer(world):
    truth, clients, _app = world
    html = clients["hq"].get("/admin/insight/segments").get_data(as_text=True)
    assert '<option value="" selected' not in html  # "All dealers" is the default, unmarked
    for code, dealer_id in truth.dealers.items():
        assert f'<option value="{dealer_id}">{code}' in html
    html = clients["hq"].get(f"/admin/insight/segments?dealer={truth.dealers['GZ01']}")
    html = html.get_data(as_text=True)
    assert f'<option value="{truth.dealers["GZ01"]}" selected>GZ01' in html
    # CSV links keep the filter.
    assert f"segments.csv?table=matrix&amp;dealer={truth.dealers['GZ01']}" in html


PAGES = (
    "/admin/insight",
    "/admin/insight/members",
    "/admin/insight/segments",
    "/admin/insight/lost",
    "/admin/insight/liability",
    "/admin/insight/referrals",
    "/admin/insight/events",
    "/admin/insight/campaigns",
)


@pytest.mark.parametrize(
    "path", [*PAGES, *(f"/admin/insight/{n}.csv" for n in ("lost", "members"))]
)
def test_a_dealer_outside_the_scope_is_not_found(world, path):
    """An unknown dealer is a 404, never every dealer's figures; a dealer's staff asking for
    the other dealer get a 404 too, never the other dealer's figures (nor their own)."""
    truth, clients, _app = world
    for who, dealer in (("hq", 99999), ("sz_admin", 99999), ("sz_admin", "GZ01")):
        dealer_id = truth.dealers.get(dealer, dealer)
        response = clients[who].get(path, query_string={"dealer": dealer_id})
        assert response.status_code == 404, (who, dealer)
        assert "<table" not in response.get_data(as_text=True)
    assert (
        clients["gz_admin"].get(path, query_string={"dealer": truth.dealers["SZ01"]}).status_code
        == 404
    )


def test_only_managers_and_admins_open_insight(world):
    _truth, clients, _app = world
    assert clients["sz_consultant"].get("/admin/insight").status_code == 403
    assert clients["sz_consultant"].get("/admin/insight/lost.csv").status_code == 403
    assert clients["sz_manager"].get("/admin/insight/lost.csv").status_code == 200


def test_unknown_csv_tables_are_not_found(world):
    _truth, clients, _app = world
    assert clients["hq"].get("/admin/insight/members.csv?table=nope").status_code == 404
    assert clients["hq"].get("/admin/insight/nope.csv").status_code == 404


# ------------------------------------------------------------------------- presentation


@pytest.mark.parametrize("path", PAGES)
def test_pages_follow_the_content_security_policy(world, path):
    _truth, clients, _app = world
    response = clients["hq"].get(path)
    html = response.get_data(as_text=True)
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    assert " style=" not in html and "<style" not in html
    assert "<script>" not in html and "onclick" not in html
    assert "http://" not in html and "https://" not in html


def test_charts_draw_the_tables_figures(world):
    truth, clients, _app = world
    html = clients["hq"].get("/admin/insight/segments").get_data(as_text=True)
    chart = html[html.index('class="panel insight-chart"') : html.index("</figure>")]
    widths = [
        float(w)
        for w in re.findall(
            r'<rect class="insight-fill-\w+" x="[\d.]+" y="0" '
            r'width="([\d.]+)"',
            chart,
        )
    ]
    matrix = expected_matrix(truth, None)
    biggest = max(int(row[-1]) for row in matrix[:3])
    cells = [int(n) for row in matrix[:3] for n in row[1:4] if int(n)]
    assert widths == pytest.approx([n * 100 / biggest for n in cells], abs=0.01)
    # Each bar states its total.
    for row in matrix[:3]:
        assert f'<span class="insight-bar-value">{row[-1]}</span>' in unescape(chart)


# --------------------------------------------------------------------------- boundaries


def _owner_last_seen(dealer_id: int, days_ago: int | None, *, tier="gold", delivered_ago=None):
    member = make_member(dealer_id, name=f"Seen {days_ago} {delivered_ago}")
    set_tier(member, tier)
    if delivered_ago is None and days_ago is None:
        return member
    delivered = TODAY - timedelta(days=delivered_ago if delivered_ago is not None else 1000)
    car = make_vehicle(member, purchased_on=delivered, delivered_on=delivered)
    if days_ago is not None:
        owner = Owner(member.id, "SZ01", member.name, "", tier, TODAY)
        add_visit(
            [],
            owner,
            Car(car.id, member.id, delivered, delivered, None, "", ""),
            dealer_id,
            "SZ01",
            TODAY - timedelta(days=days_ago),
            10_000,
            False,
        )
    return member


def _segment_counts(client) -> dict[str, str]:
    table = page_table(client, "/admin/insight/segments", "matrix")
    return {row[0]: row[-1] for row in body_rows(table)}


def test_segment_thresholds_at_their_boundaries(app, seeded, dealers, staff_factory):
    with seeded():
        for days in (180, 181, 360, 361):
            _owner_last_seen(dealers["SZ01"], days)
    client = staff_factory("dealer_admin", "SZ01")
    assert _segment_counts(client) == {"Loyal": "1", "Swinging": "2", "Lost": "1", "Total": "4"}
    # The thresholds come from the configuration.
    app.config.update(SEGMENT_LOYAL_DAYS=181, SEGMENT_LOST_DAYS=359)
    assert _segment_counts(client) == {"Loyal": "2", "Swinging": "0", "Lost": "2", "Total": "4"}
    html = client.get("/admin/insight/segments").get_data(as_text=True)
    assert "at most 181 days ago. Swinging: 182 to 359 days. Lost: more than 359 days." in html


def test_owners_without_a_visit_count_from_delivery_then_from_joining(
    app, seeded, dealers, staff_factory
):
    with seeded() as session:
        _owner_last_seen(dealers["SZ01"], None, delivered_ago=100)  # loyal
        _owner_last_seen(dealers["SZ01"], None, delivered_ago=200)  # swinging
        _owner_last_seen(dealers["SZ01"], None, delivered_ago=400)  # lost
        # Refunded visits do not count: this owner's only visit was refunded.
        refunded = _owner_last_seen(dealers["SZ01"], 10, delivered_ago=500)
        session.execute(
            ServiceVisit.__table__.update()
            .where(ServiceVisit.member_id == refunded.id)
            .values(status=VisitStatus.REFUNDED.value)
        )
        for joined_ago in (180, 181, 361):
            member = _owner_last_seen(dealers["SZ01"], None)
            member.created_at = datetime.combine(
                TODAY - timedelta(days=joined_ago), time(0, 5), ZONE
            )
    client = staff_factory("dealer_admin", "SZ01")
    # Loyal: delivered 100 days ago, joined 180 days ago; swinging: delivered 200, joined 181;
    # lost: delivered 400, the refunded one (delivered 500), joined 361 days ago.
    assert _segment_counts(client) == {"Loyal": "2", "Swinging": "2", "Lost": "3", "Total": "7"}


def test_lost_list_boundaries(app, seeded, dealers, staff_factory):
    with seeded():
        for days in (89, 90, 360, 361):
            _owner_last_seen(dealers["SZ01"], days)
    client = staff_factory("showroom_manager", "SZ01")
    rows = body_rows(page_table(client, "/admin/insight/lost", "cars"))
    assert [row[0] for row in rows] == ["Seen 360 None", "Seen 90 None"]
    assert [row[5] for row in rows] == ["360", "90"]


def test_warranty_from_the_record_or_three_years_after_delivery(
    app, seeded, dealers, staff_factory
):
    with seeded():
        member = make_member(dealers["SZ01"], name="Warranty owner")
        cases = {
            # delivered (or purchased) on, warranty_until → in warranty?
            "record-today": (TODAY - timedelta(days=2000), TODAY),
            "record-yesterday": (TODAY - timedelta(days=200), TODAY - timedelta(days=1)),
            "three-years-today": (plus_years(TODAY, -3), None),
            "three-years-yesterday": (plus_years(TODAY, -3) - timedelta(days=1), None),
        }
        for model, (delivered, until) in cases.items():
            car = make_vehicle(member, purchased_on=delivered, delivered_on=None, model=model)
            car.warranty_until = until
            owner = Owner(member.id, "SZ01", member.name, "", "gold", TODAY)
            add_visit(
                [],
                owner,
                Car(car.id, member.id, delivered, None, until, "", ""),
                dealers["SZ01"],
                "SZ01",
                TODAY - timedelta(days=100),
                10_000,
                False,
            )
    client = staff_factory("dealer_admin", "SZ01")
    rows = body_rows(page_table(client, "/admin/insight/lost", "cars"))
    assert {row[2]: row[7] for row in rows} == {
        "record-today": "In warranty",
        "record-yesterday": "Out of warranty",
        "three-years-today": "In warranty",
        "three-years-yesterday": "Out of warranty",
    }
    inside = body_rows(page_table(client, "/admin/insight/lost", "cars", warranty="in"))
    assert sorted(row[2] for row in inside) == ["record-today", "three-years-today"]


def test_empty_reports_say_so(app, dealers, staff_factory):
    client = staff_factory("dealer_admin", "SZ01")
    for path in PAGES:
        assert client.get(path).status_code == 200
    html = client.get("/admin/insight/lost").get_data(as_text=True)
    assert "No lost customer" in html
    rows = csv_rows(client, "campaigns", "campaigns")
    assert rows == [
        [
            "Event",
            "Date",
            "Invited",
            "Attended",
            "Success rate",
            "Visits",
            "Revenue (¥)",
            "Average ticket (¥)",
            "Counted until",
        ]
    ]


# ---------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_the_reports_run_on_postgresql(pg_app):
    """The same reports on PostgreSQL, whose queries differ (the events' windows as arrays) or
    take other plans (the partial indexes, a dealer's semi-joins)."""
    from app.care import reports as members
    from app.events import reports as events
    from app.loyalty import reports as loyalty
    from app.referrals import reports as referrals

    with pg_app.app_context(), pg_app.test_request_context():
        truth = build_world(random.Random(7))
        hq = make_staff("hq_admin", None)
        db.session.flush()
        reports = {
            "members": members.members_by_tier(hq),
            "segments": members.segments(hq),
            "lost": members.lost_customers(hq, page=None),
            "liability": loyalty.points_liability(hq),
            "referrals": referrals.referral_funnel(hq),
            "events": events.event_attendance(hq),
            "campaigns": events.event_results(hq),
        }

        def texts(report, key):
            table = report.table(key)
            return [[c.text for c in row] for row in table.all_rows()]

        assert texts(reports["members"], "members") == expected_members(truth, None)
        assert texts(reports["segments"], "matrix") == expected_matrix(truth, None)
        assert texts(reports["lost"], "cars") == expected_lost(truth, None)
        assert texts(reports["liability"], "dealers") == expected_liability(truth, None)
        assert texts(reports["liability"], "expiry") == expected_expiry(truth, None)
        assert texts(reports["referrals"], "funnel") == expected_funnel(truth, None)
        assert texts(reports["events"], "events") == expected_attendance(truth, None)
        assert texts(reports["campaigns"], "campaigns") == expected_campaigns(truth, None)
        assert db.session.scalar(select(Referral.id).limit(1)) is not None

        # A dealer's scope (its own query shapes), the lost list a page at a time, the overview.
        sz = truth.dealers["SZ01"]
        assert texts(members.segments(hq, dealer_id=sz), "matrix") == expected_matrix(truth, "SZ01")
        liability = loyalty.points_liability(hq, dealer_id=sz)
        assert texts(liability, "dealers") == expected_liability(truth, "SZ01")
        assert texts(liability, "expiry") == expected_expiry(truth, "SZ01")
        campaigns = events.event_results(hq, dealer_id=sz)
        assert texts(campaigns, "campaigns") == expected_campaigns(truth, "SZ01")
        for dealer, warranty in ((None, "in"), (None, "out"), ("SZ01", "all")):
            rows, page = [], 1
            while True:
                lost = members.lost_customers(
                    hq,
                    dealer_id=truth.dealers.get(dealer),
                    warranty=warranty,
                    page=page,
                    per_page=5,
                )
                rows += texts(lost, "cars")
                if not lost.page.has_next:
                    break
                page += 1
            assert rows == expected_lost(truth, dealer, warranty)
        for dealer in (None, "SZ01"):
            figures = members.headline(hq, dealer_id=truth.dealers.get(dealer))
            figures.update(loyalty.headline(hq, dealer_id=truth.dealers.get(dealer)))
            assert figures["members"] == len(owners_of(truth, dealer))
            assert figures["lost"] == len(expected_lost(truth, dealer))
            assert figures["outstanding"] == sum(lot.remaining for lot in open_lots(truth, dealer))
