"""`flask bench seed`: owners at scale whose data the pages, reports and API take as real."""

import json

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.cards.models import CardStatus, MemberCard
from app.core.clock import local_date
from app.core.identifiers import is_valid_plate
from app.core.permissions import Role
from app.extensions import db
from app.loyalty.models import PointsAccount, PointsAllocation, PointsEntry
from app.members.models import Dealer, Member, Vehicle
from app.members.services import vin_error
from app.rewards.models import Voucher
from app.service.models import ServiceVisit

MEMBERS = 300
MANIFEST_KEYS = [
    "members",
    "dealer_code",
    "owner",
    "staff",
    "api_key",
    "checkin",
    "vouchers",
    "vins",
    "seconds",
]


@pytest.fixture
def bench_app(db_app):
    """The app on a migrated, empty database: SQLite, and PostgreSQL from TEST_DATABASE_URL."""
    return db_app


def seed(app, tmp_path, members: int = MEMBERS):
    path = tmp_path / "bench-manifest.json"
    result = app.test_cli_runner().invoke(
        args=["bench", "seed", "--members", str(members), "--manifest", str(path)]
    )
    return result, path


def scalar(query):
    return db.session.scalar(query)


def orphan_references() -> list[str]:
    """Every foreign key value that names no row (the bulk load bypasses the checks)."""
    found = []
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            parent = fk.column.table.alias()
            target = parent.c[fk.column.name]
            missing = scalar(
                select(func.count())
                .select_from(table)
                .where(fk.parent.is_not(None), ~select(target).where(target == fk.parent).exists())
            )
            if missing:
                found.append(f"{table.name}.{fk.parent.name}: {missing}")
    return found


def check_ledger() -> None:
    """R4 on every account: balance = sum of entries = unspent points of lots; each debit's
    allocations take exactly its points; no lot past its date still holds points."""
    entries = (
        select(PointsEntry.account_id, func.sum(PointsEntry.delta).label("total"))
        .group_by(PointsEntry.account_id)
        .subquery()
    )
    lots = (
        select(PointsEntry.account_id, func.sum(PointsEntry.remaining).label("unspent"))
        .where(PointsEntry.delta > 0)
        .group_by(PointsEntry.account_id)
        .subquery()
    )
    wrong = scalar(
        select(func.count())
        .select_from(PointsAccount)
        .outerjoin(entries, entries.c.account_id == PointsAccount.id)
        .outerjoin(lots, lots.c.account_id == PointsAccount.id)
        .where(
            (PointsAccount.balance != func.coalesce(entries.c.total, 0))
            | (PointsAccount.balance != func.coalesce(lots.c.unspent, 0))
            | (PointsAccount.balance < 0)
        )
    )
    assert wrong == 0
    drawn = (
        select(PointsAllocation.debit_id, func.sum(PointsAllocation.amount).label("amount"))
        .group_by(PointsAllocation.debit_id)
        .subquery()
    )
    assert not scalar(
        select(func.count())
        .select_from(PointsEntry)
        .outerjoin(drawn, drawn.c.debit_id == PointsEntry.id)
        .where(PointsEntry.delta < 0, -PointsEntry.delta != func.coalesce(drawn.c.amount, 0))
    )
    assert not scalar(
        select(func.count()).where(
            PointsEntry.remaining > 0, PointsEntry.expires_on <= local_date()
        )
    )


