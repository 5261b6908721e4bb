"""Roles, what each may do, and the view decorators that enforce it."""

from enum import StrEnum
from functools import wraps

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.extensions import login_manager


class Role(StrEnum):
    """Who an account belongs to."""

    MEMBER = "member"
    SALES_CONSULTANT = "sales_consultant"
    SHOWROOM_MANAGER = "showroom_manager"
    CARE_AGENT = "care_agent"
    SERVICE_ADVISOR = "service_advisor"
    EVENT_STAFF = "event_staff"
    DEALER_ADMIN = "dealer_admin"
    HQ_ADMIN = "hq_admin"
    PARTNER = "partner"


ROLE_LABELS = {
    Role.MEMBER: _l("Member"),
    Role.SALES_CONSULTANT: _l("Sales consultant"),
    Role.SHOWROOM_MANAGER: _l("Showroom manager"),
    Role.CARE_AGENT: _l("Care agent"),
    Role.SERVICE_ADVISOR: _l("Service advisor"),
    Role.EVENT_STAFF: _l("Event staff"),
    Role.DEALER_ADMIN: _l("Dealer admin"),
    Role.HQ_ADMIN: _l("HQ admin"),
    Role.PARTNER: _l("Partner user"),
}

STAFF_ROLES = frozenset(
    {
        Role.SALES_CONSULTANT,
        Role.SHOWROOM_MANAGER,
        Role.CARE_AGENT,
        Role.SERVICE_ADVISOR,
        Role.EVENT_STAFF,
        Role.DEALER_ADMIN,
        Role.HQ_ADMIN,
    }
)
ALL_STAFF = STAFF_ROLES

