"""The permission matrix: a route and what it answers, who visits it, and the desk (one seeded
app whose rows the routes' paths name). Staff routes are in tests/admin/test_views.py, every
other route in tests/test_authorisation.py."""

import shutil
from dataclasses import dataclass, field
from datetime import date, time, timedelta

import pytest

from app.cards.services import active_card
from app.core.clock import utcnow
from app.events.models import EventKind, EventRegistration, RegistrationStatus
from app.events.services import create_event, sign_up
from app.extensions import db
from app.loyalty.adjustments import request_adjustment
from app.members import services as members
from app.members.delivery import DeliveryCustomer, DeliveryVehicle, record_delivery
from app.partners.claims import claim_perk
from app.partners.models import Partner
from app.payments.services import start_checkout
from app.referrals import services as referrals
from app.referrals import verification
from app.rewards.services import redeem_reward
from app.service.appointments import book_appointment
from app.service.services import record_visit
from app.service.workshop import add_slots
from tests.api.conftest import make_key
from tests.conftest import login, make_app
from tests.factories import (
    car_model,
    colour,
    give_points,
    make_dealer,
    make_event,
    make_member,
    make_reward,
    make_staff,
    make_vehicle,
    valid_vin,
)
from tests.partners.helpers import make_partner_user

# Every role of SZ01's staff (HQ belongs to no dealer).
STAFF = (
    "sales_consultant",
    "showroom_manager",
    "care_agent",
    "service_advisor",
    "event_staff",
    "dealer_admin",
    "hq_admin",
)
# The desk's rows belong to SZ01 and its owner Zhang Wei ("member"); "gz_member" and
# "gz_dealer_admin" are an owner and the admin of the other dealer, GZ01; "partner" works for
# SZ01's partner car spa.
PRINCIPALS = ("anonymous", "member", "gz_member", "partner", *STAFF, "gz_dealer_admin")

