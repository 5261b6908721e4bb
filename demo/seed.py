"""Demo data for `flask seed-demo`: three dealers (SZ01 and GZ01 in the South with the staff and
the 50 owners, SH01 in the East for HQ's figures), one staff account per role."""

import random
from datetime import date, timedelta

from app.auth.models import User
from app.auth.services import get_user_by_mobile
from app.core.clock import local_date, local_midnight, utcnow
from app.core.identifiers import VIN_ALPHABET, vin_check_digit
from app.core.permissions import Role
from app.extensions import db
from app.members.models import Transmission
from app.members.registration import create_staff, register_member
from app.members.services import (
    VehicleData,
    active_colours,
    add_vehicle,
    ensure_dealer,
    get_dealer_by_code,
    update_profile,
)
from demo.benefits import seed_benefits
from demo.care_texts import seed_care_texts
from demo.followups import seed_followups
from demo.outreach import seed_outreach

# Printed by `flask seed-demo` and in the README: demo accounts only.
DEMO_PASSWORD = "carclub-demo"  # nosec B105
# The demo dealer admins' and HQ admin's authenticator secret (demo data only): add it to an
# authenticator app, or print the current code with `flask totp-code 13800000006`.
DEMO_TOTP_SECRET = "CARCLUBDEMOTOTPSECRETFORDEMOONLY"  # nosec B105
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


def _give_demo_second_factor(user) -> None:
    """Enrol a demo admin's second factor with DEMO_TOTP_SECRET (unless they set up their own)."""
    from app.auth.second_factor import is_required

    if is_required(user) and not user.totp_secret:
        user.totp_secret = DEMO_TOTP_SECRET
        user.totp_last_step = 0


def seed_demo(member_count: int = 50) -> dict[str, int]:
    """Create the demo dealers, staff and owners that are missing; safe to rerun."""
    # A fixed seed: the same demo data on every machine (not used for secrets).
    rng = random.Random(2026)  # nosec B311
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
        _give_demo_second_factor(get_user_by_mobile(mobile))
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
            mobile_verified_at=now,
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
    created["rewards"] = _seed_rewards(dealers["SZ01"][0], now)
    created["events"] = _seed_events(now)
    created["partners"] = _seed_partners(now)
    created["slots"] = _seed_slots(now)
    created["gradings"] = _seed_grading(dealers["SZ01"][0], now)
    # The bench loads its own owners into the demo dealers (seed_demo(0)): nothing of HQ's.
    if member_count:
        created["dealers"] += get_dealer_by_code("SH01") is None
    created["hq"] = _seed_hq(now) if member_count else 0
    created["campaign_targets"] = _seed_campaign(now)
    # Not under the bench's owners: its timed daily job would send them the greeting.
    sz01 = dealers["SZ01"][0]
    created["broadcasts"] = seed_care_texts(sz01, "13800000006", now) if member_count else 0
    created["followups"] = seed_followups(now, SERVICE_ADVISOR_MOBILE, CARE_AGENT_MOBILE)
    created["recall_tasks"] = _seed_recall(now) if member_count else 0
    created["benefit_uses"] = (
        seed_benefits(now, DEMO_OWNER, SERVICE_ADVISOR_MOBILE, "13800000099") if member_count else 0
    )
    created["outreach"] = seed_outreach(now, EVENT_STAFF_MOBILE, DEMO_OWNER) if member_count else 0
    return created