def test_seeded_owners_log_in_and_the_pages_reports_and_api_work(bench_app, tmp_path):
    result, path = seed(bench_app, tmp_path)
    assert result.exit_code == 0, result.output
    manifest = json.loads(path.read_text())
    assert list(manifest) == MANIFEST_KEYS
    assert manifest["members"] == MEMBERS and manifest["dealer_code"] == "SZ01"

    with bench_app.app_context():
        owners = select(func.count(Member.id))
        assert scalar(owners) == MEMBERS
        assert scalar(select(func.count(User.id)).where(User.role == Role.MEMBER)) == MEMBERS
        active = select(func.count(MemberCard.id)).where(MemberCard.status == CardStatus.ACTIVE)
        assert scalar(active) == MEMBERS
        assert scalar(select(func.count(PointsAccount.id))) == MEMBERS
        vehicles = db.session.scalars(select(Vehicle)).all()
        assert MEMBERS <= len(vehicles) <= 2 * MEMBERS
        assert all(vin_error(v.vin) is None for v in vehicles)
        assert all(v.plate is None or is_valid_plate(v.plate) for v in vehicles)
        sz01 = scalar(select(Dealer.id).where(Dealer.code == "SZ01"))
        sz01_owners = scalar(owners.where(Member.dealer_id == sz01))
        assert sz01_owners == MEMBERS // 2
        check_ledger()
        assert orphan_references() == []
        tiers = db.session.scalars(select(PointsAccount.tier_code).distinct()).all()
        assert set(tiers) == {"gold", "platinum", "diamond"}
        owner_entries = scalar(
            select(func.count(PointsEntry.id))
            .join(PointsAccount, PointsAccount.id == PointsEntry.account_id)
            .join(Member, Member.id == PointsAccount.member_id)
            .join(User, User.id == Member.user_id)
            .where(User.mobile == manifest["owner"]["mobile"])
        )
        assert 40 <= owner_entries <= 60
        assert scalar(select(func.count(ServiceVisit.id))) > 20 * MEMBERS
        today = local_date().isoformat()
        unused = scalar(select(func.count(Voucher.id)).where(Voucher.status == "issued"))
        assert unused >= len(manifest["vouchers"])

    # The load test's supplies: SZ01's owners who joined more than two months ago.
    assert 0.9 * sz01_owners <= len(manifest["checkin"]["tickets"]) < sz01_owners
    assert len(set(manifest["vouchers"])) == len(manifest["checkin"]["tickets"])
    assert len(set(manifest["vins"])) == sz01_owners

    client = bench_app.test_client()
    owner = manifest["owner"]
    login = client.post("/login", data={"mobile": owner["mobile"], "password": owner["password"]})
    assert login.status_code == 302
    assert client.get("/me/points").status_code == 200
    assert client.get("/card").status_code == 200

    staff = bench_app.test_client()
    login = staff.post("/login", data=manifest["staff"])
    assert login.status_code == 302
    for report in ("", "/members", "/segments", "/lost", "/liability", "/referrals", "/events"):
        assert staff.get("/admin/insight" + report).status_code == 200, report

    api = bench_app.test_client()
    key = {"Authorization": f"Bearer {manifest['api_key']}"}

    def post(path, body):
        return api.post(f"/api/v1{path}", json=body, headers=key, with_csrf=False)

    checkin = manifest["checkin"]
    ticket = checkin["tickets"][0]
    answer = post("/checkin", {"event_id": checkin["event_id"], "ticket": ticket})
    assert answer.status_code == 201, answer.get_json()
    answer = post("/vouchers/redeem", {"code": manifest["vouchers"][0]})
    assert answer.status_code == 200, answer.get_json()
    visit = {
        "ro_number": "BENCH-TEST-1",
        "vin": manifest["vins"][0],
        "visited_on": today,
        "mileage_km": 50_000,
        "amount_yuan": "480.00",
        "category": "maintenance",
    }
    answer = post("/dms/service-visits", visit)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["points_awarded"] >= 480

    with bench_app.app_context():
        check_ledger()


def test_seed_refuses_a_database_that_has_owners(app, seeded, dealers, tmp_path):
    from tests.factories import make_member

    with seeded():
        make_member(dealers["GZ01"], mobile="13712345678")
    with app.app_context():
        before = {
            model: scalar(select(func.count()).select_from(model))
            for model in (Dealer, User, Member, Vehicle, PointsEntry)
        }
    result, path = seed(app, tmp_path, members=10)
    assert result.exit_code != 0
    assert "already has owners (1 besides" in result.output
    assert not path.exists()
    with app.app_context():
        after = {model: scalar(select(func.count()).select_from(model)) for model in before}
    assert after == before