# Who holds each permission: the spec the views must follow (app/core/permissions.py).
EVERY_STAFF = frozenset(STAFF)
HOLDERS = {
    "members.view": EVERY_STAFF,
    "cards.scan": EVERY_STAFF,
    "members.reveal_mobile": EVERY_STAFF - {"event_staff"},
    "members.name_checks": frozenset(
        {"sales_consultant", "showroom_manager", "dealer_admin", "hq_admin"}
    ),
    "audit.view": frozenset({"dealer_admin", "hq_admin"}),
    "tiers.edit": frozenset({"hq_admin"}),
    "colours.manage": frozenset({"hq_admin"}),
    "models.manage": frozenset({"hq_admin"}),
    "transfers.decide": frozenset({"showroom_manager", "dealer_admin", "hq_admin"}),
    "rewards.manage": frozenset({"dealer_admin", "hq_admin"}),
    "vouchers.redeem": frozenset(
        {"sales_consultant", "showroom_manager", "service_advisor", "dealer_admin", "hq_admin"}
    ),
    "visits.record": frozenset({"service_advisor", "dealer_admin"}),
    "points.adjust": frozenset(
        {"service_advisor", "care_agent", "showroom_manager", "dealer_admin"}
    ),
    "points.approve": frozenset({"dealer_admin", "hq_admin"}),
    "rules.edit": frozenset({"hq_admin"}),
    "referrals.view": frozenset(
        {"sales_consultant", "showroom_manager", "care_agent", "dealer_admin", "hq_admin"}
    ),
    "referrals.register": frozenset({"sales_consultant", "showroom_manager", "dealer_admin"}),
    "prospects.record": frozenset({"sales_consultant", "showroom_manager", "dealer_admin"}),
    "deliveries.record": frozenset({"sales_consultant", "showroom_manager", "dealer_admin"}),
    "referrals.licence": frozenset({"showroom_manager", "dealer_admin"}),
    "referrals.callback": frozenset({"care_agent", "dealer_admin"}),
    "referrals.decide": frozenset({"showroom_manager", "dealer_admin"}),
    "referrals.funnel": frozenset({"dealer_admin", "hq_admin"}),
    "events.manage": frozenset({"event_staff", "dealer_admin", "hq_admin"}),
    "events.checkin": frozenset({"event_staff", "dealer_admin", "hq_admin"}),
    "events.answer": frozenset({"event_staff", "service_advisor", "dealer_admin", "hq_admin"}),
    "partners.manage": frozenset({"dealer_admin", "hq_admin"}),
    "care.tasks": frozenset({"care_agent", "dealer_admin"}),
    "care.own_tasks": EVERY_STAFF - {"hq_admin"},
    "care.texts": frozenset({"care_agent", "dealer_admin", "hq_admin"}),
    "care.texts_edit": frozenset({"dealer_admin", "hq_admin"}),
    "care.complaints": frozenset(
        {"care_agent", "service_advisor", "showroom_manager", "dealer_admin", "hq_admin"}
    ),
    "care.reasons": frozenset({"dealer_admin", "hq_admin"}),
    "care.contacts": frozenset({"care_agent", "dealer_admin", "hq_admin"}),
    "appointments.manage": frozenset({"service_advisor", "dealer_admin"}),
    "appointments.book_for_owner": frozenset({"service_advisor", "care_agent", "dealer_admin"}),
    "insight.view": frozenset({"showroom_manager", "dealer_admin", "hq_admin"}),
    "campaigns.segments": frozenset({"showroom_manager", "dealer_admin", "hq_admin"}),
    "campaigns.thresholds": frozenset({"hq_admin"}),
    "campaigns.grading": frozenset(
        {"sales_consultant", "showroom_manager", "care_agent", "dealer_admin", "hq_admin"}
    ),
    "campaigns.grading_standards": frozenset({"showroom_manager", "dealer_admin", "hq_admin"}),
    "hq.recruitment": frozenset({"dealer_admin", "hq_admin"}),
    "hq.settlement": frozenset({"dealer_admin", "hq_admin"}),
    "hq.regions": frozenset({"hq_admin"}),
    "campaigns.manage": frozenset({"showroom_manager", "dealer_admin", "hq_admin"}),
    "campaigns.call": frozenset({"care_agent", "showroom_manager", "dealer_admin"}),
    "campaigns.results": frozenset({"showroom_manager", "dealer_admin", "hq_admin"}),
    "campaigns.incentives": frozenset({"showroom_manager", "dealer_admin", "hq_admin"}),
    "campaigns.broadcasts": frozenset({"dealer_admin", "hq_admin"}),
    "referrals.terms": frozenset({"hq_admin"}),
    "referrals.staff_register": frozenset({"dealer_admin", "hq_admin"}),
    # The referral's front door (issue 21): the duty manager; disputes above the showroom.
    "referrals.showroom_reports": frozenset({"showroom_manager", "dealer_admin"}),
    "referrals.disputes": frozenset({"dealer_admin", "hq_admin"}),
    "benefits.manage": frozenset({"hq_admin"}),
    "benefits.record": frozenset(
        {"sales_consultant", "showroom_manager", "care_agent", "service_advisor", "dealer_admin"}
    ),
    "benefits.void": frozenset({"dealer_admin"}),
}

# Written on the desk's rows of SZ01 and its owner; never shown to GZ01's people, nor the
# other way round.
SZ01_ONLY = ("Zhang Wei", "Desk trip", "Desk car spa", "Liu Yang")
GZ01_ONLY = ("Zhou Min",)


def assert_nothing_of_the_others(desk, principal: str, body: str) -> None:
    """Owners see only their own rows and a dealer's people only their dealer's (HQ sees every
    dealer's). The owner's full mobile number is for the owner and the staff of their dealer
    who phone them (organisers, care agents; staff lists mask it): nobody else sees it."""
    if principal.startswith("gz_"):
        leaked = [text for text in SZ01_ONLY if text in body]
    elif principal not in ("anonymous", "hq_admin"):
        leaked = [text for text in GZ01_ONLY if text in body]
    else:
        leaked = []
    if principal != "member" and principal not in STAFF and desk.mobiles["member"] in body:
        leaked.append(desk.mobiles["member"])
    assert leaked == [], f"{principal} sees {leaked}"