def _seed_recall(now) -> int:
    """The daily job's recall step (issue 20): the demo's owners who accept offers and whose car
    has been unseen for 90 to 360 days get a recall task; SZ01's care agent has called two of
    them (once), so the call list, the reasons and the recall report show something."""
    from sqlalchemy import select

    from app.care.models import CallOutcome, CareTask, LostReason
    from app.care.outcomes import CallReport, Outcome, record_outcome
    from app.care.recall import create_recall_tasks

    made = create_recall_tasks(now=now)
    agent = get_user_by_mobile(CARE_AGENT_MOBILE)
    if agent is None or db.session.scalar(select(CallOutcome.id).limit(1)) is not None:
        return made
    elsewhere = db.session.scalar(select(LostReason.id).where(LostReason.code == "other_workshop"))
    calls = [
        CallReport(
            Outcome.NOT_COMING,
            reason_id=elsewhere,
            workshop_name="车享快修 Quick Fix",
            workshop_location="南山区 Nanshan",
            workshop_price_fen=38_800,
        ),
        CallReport(Outcome.BOOKED, note="Saturday morning"),
    ]
    tasks = db.session.scalars(
        select(CareTask.id)
        .where(
            CareTask.kind == "recall",
            CareTask.dealer_id == agent.dealer_id,
            CareTask.status == "open",
        )
        .order_by(CareTask.id)
        .limit(len(calls))
    ).all()
    for task_id, call in zip(tasks, calls, strict=False):
        record_outcome(agent, task_id, call, now=now)
    return made


MANAGER_MOBILE = "13800000002"
CARE_AGENT_MOBILE = "13800000003"
DEMO_CAMPAIGN = "空调养护 Air-conditioning care"


def _seed_campaign(now) -> int:
    """SZ01's launched campaign (seed 000) with two target groups, every target on the demo care
    agent's call list (once). Returns how many targets it made."""
    from sqlalchemy import select

    from app.campaigns.calls import calling, services
    from app.campaigns.calls.groups import add_group, preview_group
    from app.campaigns.calls.models import Campaign
    from app.campaigns.calls.targeting import TargetFilters

    if db.session.scalar(select(Campaign.id).where(Campaign.name == DEMO_CAMPAIGN)) is not None:
        return 0
    manager, agent = get_user_by_mobile(MANAGER_MOBILE), get_user_by_mobile(CARE_AGENT_MOBILE)
    today = local_date(now)
    campaign = services.create_campaign(
        manager,
        services.CampaignData(
            name=DEMO_CAMPAIGN,
            starts_on=today - timedelta(days=7),
            ends_on=today + timedelta(days=60),
            offer="预约礼: a music CD. 进店礼: free air-quality check of the cabin.",
            call_script=(
                "Hello, this is Huang Min from Shenzhen Bay Motors. This summer we check your "
                "car's air conditioning for free, and a booking brings a small gift…"
            ),
            goal_visits=20,
            goal_revenue_fen=5_000_000,
            goal_success_rate_pct=18,
        ),
        now=now,
    )
    groups = (
        ("低成本 Low-cost 0–3 yr", TargetFilters(age_max=3, plate_prefix="粤B"), 10),
        ("盈利忠诚 Profitable-loyal 4+ yr", TargetFilters(age_min=4, plate_prefix="粤B"), 18),
    )
    for name, filters, goal in groups:
        if preview_group(campaign, filters, now=now).cars:
            add_group(
                manager,
                campaign.id,
                name=name,
                filters=filters,
                goal_success_rate_pct=goal,
                confirm_overlap=True,
                now=now,
            )
    if not campaign.groups:
        return 0
    services.launch_campaign(manager, campaign.id, agent_ids=[agent.id], now=now)
    return calling.call_list_counts(agent, campaign_id=campaign.id, now=now)["all"]


PARTNER_MOBILE = "13700000001"
SERVICE_ADVISOR_MOBILE = "13800000004"


