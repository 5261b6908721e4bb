"""`flask bench seed`: owners at scale whose data the pages, reports and API take as real."""

import csv
import io
import json
import re
from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import User, UserSession
from app.cards.models import CardStatus, MemberCard
from app.core.clock import local_date, utcnow
from app.core.identifiers import is_valid_plate
from app.core.permissions import Role
from app.extensions import db
from app.loyalty.ledger import expiry_date
from app.loyalty.models import PointsAccount, PointsAllocation, PointsEntry, TierChange
from app.loyalty.rules import visit_points
from app.loyalty.services import list_tiers
from app.loyalty.tiers import (
    first_review_on,
    next_review_on,
    review_outcome,
    tier_for,
    trailing_qualifying,
)
from app.members.models import Dealer, Member, Vehicle
from app.members.services import vin_error
from app.referrals.models import Referral
from app.rewards.models import Reward, Voucher
from app.rewards.services import voucher_expiry
from app.service.models import ServiceVisit
from tests.conftest import login

MEMBERS = 300
# More than SZ01's 150 owners can hold at one open day: the seed adds open days and free
# vouchers until the load test has this many of each.
SUPPLY = 400
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
        args=[
            "bench",
            "seed",
            "--members",
            str(members),
            "--manifest",
            str(path),
            "--supply",
            str(SUPPLY),
        ]
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


def tiers_over_time() -> dict[int, list[tuple]]:
    """Each account's tier changes, oldest first: (at, from, to, reason, points)."""
    changes = defaultdict(list)
    rows = db.session.execute(
        select(
            TierChange.account_id,
            TierChange.at,
            TierChange.from_code,
            TierChange.to_code,
            TierChange.reason,
            TierChange.qualifying_points,
        ).order_by(TierChange.account_id, TierChange.at, TierChange.id)
    )
    for account_id, *change in rows:
        changes[account_id].append(tuple(change))
    return changes


def tier_at(changes: list[tuple], moment, lowest: str, *, inclusive: bool = False) -> str:
    """The tier an account held just before ``moment`` (at ``moment``: ``inclusive``)."""
    code = lowest
    for at, _from, to, *_ in changes:
        if at < moment or (inclusive and at == moment):
            code = to
    return code


