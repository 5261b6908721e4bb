"""A hand-built fleet of SZ01 owners and small campaign helpers for the campaign tests."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from app.campaigns.calls import services
from app.campaigns.calls.models import CampaignTarget
from app.extensions import db
from app.loyalty.models import PointsAccount
from tests.factories import make_member, make_staff, make_vehicle, make_visit

# The window of the campaigns under test: a car's age and warranty are taken on its first day.
STARTS, ENDS = date(2026, 12, 1), date(2027, 2, 28)


@dataclass
class Fleet:
    """The owners (by name) and their cars' ids, the dealers and a manager."""

    owners: dict
    cars: dict
    sz: int
    gz: int
    manager: object


def build_fleet(sz: int, gz: int) -> Fleet:
    """Five SZ01 owners and one of GZ01, each with one car:

    ========  ======  ======  ==========  ====  ==========  =========  ======================
    owner     model   plate   delivered   age   warranty    tier       visits (today 23 Nov)
    ========  ======  ======  ==========  ====  ==========  =========  ======================
    Alpha     新君威  粤B     2022-03-01  4     out         gold       2 maintenance + repair
                                                                       (profitable-loyal),
                                                                       last 2026-11-10
    Bravo     GL8     粤A     2025-06-01  1     in          platinum   none
    Charlie   新君越  粤B     2019-01-01  7     out         gold       2026-11-20 refunded;
                                                                       2026-05-01 counted
    Delta     新君威  粤B     2024-01-01  2     out (entered 2026-06-01)  diamond   none
    Echo      陆尊    粤B     2024-06-01  2     in          gold       2026-10-01
    Gz        新君威  粤B     2023-01-01  3     in          gold       (GZ01: never a target)
    ========  ======  ======  ==========  ====  ==========  =========  ======================
    """
    specs = {
        "Alpha": ("新君威", "粤B10001", date(2022, 3, 1), None, "gold", sz),
        "Bravo": ("GL8", "粤A20002", date(2025, 6, 1), None, "platinum", sz),
        "Charlie": ("新君越", "粤B30003", date(2019, 1, 1), None, "gold", sz),
        "Delta": ("新君威", "粤B40004", date(2024, 1, 1), date(2026, 6, 1), "diamond", sz),
        "Echo": ("陆尊", "粤B50005", date(2024, 6, 1), None, "gold", sz),
        "Gz": ("新君威", "粤B60006", date(2023, 1, 1), None, "gold", gz),
    }
    owners, cars = {}, {}
    for name, (model, plate, delivered, warranty, tier, dealer) in specs.items():
        owner = make_member(dealer, name=name)
        owner.marketing_opt_in = True
        car = make_vehicle(
            owner, model=model, plate=plate, purchased_on=delivered, delivered_on=delivered
        )
        car.warranty_until = warranty
        account = db.session.scalars(
            select(PointsAccount).where(PointsAccount.member_id == owner.id)
        ).one()
        account.tier_code = tier
        owners[name], cars[name] = owner, car
    make_visit(owners["Alpha"], date(2026, 3, 1), "maintenance", 80_000)
    make_visit(owners["Alpha"], date(2026, 8, 1), "maintenance", 80_000)
    make_visit(owners["Alpha"], date(2026, 11, 10), "repair", 90_000)
    make_visit(owners["Charlie"], date(2026, 11, 20), "maintenance", 50_000, status="refunded")
    make_visit(owners["Charlie"], date(2026, 5, 1), "maintenance", 50_000)
    make_visit(owners["Echo"], date(2026, 10, 1), "maintenance", 30_000)
    db.session.flush()
    return Fleet(owners, cars, sz, gz, make_staff("showroom_manager", sz))


def campaign_data(**overrides) -> services.CampaignData:
    """A valid campaign of the default window."""
    values = {
        "name": "Summer air-conditioning care",
        "starts_on": STARTS,
        "ends_on": ENDS,
        "offer": "预约礼: a CD; 进店礼: free air-quality check",
        "call_script": "Hello, this is your Buick service centre…",
        "goal_visits": 700,
        "goal_revenue_fen": 730_000_000,
        "goal_success_rate_pct": 18,
        **overrides,
    }
    return services.CampaignData(**values)


def targets_of(campaign_id: int) -> list[CampaignTarget]:
    """The campaign's targets, by id."""
    return list(
        db.session.scalars(
            select(CampaignTarget)
            .where(CampaignTarget.campaign_id == campaign_id)
            .order_by(CampaignTarget.id)
        )
    )