def _seed_partners(now) -> int:
    """Two group-wide partners with perks (once); the demo partner login checks the car wash's."""
    from sqlalchemy import select

    from app.partners.models import Partner
    from app.partners.services import save_partner, save_perk

    if db.session.scalar(select(Partner.id).limit(1)) is not None:
        return 0
    hq = get_user_by_mobile(HQ_ADMIN_MOBILE)
    today = local_date(now)
    wash = save_partner(
        hq,
        None,
        name="Sun Car Wash",
        category="car_care",
        address="Nanshan, Shenzhen",
        logo_url=None,
        active=True,
        dealer_id=None,
        now=now,
    )
    save_perk(
        hq,
        wash,
        None,
        title="Free hand wash",
        description="A hand wash and interior vacuum, once a month.",
        min_tier_code=None,
        valid_from=today,
        valid_until=today + timedelta(days=180),
        limit_per_member=1,
        total_limit=500,
        active=True,
        now=now,
    )
    hotel = save_partner(
        hq,
        None,
        name="Lakeside Hotel Huizhou",
        category="hotel",
        address="Lake Dongjiang, Huizhou",
        logo_url=None,
        active=True,
        dealer_id=None,
        now=now,
    )
    save_perk(
        hq,
        hotel,
        None,
        title="20% off a weekend night",
        description="On the room rate, Friday or Saturday, subject to availability.",
        min_tier_code="platinum",
        valid_from=today,
        valid_until=today + timedelta(days=365),
        limit_per_member=2,
        total_limit=None,
        active=True,
        now=now,
    )
    partner_user = get_user_by_mobile(PARTNER_MOBILE)
    if partner_user is not None:
        partner_user.partner_id = wash.id
    return 2


def _seed_slots(now) -> int:
    """SZ01's maintenance times for the coming week, 09:00-16:00 hourly, 3 cars each."""
    from datetime import time

    from app.service.workshop import add_slots

    advisor = get_user_by_mobile(SERVICE_ADVISOR_MOBILE)
    opened = 0
    for days in range(1, 8):
        result = add_slots(
            advisor,
            day=local_date(now) + timedelta(days=days),
            first=time(9),
            last=time(16),
            every_minutes=60,
            capacity=3,
            now=now,
        )
        opened += len(result.added)
    return opened


EVENT_STAFF_MOBILE = "13800000005"


# Demo covers, drawn rather than downloaded: (sky top, sky bottom, water or floor, hills) RGB.
COVERS = {
    "trip": ((64, 134, 196), (178, 214, 236), (38, 112, 140), (46, 94, 62)),
    "lecture": ((62, 66, 92), (120, 126, 160), (196, 170, 128), (88, 76, 64)),
    "dinner": ((26, 32, 70), (214, 120, 74), (30, 60, 96), (24, 28, 40)),
}


def demo_cover(kind: str):
    """A 1600x800 picture for a demo event (a lake under hills, a lounge, a dusk bay), stored as
    staff uploads are (app/core/images.py: checked, re-encoded, two widths)."""
    import io

    from PIL import Image, ImageDraw

    from app.core.images import store_cover

    top, bottom, low, hills = COVERS[kind]
    width, height = 1600, 800
    picture = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(picture)
    horizon = int(height * 0.62)
    for y in range(horizon):
        t = y / horizon
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    draw.rectangle([0, horizon, width, height], fill=low)
    draw.polygon(
        [
            (0, horizon),
            (260, 330),
            (520, horizon - 40),
            (820, 290),
            (1180, horizon - 20),
            (1420, 360),
            (width, horizon),
        ],
        fill=hills,
    )
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    out.seek(0)
    return store_cover(out)