def check_rules() -> None:
    """Every figure of the bench's history is what the services' rule functions give: each
    visit's points (visit_points, at the tier held then), each lot's expiry date, each tier
    change and final tier, the qualifying points and review dates, the vouchers' validity and
    the referrers' fuel vouchers."""
    tiers = list_tiers()
    by_code = {t.code: t for t in tiers}
    lowest = tiers[0].code
    changes = tiers_over_time()
    accounts = db.session.execute(
        select(PointsAccount, Member.joined_at).join(Member, Member.id == PointsAccount.member_id)
    ).all()
    account_of = {account.member_id: account.id for account, _ in accounts}

    # Tier changes replay to the account's tier, each as the tier rules decide for its points.
    for account, joined_at in accounts:
        code = lowest
        for _at, from_code, to_code, reason, points in changes[account.id]:
            assert from_code == code
            current, to = by_code[code], by_code[to_code]
            if reason == "upgrade":
                assert to == tier_for(points, tiers) and to.rank > current.rank
            elif reason == "annual_review":
                assert review_outcome(current, points, tiers) == (to, "annual_review")
            else:  # a reversal undid an upgrade, never below what the points support
                assert reason == "correction"
                assert tier_for(points, tiers).rank <= to.rank < current.rank
            code = to_code
        assert account.tier_code == code
        now = utcnow()
        assert account.qualifying_points == trailing_qualifying(account.id, now)
        first = first_review_on(local_date(joined_at))
        today = local_date(now)
        # The daily job of today may not have run yet (before 00:02).
        assert account.review_on in {
            next_review_on(first, today),
            next_review_on(first, today - timedelta(days=1)),
        }

    # Each visit earned what visit_points gives at the tier held just before it.
    visits = db.session.execute(
        select(ServiceVisit, Vehicle.purchased_on, PointsEntry.delta)
        .join(Vehicle, Vehicle.id == ServiceVisit.vehicle_id)
        .outerjoin(PointsEntry, PointsEntry.id == ServiceVisit.entry_id)
    ).all()
    anniversaries, multipliers = 0, set()
    for visit, purchased_on, delta in visits:
        held = tier_at(changes[account_of[visit.member_id]], visit.created_at, lowest)
        earned = visit_points(
            amount_fen=visit.amount_fen,
            category=visit.category.value,
            tier_multiplier_pct=by_code[held].multiplier_pct,
            purchased_on=purchased_on,
            visited_on=visit.visited_on,
        )
        assert visit.points_awarded == earned.points == (delta or 0), visit.ro_number
        anniversaries += earned.anniversary
        multipliers.add(earned.tier_multiplier_pct)
    # The check covers the anniversary month and every tier's multiplier.
    assert anniversaries > 0
    assert multipliers == {t.multiplier_pct for t in tiers}

    # Every lot expires when the ledger says points earned that day expire.
    lots = db.session.execute(
        select(PointsEntry.created_at, PointsEntry.expires_on).where(PointsEntry.delta > 0)
    ).all()
    assert all(expires == expiry_date(local_date(at)) for at, expires in lots)

    # Vouchers are valid for their reward's days; a referrer's fuel voucher goes with the tier.
    validity = dict(db.session.execute(select(Reward.id, Reward.validity_days)).all())
    vouchers = db.session.execute(
        select(Voucher.reward_id, Voucher.issued_at, Voucher.expires_on, Voucher.source)
    ).all()
    for reward_id, issued_at, expires_on, _source in vouchers:
        assert expires_on == voucher_expiry(local_date(issued_at), validity[reward_id])
    fuelled = {int(src.split(":")[1]) for *_, src in vouchers if src.startswith("referral-fuel:")}
    rewarded = db.session.execute(
        select(Referral.id, Referral.referrer_id, Referral.rewarded_at).where(
            Referral.rewarded_at.is_not(None)
        )
    ).all()
    assert rewarded
    assert fuelled == {
        referral_id
        for referral_id, referrer_id, at in rewarded
        if tier_at(changes[account_of[referrer_id]], at, lowest, inclusive=True)
        in {"platinum", "diamond"}
    }


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
    with bench_app.test_request_context():  # rules_in_force keeps each day's version per request
        check_rules()

    # The load test's supplies: SZ01's owners who joined more than two months ago, a ticket
    # each for each of today's open days, and an unused voucher each, topped up to SUPPLY.
    checkin = manifest["checkin"]
    tickets = checkin["tickets"]
    events = checkin["event_ids"]
    holders = len(tickets) // len(events)
    assert 0.9 * sz01_owners <= holders < sz01_owners
    assert len(events) == -(-SUPPLY // holders) > 1
    assert [t["event_id"] for t in tickets] == [e for e in events for _ in range(holders)]
    assert len({t["ticket"] for t in tickets}) == len(tickets) >= SUPPLY
    assert len(set(manifest["vouchers"])) == len(manifest["vouchers"]) == SUPPLY
    assert len(set(manifest["vins"])) == sz01_owners

    client = bench_app.test_client()
    owner = manifest["owner"]
    login(client, owner["mobile"], owner["password"])
    assert client.get("/me/points").status_code == 200
    assert client.get("/card").status_code == 200

    staff = bench_app.test_client()
    login(staff, **manifest["staff"])
    for report in ("", "/members", "/segments", "/lost", "/liability", "/referrals", "/events"):
        assert staff.get("/admin/insight" + report).status_code == 200, report

    api = bench_app.test_client()
    key = {"Authorization": f"Bearer {manifest['api_key']}"}

    def post(path, body):
        return api.post(f"/api/v1{path}", json=body, headers=key, with_csrf=False)

    # The first and last ticket (another open day), a paid and a free voucher.
    for ticket in (tickets[0], tickets[-1]):
        answer = post("/checkin", ticket)
        assert answer.status_code == 201, answer.get_json()
    for code in (manifest["vouchers"][0], manifest["vouchers"][-1]):
        answer = post("/vouchers/redeem", {"code": code})
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
    # The daily reconciliation, as operations run it, finds the bench's books in order.
    reconciled = bench_app.test_cli_runner().invoke(args=["loyalty", "reconcile"])
    assert reconciled.exit_code == 0, reconciled.output

    check_grading(bench_app, manifest, sz01_owners)
    check_campaign(bench_app, tmp_path, manifest)
    check_sessions(bench_app, tmp_path)
    check_care(bench_app, manifest)


def check_sessions(app, tmp_path) -> None:
    """`flask bench sessions`: signed-in phones whose cookie opens the card and points pages
    from the same User-Agent, and whose session no answer signs again."""
    from bench.serve import PHONE_USER_AGENT

    path = tmp_path / "sessions.txt"
    result = app.test_cli_runner().invoke(
        args=["bench", "sessions", "--owners", "7", "--output", str(path)]
    )
    assert result.exit_code == 0, result.output
    lines = path.read_text().splitlines()
    assert len(lines) == 7 and len(set(lines)) == 7
    with app.app_context():
        devices = db.session.scalars(
            select(UserSession).order_by(UserSession.id.desc()).limit(7)
        ).all()
        assert {d.user_agent for d in devices} == {PHONE_USER_AGENT}
        assert len({d.user_id for d in devices}) == 7
    for line in lines[:3]:
        name, value = line.split("=", 1)
        client = app.test_client()
        client.set_cookie(name, value)
        for page in ("/card", "/me/points"):
            answer = client.get(page, headers={"User-Agent": PHONE_USER_AGENT})
            assert answer.status_code == 200, page
            assert not answer.headers.getlist("Set-Cookie"), page
        # Another browser with the copied cookie is not this phone: Flask-Login's session
        # protection marks the session as not fresh (signing it again).
        other = client.get("/card", headers={"User-Agent": "curl/8"})
        assert other.headers.getlist("Set-Cookie")


def check_grading(app, manifest, sz01_owners: int) -> None:
    """About 30 % of SZ01's owners graded A/B/C by its consultants, with care contacts since:
    the dealer admin's care page shows overdue owners among them."""
    from app.campaigns.grading.care import care_report
    from app.campaigns.grading.models import CareContact, OwnerGrading
    from app.campaigns.grading.services import CONSULTANT_ROLES

    with app.app_context():
        sz01 = scalar(select(Dealer.id).where(Dealer.code == "SZ01"))
        graded = scalar(select(func.count(OwnerGrading.member_id.distinct())))
        assert 0.15 * sz01_owners <= graded <= 0.45 * sz01_owners
        assert set(db.session.scalars(select(OwnerGrading.dealer_id).distinct())) == {sz01}
        assert set(db.session.scalars(select(OwnerGrading.grade).distinct())) == {"A", "B", "C"}
        consultants = db.session.scalars(
            select(User).where(User.id.in_(select(OwnerGrading.consultant_id)))
        ).all()
        assert len(consultants) > 4
        assert all(u.dealer_id == sz01 and u.role in CONSULTANT_ROLES for u in consultants)
        assert scalar(select(func.count(CareContact.id))) > graded
        assert not scalar(
            select(func.count(CareContact.id)).where(CareContact.contacted_on >= local_date())
        )
        # Every ledger entry names the dealer it is settled with: the owner's.
        assert not scalar(select(func.count(PointsEntry.id)).where(PointsEntry.dealer_id.is_(None)))
        admin = db.session.scalar(select(User).where(User.mobile == manifest["staff"]["mobile"]))
        # A reached care call is care too (issue 20), and the care history's callbacks after
        # the owners' frequent visits reach most of them within a month: a month on, with no
        # contact meanwhile, the A owners are overdue, not those of B and C reached lately.
        report = care_report(admin, now=utcnow() + timedelta(days=31))
        assert 0 < report.facts["overdue"] < report.facts["graded"]

    staff = app.test_client()
    login(staff, **manifest["staff"])
    page = staff.get("/admin/campaigns/grading")
    assert page.status_code == 200


def check_campaign(app, tmp_path, manifest) -> None:
    """`flask bench campaign`: a launched campaign of SZ01 with most of its cars 1-5 years old,
    calls and callbacks, and a draft whose live count overlaps it; every page works on them."""
    from app.campaigns.calls.models import Campaign, CampaignTarget
    from app.campaigns.results.models import IncentiveTier

    path = tmp_path / "campaign.json"
    result = app.test_cli_runner().invoke(args=["bench", "campaign", "--output", str(path)])
    assert result.exit_code == 0, result.output
    made = json.loads(path.read_text())
    assert made["targets"] > 0 and made["calls"] > 0 and made["invitations"] > 0
    assert set(made["seconds"]) == {"add_group", "launch"}
    cid = made["campaign_id"]
    with app.app_context():
        campaign = db.session.get(Campaign, cid)
        assert campaign.status == "launched"
        targets = select(func.count()).where(CampaignTarget.campaign_id == cid)
        assert scalar(targets) == made["targets"]
        assert not scalar(targets.where(CampaignTarget.agent_id.is_(None)))
        called = scalar(targets.where(CampaignTarget.outcome.is_not(None)))
        assert 0.5 * made["targets"] <= called <= 0.9 * made["targets"]
        assert scalar(select(func.count()).where(IncentiveTier.campaign_id == cid)) == 3

    staff, hq, agent = (app.test_client() for _ in range(3))
    for client, account in ((staff, manifest["staff"]), (hq, made["hq"]), (agent, made["agent"])):
        login(client, **account)
    draft = f"/admin/campaigns/{made['draft_id']}"
    count = staff.get(f"{draft}/groups/count.json?{made['count_query']}")
    assert count.status_code == 200
    assert count.get_json()["cars"] > 0
    assert count.get_json()["overlap_owners"] > 0
    results = staff.get(f"/admin/campaigns/{cid}/results")
    assert results.status_code == 200
    assert "Autumn maintenance check" in results.get_data(as_text=True)
    assert staff.get(f"/admin/campaigns/{cid}/incentives").status_code == 200
    assert agent.get(f"/admin/campaigns/calls?campaign={cid}").status_code == 200
    assert hq.get("/admin/hq/recruitment").status_code == 200
    assert hq.get(f"/admin/hq/settlement?month={made['last_month']}").status_code == 200


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


def check_care(app, manifest) -> None:
    """The care loop's history (bench/care_seed.py): the satisfaction, recall and return-rate
    reports count it, the complaint and correction lists and a care agent's call list show it;
    the daily job then makes only today's (the history's reminder keys and lost episodes are
    its own), sends the greeting scheduled for now, and a second run makes nothing."""
    from app.campaigns.broadcasts.models import Broadcast
    from app.care.followups.models import ComplaintCase
    from app.care.models import CareReminder, CareTask, ContactCorrection
    from app.core.clock import add_months
    from bench.care_seed import CARE_MONTHS
    from demo.seed import DEMO_PASSWORD, STAFF

    def client_of(role: Role):
        mobile = next(m for m, r, code, _ in STAFF if r == role and code in ("SZ01", None))
        client = app.test_client()
        login(client, mobile, DEMO_PASSWORD)
        return client

    admin, hq, agent = (
        client_of(role) for role in (Role.DEALER_ADMIN, Role.HQ_ADMIN, Role.CARE_AGENT)
    )
    assert manifest["staff"]["mobile"] == next(
        m for m, r, code, _ in STAFF if r == Role.DEALER_ADMIN and code == "SZ01"
    )

    def table(path: str) -> list[list[str]]:
        answer = admin.get(path)
        assert answer.status_code == 200, path
        return list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))[1:]

    def links(client, path: str, pattern: str) -> set[int]:
        answer = client.get(path)
        assert answer.status_code == 200, path
        return {int(n) for n in re.findall(pattern, answer.get_data(as_text=True))}

    # This month, SZ01 (the admin's dealer): questionnaires sent and answered, the advisor
    # rated, complaints opened; lost owners called and reached; cars due a maintenance.
    (dealer,) = table("/admin/insight/satisfaction.csv?table=dealers")
    sent, answered, opened = int(dealer[1]), int(dealer[2]), int(dealer[9])
    assert sent > answered > 0 and opened > 0
    advisors = {row[0]: row for row in table("/admin/insight/satisfaction.csv?table=advisors")}
    assert int(advisors["Zhou Qiang"][3]) > 0 and advisors["Zhou Qiang"][8] != "—"
    (dealer,) = table("/admin/insight/recall.csv?table=dealers")
    lost, phoned, reached = (int(n) for n in dealer[1:4])
    assert lost >= phoned >= reached > 0
    (dealer,) = table("/admin/insight/returns.csv?table=regular")
    assert int(dealer[1]) > 0
    # Since the loop went live: the reasons owners gave on recall and maintenance calls.
    with app.app_context():
        this_month = local_date().replace(day=1)
    months = [add_months(this_month, -k).strftime("%Y-%m") for k in range(CARE_MONTHS + 1)]
    for report in ("recall", "returns"):
        counts = [
            int(row[-1])
            for month in months
            for row in table(f"/admin/insight/{report}.csv?table=reasons&month={month}")
        ]
        assert sum(counts) > 0, report

    with app.app_context():
        sz01 = scalar(select(Dealer.id).where(Dealer.code == "SZ01"))
        closed = db.session.scalars(
            select(ComplaintCase.id)
            .where(ComplaintCase.dealer_id == sz01, ComplaintCase.status == "confirmed")
            .order_by(ComplaintCase.created_at.desc(), ComplaintCase.id.desc())
        ).all()
        open_tasks = set(
            db.session.scalars(
                select(CareTask.id).where(CareTask.dealer_id == sz01, CareTask.status == "open")
            )
        )
        still_open = ContactCorrection.status == "open"
        corrections = set(db.session.scalars(select(ContactCorrection.id).where(still_open)))
    assert closed and open_tasks and corrections
    complaint = r"/admin/care/complaints/(\d+)"
    shown = links(admin, "/admin/care/complaints?view=closed", complaint)
    assert closed[0] in shown and shown <= set(closed)  # newest first
    tasks = links(agent, "/admin/care/tasks", r"/admin/care/tasks/(\d+)")
    assert tasks and tasks <= open_tasks
    assert links(hq, "/admin/care/corrections", r"/admin/care/corrections/(\d+)") == corrections

    def counts():
        with app.app_context():
            recalls = select(func.count(CareTask.id)).where(CareTask.kind == "recall")
            reminders = select(func.count(CareReminder.id))
            # Escalated in their present round (as opened, or since reopened).
            escalated = select(func.count(ComplaintCase.id)).where(
                ComplaintCase.escalated_round == ComplaintCase.reopened_count
            )
            return [scalar(q) for q in (recalls, reminders, escalated)]

    with app.app_context():
        due = select(func.count(CareReminder.id)).where(CareReminder.kind == "maintenance_due")
        seeded_due = scalar(due)
    before = counts()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["care", "run-daily"])
    assert result.exit_code == 0, result.output
    after = counts()
    with app.app_context():
        # Today's, not the history again: a handful of recalls and maintenance reminders.
        assert after[0] - before[0] <= 2
        # The history's escalations stand: only cases whose deadline has just passed go up.
        assert before[2] and after[2] - before[2] <= max(2, before[2] // 50)
        assert scalar(due) - seeded_due <= max(2, seeded_due // 20)
        assert scalar(select(Broadcast.status)) == "sent"
    result = runner.invoke(args=["care", "run-daily"])
    assert result.exit_code == 0, result.output
    assert counts() == after
