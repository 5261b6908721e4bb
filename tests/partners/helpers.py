"""Factories for partners, perks and partner logins; they flush, never commit."""

import itertools
from datetime import date, timedelta

from app.auth.models import User
from app.core.clock import local_date, utcnow
from app.extensions import db
from app.loyalty.services import account_for
from app.members.models import Member
from app.partners.models import Partner, Perk
from tests.factories import make_staff

_seq = itertools.count(1)


def make_partner(dealer_id: int | None = None, **overrides) -> Partner:
    """A partner (group-wide unless ``dealer_id``), active, a hotel by default."""
    data = {
        "name": f"Partner {next(_seq)}",
        "category": "hotel",
        "address": "1 Binhai Road",
        "logo_url": None,
        "active": True,
        "created_at": utcnow(),
        **overrides,
    }
    partner = Partner(dealer_id=dealer_id, **data)
    db.session.add(partner)
    db.session.flush()
    return partner


def make_perk(partner: Partner, **overrides) -> Perk:
    """A perk of ``partner`` for every tier, valid from today for 30 days, once per member."""
    today = local_date()
    data = {
        "title": f"Perk {next(_seq)}",
        "description": "",
        "min_tier_code": None,
        "valid_from": today,
        "valid_until": today + timedelta(days=30),
        "limit_per_member": 1,
        "total_limit": None,
        "active": True,
        "created_at": utcnow(),
        **overrides,
    }
    perk = Perk(partner_id=partner.id, claimed_count=0, **data)
    db.session.add(perk)
    db.session.flush()
    return perk


def make_partner_user(partner: Partner) -> User:
    """A login of ``partner``'s staff."""
    user = make_staff("partner", None)
    user.partner_id = partner.id
    db.session.flush()
    return user


def set_tier(member: Member, tier_code: str) -> None:
    """Put the member in ``tier_code`` (as the yearly review would)."""
    account_for(member).tier_code = tier_code
    db.session.flush()


def month_of(day: date) -> str:
    """``YYYY-MM``."""
    return day.strftime("%Y-%m")