def _seed_events(now) -> int:
    """SZ01's coming trip (a 10-car drive like seed 002), a lecture and a paid dinner (once),
    each with a drawn cover."""
    from sqlalchemy import select

    from app.events.models import Event, EventKind
    from app.events.services import create_event, sign_up

    if db.session.scalar(select(Event.id).limit(1)) is not None:
        return 0
    organiser = get_user_by_mobile(EVENT_STAFF_MOBILE)
    day = local_midnight(local_date(now) + timedelta(days=12))
    trip = create_event(
        organiser,
        kind=EventKind.TRIP,
        title="Lake Dongjiang self-drive",
        description=(
            "Two days by the lake: a convoy from the showroom, a barbecue, a night by the water.\n"
            "Driver plus up to two family members per car. Safety check before departure."
        ),
        place="Huizhou, Lake Dongjiang",
        starts_at=day + timedelta(hours=8),
        ends_at=day + timedelta(days=1, hours=18),
        registration_opens_at=now - timedelta(days=2),
        registration_closes_at=day - timedelta(days=2),
        capacity=10,
        max_companions=2,
        attendance_points=300,
        waiver_text=(
            "I take part at my own risk, drive my own car within the law, follow the lead car "
            "and the organisers' instructions, and have valid insurance."
        ),
        cover=demo_cover("trip"),
        now=now,
    )
    create_event(
        organiser,
        kind=EventKind.LECTURE,
        title="Owner lecture: winter care for your car",
        description="Tyres, battery and heating before the cold months. Bring your questions.",
        place="SZ01 showroom, 2F lounge",
        starts_at=day - timedelta(days=5) + timedelta(hours=6),
        ends_at=day - timedelta(days=5) + timedelta(hours=8),
        registration_opens_at=now - timedelta(days=1),
        registration_closes_at=day - timedelta(days=5),
        capacity=40,
        max_companions=1,
        attendance_points=100,
        deposit_points=50,
        cover=demo_cover("lecture"),
        now=now,
    )
    create_event(
        organiser,
        kind=EventKind.OTHER,
        title="Members' new-year dinner",
        description="A dinner with the club at the lakeside restaurant.",
        place="Shenzhen Bay",
        starts_at=day + timedelta(days=20, hours=11),
        ends_at=day + timedelta(days=20, hours=14),
        registration_opens_at=now - timedelta(days=1),
        registration_closes_at=day + timedelta(days=18),
        capacity=60,
        max_companions=1,
        price_fen=19_900,
        cover=demo_cover("dinner"),
        now=now,
    )
    owner = get_user_by_mobile(DEMO_OWNER)
    if owner is not None and owner.member is not None and owner.member.vehicles:
        member = owner.member
        sign_up(
            member,
            trip.id,
            companions=1,
            vehicle_id=member.vehicles[0].id,
            accept_waiver=True,
            now=now,
        )
    return 3


# (name, kind, cost in points, stock, minimum tier, validity days, dealer code or None)
REWARDS = (
    ("Car wash voucher", "gift", 800, 200, None, 90, None),
    ("Labour-hour voucher ¥100", "labour_voucher", 5000, 100, "platinum", 180, None),
    ("Maintenance package", "maintenance_package", 20000, 20, None, 365, "SZ01"),
)
DEMO_OWNER = "13900000001"
HQ_ADMIN_MOBILE = "13800000099"
DEMO_WELCOME_POINTS = 12000


def _seed_rewards(sz01, now) -> int:
    """A small catalog (once), and points for the demo owner so a reward can be redeemed."""
    from sqlalchemy import select

    from app.loyalty.ledger import post_points
    from app.loyalty.models import EntryKind
    from app.loyalty.services import account_for
    from app.rewards.models import Reward
    from app.rewards.services import save_reward

    made = 0
    # The referral programme's own vouchers exist from the migrations: look for the catalog's.
    if db.session.scalar(select(Reward.id).where(Reward.name == REWARDS[0][0])) is None:
        hq = get_user_by_mobile(HQ_ADMIN_MOBILE)
        for name, kind, cost, stock, tier, days, dealer_code in REWARDS:
            save_reward(
                hq,
                None,
                name=name,
                description="",
                kind=kind,
                cost_points=cost,
                stock=stock,
                min_tier_code=tier,
                validity_days=days,
                image_url=None,
                active=True,
                dealer_id=sz01.id if dealer_code else None,
                now=now,
            )
            made += 1
    owner = get_user_by_mobile(DEMO_OWNER)
    if owner is not None and owner.member is not None:
        post_points(
            account_for(owner.member).id,
            DEMO_WELCOME_POINTS,
            kind=EntryKind.EARN,
            source="service_visit",
            key=f"demo:welcome:{DEMO_OWNER}",
            reference="Demo",
            qualifying=True,
            now=now,
        )
    return made


