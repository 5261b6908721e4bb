"""Small factories: each states only what a test cares about, and flushes (never commits)."""

import itertools
from datetime import date

from app.auth.second_factor import is_required
from app.core.clock import utcnow
from app.core.identifiers import VIN_ALPHABET, vin_check_digit
from app.core.permissions import Role
from app.extensions import db
from app.members.models import CarModel, Colour, Dealer, Member, Transmission
from app.members.registration import create_staff, register_member
from app.members.services import VehicleData, add_vehicle, ensure_dealer
from tests.conftest import PASSWORD, TOTP_SECRET

_seq = itertools.count(1)


def next_mobile(prefix: str = "139") -> str:
    """A fresh mainland mobile number."""
    return f"{prefix}{next(_seq):08d}"


def valid_vin(n: int | None = None) -> str:
    """A distinct VIN with a correct check digit."""
    n = next(_seq) if n is None else n
    serial = ""
    for _ in range(6):
        n, r = divmod(n, len(VIN_ALPHABET))
        serial = VIN_ALPHABET[r] + serial
    vin = "LFV2A21K" + "0" + "A3" + serial
    return vin[:8] + vin_check_digit(vin) + vin[9:]


def make_dealer(code: str = "SZ01") -> Dealer:
    """A dealer with ``code``."""
    return ensure_dealer(code, f"Dealer {code}", "Shenzhen")


def make_member(dealer_id: int, *, name: str = "Li Na", mobile: str | None = None) -> Member:
    """A registered owner (with card and points account) of ``dealer_id``."""
    user = register_member(
        mobile=mobile or next_mobile(),
        password=PASSWORD,
        name=name,
        dealer_id=dealer_id,
        mobile_verified_at=utcnow(),
    )
    return user.member


def make_staff(role: str, dealer_id: int | None):
    """A staff (or partner) account; dealer admins and HQ admins have enrolled TOTP_SECRET."""
    code = db.session.get(Dealer, dealer_id).code if dealer_id else None
    user = create_staff(
        None,
        mobile=next_mobile("138"),
        password=PASSWORD,
        name=f"Staff {role}",
        role=Role(role),
        dealer_code=code,
    )
    if is_required(user):
        user.totp_secret, user.totp_last_step = TOTP_SECRET, 0
    return user


def colour(code: str) -> Colour:
    """A colour of the managed list (installed by the initial migration)."""
    return db.session.query(Colour).filter_by(code=code).one()


def car_model(name: str) -> CarModel:
    """A model of the managed list (0017 installs the models the callback knew)."""
    return db.session.query(CarModel).filter_by(name=name).one()


def make_vehicle(member: Member, **overrides):
    """A car of ``member``; plate and VIN are unique unless given."""
    n = next(_seq)
    data = {
        "vin": valid_vin(n),
        "plate": f"粤B{n % 100000:05d}",
        "model": "Sagitar",
        "colour_id": colour("white").id,
        "transmission": Transmission.DUAL_CLUTCH,
        "purchased_on": date(2024, 5, 1),
        "delivered_on": date(2024, 5, 3),
        **overrides,
    }
    return add_vehicle(member, VehicleData(**data))


def make_reward(dealer_id: int | None = None, **overrides):
    """A reward of the catalog (group-wide unless ``dealer_id``): 1,000 points, 10 in stock."""
    from app.core.clock import utcnow
    from app.rewards.models import Reward, RewardKind

    data = {
        "name": f"Reward {next(_seq)}",
        "description": "",
        "kind": RewardKind.GIFT,
        "cost_points": 1000,
        "stock": 10,
        "min_tier_code": None,
        "validity_days": 30,
        "image_url": None,
        "active": True,
        "created_at": utcnow(),
        **overrides,
    }
    reward = Reward(dealer_id=dealer_id, **data)
    db.session.add(reward)
    db.session.flush()
    return reward


def give_points(member: Member, points: int, *, qualifying: bool = False):
    """Credit ``points`` to the member's account (a service visit)."""
    from app.loyalty.ledger import post_points
    from app.loyalty.models import EntryKind
    from app.loyalty.services import account_for

    return post_points(
        account_for(member).id,
        points,
        kind=EntryKind.EARN,
        source="service_visit",
        qualifying=qualifying,
    )