@dataclass(frozen=True)
class Route:
    method: str
    rule: str  # as in app.url_map
    path: str  # with {placeholders} for real ids
    permission: str  # a permission, or who a page is for (tests/test_authorisation.py)
    ok: int  # status for a holder of the permission (an empty POST re-shows its form)
    data: dict | None = None  # what a POST sends besides the CSRF token
    # The status the other dealer's principal gets when it differs from ``ok``: 404 for a row
    # of SZ01 that GZ01 may not know of.
    other_dealer: int | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Desk:
    """The seeded app, the ids the routes' paths name, and a logged-in client per principal."""

    app: object
    ids: dict
    mobiles: dict
    keys: dict  # API keys of SZ01 and GZ01
    _clients: dict = field(default_factory=dict)

    def client(self, principal: str):
        """A client of ``principal``, logged in once and kept (anonymous: a new one)."""
        if principal == "anonymous":
            return self.app.test_client()
        if principal not in self._clients:
            self._clients[principal] = self.app.test_client()
            login(self._clients[principal], self.mobiles[principal])
        return self._clients[principal]

    def open(self, principal: str, path: str, method: str, data: dict | None = None):
        """One request of ``principal``. A redirect's flashed message is dropped, not shown on
        the page of the next case (the full mobile a reveal flashes, say)."""
        client = self.client(principal)
        response = client.open(path, method=method, data=data)
        if response.status_code in (301, 302, 303) and principal in self._clients:
            with client.session_transaction() as session:
                session.pop("_flashes", None)
        return response

    def forget(self, principal: str) -> None:
        """Drop the client after a request that logged it out."""
        self._clients.pop(principal, None)

    def close(self) -> None:
        with self.app.app_context():
            db.engine.dispose()


def build_desk(template_db, directory) -> Desk:
    """Seed a copy of the template database: SZ01's owner with a car, visits, vouchers,
    tickets, perks, referrals, appointments and a transfer; waiting adjustments, transfers and
    referrals for staff; GZ01 with an owner and an admin; API keys of both dealers."""
    from tests.admin.care_routes import desk_care, desk_principals
    from tests.admin.event_routes import desk_events

    path = directory / "carclub.sqlite"
    shutil.copy(template_db, path)
    app = make_app(f"sqlite:///{path}", LOGIN_RATE_LIMIT="1000 per minute", DEMO_CHECKOUT=True)
    mobiles = {}
    with app.app_context(), app.test_request_context():
        sz, gz = make_dealer("SZ01"), make_dealer("GZ01")
        owner = make_member(sz.id, name="Zhang Wei")
        make_vehicle(owner)
        to_approve = members.request_transfer(
            make_member(sz.id, name="Wang Fang"), to_dealer_id=gz.id, reason=""
        )
        to_reject = members.request_transfer(
            make_member(sz.id, name="Chen Jie"), to_dealer_id=gz.id, reason=""
        )
        car = owner.vehicles[0]
        visit = record_visit(
            None,
            dealer_id=sz.id,
            ro_number="RO-M1",
            vin=car.vin,
            visited_on=date(2026, 11, 20),
            mileage_km=100,
            amount_fen=10_000,
            category="maintenance",
        ).visit
        requester = make_staff("service_advisor", sz.id)
        adjustment = request_adjustment(requester, owner, points=900, reason="pending for approval")
        referral, in_callback = _desk_referrals(sz, owner)
        event_ids = desk_events(sz, owner)
        care_ids = desk_care(sz, owner)
        ids = {
            "referral_id": referral.id,
            "callback_id": in_callback.id,
            "question_id": in_callback.questions[0].id,
            "visit_id": visit.id,
            "adjustment_id": adjustment.id,
            "member_id": owner.id,
            "colour_id": colour("white").id,
            "car_model_id": car_model("Golf").id,
            "approve_id": to_approve.id,
            "reject_id": to_reject.id,
            "reward_id": make_reward(sz.id).id,
            **event_ids,
            **care_ids,
        }
        ids |= _owners_things(sz, gz, owner, ids)
        mobiles["member"] = owner.user.mobile
        mobiles["gz_member"] = make_member(gz.id, name="Zhou Min").user.mobile
        mobiles["partner"] = _partner_user(ids["partner_id"]).mobile
        for role in STAFF:
            mobiles[role] = make_staff(role, None if role == "hq_admin" else sz.id).mobile
        mobiles["gz_dealer_admin"] = make_staff("dealer_admin", gz.id).mobile
        desk_principals(ids, mobiles)
        db.session.commit()
    keys = {"SZ01": make_key(app, "SZ01"), "GZ01": make_key(app, "GZ01")}
    return Desk(app=app, ids=ids, mobiles=mobiles, keys=keys)