# (grade, days ago graded, days ago last reached contact or None): some owners overdue.
DEMO_GRADES = (
    ("A", 45, None),
    ("A", 60, 10),
    ("B", 75, None),
    ("B", 90, 20),
    ("C", 120, None),
    ("C", 30, None),
    ("A", 20, None),
    ("B", 100, 70),
)


def _seed_grading(sz01, now) -> int:
    """SZ01's care standards and a few graded owners with contacts (once), so the ABC owner
    care page shows overdue owners for the demo consultant and manager."""
    from sqlalchemy import select

    from app.campaigns.grading.models import OwnerGrading
    from app.campaigns.grading.services import grade_owner, log_contact, update_standards
    from app.members.models import Member, Vehicle

    if db.session.scalar(select(OwnerGrading.id).limit(1)) is not None:
        return 0
    consultant = get_user_by_mobile("13800000001")
    manager = get_user_by_mobile("13800000002")
    admin = get_user_by_mobile("13800000006")
    update_standards(
        admin,
        sz01.id,
        standards={
            "A": (30, "Monthly call; birthday visit; first invitation to every event."),
            "B": (60, "Call every two months; birthday greeting; event invitations."),
            "C": (90, "Quarterly call; holiday greetings."),
        },
        now=now,
    )
    owners = db.session.scalars(
        select(Member)
        .where(Member.dealer_id == sz01.id, Member.id.in_(select(Vehicle.member_id)))
        .order_by(Member.id)
        .limit(len(DEMO_GRADES))
    ).all()
    for i, (owner, (grade, graded, contacted)) in enumerate(zip(owners, DEMO_GRADES, strict=False)):
        who = consultant if i % 3 else manager
        grade_owner(who, owner.id, grade=grade, reason="Demo", now=now - timedelta(days=graded))
        if contacted is not None:
            log_contact(
                who,
                owner.id,
                reached=True,
                note="Demo call",
                now=now - timedelta(days=contacted),
            )
    return len(owners)


# HQ operations: regions, owners enrolled at delivery who have not joined yet (some invitations
# lapsed), a third dealer in the East, and points moving at both dealers this month and last.
REGIONS = {"SZ01": "华南", "GZ01": "华南", "SH01": "华东"}
# (mobile, dealer code, days since delivery, joined: owners invited at delivery join or not);
# mobiles in the demo's range, which `flask bench seed` accepts.
DELIVERED_OWNERS = (
    ("13900090001", "SZ01", 5, False),
    ("13900090002", "SZ01", 20, False),
    ("13900090003", "SZ01", 75, False),
    ("13900090004", "SZ01", 140, False),
    ("13900090005", "GZ01", 10, False),
    ("13900090006", "GZ01", 100, False),
    ("13900090007", "SH01", 3, False),
    ("13900090008", "SH01", 15, False),
    ("13900090009", "SH01", 45, False),
    ("13900090010", "SH01", 200, False),
    ("13900090011", "SH01", 60, True),
    ("13900090012", "SH01", 150, True),
    ("13900090013", "SH01", 250, True),
)


def _seed_hq(now) -> int:
    """Regions, delivered owners (members, applying, lapsed) and a month of points to settle."""
    # A fixed seed: the same demo data on every machine (not used for secrets).
    rng = random.Random(2027)  # nosec B311
    ensure_dealer("SH01", "Shanghai Pudong Motors", "Shanghai")
    for code, region in REGIONS.items():
        dealer = get_dealer_by_code(code)
        dealer.region = dealer.region or region
    _backdate_members()
    made = 0
    colours = active_colours()
    for mobile, code, days, joined in DELIVERED_OWNERS:
        if get_user_by_mobile(mobile) is not None:
            continue
        delivered = local_date(now) - timedelta(days=days)
        at = local_midnight(delivered) + timedelta(hours=10)
        user = register_member(
            mobile=mobile,
            password=DEMO_PASSWORD if joined else None,
            name=rng.choice(SURNAMES) + rng.choice(GIVEN),
            dealer_id=get_dealer_by_code(code).id,
            mobile_verified_at=at if joined else None,
            now=at,
        )
        model, transmission = rng.choice(MODELS)
        prefix = {"SZ01": "粤B", "GZ01": "粤A", "SH01": "沪A"}[code]
        add_vehicle(
            user.member,
            VehicleData(
                vin=demo_vin(rng),
                plate=demo_plate(rng, prefix, transmission == Transmission.SINGLE_SPEED),
                model=model,
                colour_id=rng.choice(colours).id,
                transmission=transmission,
                purchased_on=delivered,
                delivered_on=delivered,
            ),
            now=at,
        )
        made += 1
    _seed_settlement(now)
    return made


