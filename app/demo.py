"""Demo data for `flask seed-demo`: two dealers, one staff account per role, 50 owners."""

import random
from datetime import date, timedelta

from app.auth.models import User
from app.auth.services import create_staff, get_user_by_mobile, register_member
from app.core.clock import utcnow
from app.core.identifiers import VIN_ALPHABET, vin_check_digit
from app.core.permissions import Role
from app.extensions import db
from app.members.models import Transmission
from app.members.services import (
    VehicleData,
    active_colours,
    add_vehicle,
    ensure_dealer,
    get_dealer_by_code,
    update_profile,
)

DEMO_PASSWORD = "carclub-demo"
DEALERS = (
    ("SZ01", "Shenzhen Bay Motors", "Shenzhen", "粤B"),
    ("GZ01", "Guangzhou Tianhe Motors", "Guangzhou", "粤A"),
)
# (mobile, role, dealer code, name)
STAFF = (
    ("13800000001", Role.SALES_CONSULTANT, "SZ01", "Chen Jie"),
    ("13800000002", Role.SHOWROOM_MANAGER, "SZ01", "Lin Feng"),
    ("13800000003", Role.CARE_AGENT, "SZ01", "Huang Min"),
    ("13800000004", Role.SERVICE_ADVISOR, "SZ01", "Zhou Qiang"),
    ("13800000005", Role.EVENT_STAFF, "SZ01", "Wu Lei"),
    ("13800000006", Role.DEALER_ADMIN, "SZ01", "Xu Hong"),
    ("13800000011", Role.SALES_CONSULTANT, "GZ01", "He Yu"),
    ("13800000016", Role.DEALER_ADMIN, "GZ01", "Luo Na"),
    ("13800000099", Role.HQ_ADMIN, None, "Zhao Ming"),
    ("13700000001", Role.PARTNER, None, "Sun Car Wash"),
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "秀英",
    "华",
    "平",
    "刚",
)
MODELS = (
    ("Sagitar", Transmission.DUAL_CLUTCH),
    ("Jetta VS5", Transmission.AUTOMATIC),
    ("Magotan", Transmission.DUAL_CLUTCH),
    ("Tiguan L", Transmission.DUAL_CLUTCH),
    ("Lavida", Transmission.MANUAL),
    ("ID.4 CROZZ", Transmission.SINGLE_SPEED),
)
OCCUPATIONS = (
    "teacher",
    "engineer at Huawei",
    "doctor",
    "restaurant owner",
    "civil servant",
    "designer",
    "sales manager",
    "logistics",
)
AREAS = ("Nanshan", "Futian", "Bao'an", "Longgang", "Tianhe", "Yuexiu", "Haizhu", "Panyu")
HOBBIES = ("golf", "fishing", "photography", "hiking", "badminton", "tea", "camping", "cycling")
PLATE_LETTERS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def demo_vin(rng: random.Random) -> str:
    """A random VIN with a correct check digit (FAW-Volkswagen's WMI, LFV)."""
    body = "LFV" + "".join(rng.choice(VIN_ALPHABET) for _ in range(14))
    vin = body[:8] + "0" + body[9:]
    return vin[:8] + vin_check_digit(vin) + vin[9:]


def demo_plate(rng: random.Random, prefix: str, electric: bool) -> str:
    """A valid ordinary plate, or a small new-energy plate for electric cars."""
    if electric:
        return (
            prefix
            + "D"
            + rng.choice(PLATE_LETTERS[:10])
            + "".join(rng.choice("0123456789") for _ in range(4))
        )
    return prefix + "".join(rng.choice(PLATE_LETTERS.replace("Q", "")) for _ in range(5))


def seed_demo(member_count: int = 50) -> dict[str, int]:
    """Create the demo dealers, staff and owners that are missing; safe to rerun."""
    rng = random.Random(2026)  # fixed seed: the same demo data on every machine
    now = utcnow()
    created = {"dealers": 0, "staff": 0, "members": 0, "vehicles": 0}
    dealers = {}
    for code, name, city, plate_prefix in DEALERS:
        created["dealers"] += get_dealer_by_code(code) is None
        dealers[code] = (ensure_dealer(code, name, city), plate_prefix)
    for mobile, role, dealer_code, name in STAFF:
        if get_user_by_mobile(mobile) is None:
            create_staff(
                None,
                mobile=mobile,
                password=DEMO_PASSWORD,
                name=name,
                role=role,
                dealer_code=dealer_code,
                now=now,
            )
            created["staff"] += 1
    colours = active_colours()
    for i in range(member_count):
        mobile = f"139{i + 1:08d}"
        dealer, plate_prefix = dealers["SZ01" if i % 2 == 0 else "GZ01"]
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        cars = [
            (rng.choice(MODELS), rng.choice(colours), rng.randint(30, 2000))
            for _ in range(1 + (i % 7 == 0))
        ]
        profile = (
            rng.choice(OCCUPATIONS),
            rng.choice(AREAS),
            rng.sample(HOBBIES, 2),
            rng.randint(5000, 15000),
        )
        if db.session.query(User.id).filter_by(mobile=mobile).first() is not None:
            continue
        user = register_member(
            mobile=mobile,
            password=DEMO_PASSWORD,
            name=name,
            dealer_id=dealer.id,
            marketing_opt_in=i % 3 == 0,
            now=now,
        )
        occupation, area, hobbies, age_days = profile
        update_profile(
            user.member,
            name=name,
            birthday=date(1970, 1, 1) + timedelta(days=age_days),
            gender=None,
            occupation=occupation,
            home_area=area,
            hobbies=", ".join(hobbies),
            marketing_opt_in=user.member.marketing_opt_in,
            now=now,
        )
        for (model, transmission), colour, days_ago in cars:
            purchased = now.date() - timedelta(days=days_ago)
            add_vehicle(
                user.member,
                VehicleData(
                    vin=demo_vin(rng),
                    plate=demo_plate(rng, plate_prefix, transmission == Transmission.SINGLE_SPEED),
                    model=model,
                    colour_id=colour.id,
                    transmission=transmission,
                    purchased_on=purchased,
                    delivered_on=purchased + timedelta(days=3),
                ),
                now=now,
            )
            created["vehicles"] += 1
        created["members"] += 1
    return created