def staff_made_rewards():
    """A query of the rewards staff created (not the referral programme's own vouchers)."""
    from sqlalchemy import select, union

    from app.referrals.models import ReferralTerms
    from app.rewards.models import Reward

    columns = (
        ReferralTerms.referrer_reward_id,
        ReferralTerms.friend_reward_id,
        ReferralTerms.bonus_reward_id,
    )
    # NOT IN a list holding NULL matches nothing: the terms' empty voucher slots are left out.
    programme = union(*(select(c).where(c.is_not(None)) for c in columns))
    return select(Reward).where(Reward.id.not_in(programme))


def count_staff_made_rewards() -> int:
    """How many rewards staff created."""
    from sqlalchemy import func, select

    return db.session.scalar(select(func.count()).select_from(staff_made_rewards().subquery()))


def make_event(staff, *, now, kind=None, **overrides):
    """An event of ``staff``'s dealer open for registration at ``now``: by default a 10-car
    self-drive trip in 10 days with up to 2 companions and a waiver."""
    from datetime import timedelta

    from app.events.models import EventKind
    from app.events.services import create_event

    kind = kind or EventKind.TRIP
    fields = {
        "title": "Lake Dongjiang self-drive",
        "place": "Huizhou",
        "starts_at": now + timedelta(days=10),
        "ends_at": now + timedelta(days=11),
        "registration_opens_at": now - timedelta(days=1),
        "registration_closes_at": now + timedelta(days=8),
        "capacity": 10,
        "max_companions": 2,
        "waiver_text": "I drive at my own risk." if kind == EventKind.TRIP else "",
        **overrides,
    }
    return create_event(staff, kind=kind, now=now, **fields)


def make_visit(member: Member, visited_on: date, category: str, amount_fen: int, **overrides):
    """A service visit of ``member``'s first car at their dealer, as recorded (no points)."""
    from app.core.clock import utcnow
    from app.service.models import ServiceCategory, ServiceVisit

    car = member.vehicles[0] if member.vehicles else make_vehicle(member)
    data = {
        "dealer_id": member.dealer_id,
        "ro_number": f"RO-{next(_seq)}",
        "vehicle_id": car.id,
        "member_id": member.id,
        "visited_on": visited_on,
        "mileage_km": 1000,
        "amount_fen": amount_fen,
        "category": ServiceCategory(category),
        "source": "staff",
        "created_at": utcnow(),
        **overrides,
    }
    visit = ServiceVisit(**data)
    db.session.add(visit)
    db.session.flush()
    return visit


def record_car_visit(
    car, ro: str, visited_on: date, *, mileage_km=4000, amount_fen=80_000, category="maintenance"
):
    """A repair order of ``car`` at its owner's dealer, recorded through the service (points
    earned as the rules say)."""
    from app.service.services import record_visit

    return record_visit(
        None,
        dealer_id=car.member.dealer_id,
        ro_number=ro,
        vin=car.vin,
        visited_on=visited_on,
        mileage_km=mileage_km,
        amount_fen=amount_fen,
        category=category,
    )


def announce_earning_rules(hq, effective_from: date, note: str, **changes):
    """HQ announces earning rules for ``effective_from``: today's, with ``changes``."""
    from app.loyalty import rules

    current = rules.rules_in_force_today()
    figures = {
        name: getattr(current, name)
        for name in (
            "maintenance_rate",
            "repair_rate",
            "accident_rate",
            "other_rate",
            "anniversary_multiplier_pct",
            "points_worth_one_yuan",
        )
    }
    return rules.schedule_rules(
        hq, effective_from=effective_from, note=note, **{**figures, **changes}
    )


def announce_referral_terms(hq, effective_from: date, note: str, *, referrer_points: int):
    """HQ announces referral terms for ``effective_from``: today's, with ``referrer_points``
    and no bonus voucher."""
    from app.referrals import terms

    current = terms.terms_today()
    values = terms.TermsValues(
        effective_from=effective_from,
        referrer_points=referrer_points,
        friend_points=current.friend_points,
        yearly_cap=current.yearly_cap,
        referrer_reward_id=current.referrer_reward_id,
        friend_reward_id=current.friend_reward_id,
        bonus_reward_id=None,
        bonus_min_tier=None,
        note=note,
    )
    return terms.schedule_terms(hq, values)