def _backdate_members() -> None:
    """Demo owners registered with a password joined on their first car's delivery day, not
    on the day the demo was loaded (so the recruitment trend has a history)."""
    from sqlalchemy import func, select

    from app.members.models import Member, Vehicle

    first_delivery = (
        select(Vehicle.member_id, func.min(Vehicle.delivered_on).label("day"))
        .group_by(Vehicle.member_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Member, first_delivery.c.day).join(
            first_delivery, first_delivery.c.member_id == Member.id
        )
    ).all()
    for member, day in rows:
        joined = local_midnight(day) + timedelta(hours=10)
        if member.joined_at is not None and member.joined_at == member.created_at > joined:
            member.created_at = member.joined_at = joined
    db.session.flush()


def _seed_settlement(now) -> None:
    """Service visits at SZ01 and GZ01 last month and this month (one refunded), goodwill, and
    vouchers redeemed (one cancelled): once."""
    from sqlalchemy import select

    from app.loyalty.adjustments import request_adjustment
    from app.members.models import Member
    from app.rewards.models import Reward
    from app.rewards.services import cancel_voucher, redeem_reward
    from app.service.models import ServiceVisit
    from app.service.services import record_visit, refund_visit

    if db.session.scalar(
        select(ServiceVisit.id).where(ServiceVisit.ro_number.like("DEMO-HQ-%")).limit(1)
    ):
        return
    today = local_date(now)
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=12)
    this_month = today.replace(day=1)
    owners = {}
    for code in ("SZ01", "GZ01"):
        dealer = get_dealer_by_code(code)
        owners[code] = [
            m
            for m in db.session.scalars(
                select(Member)
                .where(Member.dealer_id == dealer.id, Member.joined_at.is_not(None))
                .order_by(Member.id)
            )
            if m.vehicles and m.vehicles[0].purchased_on < last_month
        ][:3]
        for k, member in enumerate(owners[code]):
            for n, day in enumerate((last_month, this_month)):
                record_visit(
                    None,
                    dealer_id=dealer.id,
                    ro_number=f"DEMO-HQ-{code}-{k}{n}",
                    vin=member.vehicles[0].vin,
                    visited_on=day,
                    mileage_km=10_000 + 5_000 * k + 2_500 * n,
                    amount_fen=(1_800 + 700 * k + 400 * n) * 100,
                    category="maintenance" if k != 1 else "repair",
                    now=now if n else local_midnight(day) + timedelta(hours=14),
                )
    sz = get_dealer_by_code("SZ01")
    refund_visit(None, dealer_id=sz.id, ro_number="DEMO-HQ-SZ01-11", now=now)
    advisor = get_user_by_mobile(SERVICE_ADVISOR_MOBILE)
    if owners["SZ01"]:
        request_adjustment(
            advisor, owners["SZ01"][0], points=300, reason="Demo: apology for a late car", now=now
        )
    wash = db.session.scalar(select(Reward).where(Reward.name == REWARDS[0][0]))
    if wash is None:
        return
    demo_owner = get_user_by_mobile(DEMO_OWNER).member
    redeem_reward(demo_owner, wash.id, now=now)
    cancel_voucher(demo_owner, redeem_reward(demo_owner, wash.id, now=now).id, now=now)
    for member in owners["GZ01"][:2]:
        redeem_reward(member, wash.id, now=now)