def _partner_user(partner_id: int):

    return make_partner_user(db.session.get(Partner, partner_id))


def _desk_referrals(dealer, owner):
    """A referral just registered by ``owner`` and another one with its callback under way
    (its friend enrolled at delivery)."""

    registered = referrals.register_referral(
        owner.user, owner, friend_name="Liu Yang", friend_mobile="13611112222"
    )
    referrer = make_member(dealer.id, name="Zhao Lei")
    car = make_vehicle(referrer)
    in_callback = referrals.register_referral(
        referrer.user, referrer, friend_name="Sun Mei", friend_mobile="13611113333"
    )
    record_delivery(
        dealer_id=dealer.id,
        delivered_on=date(2026, 11, 20),
        sales_consultant="Staff",
        customer=DeliveryCustomer(name="Sun Mei", mobile="13611113333", employer="Huawei"),
        vehicle=DeliveryVehicle(vin=valid_vin(), model="Golf", colour="red", transmission="manual"),
    )
    manager = make_staff("showroom_manager", dealer.id)
    facts = referrals.LicenceFacts(car.plate, car.vin, car.model, car.colour_id)
    referrals.check_licence(manager, in_callback.id, facts)
    verification.start_callback(make_staff("care_agent", dealer.id), in_callback.id)
    return registered, in_callback


def _owners_things(sz, gz, owner, ids: dict) -> dict:
    """What the owner's own pages name: a second car, vouchers, a claimed perk, a second trip,
    a lecture seat to evaluate, a place held for payment with its demo payment, a second
    appointment and a transfer request. Rows a one-tap action removes are spares of their own."""

    now = utcnow()
    spare_car = make_vehicle(owner, model="Jetta")
    give_points(owner, 5000)
    reward = make_reward(sz.id)
    vouchers = [redeem_reward(owner, reward.id) for _ in range(2)]
    claim = claim_perk(owner, ids["perk_id"])
    organiser = make_staff("event_staff", sz.id)
    spare_trip = make_event(organiser, now=now, title="Spare trip")
    spare_place = sign_up(owner, spare_trip.id, vehicle_id=owner.vehicles[0].id, accept_waiver=True)
    seat = EventRegistration(
        event_id=ids["lecture_id"],
        member_id=owner.id,
        status=RegistrationStatus.CONFIRMED,
        created_at=now - timedelta(days=10),
        confirmed_at=now - timedelta(days=10),
        ticket_uuid="00000000-0000-4000-8000-000000000002",
        ticket_code="SEAT2345",
    )
    db.session.add(seat)
    paid = create_event(
        organiser,
        kind=EventKind.OTHER,
        title="Track day",
        place="Zhuhai",
        starts_at=now + timedelta(days=10),
        ends_at=now + timedelta(days=10, hours=6),
        registration_opens_at=now - timedelta(days=1),
        registration_closes_at=now + timedelta(days=8),
        capacity=5,
        price_fen=50_000,
    )
    held = sign_up(owner, paid.id)
    payment = start_checkout(owner, held.id)
    advisor = make_staff("service_advisor", sz.id)
    (slot,) = add_slots(
        advisor,
        day=(now + timedelta(days=2)).date(),
        first=time(10),
        last=time(10),
        every_minutes=30,
        capacity=2,
    ).added
    spare_appointment = book_appointment(owner, slot_id=slot.id, vehicle_id=owner.vehicles[0].id)
    members.request_transfer(owner, to_dealer_id=gz.id, reason="Moving")
    db.session.flush()
    return {
        "vehicle_id": owner.vehicles[0].id,
        "spare_vehicle_id": spare_car.id,
        "voucher_id": vouchers[0].id,
        "spare_voucher_id": vouchers[1].id,
        "claim_id": claim.id,
        "spare_registration_id": spare_place.id,
        "seat_id": seat.id,
        "held_id": held.id,
        "payment_id": payment.id,
        "spare_appointment_id": spare_appointment.id,
        "card_number": active_card(owner).number,
    }


def module_desk(folder: str):
    """A module-scoped ``desk`` fixture: one app for a whole matrix (each case is a single
    request), in ``folder`` under pytest's temporary directory."""

    @pytest.fixture(scope="module")
    def desk(template_db, tmp_path_factory):
        desk = build_desk(template_db, tmp_path_factory.mktemp(folder))
        yield desk
        desk.close()

    return desk