# Permission name -> the roles that hold it.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "members.view": ALL_STAFF,
    "cards.scan": ALL_STAFF,
    # Roles that must phone owners see full mobile numbers when they reveal them.
    "members.reveal_mobile": frozenset(
        {
            Role.SALES_CONSULTANT,
            Role.SHOWROOM_MANAGER,
            Role.CARE_AGENT,
            Role.SERVICE_ADVISOR,
            Role.DEALER_ADMIN,
            Role.HQ_ADMIN,
        }
    ),
    # Name checks (R12): a delivery named a proven owner differently; the staff who record
    # deliveries (they met the buyer) and HQ keep the stored name or take the DMS's.
    "members.name_checks": frozenset(
        {Role.SALES_CONSULTANT, Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN, Role.HQ_ADMIN}
    ),
    "audit.view": frozenset({Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "tiers.edit": frozenset({Role.HQ_ADMIN}),
    "colours.manage": frozenset({Role.HQ_ADMIN}),
    # The managed model list and its families (the callback's model traps).
    "models.manage": frozenset({Role.HQ_ADMIN}),
    # Chapter transfers: each dealer's manager decides their side; HQ may override.
    "transfers.decide": frozenset({Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "visits.record": frozenset({Role.SERVICE_ADVISOR, Role.DEALER_ADMIN}),
    "points.adjust": frozenset(
        {Role.SERVICE_ADVISOR, Role.CARE_AGENT, Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN}
    ),
    "points.approve": frozenset({Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "rules.edit": frozenset({Role.HQ_ADMIN}),
    "rewards.manage": frozenset({Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "vouchers.redeem": frozenset(
        {
            Role.SALES_CONSULTANT,
            Role.SHOWROOM_MANAGER,
            Role.SERVICE_ADVISOR,
            Role.DEALER_ADMIN,
            Role.HQ_ADMIN,
        }
    ),
    # Referrals (R6): pre-registration, visits and deliveries, licence check, callback.
    "referrals.view": frozenset(
        {
            Role.SALES_CONSULTANT,
            Role.SHOWROOM_MANAGER,
            Role.CARE_AGENT,
            Role.DEALER_ADMIN,
            Role.HQ_ADMIN,
        }
    ),
    "referrals.register": frozenset(
        {Role.SALES_CONSULTANT, Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN}
    ),
    "prospects.record": frozenset(
        {Role.SALES_CONSULTANT, Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN}
    ),
    "deliveries.record": frozenset(
        {Role.SALES_CONSULTANT, Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN}
    ),
    "referrals.licence": frozenset({Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN}),
    "referrals.callback": frozenset({Role.CARE_AGENT, Role.DEALER_ADMIN}),
    "referrals.decide": frozenset({Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN}),
    "referrals.funnel": frozenset({Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    # Events (R7): organising, the gate, lecture questions.
    "events.manage": frozenset({Role.EVENT_STAFF, Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "events.checkin": frozenset({Role.EVENT_STAFF, Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "events.answer": frozenset(
        {Role.EVENT_STAFF, Role.SERVICE_ADVISOR, Role.DEALER_ADMIN, Role.HQ_ADMIN}
    ),
    # Partners (R9), care (R8), appointments, insight (R10).
    "partners.manage": frozenset({Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "care.tasks": frozenset({Role.CARE_AGENT, Role.DEALER_ADMIN}),
    # "My calls": the care tasks given to a staff member (the birthday call of an owner their
    # ABC grading names them responsible for), theirs only, without the care desk's others.
    "care.own_tasks": ALL_STAFF - {Role.HQ_ADMIN},
    # Care texts (seed 002, 关怀话术): the dealer's care manager (its admin) edits the dealer's,
    # HQ the group's and any dealer's; care agents read the scripts they call with.
    "care.texts": frozenset({Role.CARE_AGENT, Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "care.texts_edit": frozenset({Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    # Complaint cases (seed 002 客户投诉): care agents, the service desk and managers of the
    # dealer handle them; HQ sees every dealer's.
    "care.complaints": frozenset(
        {
            Role.CARE_AGENT,
            Role.SERVICE_ADVISOR,
            Role.SHOWROOM_MANAGER,
            Role.DEALER_ADMIN,
            Role.HQ_ADMIN,
        }
    ),
    # Issue 20: the reasons owners give for not coming and the dealer's local plates (dealer
    # admins their dealer's, HQ the group's); the list of numbers to correct (空号、错号).
    "care.reasons": frozenset({Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "care.contacts": frozenset({Role.CARE_AGENT, Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "appointments.manage": frozenset({Role.SERVICE_ADVISOR, Role.DEALER_ADMIN}),
    # 主动预约 (seed 002): the service desk and care agents book a time for an owner.
    "appointments.book_for_owner": frozenset(
        {Role.SERVICE_ADVISOR, Role.CARE_AGENT, Role.DEALER_ADMIN}
    ),
    "insight.view": frozenset({Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    # Campaigns (R11): the C3 segments for managers; their thresholds are HQ's.
    "campaigns.segments": frozenset({Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "campaigns.thresholds": frozenset({Role.HQ_ADMIN}),
    # Managers run campaigns and see their results and staff incentives (managers only);
    # care agents work their call lists (invitations, second round, satisfaction callbacks).
    "campaigns.manage": frozenset({Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "campaigns.call": frozenset({Role.CARE_AGENT, Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN}),
    "campaigns.results": frozenset({Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "campaigns.incentives": frozenset({Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    # Holiday greetings and weather warnings to chosen owners (seed 002): the care manager.
    "campaigns.broadcasts": frozenset({Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    # ABC grading of retained owners (seed 003): consultants, care agents and managers grade
    # and log care contacts; managers set the care standard per grade (回访频次) and see every
    # consultant's overdue owners, a consultant sees their own.
    "campaigns.grading": frozenset(
        {
            Role.SALES_CONSULTANT,
            Role.SHOWROOM_MANAGER,
            Role.CARE_AGENT,
            Role.DEALER_ADMIN,
            Role.HQ_ADMIN,
        }
    ),
    "campaigns.grading_standards": frozenset(
        {Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN, Role.HQ_ADMIN}
    ),
    # HQ operations (R11, seed 004): recruitment rate and the monthly points settlement, for
    # HQ (every dealer) and a dealer's admin (their own); dealers' regions are HQ's to set.
    "hq.recruitment": frozenset({Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "hq.settlement": frozenset({Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    "hq.regions": frozenset({Role.HQ_ADMIN}),
    # Issue 21: the referral terms are HQ's (积分规则设置, seed 004); the staff identity
    # register (R6.6: staff's other mobiles and ID numbers) a dealer admin keeps for their
    # staff, HQ for everyone's.
    "referrals.terms": frozenset({Role.HQ_ADMIN}),
    "referrals.staff_register": frozenset({Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    # The referral's front door (issue 21, seed 002): the duty manager on the showroom floor
    # (a showroom manager, or the dealer's admin) confirms a referral the friend named at the
    # visit (到值班经理处报备); an owner's dispute of a fraud outcome goes above the showroom,
    # to the dealer's admin or HQ (提供甄别录音).
    "referrals.showroom_reports": frozenset({Role.SHOWROOM_MANAGER, Role.DEALER_ADMIN}),
    "referrals.disputes": frozenset({Role.DEALER_ADMIN, Role.HQ_ADMIN}),
    # Issue 21: member benefits. HQ keeps the catalogue (announced like the earning rules); at
    # the counter the service desk (discounts), customer service (客服部: the anniversary gift),
    # sales (insurance renewal) and managers record a use for an owner of their own dealer; a
    # dealer admin takes back one recorded by mistake.
    "benefits.manage": frozenset({Role.HQ_ADMIN}),
    "benefits.record": frozenset(
        {
            Role.SALES_CONSULTANT,
            Role.SHOWROOM_MANAGER,
            Role.CARE_AGENT,
            Role.SERVICE_ADVISOR,
            Role.DEALER_ADMIN,
        }
    ),
    "benefits.void": frozenset({Role.DEALER_ADMIN}),
}


def has_permission(user, permission: str) -> bool:
    """True when ``user`` is logged in, active and holds ``permission``."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.role in PERMISSIONS[permission]


def can_manage_dealer_row(actor, dealer_id: int | None) -> bool:
    """True when ``actor`` may change a row of ``dealer_id`` (None: group-wide), such as a
    reward or a partner: HQ any row, a dealer admin only their own dealer's."""
    if actor.role == Role.HQ_ADMIN:
        return True
    return (
        actor.role == Role.DEALER_ADMIN and dealer_id is not None and dealer_id == actor.dealer_id
    )


def permission_required(permission: str):
    """View decorator: 401 for anonymous users (login redirect), 403 without the permission."""
    if permission not in PERMISSIONS:
        raise KeyError(permission)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not has_permission(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def member_required(view):
    """View decorator for owners' pages: login redirect, 403 for staff and partners."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role != Role.MEMBER or current_user.member is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapped
